"""Never report a change that did not happen (issue 10, item 6): a live
setting that cannot be applied fails the whole change with the reason,
changes nothing (GET /config and `stats settings` on the cache port stay as
they were), and is logged; the same for POST /config/reload and SIGHUP.

Regression: PUT /config {"memory_limit": 2048} answered 200 "applied": true
while the store had refused the limit and limit_maxbytes stayed at 64 MiB."""
import json
import os
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from test_admin import get_json, request, start  # noqa: E402

# More megabytes (about 953 TiB) than any store can reserve: beyond the
# 47-bit user address space of x86-64, so it stays refused whatever ceiling
# the store has on big machines; cache_memlimit takes values up to 10^9 MB,
# so the text protocol asks the store the same question.
STORE_REFUSES_MB = 1_000_000_000

# Per live setting: values that cannot be applied, with the status they get
# (400: invalid; 409: valid, but what is running cannot take it).
REFUSED = [
    ({"conn_limit": 0}, 400),
    ({"conn_limit": 1_000_001}, 400),
    ({"memory_limit": STORE_REFUSES_MB}, 409),
    ({"memory_limit": 0}, 400),
    ({"memory_limit": (1 << 44) + 1}, 400),  # << 20 wrapped to 1 MiB, and was applied
    ({"memory_limit": "1k"}, 400),
    ({"verbosity": 3}, 400),
    ({"idle_timeout": -1}, 400),
    ({"idle_timeout": 86400 * 365 + 1}, 400),
    ({"slab_automove": 3}, 400),
    ({"lru_crawler": "no"}, 400),
    ({"hot_lru_pct": 81}, 400),
    ({"warm_lru_pct": 81}, 400),
    ({"hot_lru_pct": 50, "warm_lru_pct": 40}, 400),  # each valid; together over 80
]

LIVE = ("conn_limit", "memory_limit", "verbosity", "idle_timeout", "slab_automove",
        "lru_crawler", "hot_lru_pct", "warm_lru_pct")


def stats_settings(server):
    with server.connect() as s:
        return harness.command(s, b"stats settings\r\n", until=b"END\r\n")


def cache_command(server, line):
    with server.connect() as s:
        return harness.command(s, line)


def a_valid_change(refused):
    """A change to another live setting, sent alongside, that must not
    happen either."""
    return {"verbosity": 1} if "verbosity" not in refused else {"conn_limit": 77}


class RefusedLiveSettings(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_every_live_setting_has_a_refused_value(self):
        self.assertEqual({name for doc, _ in REFUSED for name in doc}, set(LIVE))

    def test_a_refused_value_changes_nothing(self):
        admin = self.server.admin
        config_before = get_json(admin, "/config")
        settings_before = stats_settings(self.server)
        self.assertIn(b"STAT maxbytes 67108864\r\n", settings_before)
        for refused, expected in REFUSED:
            with self.subTest(refused=refused):
                doc = {**a_valid_change(refused), **refused}
                logged = self.server.output().count("refused, nothing changed")
                status, _, data = request(admin, "PUT", "/config", body=json.dumps(doc))
                self.assertEqual(status, expected, data)
                reply = json.loads(data)
                self.assertFalse(reply["applied"])
                fields = {r["field"] for r in reply["rejected"]}
                self.assertTrue(fields <= set(refused) | {""}, reply)
                self.assertEqual(get_json(admin, "/config"), config_before)
                self.assertEqual(stats_settings(self.server), settings_before)
                self.assertEqual(self.server.output().count("refused, nothing changed"),
                                 logged + 1)

    def test_the_store_refusal_is_reported_and_logged(self):
        admin = self.server.admin
        doc = {"memory_limit": STORE_REFUSES_MB, "conn_limit": 55, "hot_lru_pct": 10}
        status, _, data = request(admin, "PUT", "/config", body=json.dumps(doc))
        self.assertEqual(status, 409, data)
        reply = json.loads(data)
        self.assertEqual(reply["applied"], False)
        self.assertEqual([r["field"] for r in reply["rejected"]], ["memory_limit"])
        self.assertIn("store refused", reply["rejected"][0]["reason"])
        self.assertNotIn('"applied": true', data.decode())
        st = harness.stats(self.server)
        self.assertEqual(st["limit_maxbytes"], str(64 << 20))
        self.assertEqual(st["max_connections"], "1024")
        self.assertIn(b"STAT hot_lru_pct 20\r\n", stats_settings(self.server))
        log = self.server.output()
        self.assertIn("config (PUT /config): refused, nothing changed", log)
        self.assertIn("memory_limit", log)
        # The admin port says what the store says: the text protocol's
        # cache_memlimit is refused the same value (if a future store takes
        # it, pick another value it refuses).
        self.assertTrue(cache_command(self.server, b"cache_memlimit %d\r\n" % STORE_REFUSES_MB)
                        .startswith(b"MEMLIMIT_ADJUST_FAILED"))
        self.assertEqual(harness.stats(self.server)["limit_maxbytes"], str(64 << 20))


class LiveBase(unittest.TestCase):
    def test_what_the_text_protocol_changed_is_kept_and_shown(self):
        # A change planned from stale settings undid cache_memlimit and
        # verbosity set on the cache port, and GET /config hid them.
        with start() as server:
            self.assertEqual(cache_command(server, b"cache_memlimit 100\r\n"), b"OK\r\n")
            self.assertEqual(cache_command(server, b"verbosity 1\r\n"), b"OK\r\n")
            cfg = get_json(server.admin, "/config")
            self.assertEqual(cfg["memory_limit"]["value"], 100 << 20)
            self.assertEqual(cfg["verbosity"]["value"], 1)
            status, _, data = request(server.admin, "PUT", "/config",
                                      body=json.dumps({"conn_limit": 60, "verbosity": 0}))
            self.assertEqual(status, 200, data)
            self.assertEqual(sorted(json.loads(data)["changed"]), ["conn_limit", "verbosity"])
            self.assertEqual(harness.stats(server)["limit_maxbytes"], str(100 << 20))
            self.assertIn(b"STAT verbosity 0\r\n", stats_settings(server))

    def test_every_view_shows_what_the_text_protocol_set(self):
        # One live-settings object: the text commands change it as PUT
        # /config does, so `stats settings`, GET /config and the general
        # report agree without asking the store.
        with start() as server:
            for line in (b"slabs automove 0\r\n", b"lru_crawler disable\r\n",
                         b"lru tune 10 30 0.1 2.0\r\n", b"cache_memlimit 96\r\n",
                         b"verbosity 9\r\n"):
                self.assertEqual(cache_command(server, line), b"OK\r\n", line)
            cfg = get_json(server.admin, "/config")
            want = {"memory_limit": 96 << 20, "verbosity": 2, "slab_automove": 0,
                    "lru_crawler": False, "hot_lru_pct": 10, "warm_lru_pct": 30}
            self.assertEqual({name: cfg[name]["value"] for name in want}, want)
            text = stats_settings(server)
            for stat in (b"maxbytes 100663296", b"verbosity 2", b"slab_automove 0",
                         b"lru_crawler no", b"hot_lru_pct 10", b"warm_lru_pct 30"):
                self.assertIn(b"STAT " + stat + b"\r\n", text)
            self.assertEqual(get_json(server.admin, "/stats/settings")["lru_crawler"], "no")
            st = harness.stats(server)
            self.assertEqual(st["limit_maxbytes"], str(96 << 20))
            self.assertNotIn("lru_crawler_starts", st)  # reported while the crawler is on


class Reload(unittest.TestCase):
    def test_reload_and_sighup_refuse_as_a_whole(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "memcoro.json")
            with open(path, "w") as f:
                json.dump({"conn_limit": 100}, f)
            with start(config=path) as server:
                config_before = get_json(server.admin, "/config")
                settings_before = stats_settings(server)
                for doc, expected in (
                        ({"conn_limit": 200, "memory_limit": STORE_REFUSES_MB}, 409),
                        ({"conn_limit": 200, "verbosity": 3}, 400)):
                    with self.subTest(doc=doc):
                        with open(path, "w") as f:
                            json.dump(doc, f)
                        status, _, data = request(server.admin, "POST", "/config/reload")
                        self.assertEqual(status, expected, data)
                        self.assertFalse(json.loads(data)["applied"])
                        self.assertEqual(get_json(server.admin, "/config"), config_before)
                        self.assertEqual(stats_settings(server), settings_before)
                # SIGHUP: the same refusal, logged; nothing changes.
                with open(path, "w") as f:
                    json.dump({"conn_limit": 300, "memory_limit": STORE_REFUSES_MB}, f)
                server.proc.send_signal(signal.SIGHUP)
                deadline = time.time() + 5
                while time.time() < deadline and "SIGHUP: config reload: 409" not in \
                        server.output():
                    time.sleep(0.05)
                self.assertIn("SIGHUP: config reload: 409", server.output())
                self.assertEqual(get_json(server.admin, "/config"), config_before)
                self.assertEqual(stats_settings(server), settings_before)
                # And a file that can be applied still is.
                with open(path, "w") as f:
                    json.dump({"conn_limit": 300}, f)
                status, _, data = request(server.admin, "POST", "/config/reload")
                self.assertEqual(status, 200, data)
                self.assertEqual(harness.stats(server)["max_connections"], "300")


if __name__ == "__main__":
    unittest.main()

"""The admin port over real HTTP: every endpoint, every error code, atomic
config changes, reload from the file and on SIGHUP, the token, and a
hostile admin client that must not harm the cache."""
import http.client
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402


def request(port, method, path, body=None, headers=None, timeout=10):
    """One request, as a legitimate client sends it: changes (PUT, POST)
    carry Content-Type: application/json, which the admin port requires
    (test_admin_security.py sends what an attacker's page would)."""
    headers = dict(headers or {})
    if method in ("PUT", "POST"):
        headers.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        data = res.read()
        return res.status, res.getheader("Content-Type", ""), data
    finally:
        conn.close()


def get_json(port, path):
    status, ctype, data = request(port, "GET", path)
    assert status == 200, (path, status, data)
    assert ctype.startswith("application/json"), ctype
    return json.loads(data)


def start(extra=(), config=None):
    args = list(extra)
    if config is not None:
        args += ["--config", config]
    server = harness.Server(args, admin=True)
    port = server.admin
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            request(port, "GET", "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return server


class Endpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start()
        with cls.server.connect() as s:
            harness.command(s, b"set a 1 0 3\r\nabc\r\nget a\r\nget b\r\n", until=b"END\r\nEND\r\n")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_stats_general_numbers_are_numbers(self):
        st = get_json(self.server.admin, "/stats")
        text = harness.stats(self.server)
        self.assertEqual(set(st), set(text))  # the same fields as `stats`
        self.assertIsInstance(st["curr_items"], int)
        self.assertIsInstance(st["rusage_user"], float)
        self.assertIsInstance(st["version"], str)
        self.assertIsInstance(st["get_hits"], int)

    def test_stats_views(self):
        slabs = get_json(self.server.admin, "/stats/slabs")
        self.assertIn("1", slabs["classes"])
        self.assertEqual(slabs["classes"]["1"]["chunk_size"], 88)
        self.assertIsInstance(slabs["total_malloced"], int)
        items = get_json(self.server.admin, "/stats/items")
        self.assertEqual(items["classes"]["1"]["number"], 1)
        sizes = get_json(self.server.admin, "/stats/sizes")
        self.assertEqual(sum(sizes.values()), 1)
        settings = get_json(self.server.admin, "/stats/settings")
        self.assertEqual(settings["maxconns"], 1024)
        self.assertEqual(settings["evictions"], "on")
        with self.server.connect() as client:
            client.sendall(b"version\r\n")
            client.recv(100)
            mine = f"tcp:127.0.0.1:{client.getsockname()[1]}"
            deadline = time.time() + 5
            while True:  # the server may not have gone back to reading yet
                conns = get_json(self.server.admin, "/stats/conns")
                by_addr = {c["addr"]: c for c in conns["connections"]}
                if by_addr[mine]["state"] == "conn_read" or time.time() > deadline:
                    break
                time.sleep(0.05)
        self.assertGreaterEqual(conns["curr_connections"], 1)
        self.assertEqual(by_addr[mine]["listen_addr"], f"tcp:127.0.0.1:{self.server.port}")
        self.assertEqual(by_addr[mine]["state"], "conn_read")
        self.assertIsInstance(by_addr[mine]["fd"], int)
        self.assertEqual(by_addr[f"tcp:127.0.0.1:{self.server.port}"]["state"], "conn_listening")

    def test_metrics_parse_as_prometheus(self):
        status, ctype, data = request(self.server.admin, "GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain"))
        families = {f.name: f for f in text_string_to_metric_families(data.decode())}
        for name in ("memcached_up", "memcached_current_items", "memcached_current_bytes",
                     "memcached_limit_bytes", "memcached_items_evicted",
                     "memcached_current_connections", "memcached_commands",
                     "memcached_slab_current_items", "memcached_slab_chunk_size_bytes"):
            self.assertIn(name, families)
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in families.values() for s in f.samples}
        self.assertEqual(samples[("memcached_up", ())], 1)
        self.assertEqual(samples[("memcached_current_items", ())], 1)
        self.assertGreaterEqual(
            samples[("memcached_commands_total", (("command", "get"), ("status", "hit")))], 1)
        self.assertEqual(samples[("memcached_slab_current_items", (("slab", "1"),))], 1)

    def test_health_and_readiness(self):
        self.assertEqual(request(self.server.admin, "GET", "/healthz")[0], 200)
        self.assertEqual(request(self.server.admin, "GET", "/readyz")[0], 200)

    def test_errors(self):
        self.assertEqual(request(self.server.admin, "GET", "/nope")[0], 404)
        self.assertEqual(request(self.server.admin, "POST", "/stats")[0], 405)
        self.assertEqual(request(self.server.admin, "GET", "/stats/reset")[0], 405)
        # Not HTTP at all.
        with socket.create_connection(("127.0.0.1", self.server.admin), timeout=5) as s:
            s.sendall(b"this is not http\r\n\r\n")
            reply = s.recv(1000)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply)
        # Too large.
        status, _, _ = request(self.server.admin, "PUT", "/config", body=b"x" * 200000)
        self.assertEqual(status, 413)

    def test_config_shows_every_setting_and_whether_it_is_live(self):
        cfg = get_json(self.server.admin, "/config")
        self.assertTrue(cfg["conn_limit"]["live"])
        self.assertFalse(cfg["threads"]["live"])
        self.assertEqual(cfg["port"]["value"], self.server.port)
        for name in ("memory_limit", "verbosity", "idle_timeout", "slab_automove", "lru_crawler",
                     "hot_lru_pct", "warm_lru_pct"):
            self.assertTrue(cfg[name]["live"], name)

    def test_reset(self):
        with self.server.connect() as s:
            harness.command(s, b"get zz\r\n", until=b"END\r\n")
        self.assertGreater(get_json(self.server.admin, "/stats")["cmd_get"], 0)
        status, _, _ = request(self.server.admin, "POST", "/stats/reset")
        self.assertEqual(status, 200)
        self.assertEqual(get_json(self.server.admin, "/stats")["cmd_get"], 0)


class ConfigChanges(unittest.TestCase):
    def test_live_change_applies_at_once_and_shows_in_stats_settings(self):
        with start() as server:
            status, _, data = request(server.admin, "PUT", "/config",
                                      body=json.dumps({"conn_limit": 77, "verbosity": 1,
                                                       "memory_limit": 32}))
            self.assertEqual(status, 200, data)
            self.assertEqual(sorted(json.loads(data)["changed"]),
                             ["conn_limit", "memory_limit", "verbosity"])
            with server.connect() as s:
                text = harness.command(s, b"stats settings\r\n", until=b"END\r\n")
            self.assertIn(b"STAT maxconns 77\r\n", text)
            self.assertIn(b"STAT verbosity 1\r\n", text)
            self.assertEqual(harness.stats(server)["limit_maxbytes"], str(32 << 20))
            self.assertIn("conn_limit changed", server.output())
            # The LRU's segment shares change live too, within memcached's rule.
            status, _, _ = request(server.admin, "PUT", "/config",
                                   body=json.dumps({"hot_lru_pct": 10, "warm_lru_pct": 30}))
            self.assertEqual(status, 200)
            with server.connect() as s:
                text = harness.command(s, b"stats settings\r\n", until=b"END\r\n")
            self.assertIn(b"STAT hot_lru_pct 10\r\n", text)
            self.assertIn(b"STAT warm_lru_pct 30\r\n", text)
            status, _, data = request(server.admin, "PUT", "/config",
                                      body=json.dumps({"hot_lru_pct": 50, "warm_lru_pct": 40}))
            self.assertEqual(status, 400, data)
            self.assertEqual(get_json(server.admin, "/config")["hot_lru_pct"]["value"], 10)

    def test_half_failing_change_changes_nothing(self):
        with start() as server:
            before = get_json(server.admin, "/config")
            # A valid live field with a restart-only one: 409, nothing applied.
            status, _, data = request(server.admin, "PUT", "/config",
                                      body=json.dumps({"conn_limit": 5, "threads": 8}))
            self.assertEqual(status, 409)
            self.assertEqual([r["field"] for r in json.loads(data)["rejected"]], ["threads"])
            # A valid field with an invalid one: 400, nothing applied.
            status, _, data = request(server.admin, "PUT", "/config",
                                      body=json.dumps({"conn_limit": 5, "verbosity": 9,
                                                       "nonsense": 1}))
            self.assertEqual(status, 400)
            self.assertEqual(sorted(r["field"] for r in json.loads(data)["rejected"]),
                             ["nonsense", "verbosity"])
            self.assertEqual(request(server.admin, "PUT", "/config", body=b"{not json")[0], 400)
            self.assertEqual(get_json(server.admin, "/config"), before)
            self.assertEqual(harness.stats(server)["max_connections"], "1024")

    def test_reload_from_file_and_on_sighup(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "memcoro.json")
            with open(path, "w") as f:
                json.dump({"conn_limit": 100}, f)
            with start(config=path) as server:
                self.assertEqual(harness.stats(server)["max_connections"], "100")
                with open(path, "w") as f:
                    json.dump({"conn_limit": 200}, f)
                status, _, data = request(server.admin, "POST", "/config/reload")
                self.assertEqual(status, 200, data)
                self.assertEqual(harness.stats(server)["max_connections"], "200")
                # A restart-only change in the file: refused, nothing changes.
                with open(path, "w") as f:
                    json.dump({"conn_limit": 300, "threads": 2}, f)
                self.assertEqual(request(server.admin, "POST", "/config/reload")[0], 409)
                self.assertEqual(harness.stats(server)["max_connections"], "200")
                # SIGHUP re-reads the file with the same rules.
                with open(path, "w") as f:
                    json.dump({"conn_limit": 400}, f)
                server.proc.send_signal(signal.SIGHUP)
                deadline = time.time() + 5
                while time.time() < deadline and harness.stats(server)["max_connections"] != "400":
                    time.sleep(0.05)
                self.assertEqual(harness.stats(server)["max_connections"], "400")

    def test_reload_without_a_file(self):
        with start() as server:
            self.assertEqual(request(server.admin, "POST", "/config/reload")[0], 400)


class Token(unittest.TestCase):
    def test_changes_need_the_token(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("s3cret\n")
            path = f.name
        try:
            with start(["--admin-token-file", path]) as server:
                body = json.dumps({"conn_limit": 50})
                self.assertEqual(request(server.admin, "PUT", "/config", body=body)[0], 401)
                self.assertEqual(request(server.admin, "PUT", "/config", body=body,
                                         headers={"Authorization": "Bearer wrong"})[0], 401)
                self.assertEqual(request(server.admin, "POST", "/stats/reset")[0], 401)
                self.assertEqual(request(server.admin, "PUT", "/config", body=body,
                                         headers={"Authorization": "Bearer s3cret"})[0], 200)
                self.assertEqual(request(server.admin, "GET", "/stats")[0], 200)  # reads are free
        finally:
            os.unlink(path)


class Hostile(unittest.TestCase):
    def test_500_idle_admin_connections_do_not_harm_the_cache(self):
        with start() as server:
            idle = []
            for _ in range(500):
                s = socket.create_connection(("127.0.0.1", server.admin), timeout=5)
                s.sendall(b"GET /stats HTTP/1.1\r\n")  # and never finish the request
                idle.append(s)
            try:
                start_t = time.time()
                with server.connect() as s:
                    for i in range(500):
                        self.assertEqual(harness.command(s, b"set k%d 0 0 1\r\nx\r\n" % i),
                                         b"STORED\r\n")
                    self.assertIn(b"VALUE k499", harness.command(s, b"get k499\r\n",
                                                                 until=b"END\r\n"))
                self.assertLess(time.time() - start_t, 5)
                self.assertEqual(request(server.admin, "GET", "/healthz")[0], 200)
            finally:
                for s in idle:
                    s.close()


if __name__ == "__main__":
    unittest.main()

"""Service-time histograms over real sockets: `stats latency` counts each
command under its kind (text, meta and binary alike), /stats/latency is the
same report in JSON, /metrics carries them as Prometheus histograms that
agree with it, and `stats reset` starts them again. Most cases time every
request (--latency-sample 1) to count exactly; the default times one in 16
of each kind, and its counts lag by less than two gaps."""
import json
import os
import struct
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import test_conformance as tc  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

OPS = ["get", "gat", "set", "cas", "delete", "incr_decr", "touch", "mg", "ms", "md", "ma",
       "other"]
EXACT = ["--latency-sample", "1"]
FIELDS = ["count", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us"]


def latency(sock):
    reply = harness.command(sock, b"stats latency\r\n", until=b"END\r\n")
    lines = reply.decode().split("\r\n")
    assert lines[-2:] == ["END", ""], reply
    return [tuple(line.split(" ")[1:]) for line in lines[:-2]]


def counts(report):
    return {name[:-len("_count")]: int(v) for name, v in report if name.endswith("_count")}


def http_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read().decode()


class Latency(unittest.TestCase):
    def test_each_command_is_counted_under_its_kind(self):
        with harness.Server(EXACT, admin=True) as srv, srv.connect() as c:
            # The field names and their order, all zero before any request.
            report = latency(c)
            self.assertEqual([name for name, _ in report],
                             [f"{op}_{f}" for op in OPS for f in FIELDS])
            self.assertEqual(set(counts(report).values()), {0})
            requests = (b"set a 0 0 1\r\n1\r\n" * 3 + b"add b 0 0 1\r\nx\r\n" + b"get a\r\n" * 5
                        + b"gets a b zz\r\n" + b"gat 10 a\r\n" + b"incr a 1\r\ndecr a 1\r\n"
                        + b"touch a 10\r\ndelete b\r\ncas a 0 0 1 1\r\nz\r\n"
                        + b"mg a v\r\nms c 1\r\nq\r\nmd c\r\nma a\r\nversion\r\nmn\r\n")
            c.sendall(requests)
            harness.read_until(c, b"MN\r\n")
            # A binary SET and GETK count with their text kinds, NOOP as other.
            with srv.connect() as b:
                b.sendall(tc.req(0x01, b"bin", struct.pack(">II", 0, 0), b"v")
                          + tc.req(0x0C, b"bin") + tc.req(0x0A))
                harness.read_until(b, b"\x81" + tc.req(0x0A)[1:])  # NOOP's reply
            got = counts(latency(c))
        self.assertEqual(got, {"get": 5 + 1 + 1, "gat": 1, "set": 3 + 1 + 1, "cas": 1,
                               "delete": 1, "incr_decr": 2, "touch": 1, "mg": 1, "ms": 1,
                               "md": 1, "ma": 1,
                               # mn, version, binary NOOP, and the first stats latency
                               "other": 4})

    def test_times_are_measured_and_percentiles_ordered(self):
        with harness.Server(EXACT) as srv, srv.connect() as c:
            for i in range(200):
                c.sendall(b"set k%d 0 0 1000\r\n%s\r\nget k%d\r\n" % (i, b"x" * 1000, i))
                harness.read_until(c, b"END\r\n")
            report = dict(latency(c))
        for op in ("get", "set"):
            self.assertEqual(int(report[f"{op}_count"]), 200)
            values = [float(report[f"{op}_{f}"]) for f in FIELDS[1:]]
            self.assertGreater(values[0], 0.0, op)  # the mean: time was measured
            p50, p90, p99, p999 = values[1:]
            self.assertTrue(0 < p50 <= p90 <= p99 <= p999, (op, values))
            self.assertLess(p50, 100000, op)  # under 0.1 s even under a sanitizer

    def test_json_and_prometheus_agree_with_the_text_report(self):
        with harness.Server(EXACT, admin=True) as srv, srv.connect() as c:
            for i in range(50):
                harness.command(c, b"set k 0 0 1\r\nx\r\n")
                harness.command(c, b"get k\r\n", until=b"END\r\n")
            text = dict(latency(c))
            doc = json.loads(http_get(srv.admin, "/stats/latency"))
            metrics = http_get(srv.admin, "/metrics")
            again = dict(latency(c))
        # Only `other` (the stats requests) moved in between.
        self.assertEqual(list(doc), list(text))
        for name, value in text.items():
            if not name.startswith("other_"):
                self.assertAlmostEqual(doc[name], float(value), places=3, msg=name)
                self.assertEqual(again[name], value, name)
        families = {f.name: f for f in text_string_to_metric_families(metrics)}
        hist = families["memcoro_command_duration_seconds"]
        self.assertEqual(hist.type, "histogram")
        by_command = {}
        for s in hist.samples:
            by_command.setdefault(s.labels["command"], []).append(s)
        self.assertEqual(sorted(by_command), sorted(OPS))
        for op, samples in by_command.items():
            buckets = [(s.labels["le"], s.value) for s in samples if s.name.endswith("_bucket")]
            self.assertEqual(len(buckets), 22, op)  # 2^10 .. 2^30 ns, and +Inf
            values = [v for _, v in buckets]
            self.assertEqual(values, sorted(values), op)  # cumulative
            count = [s.value for s in samples if s.name.endswith("_count")][0]
            self.assertEqual(buckets[-1], ("+Inf", count), op)
            if op != "other":
                self.assertEqual(count, int(text[f"{op}_count"]), op)
        self.assertEqual(by_command["get"][-1].value, 50)
        # The memcached_exporter families are still there, unchanged.
        self.assertIn("memcached_commands", families)

    def test_stats_reset_starts_them_again(self):
        with harness.Server(EXACT) as srv, srv.connect() as c:
            harness.command(c, b"set a 0 0 1\r\nx\r\n")
            harness.command(c, b"get a\r\n", until=b"END\r\n")
            self.assertEqual(counts(latency(c))["get"], 1)
            self.assertEqual(harness.command(c, b"stats reset\r\n"), b"RESET\r\n")
            got = counts(latency(c))
            self.assertEqual((got["get"], got["set"]), (0, 0))
            harness.command(c, b"get a\r\n", until=b"END\r\n")
            self.assertEqual(counts(latency(c))["get"], 1)

    def test_the_default_times_one_request_in_16_and_counts_all_it_timed(self):
        with harness.Server(["-t", "1"], admin=True) as srv, srv.connect() as c:
            c.sendall(b"set k 0 0 1\r\nx\r\n" + b"mg k v\r\n" * 5000 + b"mn\r\n")
            harness.read_until(c, b"MN\r\n")
            got = dict(latency(c))
            # Counted when timed: all but those after the last pick (under
            # two mean gaps of 16). The first of a kind is always timed.
            self.assertLessEqual(5000 - int(got["mg_count"]), 2 * 16 - 2)
            # ...and not every request was timed: the gaps are random but
            # their seeds fixed, so with one thread this lag is always the
            # same (14), never 0.
            self.assertLess(int(got["mg_count"]), 5000)
            self.assertEqual(int(got["set_count"]), 1)
            self.assertGreater(float(got["mg_p50_us"]), 0.0)
            # Live: from now on every request is timed (after the gap in
            # progress, at most 31 requests).
            self.assertEqual(harness.admin_json(srv.admin, "PUT", "/config", {"latency_sample": 1}),
                             {"applied": True, "changed": ["latency_sample"]})
            # Out of range (1 to 65536): 400, nothing applied.
            for bad in (0, 65537, "16", -1):
                with self.assertRaises(urllib.error.HTTPError) as e:
                    harness.admin_json(srv.admin, "PUT", "/config", {"latency_sample": bad})
                self.assertEqual(e.exception.code, 400, bad)
            self.assertEqual(harness.admin_json(srv.admin, "GET", "/config")["latency_sample"],
                             {"value": 1, "live": True})
            c.sendall(b"mg k v\r\n" * 1000 + b"mn\r\n")
            harness.read_until(c, b"MN\r\n")
            self.assertEqual(int(dict(latency(c))["mg_count"]), 6000)


if __name__ == "__main__":
    unittest.main()

"""The admin port's 15 minutes of history over real HTTP: one sample a
second, columnar, rates that follow the traffic, and last values that
agree with /stats once the traffic stops."""
import json
import os
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SERIES = ["t", "get", "set", "delete", "incr_decr", "touch", "hit_ratio", "get_p99_us",
          "set_p99_us", "bytes", "limit_maxbytes", "curr_items", "evictions",
          "curr_connections"]


def get_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


class History(unittest.TestCase):
    def test_samples_follow_the_traffic(self):
        with harness.Server(["-m", "64"], admin=True) as srv, srv.connect() as c:
            deadline = time.monotonic() + 3.5
            i = 0
            while time.monotonic() < deadline:  # sets and gets, 3 in 4 gets hit
                c.sendall(b"".join(b"set k%d 0 0 10 noreply\r\n0123456789\r\n" % (i + j)
                                   for j in range(50))
                          + b"".join(b"get k%d\r\n" % (i + j % 50) for j in range(150))
                          + b"".join(b"get zz%d\r\n" % (i + j) for j in range(50))
                          + b"mn\r\n")
                harness.read_until(c, b"MN\r\n")
                i += 50
            busy = get_json(srv.admin, "/stats/history")
            time.sleep(2.5)  # two quiet samples
            quiet = get_json(srv.admin, "/stats/history")
            st = get_json(srv.admin, "/stats")
        self.assertEqual(sorted(busy), sorted(SERIES + ["interval"]))
        self.assertEqual(busy["interval"], 1)
        n = len(busy["t"])
        self.assertGreaterEqual(n, 2)
        for name in SERIES:
            self.assertEqual(len(busy[name]), n, name)
        self.assertEqual(busy["t"], sorted(busy["t"]))
        # The second sample on had traffic: rates above zero, 3 in 4 hits,
        # p99 measured.
        self.assertGreater(busy["get"][-1], 0)
        self.assertGreater(busy["set"][-1], 0)
        self.assertAlmostEqual(busy["hit_ratio"][-1], 0.75, delta=0.05)
        self.assertGreater(busy["get_p99_us"][-1], 0)
        # Quiet: no rate, no hit ratio, no p99; the gauges are /stats'.
        self.assertEqual(quiet["get"][-1], 0)
        self.assertIsNone(quiet["hit_ratio"][-1])
        self.assertIsNone(quiet["get_p99_us"][-1])
        self.assertEqual(quiet["curr_items"][-1], st["curr_items"])
        self.assertEqual(quiet["bytes"][-1], st["bytes"])
        self.assertEqual(quiet["limit_maxbytes"][-1], st["limit_maxbytes"])
        self.assertGreater(len(quiet["t"]), n)


if __name__ == "__main__":
    unittest.main()

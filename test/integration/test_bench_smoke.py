"""memcoro-bench runs against memcoro for a few seconds in each mode and
reports sane numbers (a smoke test; benchmarks/compare does the measuring)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

BENCH = os.environ.get("BENCH_BIN", "")


class BenchSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(["-t", "2"])

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def bench(self, *args):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            r = subprocess.run([BENCH, "--server", f"127.0.0.1:{self.server.port}", "--threads",
                                "1", "--connections", "4", "--test-time", "1.5", "--json",
                                out.name, *args], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("ops/s", r.stdout)
            with open(out.name) as f:
                return json.load(f)

    def test_text_with_prefill(self):
        j = self.bench("--prefill", "--key-maximum", "2000", "--ratio", "1:10")
        self.assertGreater(j["ops"], 100)
        self.assertEqual(j["errors"], 0)
        self.assertGreater(j["hits"], 0)
        for p in ("p50", "p90", "p99", "p99.9", "max"):
            self.assertGreater(j["latency_us"][p], 0)
        self.assertLessEqual(j["latency_us"]["p50"], j["latency_us"]["p99"])

    def test_pipelined_meta_quiet_and_multiget(self):
        j = self.bench("--meta-quiet", "--pipeline", "16", "--key-maximum", "2000")
        self.assertGreater(j["ops"], 100)
        self.assertEqual(j["errors"], 0)
        j = self.bench("--multi-get", "10", "--ratio", "0:1", "--key-pattern", "zipf",
                       "--key-maximum", "2000")
        self.assertEqual(j["errors"], 0)
        j = self.bench("--protocol", "meta", "--data-size-range", "10-2000",
                       "--key-pattern", "gaussian", "--expiry-range", "10-100")
        self.assertEqual(j["errors"], 0)

    def test_binary_protocol(self):
        # Keys bin-1..1000 stored (in text), gets over 1..2000: about half hit,
        # one GET at a time and in quiet GETKQ ... NOOP pipelines alike.
        self.bench("--prefill", "--key-prefix", "bin-", "--key-maximum", "1000", "--requests", "1")
        for pipeline in ("1", "16"):
            j = self.bench("--protocol", "binary", "--pipeline", pipeline, "--key-prefix", "bin-",
                           "--key-maximum", "2000", "--ratio", "0:1")
            self.assertEqual(j["errors"], 0)
            self.assertEqual(j["hits"] + j["misses"], j["gets"])
            self.assertGreater(j["hits"], j["gets"] // 4)
            self.assertGreater(j["misses"], j["gets"] // 4)
            j = self.bench("--protocol", "binary", "--pipeline", pipeline, "--key-maximum", "2000",
                           "--data-size-range", "10-2000", "--expiry-range", "10-100")
            self.assertEqual(j["errors"], 0)
            self.assertGreater(j["sets"], 0)

    def test_fixed_rate(self):
        # 400 requests a second for 1.5 s: about 600 requests, where the
        # closed loop sends tens of thousands.
        j = self.bench("--rate", "400", "--key-maximum", "2000")
        self.assertEqual(j["errors"], 0)
        self.assertEqual(j["rate"], 400)
        self.assertGreater(j["ops"], 400)
        self.assertLess(j["ops"], 700)

    def test_bad_flags(self):
        r = subprocess.run([BENCH, "--protocol", "ascii"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()

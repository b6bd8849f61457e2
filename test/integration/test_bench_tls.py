"""memcoro-bench --tls and --handshakes against memcoro -Z (a smoke test;
benchmarks/compare's workloads i, j and k do the measuring): every workload
shape runs over TLS without errors, --tls-ca verifies the server, a wrong CA
fails the run, and --handshakes counts connect + handshake + version cycles."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tls_certs  # noqa: E402

BENCH = os.environ.get("BENCH_BIN", "")


class BenchTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tls_certs.Certs()
        cls.server = harness.Server(["-t", "2", *cls.certs.server_args()],
                                    tls=cls.certs.client_context())

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.certs.close()

    def run_bench(self, *args):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            r = subprocess.run([BENCH, "--server", f"127.0.0.1:{self.server.port}", "--threads",
                                "1", "--connections", "4", "--test-time", "1.5", "--quiet",
                                "--json", out.name, *args], capture_output=True, text=True,
                               timeout=60)
            try:
                with open(out.name) as f:
                    j = json.load(f)
            except ValueError:
                j = None
            return r, j

    def bench(self, *args):
        r, j = self.run_bench(*args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(j["errors"], 0)
        self.assertTrue(j["tls"])
        return j

    def test_text_with_prefill_verified(self):
        j = self.bench("--tls-ca", self.certs.ca, "--prefill", "--key-maximum", "2000")
        self.assertGreater(j["ops"], 100)
        self.assertGreater(j["hits"], 0)
        self.assertEqual(j["mode"], "workload")
        self.assertLessEqual(j["latency_us"]["p50"], j["latency_us"]["p99"])

    def test_pipelined_meta_and_binary(self):
        self.bench("--tls", "--prefill", "--key-prefix", "t-", "--key-maximum", "1000",
                   "--requests", "1")
        j = self.bench("--tls", "--meta-quiet", "--pipeline", "16", "--key-prefix", "t-",
                       "--key-maximum", "2000")
        self.assertGreater(j["ops"], 100)
        self.assertGreater(j["hits"], 0)
        j = self.bench("--tls", "--protocol", "binary", "--pipeline", "16", "--key-prefix", "t-",
                       "--key-maximum", "2000", "--ratio", "0:1")
        self.assertEqual(j["hits"] + j["misses"], j["gets"])
        self.assertGreater(j["hits"], 0)
        j = self.bench("--tls", "--pipeline", "8", "--data-size-range", "10-20000")
        self.assertGreater(j["sets"], 0)

    def handshake_errors(self):
        with self.server.connect() as s:
            stats = harness.command(s, b"stats\r\n", until=b"END\r\n").decode()
        return int(re.search(r"STAT ssl_handshake_errors (\d+)\r\n", stats).group(1))

    def test_handshakes(self):
        errors = self.handshake_errors()
        j = self.bench("--tls", "--handshakes")
        self.assertEqual(j["mode"], "handshakes")
        self.assertGreater(j["ops"], 10)
        self.assertEqual(j["gets"] + j["sets"], 0)
        self.assertGreater(j["latency_us"]["p50"], 0)
        # The server saw every handshake succeed.
        self.assertEqual(self.handshake_errors(), errors)

    def test_wrong_or_missing_ca_fails(self):
        r, j = self.run_bench("--tls-ca", self.certs.other_ca, "--requests", "10")
        self.assertNotEqual(r.returncode, 0)
        self.assertGreater(j["errors"], 0)
        self.assertIn("handshake", r.stderr)
        r, _ = self.run_bench("--tls-ca", "/nonexistent/ca.crt")
        self.assertEqual(r.returncode, 66, r.stderr)


if __name__ == "__main__":
    unittest.main()

"""The C++ meta client (client_check) against memcoro and against Debian's
memcached: the same program must pass on both."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CHECK = os.environ.get("CLIENT_CHECK_BIN", "")


class Client(unittest.TestCase):
    def run_against(self, kind):
        with harness.Server(kind=kind) as server:
            out = subprocess.run([CHECK, str(server.port)], capture_output=True, text=True,
                                 timeout=60)
        print(f"--- {kind}\n{out.stdout}{out.stderr}")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertNotIn("FAIL", out.stdout)

    def test_against_memcoro(self):
        self.run_against("memcoro")

    def test_against_memcached(self):
        self.run_against("memcached")


if __name__ == "__main__":
    unittest.main()

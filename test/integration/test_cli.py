"""The memcoro binary's command line, config file and signals."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

BIN = harness.MEMCORO


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL)


class CommandLine(unittest.TestCase):
    def test_help_and_version(self):
        h = run("-h")
        self.assertEqual(h.returncode, 0)
        for flag in ("--port", "--listen", "--conn-limit", "--threads", "--memory-limit",
                     "--max-item-size", "--config", "-U"):
            self.assertIn(flag, h.stdout)
        v = run("-V")
        self.assertEqual(v.returncode, 0)
        self.assertTrue(v.stdout.startswith("memcoro "))

    def test_bad_flags_exit_nonzero_with_a_message(self):
        for args in (["--bogus"], ["-p", "notaport"], ["-U", "11211"], ["-I", "5x"], ["-D", "ab"],
                     ["-m", "1", "-I", "4m"], ["-t", "0"], ["extra"]):
            r = run(*args)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn("memcoro:", r.stderr, args)

    def test_port_in_use(self):
        with harness.Server() as other:
            r = run("-p", str(other.port), "-l", "127.0.0.1")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("cannot listen", r.stderr)

    def test_config_file_and_flags_over_it(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"conn_limit": 77, "threads": 3, "max_item_size": "2m",
                       "prefix_delimiter": "#"}, f)
            path = f.name
        try:
            with harness.Server(["--config", path, "-t", "2", "-D", "/"]) as server:
                with server.connect() as s:
                    reply = harness.command(s, b"stats settings\r\n", until=b"END\r\n").decode()
                    detail = harness.command(s, b"stats detail on\r\nget x/1 x#2\r\n"
                                             b"stats detail dump\r\n", until=b"END\r\nEND\r\n")
                self.assertIn("STAT stat_key_prefix /\r\n", reply)
                self.assertIn("STAT detail_enabled no\r\n", reply)
                self.assertTrue(detail.endswith(b"PREFIX x get 1 hit 0 set 0 del 0\r\nEND\r\n"),
                                detail)
                self.assertIn("STAT maxconns 77\r\n", reply)
                self.assertIn("STAT num_threads 2\r\n", reply)
                self.assertIn("STAT item_size_max 2097152\r\n", reply)
                self.assertEqual(harness.stats(server)["threads"], "2")
        finally:
            os.unlink(path)

    def test_shipped_example_config_is_valid_and_complete(self):
        # config/memcoro.json lists every setting with its default value.
        path = os.path.join(os.path.dirname(__file__), "..", "..", "config", "memcoro.json")
        with open(path) as f:
            shipped = json.load(f)
        with harness.Server(admin=True) as server:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.admin}/config") as r:
                in_force = json.load(r)
        self.assertEqual(set(shipped), set(in_force))
        sizes = {"max_item_size": 1 << 20, "conn_reply_limit": 4 << 20}
        for name, value in shipped.items():
            if name in ("port", "admin_port"):
                continue  # the test picked its own
            expected = in_force[name]["value"]
            if name == "memory_limit":
                expected //= 1 << 20
            self.assertEqual(sizes.get(name, value) if name in sizes else value, expected, name)
        with harness.Server(["--config", path]) as server:
            self.assertEqual(harness.stats(server)["limit_maxbytes"], str(64 << 20))

    def test_sigterm_stops_gracefully(self):
        server = harness.Server()
        with server.connect() as s:
            harness.command(s, b"set a 0 0 1\r\nx\r\n")
            server.proc.send_signal(signal.SIGTERM)
            start = time.time()
            code = server.proc.wait(timeout=10)
            self.assertEqual(code, 0)
            self.assertLess(time.time() - start, 5)
        server.stop()


if __name__ == "__main__":
    unittest.main()

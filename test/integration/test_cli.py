"""The memcoro binary's command line, config file and signals."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

BIN = harness.MEMCORO


def run(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


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
        for args in (["--bogus"], ["-p", "notaport"], ["-U", "70000"], ["-I", "5x"], ["-D", "ab"],
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


class Environment(unittest.TestCase):
    """The few variables memcoro reads (for containers): below the config
    file and the flags; MEMCORO_CONFIG names a file read when it exists."""

    def settings(self, server):
        with server.connect() as s:
            return harness.command(s, b"stats settings\r\n", until=b"END\r\n").decode()

    def test_variables_sit_under_the_file_and_the_flags(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "memcoro.json")
            with open(path, "w") as f:
                json.dump({"conn_limit": 55, "admin_allowed_hosts": ["from-file"]}, f)
            token = os.path.join(d, "token")
            with open(token, "w") as f:
                f.write("s3cret\n")
            env = {"MEMCORO_CONFIG": path, "MEMCORO_ADMIN_ALLOWED_HOSTS": "from-env",
                   "MEMCORO_ADMIN_TOKEN_FILE": token}
            with harness.Server(["-c", "66"], admin=True, env=env) as server:
                url = f"http://127.0.0.1:{server.admin}/config"
                conf = json.load(urllib.request.urlopen(url, timeout=5))
                self.assertEqual(conf["admin_token_file"]["value"], token)  # the variable
                self.assertEqual(conf["admin_allowed_hosts"]["value"], ["from-file"])  # file wins
                self.assertEqual(conf["conn_limit"]["value"], 66)  # the flag wins
                change = urllib.request.Request(url, data=b'{"verbosity": 1}', method="PUT",
                                                headers={"Content-Type": "application/json"})
                with self.assertRaises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(change, timeout=5)
                self.assertEqual(refused.exception.code, 401)  # the token from the variable
                change.add_header("Authorization", "Bearer s3cret")
                self.assertEqual(urllib.request.urlopen(change, timeout=5).status, 200)

    def test_a_missing_memcoro_config_file_is_skipped_and_said(self):
        env = {"MEMCORO_CONFIG": "/nonexistent/memcoro.json"}
        with harness.Server(env=env) as server:
            self.assertIn("STAT maxconns 1024\r\n", self.settings(server))
            self.assertIn("no config file at /nonexistent/memcoro.json", server.output())
        # --config names a file that must exist.
        r = run("--config", "/nonexistent/memcoro.json")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot read config file", r.stderr)

    def test_a_bad_variable_refuses_to_start(self):
        r = run("-p", "0", env={"MEMCORO_ADMIN_ALLOWED_HOSTS": "*.example"})
        self.assertEqual(r.returncode, 64, r.stderr)
        self.assertIn("MEMCORO_ADMIN_ALLOWED_HOSTS", r.stderr)

    def test_other_memcoro_variables_are_not_read(self):
        # What Kubernetes sets for a service named "memcoro".
        env = {"MEMCORO_PORT": "tcp://10.0.0.7:11211", "MEMCORO_SERVICE_HOST": "10.0.0.7"}
        with harness.Server(env=env) as server:
            self.assertIn("STAT tcpport %d\r\n" % server.port, self.settings(server))


class HealthCheck(unittest.TestCase):
    def test_healthy_server(self):
        with harness.Server() as server:
            r = run("--health-check", "-p", str(server.port), "-l", "127.0.0.1")
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_nothing_listening(self):
        r = run("--health-check", "-p", str(harness.free_port()), "-l", "127.0.0.1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("health check", r.stderr)

    def test_a_port_that_never_answers(self):
        import socket
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(1)
            start = time.monotonic()
            r = run("--health-check", "-p", str(silent.getsockname()[1]), "-l", "127.0.0.1")
            self.assertEqual(r.returncode, 1)
            self.assertIn("no answer in time", r.stderr)
            self.assertLess(time.monotonic() - start, 5)

    def test_wildcard_listen_is_probed_on_loopback(self):
        with harness.Server() as server:
            r = run("--health-check", "-p", str(server.port), "-l", "0.0.0.0")
            self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()

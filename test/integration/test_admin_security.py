"""The admin port against other web sites (issue 10, item 2), over real
HTTP with the headers an attacker's page makes a browser send:

- a "simple" cross-site request (POST with Content-Type: text/plain, which
  a browser sends without a CORS preflight) must not change anything;
- a request through a rebound DNS name (Host: evil.example) must neither
  change nor read anything;
- an Origin naming another site is refused;
- legitimate clients (loopback Host, application/json) keep working, and
  admin_allowed_hosts lets a configured name in.
The last class replays the cross-site attack from a page in headless
Chromium."""
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def request(port, method, path, body=None, headers=None):
    """Sends exactly `headers` (http.client adds Host only when it is not
    given, and Content-Length for a body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


def raw(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return reply
            reply += chunk


JSON = {"Content-Type": "application/json"}


def config(port):
    status, _, data = request(port, "GET", "/config")
    assert status == 200, (status, data)
    return json.loads(data)


def cmd_get(server):
    return int(harness.stats(server)["cmd_get"])


def touch_stats(server):
    """Makes cmd_get non-zero, so that a reset would show."""
    with server.connect() as s:
        harness.command(s, b"get nothing\r\n", until=b"END\r\n")
    return cmd_get(server)


def no_cors_headers(test, headers):
    test.assertEqual([h for h in headers if h.lower().startswith("access-control-")], [])


class CrossSite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(admin=True)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_text_plain_post_does_not_reset_stats(self):
        before = touch_stats(self.server)
        for ctype in ("text/plain", "text/plain;charset=UTF-8",
                      "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            status, headers, data = request(self.server.admin, "POST", "/stats/reset",
                                            body=b"x", headers={"Content-Type": ctype})
            self.assertEqual(status, 415, (ctype, data))
            no_cors_headers(self, headers)
        # A bodyless POST (fetch with no body and no headers) too.
        status, _, _ = request(self.server.admin, "POST", "/stats/reset")
        self.assertEqual(status, 415)
        self.assertGreaterEqual(cmd_get(self.server), before)

    def test_text_plain_config_changes_are_refused(self):
        before = config(self.server.admin)
        status, _, _ = request(self.server.admin, "PUT", "/config",
                               body=json.dumps({"conn_limit": 5}),
                               headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        status, _, _ = request(self.server.admin, "POST", "/config/reload",
                               headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        self.assertEqual(config(self.server.admin), before)

    def test_origin_of_another_site_is_refused(self):
        before = touch_stats(self.server)
        port = self.server.admin
        for origin in ("http://evil.example", f"http://evil.example:{port}", "null",
                       f"http://127.0.0.1:{port + 1}", f"https://localhost:{port}",
                       f"http://localhost:{port}"):  # Host is 127.0.0.1: another origin
            status, headers, data = request(port, "POST", "/stats/reset",
                                            headers={**JSON, "Origin": origin})
            self.assertEqual(status, 403, (origin, data))
            no_cors_headers(self, headers)
        status, _, _ = request(port, "PUT", "/config", body=json.dumps({"memory_limit": 1}),
                               headers={**JSON, "Origin": "http://evil.example"})
        self.assertEqual(status, 403)
        self.assertEqual(config(port)["memory_limit"]["value"], 64 << 20)
        self.assertGreaterEqual(cmd_get(self.server), before)

    def test_a_good_request_still_works(self):
        port = self.server.admin
        # As curl sends it: loopback Host, application/json, no Origin.
        touch_stats(self.server)
        status, _, data = request(port, "POST", "/stats/reset", headers=JSON)
        self.assertEqual(status, 200, data)
        self.assertEqual(cmd_get(self.server), 0)
        # As a same-origin page sends it: Origin is the admin port itself.
        touch_stats(self.server)
        status, _, data = request(port, "POST", "/stats/reset",
                                  headers={"Content-Type": "application/json; charset=utf-8",
                                           "Origin": f"http://127.0.0.1:{port}"})
        self.assertEqual(status, 200, data)
        self.assertEqual(cmd_get(self.server), 0)
        status, _, data = request(port, "PUT", "/config", body=json.dumps({"verbosity": 0}),
                                  headers={**JSON, "Host": f"localhost:{port}",
                                           "Origin": f"http://localhost:{port}"})
        self.assertEqual(status, 200, data)

    def test_preflight_is_never_approved(self):
        status, headers, _ = request(self.server.admin, "OPTIONS", "/config", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type"})
        self.assertEqual(status, 204)
        no_cors_headers(self, headers)
        for path in ("/stats", "/config", "/metrics", "/"):
            _, headers, _ = request(self.server.admin, "GET", path,
                                    headers={"Origin": "http://evil.example"})
            no_cors_headers(self, headers)


class Rebinding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(admin=True)
        with cls.server.connect() as s:
            harness.command(s, b"set kept 0 0 4\r\nkept\r\n")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_reads_through_a_rebound_name_are_refused(self):
        port = self.server.admin
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example",
                     "localhost.evil.example", "10.9.8.7"):
            for path in ("/stats", "/stats/conns", "/stats/settings", "/config", "/"):
                status, headers, data = request(port, "GET", path, headers={"Host": host})
                self.assertEqual(status, 403, (host, path, data))
                self.assertNotIn(b"curr_items", data)
                no_cors_headers(self, headers)

    def test_probes_and_metrics_answer_under_any_host(self):
        # Schedulers and scrapers reach the port by whatever name their network
        # gives it (a compose service name, a container's address): these pages
        # answer under any Host. They hold no key, no client address and no
        # setting, which is what a rebound page could still read of them.
        port = self.server.admin
        for host in ("evil.example", "node1:11212", "10.9.8.7"):
            for path, marker in (("/metrics", b"memcached_up 1"), ("/healthz", b"ok"),
                                 ("/readyz", b"ready")):
                status, headers, data = request(port, "GET", path, headers={"Host": host})
                self.assertEqual(status, 200, (host, path, data))
                self.assertIn(marker, data)
                self.assertNotIn(b"127.0.0.1", data)  # no listen or client address
                no_cors_headers(self, headers)
            # Only reading them: anything else meets the Host rule first.
            status, _, _ = request(port, "POST", "/metrics", headers={**JSON, "Host": host})
            self.assertEqual(status, 403)

    def test_changes_through_a_rebound_name_are_refused(self):
        port = self.server.admin
        before = config(port)
        evil = {**JSON, "Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
        status, _, _ = request(port, "PUT", "/config", body=json.dumps({"memory_limit": 1}),
                               headers=evil)
        self.assertEqual(status, 403)
        status, _, _ = request(port, "PUT", "/config", body=json.dumps({"conn_limit": 1}),
                               headers={**JSON, "Host": "evil.example"})  # no Origin either
        self.assertEqual(status, 403)
        touch_stats(self.server)
        status, _, _ = request(port, "POST", "/stats/reset", headers=evil)
        self.assertEqual(status, 403)
        self.assertGreater(cmd_get(self.server), 0)
        self.assertEqual(config(port), before)
        with self.server.connect() as s:
            self.assertIn(b"VALUE kept", harness.command(s, b"get kept\r\n", until=b"END\r\n"))

    def test_loopback_hosts_are_accepted(self):
        port = self.server.admin
        for host in ("localhost", f"localhost:{port}", "LocalHost.", f"127.0.0.1:{port}",
                     "127.1.2.3", f"[::1]:{port}", "[::ffff:127.0.0.1]"):
            status, _, data = request(port, "GET", "/stats", headers={"Host": host})
            self.assertEqual(status, 200, (host, data))

    def test_malformed_or_missing_host(self):
        port = self.server.admin
        for host in ("::1", "[::1", "evil.example:80:80", "a b", "[127.0.0.1]", "x:port"):
            self.assertEqual(request(port, "GET", "/stats", headers={"Host": host})[0], 400, host)
        # HTTP/1.1 requires a Host; HTTP/1.0 need not send one (and no browser omits it).
        self.assertTrue(raw(port, b"GET /stats HTTP/1.1\r\nConnection: close\r\n\r\n")
                        .startswith(b"HTTP/1.1 400"))
        self.assertTrue(raw(port, b"GET /stats HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200"))
        two = (b"GET /stats HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n"
               b"Connection: close\r\n\r\n")
        self.assertTrue(raw(port, two).startswith(b"HTTP/1.1 400"))


class AllowedHosts(unittest.TestCase):
    def test_configured_names_are_let_in(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "memcoro.json")
            with open(path, "w") as f:
                json.dump({"admin_allowed_hosts": ["memcoro.svc.cluster.local", "10.1.2.3"]}, f)
            flag = ["--config", path, "--admin-allowed-hosts", "Cache.Internal, [fd00::5]"]
            with harness.Server(flag, admin=True) as server:
                port = server.admin
                cfg = config(port)
                # The flag replaces the file's list, as every flag does.
                self.assertEqual(cfg["admin_allowed_hosts"],
                                 {"value": ["cache.internal", "fd00::5"], "live": False})
                for host in ("cache.internal", f"CACHE.INTERNAL:{port}", "[fd00::5]:80",
                             "localhost"):
                    self.assertEqual(request(port, "GET", "/stats", headers={"Host": host})[0],
                                     200, host)
                for host in ("memcoro.svc.cluster.local", "evil.example", "internal"):
                    self.assertEqual(request(port, "GET", "/stats", headers={"Host": host})[0],
                                     403, host)
                # Through the allowed name, with its own origin, changes work.
                status, _, data = request(port, "PUT", "/config",
                                          body=json.dumps({"conn_limit": 99}),
                                          headers={**JSON, "Host": f"cache.internal:{port}",
                                                   "Origin": f"http://cache.internal:{port}"})
                self.assertEqual(status, 200, data)
                self.assertEqual(harness.stats(server)["max_connections"], "99")
                # The list cannot be changed through the port it guards.
                status, _, data = request(port, "PUT", "/config", headers=JSON,
                                          body=json.dumps({"admin_allowed_hosts": ["x.example"]}))
                self.assertEqual(status, 409, data)
            with harness.Server(["--config", path], admin=True) as server:
                self.assertEqual(request(server.admin, "GET", "/stats",
                                         headers={"Host": "memcoro.svc.cluster.local"})[0], 200)

    def test_bad_lists_are_refused_at_start(self):
        for value in ("*.example", "host:11212", "a/b", "[nonsense]"):
            out = subprocess.run([harness.MEMCORO, "--admin-allowed-hosts", value, "-p", "0",
                                  "--admin-port", "0"],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 64, value)
            self.assertIn("admin_allowed_hosts", out.stderr)


class TokenStillRules(unittest.TestCase):
    def test_token_and_content_type_both_needed(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("s3cret\n")
            path = f.name
        try:
            with harness.Server(["--admin-token-file", path], admin=True) as server:
                port = server.admin
                bearer = {"Authorization": "Bearer s3cret"}
                self.assertEqual(request(port, "POST", "/stats/reset", headers=JSON)[0], 401)
                self.assertEqual(request(port, "POST", "/stats/reset",
                                         headers={**bearer, "Content-Type": "text/plain"})[0],
                                 415)
                self.assertEqual(request(port, "POST", "/stats/reset",
                                         headers={**bearer, **JSON, "Host": "evil.example"})[0],
                                 403)
                self.assertEqual(request(port, "POST", "/stats/reset",
                                         headers={**bearer, **JSON})[0], 200)
        finally:
            os.unlink(path)


class Attacker(http.server.BaseHTTPRequestHandler):
    """Serves the attacker's page and records what reaches /record."""
    page = b""
    recorded = []

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def do_POST(self):
        Attacker.recorded.append(self.rfile.read(int(self.headers["Content-Length"] or 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@unittest.skipIf(CHROMIUM is None, "Debian's chromium is not installed")
class Browser(unittest.TestCase):
    def test_a_page_on_another_site_cannot_reset_or_reconfigure(self):
        with harness.Server(admin=True) as server:
            attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
            threading.Thread(target=attacker.serve_forever, daemon=True).start()
            try:
                admin = f"http://127.0.0.1:{server.admin}"
                # The control: the same simple request to another cross-site
                # server does arrive, so only the admin port's rules stop it.
                control = f"http://localhost:{attacker.server_address[1]}/record"
                Attacker.page = f"""<!doctype html><body><script>
const out = [];
const done = () => document.body.setAttribute("data-done", JSON.stringify(out));
const simple = {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
                body: "reset"}};
Promise.allSettled([
  fetch("{control}", simple),
  fetch("{admin}/stats/reset", simple),
  fetch("{admin}/config/reload", simple),
  fetch("{admin}/config", {{method: "PUT", headers: {{"Content-Type": "application/json"}},
                            body: JSON.stringify({{conn_limit: 1}})}}),
]).then(rs => {{ for (const r of rs) out.push(r.status); done(); }});
</script></body>""".encode()
                before = touch_stats(server)
                with tempfile.TemporaryDirectory() as profile:
                    dom = subprocess.run(
                        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                         "--no-first-run", "--disable-background-networking",
                         f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                         "--dump-dom", f"http://127.0.0.1:{attacker.server_address[1]}/"],
                        capture_output=True, text=True, timeout=120).stdout
                self.assertIn("data-done", dom)
                self.assertEqual(Attacker.recorded, [b"reset"])  # the browser does send it
                self.assertIn("rejected", dom)  # the PUT's preflight was not approved
                self.assertGreaterEqual(cmd_get(server), before)
                self.assertEqual(harness.stats(server)["max_connections"], "1024")
            finally:
                attacker.shutdown()
                attacker.server_close()


if __name__ == "__main__":
    unittest.main()

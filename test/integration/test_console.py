"""The admin port's console (issue 17) over real sockets: POST /api/command
and the WebSocket session GET /api/session, from Python (python3-websocket)
and from the dashboard's console panel in headless Chromium.

- A console command gets the bytes the cache port answers to the same
  request, byte for byte (the replies of both are compared), and a JSON
  form of them.
- Storage commands carry their value inline; the byte count is computed.
- Every refusal: bad JSON, a line with CR/LF, an unknown command
  (memcached's ERROR), an oversized request or message, a missing or wrong
  token, a foreign Origin, a rebound Host, the cache port's -Y without a
  token.
- A console session is a connection in `stats conns` and curr_connections
  while it is open."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

try:
    import websocket  # Debian's python3-websocket
except ImportError:
    websocket = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
JSON = {"Content-Type": "application/json"}


def post(port, body, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        conn.request("POST", "/api/command", body=data, headers={**JSON, **(headers or {})})
        res = conn.getresponse()
        raw = res.read()
        try:
            return res.status, json.loads(raw)
        except ValueError:
            return res.status, raw
    finally:
        conn.close()


def run(port, command, headers=None):
    status, body = post(port, {"command": command}, headers)
    assert status == 200, (status, body)
    return body


def read(path):
    with open(path) as f:
        return f.read().strip()


def token_file(token):
    f = tempfile.NamedTemporaryFile("w", delete=False)
    f.write(token + "\n")
    f.close()
    return f.name


class Command(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(["-m", "64"], admin=True)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def cache(self, data, until):
        with self.server.connect() as s:
            return harness.command(s, data, until=until)

    def test_replies_are_the_cache_ports(self):
        port = self.server.admin
        body = run(port, "set c1 5 0 hello world")
        self.assertEqual(body["raw"], "STORED\r\n")
        self.assertEqual(body["parsed"]["status"], "STORED")
        self.assertTrue(body["ok"])
        # Byte for byte what the cache port answers to the same request.
        for command, until in [("get c1", b"END\r\n"), ("gets c1 nothing", b"END\r\n"),
                               ("mg c1 v f s", b"hello world\r\n"), ("touch c1 100", b"\r\n"),
                               ("incr c1 1", b"\r\n"), ("bogus", b"\r\n"),
                               ("get " + "k" * 251, b"\r\n"), ("version", b"\r\n")]:
            with self.subTest(command=command):
                want = self.cache(command.encode() + b"\r\n", until).decode()
                self.assertEqual(run(port, command)["raw"], want)
        values = run(port, "gets c1")["parsed"]["values"]
        self.assertEqual([(v["key"], v["flags"], v["bytes"], v["value"]) for v in values],
                         [("c1", 5, 11, "hello world")])
        self.assertIn("cas", values[0])
        cas = values[0]["cas"]
        self.assertEqual(run(port, f"cas c1 0 0 {cas + 1000} lost")["raw"], "EXISTS\r\n")
        self.assertEqual(run(port, f"cas c1 0 0 {cas} won")["raw"], "STORED\r\n")
        self.assertEqual(self.cache(b"get c1\r\n", b"END\r\n"), b"VALUE c1 0 3\r\nwon\r\nEND\r\n")
        run(port, "set n 0 0 41")
        self.assertEqual(run(port, "incr n 1")["parsed"]["number"], 42)
        stats = run(port, "stats")["parsed"]["stats"]
        self.assertIn("curr_items", stats)
        error = run(port, "bogus")
        self.assertFalse(error["ok"])
        self.assertEqual(error["parsed"]["error"]["kind"], "ERROR")
        self.assertEqual(run(port, "get " + "k" * 251)["parsed"]["error"]["kind"], "CLIENT_ERROR")

    def test_large_replies_are_whole(self):
        port = self.server.admin
        value = "x" * 200000  # larger than one part of a multi-get (64 KiB)
        self.cache(b"set big1 0 0 200000\r\n" + value.encode() + b"\r\n", b"\r\n")
        self.cache(b"set big2 0 0 200000\r\n" + value.encode() + b"\r\n", b"\r\n")
        values = run(port, "get big1 big2")["parsed"]["values"]
        self.assertEqual([len(v["value"]) for v in values], [200000, 200000])

    def test_refusals(self):
        port = self.server.admin
        self.assertEqual(post(port, b"not json")[0], 400)
        self.assertEqual(post(port, {"cmd": "get a"})[0], 400)
        self.assertEqual(post(port, {"command": 5})[0], 400)
        status, body = post(port, {"command": "get a\r\nflush_all"})
        self.assertEqual(status, 400)
        self.assertIn("CR", body["error"])
        status, body = post(port, {"command": "ms m1 5"})  # its block cannot follow
        self.assertEqual(status, 400)
        self.assertTrue(body["waiting"])
        self.assertEqual(post(port, {"command": "get a"}, {"Content-Type": "text/plain"})[0], 415)
        self.assertEqual(post(port, {"command": "get a"}, {"Origin": "http://evil.example"})[0],
                         403)
        self.assertEqual(post(port, {"command": "get a"}, {"Host": "evil.example"})[0], 403)
        status, _ = post(port, {"command": "set huge 0 0 " + "v" * 70000})
        self.assertEqual(status, 413)
        # Nothing of it ran.
        self.assertEqual(self.cache(b"get huge m1\r\n", b"END\r\n"), b"END\r\n")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/command", headers={"Host": "127.0.0.1"})
        self.assertEqual(conn.getresponse().status, 405)
        conn.close()

    @unittest.skipIf(websocket is None, "no python3-websocket")
    def test_websocket_session(self):
        port = self.server.admin
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/api/session", timeout=30)
        try:
            self.assertEqual(json.loads(ws.recv()), {"console": "memcoro", "token_required": False})
            ws.send("set w1 0 0 from the socket")
            self.assertEqual(json.loads(ws.recv())["raw"], "STORED\r\n")
            # A text session: a meta set's block is the next message.
            ws.send("ms w2 2 T0")
            self.assertTrue(json.loads(ws.recv())["waiting"])
            ws.send("hi")
            self.assertEqual(json.loads(ws.recv())["raw"], "HD\r\n")
            ws.send(json.dumps({"command": "get w1 w2"}))
            self.assertEqual(json.loads(ws.recv())["raw"],
                             "VALUE w1 0 15\r\nfrom the socket\r\nVALUE w2 0 2\r\nhi\r\nEND\r\n")
            # Listed in stats conns, counted in curr_connections.
            conns = json.loads(urllib.request.urlopen(
                f"http://127.0.0.1:{port}/stats/conns").read())["connections"]
            console = [c for c in conns if c.get("listen_addr", "").startswith("console:")]
            self.assertEqual(len(console), 1, conns)
            self.assertEqual(console[0]["listen_addr"], f"console:tcp:127.0.0.1:{port}")
            ws.send("stats")
            self.assertEqual(json.loads(ws.recv())["parsed"]["stats"]["curr_connections"], "1")
            ws.send("bogus")
            self.assertEqual(json.loads(ws.recv())["raw"], "ERROR\r\n")
            ws.send("quit")
            self.assertTrue(json.loads(ws.recv())["closed"])
            with self.assertRaises(websocket.WebSocketConnectionClosedException):
                ws.recv()
                ws.recv()
        finally:
            ws.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # gone from stats conns once closed
            conns = json.loads(urllib.request.urlopen(
                f"http://127.0.0.1:{port}/stats/conns").read())["connections"]
            if not any(c.get("listen_addr", "").startswith("console:") for c in conns):
                break
            time.sleep(0.1)
        else:
            self.fail("the closed console is still listed")

    @unittest.skipIf(websocket is None, "no python3-websocket")
    def test_a_console_that_never_reads_holds_one_reply_and_harms_no_one(self):
        """A session that asks for 200 KB values and never reads: the server
        stops reading it once a reply cannot be sent (one reply in flight,
        no queue), and the admin port, other sessions and the cache port go
        on answering."""
        port = self.server.admin
        value = b"y" * 200000
        self.cache(b"set stall 0 0 200000\r\n" + value + b"\r\n", b"\r\n")
        rss_before = harness.rss_bytes(self.server.proc.pid)
        ws = websocket.WebSocket()
        ws.connect(f"ws://127.0.0.1:{port}/api/session", timeout=30,
                   sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
        try:
            for _ in range(300):  # ~120 MB of replies if they were all queued
                ws.send("get stall")
            time.sleep(1.0)
            start = time.monotonic()
            stats = json.loads(urllib.request.urlopen(
                f"http://127.0.0.1:{port}/stats", timeout=10).read())
            self.assertIn("curr_connections", stats)
            self.assertEqual(run(port, "get stall")["parsed"]["values"][0]["bytes"], 200000)
            other = websocket.create_connection(f"ws://127.0.0.1:{port}/api/session", timeout=10)
            other.recv()
            other.send("version")
            self.assertTrue(json.loads(other.recv())["raw"].startswith("VERSION "))
            other.close()
            self.assertEqual(self.cache(b"get stall\r\n", b"END\r\n")[-5:], b"END\r\n")
            self.assertLess(time.monotonic() - start, 10)
            grown = harness.rss_bytes(self.server.proc.pid) - rss_before
            self.assertLess(grown, 40 << 20, grown)
        finally:
            ws.close()

    @unittest.skipIf(websocket is None, "no python3-websocket")
    def test_websocket_refusals(self):
        port = self.server.admin
        url = f"ws://127.0.0.1:{port}/api/session"
        with self.assertRaises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(url, origin="http://evil.example", timeout=10)
        self.assertEqual(e.exception.status_code, 403)
        with self.assertRaises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(url, host="evil.example", timeout=10)
        self.assertEqual(e.exception.status_code, 403)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/session", headers={"Host": "127.0.0.1"})
        self.assertEqual(conn.getresponse().status, 426)  # not an upgrade
        conn.close()
        # A message over the 64 KiB limit closes the session (1009).
        ws = websocket.create_connection(url, timeout=30)
        ws.recv()
        ws.send("get " + "k" * 70000)
        with self.assertRaises((websocket.WebSocketConnectionClosedException, OSError)):
            ws.recv()
            ws.recv()
        ws.close()


class Token(unittest.TestCase):
    def test_token_guards_both_routes(self):
        path = token_file("s3cret")
        try:
            with harness.Server(["--admin-token-file", path], admin=True) as server:
                port = server.admin
                self.assertEqual(post(port, {"command": "get a"})[0], 401)
                self.assertEqual(post(port, {"command": "get a"},
                                      {"Authorization": "Bearer wrong"})[0], 401)
                self.assertEqual(run(port, "get a", {"Authorization": "Bearer s3cret"})["raw"],
                                 "END\r\n")
                if websocket is None:
                    return
                url = f"ws://127.0.0.1:{port}/api/session"
                # A browser cannot send Authorization: the first message carries it.
                ws = websocket.create_connection(url, timeout=30)
                self.assertTrue(json.loads(ws.recv())["token_required"])
                ws.send("flush_all")  # not the token: refused, closed
                self.assertIn("token", json.loads(ws.recv())["error"])
                with self.assertRaises(websocket.WebSocketConnectionClosedException):
                    ws.recv()
                    ws.recv()
                ws.close()
                ws = websocket.create_connection(url, timeout=30)
                ws.recv()
                ws.send(json.dumps({"token": "s3cret"}))
                self.assertEqual(json.loads(ws.recv()), {"authenticated": True})
                ws.send("version")
                self.assertTrue(json.loads(ws.recv())["raw"].startswith("VERSION "))
                ws.close()
                ws = websocket.create_connection(url, timeout=30,
                                                 header=["Authorization: Bearer s3cret"])
                self.assertFalse(json.loads(ws.recv())["token_required"])
                ws.send("version")
                self.assertTrue(json.loads(ws.recv())["raw"].startswith("VERSION "))
                ws.close()
                with self.assertRaises(websocket.WebSocketBadStatusException) as e:
                    websocket.create_connection(url, timeout=10,
                                                header=["Authorization: Bearer wrong"])
                self.assertEqual(e.exception.status_code, 401)
        finally:
            os.unlink(path)

    def test_cache_port_authentication_needs_a_token(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("user:pass\n")
            auth = f.name
        try:
            with harness.Server(["-Y", auth], admin=True) as server:
                status, body = post(server.admin, {"command": "get a"})
                self.assertEqual(status, 403)
                self.assertIn("-Y", body["error"])
        finally:
            os.unlink(auth)


@unittest.skipIf(CHROMIUM is None or websocket is None, "no chromium or python3-websocket")
class Panel(unittest.TestCase):
    """The dashboard's console panel, typed into in headless Chromium (driven
    over its DevTools protocol)."""

    def test_panel_runs_a_command(self):
        with harness.Server([], admin=True) as server, \
                tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
            with server.connect() as s:
                harness.command(s, b"set panel 0 0 5\r\nseen!\r\n")
            browser = subprocess.Popen(
                [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--remote-debugging-port=0",
                 "--remote-allow-origins=*", f"http://127.0.0.1:{server.admin}/"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            try:
                page = self.devtools_page(browser, profile)
                ws = websocket.create_connection(page, timeout=60, suppress_origin=True)
                ids = iter(range(1, 1000))

                def evaluate(expr):
                    ws.send(json.dumps({"id": next(ids), "method": "Runtime.evaluate",
                                        "params": {"expression": expr, "returnByValue": True}}))
                    while True:
                        m = json.loads(ws.recv())
                        if "id" in m:
                            return m["result"]["result"].get("value")

                deadline = time.monotonic() + 60
                # (The first page may still be about:blank.)
                while evaluate('document.getElementById("console_form") !== null && '
                               'document.readyState') != "complete":
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.1)
                evaluate('document.getElementById("console_input").value = "get panel";'
                         'document.getElementById("console_form").requestSubmit(); 1')
                while evaluate('document.getElementById("console_out").dataset.replies') != "1":
                    self.assertLess(time.monotonic(), deadline, "no reply on the page")
                    time.sleep(0.1)
                shown = evaluate('document.getElementById("console_out").textContent')
                self.assertEqual(shown, "> get panel\nVALUE panel 0 5\r\nseen!\r\nEND\r\n")
                ws.close()
            finally:
                os.killpg(browser.pid, signal.SIGKILL)  # its helpers too
                browser.wait()

    def devtools_page(self, browser, profile):
        """The WebSocket URL of the browser's page, once it is up."""
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + 60
        while not os.path.exists(port_file) or not read(port_file):
            self.assertIsNone(browser.poll(), "chromium exited")
            self.assertLess(time.monotonic(), deadline, "chromium's DevTools never came up")
            time.sleep(0.1)
        port = read(port_file).split()[0]
        while True:
            targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list").read())
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)


if __name__ == "__main__":
    unittest.main()

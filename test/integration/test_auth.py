"""SASL (-S) and ASCII authentication (-Y) over real sockets, side by side
with Debian's memcached where it can be compared: the settings and
counters they show, their startup refusals, reloading the credential
files (SIGHUP on both, the admin port's reload on memcoro; a malformed file
keeps the old users), and real clients (libmemcached's memccp/memccat,
pylibmc) with good and wrong passwords. The byte-for-byte replies are in
test_auth_conformance.py.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import auth_servers  # noqa: E402
import harness  # noqa: E402
import test_admin  # noqa: E402
import test_conformance as tc  # noqa: E402


def stats(server, login, group=b""):
    """Text `stats` (-Y) or binary STAT (-S), as {name: value}, after login."""
    with server.connect() as s:
        if login == "ascii":
            s.sendall(b"set k 0 0 12\r\nalice secret\r\nstats " + group + b"\r\n")
            text = harness.read_reply(s, until=b"END\r\n", idle=2.0)[0].decode()
            return dict(line.split(" ", 2)[1:] for line in text.split("\r\n")
                        if line.startswith("STAT "))
        s.sendall(tc.req(0x21, b"PLAIN", value=b"\0alice\0secret") + tc.req(0x10, group) +
                  tc.BIN_MARKER)
        reply = harness.read_reply(s, until=tc.BIN_MARKER_REPLY, idle=2.0)[0]
    out = {}
    while len(reply) >= 24:
        kl, bl = int.from_bytes(reply[2:4], "big"), int.from_bytes(reply[8:12], "big")
        body = reply[24:24 + bl]
        if reply[1] == 0x10 and kl:
            out[body[:kl].decode()] = body[kl:].decode()
        reply = reply[24 + bl:]
    return out


def ascii_login(server, user=b"alice", password=b"secret"):
    tokens = user + b" " + password
    with server.connect() as s:
        return harness.command(s, b"set k 0 0 %d\r\n%s\r\n" % (len(tokens), tokens))


def sasl_login(server, user=b"alice", password=b"secret"):
    with server.connect() as s:
        s.sendall(tc.req(0x21, b"PLAIN", value=b"\0" + user + b"\0" + password))
        reply = harness.read_reply(s, until=b"Authenticated", idle=1.0)[0]
    return reply[24:]


class Auth(auth_servers.WithCredentials):
    def need_sasldb(self):
        if self.creds.sasl_conf is None:
            self.skipTest("no saslpasswd2 (Debian's sasl2-bin) to make memcached's sasldb")

    def test_stats_settings_and_counters_as_memcached(self):
        self.need_sasldb()
        names = ("binding_protocol", "auth_enabled_sasl", "auth_enabled_ascii")
        for login, start in (("ascii", auth_servers.ascii_server),
                             ("sasl", auth_servers.sasl_server)):
            views = []
            for kind in ("memcached", "memcoro"):
                server = start(kind, self.creds)
                try:
                    settings = stats(server, login, b"settings")
                    before = stats(server, login)
                    if login == "ascii":
                        for user, password in ((b"alice", b"wrong"), (b"bob", b"hunter2"),
                                               (b"x", b"y")):
                            ascii_login(server, user, password)
                    else:
                        for password in (b"wrong", b"secret", b"nope"):
                            sasl_login(server, b"alice", password)
                    after = stats(server, login)
                finally:
                    server.stop()
                deltas = {n: int(after[n]) - int(before[n]) for n in ("auth_cmds", "auth_errors")}
                views.append(([settings[n] for n in names], deltas))
            with self.subTest(login=login):
                self.assertEqual(views[1], views[0])
                self.assertEqual(views[1][0][0], "ascii" if login == "ascii" else "binary")

    def test_default_binding_protocol_is_memcacheds(self):
        for kind in ("memcached", "memcoro"):
            with harness.Server(kind=kind) as server:
                with server.connect() as c:
                    text = harness.command(c, b"stats settings\r\n", until=b"END\r\n").decode()
                self.assertIn("STAT binding_protocol auto-negotiate\r\n", text, kind)
                self.assertIn("STAT auth_enabled_sasl no\r\n", text, kind)
                self.assertIn("STAT auth_enabled_ascii no\r\n", text, kind)

    def refusal(self, kind, args, env=None):
        binary = harness.MEMCORO if kind == "memcoro" else harness.MEMCACHED
        cmd = [binary, "-p", str(harness.free_port()), "-l", "127.0.0.1", *args]
        if kind == "memcoro":
            cmd += ["--admin-port", "0"]
        else:
            cmd += ["-U", "0", "-u", "nobody"]
        r = subprocess.run(cmd, capture_output=True, timeout=10, env={**os.environ, **(env or {})})
        return r.returncode, r.stderr.decode()

    def test_startup_refusals_say_what_memcached_says(self):
        bad = os.path.join(self.creds.dir, "malformed")
        self.creds.write({}, path=bad, raw=b"alice:secret\nnocolon\n")
        missing = os.path.join(self.creds.dir, "missing")
        env = {"SASL_CONF_PATH": self.creds.sasl_conf or ""}
        cases = [
            (["-S", "-B", "ascii"], 64, "ERROR: You cannot allow the ASCII protocol while using SASL."),
            (["-Y", self.creds.file, "-B", "binary"], 64,
             "ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens."),
            (["-Y", bad], 1, f"Authfile [{bad}] has a malformed entry. Should be 'user:password'"),
            (["-Y", missing], 1, f"Could not open authfile [{missing}] for reading, error"),
        ]
        for args, code, message in cases:
            for kind in ("memcached", "memcoro"):
                extra = ["--sasl-pwdb", self.creds.file] if kind == "memcoro" and "-S" in args else []
                with self.subTest(args=args, kind=kind):
                    rc, err = self.refusal(kind, args + extra, env)
                    self.assertEqual(rc, code, err)
                    self.assertIn(message, err)
        # memcoro's own: -S needs its password file; a malformed one is refused too.
        rc, err = self.refusal("memcoro", ["-S"], {"MEMCACHED_SASL_PWDB": ""})
        self.assertEqual(rc, 64, err)
        self.assertIn("-S needs a password file", err)
        rc, err = self.refusal("memcoro", ["-S", "--sasl-pwdb", bad])
        self.assertEqual((rc, f"SASL password file [{bad}] has a malformed entry" in err), (1, True), err)

    def test_pwdb_from_memcacheds_environment_variable(self):
        with harness.Server(["-S"], env={"MEMCACHED_SASL_PWDB": self.creds.file}) as server:
            self.assertEqual(sasl_login(server), b"Authenticated")
            self.assertEqual(sasl_login(server, password=b"bad"), b"Auth failure.")

    def test_sighup_reloads_the_auth_file_in_both_servers(self):
        for kind in ("memcached", "memcoro"):
            with self.subTest(kind=kind):
                path = os.path.join(self.creds.dir, f"reload-{kind}")
                self.creds.write({b"alice": b"secret"}, path=path)
                server = harness.Server(["-Y", path], kind=kind)
                try:
                    self.assertEqual(ascii_login(server), b"STORED\r\n")
                    self.creds.write({b"carol": b"newpass"}, path=path)
                    server.proc.send_signal(signal.SIGHUP)
                    time.sleep(1.5)  # (memcached reloads on its once-a-second clock)
                    self.assertEqual(ascii_login(server, b"carol", b"newpass"), b"STORED\r\n")
                    self.assertEqual(ascii_login(server),
                                     b"CLIENT_ERROR authentication failure\r\n")
                    # A malformed file: the users in force stay.
                    self.creds.write({}, path=path, raw=b"carol:newpass\nnocolon\n")
                    server.proc.send_signal(signal.SIGHUP)
                    time.sleep(1.5)
                    self.assertEqual(ascii_login(server, b"carol", b"newpass"), b"STORED\r\n")
                    self.assertIsNone(server.proc.poll(), "a bad file must not stop the server")
                finally:
                    server.stop()

    def test_admin_reload_rereads_both_files_or_fails_and_keeps_them(self):
        pwdb = os.path.join(self.creds.dir, "admin-pwdb")
        authfile = os.path.join(self.creds.dir, "admin-auth")
        self.creds.write({b"alice": b"secret"}, path=pwdb)
        with harness.Server(["-S", "--sasl-pwdb", pwdb], admin=True) as server:
            self.creds.write({b"dave": b"pw2"}, path=pwdb)
            status, _, body = test_admin.request(server.admin, "POST", "/config/reload")
            self.assertEqual(status, 200, body)
            self.assertIn(b'"sasl_pwdb"', body)
            self.assertEqual(sasl_login(server, b"dave", b"pw2"), b"Authenticated")
            self.assertEqual(sasl_login(server), b"Auth failure.")
            self.creds.write({}, path=pwdb, raw=b"eve:pw3\n\n")
            status, _, body = test_admin.request(server.admin, "POST", "/config/reload")
            self.assertEqual(status, 400, body)
            self.assertIn(b"malformed entry", body)
            self.assertIn(b'"applied": false', body)
            self.assertEqual(sasl_login(server, b"dave", b"pw2"), b"Authenticated")
            self.assertEqual(sasl_login(server, b"eve", b"pw3"), b"Auth failure.")
        self.creds.write({b"alice": b"secret"}, path=authfile)
        with harness.Server(["-Y", authfile], admin=True) as server:
            self.creds.write({b"frank": b"pw4"}, path=authfile)
            status, _, body = test_admin.request(server.admin, "POST", "/config/reload")
            self.assertEqual(status, 200, body)
            self.assertEqual(ascii_login(server, b"frank", b"pw4"), b"STORED\r\n")
            os.unlink(authfile)
            status, _, body = test_admin.request(server.admin, "POST", "/config/reload")
            self.assertEqual(status, 400, body)
            self.assertEqual(ascii_login(server, b"frank", b"pw4"), b"STORED\r\n")

    def test_libmemcached_tools_with_sasl(self):
        self.need_sasldb()
        if not shutil.which("memccp"):
            self.skipTest("no libmemcached-tools")
        work = tempfile.mkdtemp(prefix="memcoro-sasl-tools-")
        try:
            value_file = os.path.join(work, "greeting")
            with open(value_file, "w") as f:
                f.write("hello over SASL\n")
            for kind in ("memcached", "memcoro"):
                server = auth_servers.sasl_server(kind, self.creds)
                try:
                    servers = f"--servers=127.0.0.1:{server.port}"

                    def tool(name, *args, password="secret"):
                        return subprocess.run([name, servers, "--binary", "--username=alice",
                                               f"--password={password}", *args],
                                              capture_output=True, timeout=20, cwd=work)

                    with self.subTest(kind=kind):
                        self.assertEqual(tool("memccp", value_file).returncode, 0)
                        got = tool("memccat", "greeting")
                        # (memccat ends what it prints with a newline of its own)
                        self.assertEqual((got.returncode, got.stdout), (0, b"hello over SASL\n\n"))
                        wrong = tool("memccat", "greeting", password="wrong")
                        self.assertNotEqual(wrong.returncode, 0)
                        self.assertNotIn(b"hello", wrong.stdout)
                        none = subprocess.run(["memccat", servers, "--binary", "greeting"],
                                              capture_output=True, timeout=20)
                        self.assertNotEqual(none.returncode, 0)
                finally:
                    server.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_pylibmc_with_sasl(self):
        self.need_sasldb()
        try:
            import pylibmc
        except ImportError:
            self.skipTest("no pylibmc (Debian's python3-pylibmc)")
        for kind in ("memcached", "memcoro"):
            server = auth_servers.sasl_server(kind, self.creds)
            try:
                with self.subTest(kind=kind):
                    addr = [f"127.0.0.1:{server.port}"]
                    mc = pylibmc.Client(addr, binary=True, username="alice", password="secret")
                    self.assertTrue(mc.set("k", "v1"))
                    self.assertEqual(mc.get("k"), "v1")
                    self.assertEqual(mc.incr("n", 1) if mc.add("n", 5) else None, 6)
                    self.assertTrue(mc.append("k", "+"))
                    self.assertEqual(mc.get_multi(["k", "n", "zz"]), {"k": "v1+", "n": 6})
                    self.assertTrue(mc.delete("k"))
                    bad = pylibmc.Client(addr, binary=True, username="alice", password="wrong")
                    with self.assertRaises(pylibmc.Error):
                        bad.set("k", "v")
            finally:
                server.stop()


if __name__ == "__main__":
    unittest.main()

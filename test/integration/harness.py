"""Starts servers for tests and talks to them over real sockets.

Every server listens on 127.0.0.1 on a port picked here, and is killed when
the test process exits (PR_SET_PDEATHSIG), so no server outlives its test.
"""
import ctypes
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

MEMCORO = os.environ.get("MEMCORO_BIN", "")
MEMCACHED = os.environ.get("MEMCACHED_BIN", "/usr/bin/memcached")
# The sanitizer memcoro was built with ("address", "thread"), or "" for none
# (an older build tree's cache says OFF).
SANITIZE = os.environ.get("MEMCORO_SANITIZE", "").replace("OFF", "")
_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _as_nobody_dying_with_parent():
    """For memcached started as root: become nobody first, then ask to die
    with the parent. memcached's own -u would change users after the
    parent-death signal was set, and a change of user clears it."""
    import pwd
    nobody = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
    _die_with_parent()


def free_ports(n):
    """n distinct ports that were free a moment ago: all n sockets are held
    open together, so the kernel cannot hand out the same port twice."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    return free_ports(1)[0]


_EX_OSERR = 71  # what memcoro and memcached exit with when they cannot listen
_START_ATTEMPTS = 5


class _CannotListen(RuntimeError):
    pass


class Server:
    """A running server process: memcoro (default) or memcached."""

    def __init__(self, args=(), kind="memcoro", port=None, admin=False, binary=None, env=None,
                 listen="127.0.0.1", unix=None, tls=None):
        """admin=True gives memcoro an admin port (self.admin) as well;
        binary: another memcoro (or memcached) executable than the default;
        env: environment variables to add to the server's;
        listen: the -l list (port is the one for entries without their own);
        unix: a unix socket path (-s) to serve on instead of TCP;
        tls: an ssl.SSLContext that connect() wraps its sockets in (the
        server must be started with -Z in args).

        Tests run in parallel: a port picked here can be taken by another
        test before the server binds it. When the ports were picked here and
        the server exits because it cannot listen, it is started again on new
        ports."""
        self.kind = kind
        self.listen = listen
        self.unix = unix
        self.tls = tls
        self.env = {**os.environ, **(env or {})}
        self.binary = binary or (MEMCORO if kind == "memcoro" else MEMCACHED)
        for attempt in range(_START_ATTEMPTS):
            ports = free_ports(2)
            self.port = port or ports[0]
            self.admin = ports[1] if admin else None
            self._spawn(list(args))
            try:
                self._wait_ready()
                return
            except _CannotListen:
                if port is not None or attempt + 1 == _START_ATTEMPTS:
                    raise

    def _spawn(self, args):
        if self.kind == "memcoro":
            if not self.binary:
                raise RuntimeError("MEMCORO_BIN is not set")
            if self.admin is not None:
                args += ["--admin-port", str(self.admin)]
            elif not any(str(a).startswith("--admin-port") for a in args):
                # No admin port unless the test asks for one: tests run in parallel.
                args += ["--admin-port", "0"]
            cmd = [self.binary, "-p", str(self.port), "-l", self.listen, *args]
        else:
            cmd = [self.binary, "-p", str(self.port), "-l", self.listen, "-U", "0", *args]
        if self.unix:
            cmd += ["-s", self.unix]
        self.cmd = cmd
        # A file, not a pipe: a chatty server must never block on its stderr.
        self.log = tempfile.TemporaryFile()
        as_root_memcached = self.kind != "memcoro" and os.geteuid() == 0
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=self.env,
            preexec_fn=_as_nobody_dying_with_parent if as_root_memcached else _die_with_parent)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def _wait_ready(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                error = _CannotListen if self.proc.returncode == _EX_OSERR else RuntimeError
                text = self.output()
                self.log.close()
                raise error(f"{self.cmd} exited {self.proc.returncode}: {text}")
            try:
                # Both ports: the server binds the admin port after the main one.
                if self.unix:
                    self.connect(timeout=0.2).close()
                for port in (None if self.unix else self.port, self.admin):
                    if port is not None:
                        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"{self.cmd} did not start listening")

    def connect(self, timeout=5.0):
        if self.unix:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            try:
                s.connect(self.unix)
            except OSError:
                s.close()
                raise
            return s
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                return self.tls.wrap_socket(s, server_hostname="127.0.0.1")
            except OSError:
                s.close()
                raise
        return s

    def terminate(self):
        """Sends SIGTERM without waiting (several servers stop together);
        stop() then waits and does not send another."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self._terminated = True

    def stop(self):
        """Stops the server with SIGTERM. For memcoro, a sanitizer report or
        an unclean exit fails the test that owns the server."""
        if self.proc.poll() is None:
            if not getattr(self, "_terminated", False):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                if self.kind == "memcoro":
                    raise AssertionError(f"memcoro did not stop on SIGTERM: {self.output()}")
        text = self.output()
        self.log.close()
        if self.kind == "memcoro":
            for marker in ("Sanitizer", "runtime error:"):
                if marker in text:
                    raise AssertionError(f"memcoro reported a sanitizer error:\n{text}")
            if self.proc.returncode not in (0, None):
                raise AssertionError(f"memcoro exited {self.proc.returncode}:\n{text}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def read_reply(sock, until=None, idle=0.5, limit=64 << 20):
    """Reads until the data ends with `until`, the peer closes, or `idle`
    seconds pass with nothing new. Returns (bytes, closed)."""
    out = bytearray()
    sock.settimeout(idle)
    while len(out) < limit:
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            return bytes(out), False
        except (ConnectionResetError, ssl.SSLError):
            return bytes(out), True  # reset, or (TLS) closed without close_notify
        if not chunk:
            return bytes(out), True
        out += chunk
        if until is not None and out.endswith(until):
            return bytes(out), False
    return bytes(out), False


def read_until(sock, until, timeout=120.0):
    """Reads until the data ends with `until`, however long the server
    pauses in between (a loaded machine under a sanitizer), up to `timeout`
    seconds in all; raises if the peer closes or time runs out."""
    out = b""
    deadline = time.monotonic() + timeout
    while not out.endswith(until):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {until!r} after {timeout} s: ...{out[-200:]!r}")
        chunk, closed = read_reply(sock, until=until, idle=min(5.0, left))
        out += chunk
        if closed:
            raise AssertionError(f"closed before {until!r}: ...{out[-200:]!r}")
    return out


def exchange(server, data, until=None, idle=0.5, fragment=None):
    """One fresh connection: send data (whole, or `fragment` bytes per send),
    read the reply. Returns (reply, closed)."""
    with server.connect() as s:
        if fragment:
            for i in range(0, len(data), fragment):
                s.sendall(data[i:i + fragment])
                time.sleep(0.0005)
        else:
            s.sendall(data)
        return read_reply(s, until=until, idle=idle)


def command(sock, data, until=b"\r\n", idle=2.0):
    sock.sendall(data)
    reply, _ = read_reply(sock, until=until, idle=idle)
    return reply


def stats(server):
    with server.connect() as s:
        reply = command(s, b"stats\r\n", until=b"END\r\n")
    out = {}
    for line in reply.decode().split("\r\n"):
        if line.startswith("STAT "):
            _, name, value = line.split(" ", 2)
            out[name] = value
    return out


def admin_json(port, method, path, body=None):
    """A JSON request to an admin port on loopback; its JSON reply."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def rss_bytes(pid):
    """The process's resident set size, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class SideBySide(unittest.TestCase):
    """Tests that run the same thing against memcached and memcoro: the two
    servers start once per class, with MEMCACHED_ARGS and MEMCORO_ARGS."""
    MEMCACHED_ARGS = ()
    MEMCORO_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.servers = {"memcached": Server(cls.MEMCACHED_ARGS, kind="memcached"),
                       "memcoro": Server(cls.MEMCORO_ARGS)}

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers.values():
            server.stop()

    def each_server(self):
        """(name, server) for each, inside a subTest naming it."""
        for name, server in self.servers.items():
            with self.subTest(server=name):
                yield name, server

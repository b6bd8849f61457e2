"""Several listeners (-l lists, repeated -l) and the unix socket (-s, -a),
memcoro beside Debian's memcached 1.6.18 over real sockets, and the limits
of each: bad addresses, a path that is not a socket, a socket file that is
stale or still served."""
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

from pymemcache.client.base import Client  # noqa: E402

KINDS = ("memcoro", "memcached")


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def command(server, line, end=b"END\r\n"):
    with server.connect() as s:
        s.sendall(line)
        return harness.read_reply(s, until=end)[0].decode()


def listening(server):
    """The addresses `stats conns` lists as conn_listening, in fd order."""
    rows = re.findall(r"STAT (\d+):(\w+) (\S+)\r\n", command(server, b"stats conns\r\n"))
    addrs = {fd: v for fd, k, v in rows if k == "addr"}
    # Distinct addresses: memcached sometimes lists a listener twice (a
    # closed connection's slot that still says conn_listening).
    return list(dict.fromkeys(addrs[fd] for fd, k, v in rows
                              if k == "state" and v == "conn_listening"))


def setting(server, name):
    return re.search(rf"STAT {name} (\S+)\r\n", command(server, b"stats settings\r\n")).group(1)


def version_at(family, host, port):
    with socket.socket(family) as s:
        s.settimeout(5)
        s.connect((host, port))
        s.sendall(b"version\r\n")
        return harness.read_reply(s, until=b"\r\n")[0]


class Listeners(unittest.TestCase):
    def test_a_list_and_repeated_flags_as_memcached(self):
        # "-l A,[::1]:P2 -l B:P3": three listeners; each entry without a port
        # takes -p's. Both servers list the same listeners in `stats conns`,
        # the same `inter`, and answer on each.
        v6 = ipv6_loopback()
        for kind in KINDS:
            with self.subTest(kind=kind):
                p2, p3 = harness.free_ports(2)
                first = f"127.0.0.1,[::1]:{p2}" if v6 else f"127.0.0.1,127.0.0.1:{p2}"
                with harness.Server(["-l", f"127.0.0.2:{p3}"], kind=kind, listen=first) as srv:
                    want = [f"tcp:127.0.0.1:{srv.port}",
                            f"tcp6:[::1]:{p2}" if v6 else f"tcp:127.0.0.1:{p2}",
                            f"tcp:127.0.0.2:{p3}"]
                    self.assertEqual(listening(srv), want)
                    self.assertEqual(setting(srv, "inter"), f"{first},127.0.0.2:{p3}")
                    if v6:
                        self.assertTrue(version_at(socket.AF_INET6, "::1", p2).startswith(
                            b"VERSION "))
                    self.assertTrue(version_at(socket.AF_INET, "127.0.0.2", p3).startswith(
                        b"VERSION "))
                    # Not on an address it was not given.
                    with self.assertRaises(OSError):
                        version_at(socket.AF_INET, "127.0.0.2", srv.port)

    def test_an_address_it_cannot_listen_on_stops_the_start(self):
        for bad in ("no-such-host.invalid", "192.0.2.1"):  # unresolvable; not ours
            for kind in KINDS:
                with self.subTest(kind=kind, address=bad):
                    args = [harness.MEMCORO if kind == "memcoro" else harness.MEMCACHED,
                            "-p", str(harness.free_port()), "-l", bad, "-U", "0"]
                    if kind == "memcoro":
                        args = args[:-2] + ["--admin-port", "0"]
                    elif os.geteuid() == 0:
                        args += ["-u", "nobody"]
                    r = subprocess.run(args, capture_output=True, text=True, timeout=10)
                    self.assertEqual(r.returncode, 71, r.stderr)

    def test_malformed_entries_are_refused_with_the_entry_named(self):
        for bad in ("127.0.0.1:99999", "127.0.0.1:x", "[::1", "[]:5", ":5"):
            with self.subTest(address=bad):
                r = subprocess.run([harness.MEMCORO, "-l", bad, "--admin-port", "0"],
                                   capture_output=True, text=True, timeout=10)
                self.assertEqual(r.returncode, 64, r.stderr)
                self.assertIn(bad, r.stderr)


class UnixSocket(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        os.chmod(self.dir, 0o777)  # memcached runs as nobody under root

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_served_as_memcached_serves_it(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                path = self.path(kind + ".sock")
                with harness.Server(["-a", "0766"], kind=kind, unix=path) as srv:
                    self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o766)
                    self.assertTrue(stat.S_ISSOCK(os.stat(path).st_mode))
                    listed = listening(srv)
                    self.assertEqual(len(listed), 1)
                    if kind == "memcoro":
                        self.assertEqual(listed[0], f"unix:{path}")
                    else:  # memcached cuts the text at 31 bytes
                        self.assertTrue(f"unix:{path}".startswith(listed[0]), listed)
                    self.assertEqual(setting(srv, "domain_socket"), path)
                    self.assertEqual(setting(srv, "umask"), "766")
                    # With -s there is no TCP listener.
                    with self.assertRaises(OSError):
                        version_at(socket.AF_INET, "127.0.0.1", srv.port)
                    # A real client over the socket.
                    c = Client(path, connect_timeout=5, timeout=5)
                    self.assertTrue(c.set("u:k", b"over unix", expire=100))
                    self.assertEqual(c.get("u:k"), b"over unix")
                    self.assertEqual(c.incr("u:n", 1), None)
                    c.set("u:n", b"41")
                    self.assertEqual(c.incr("u:n", 1), 42)
                    c.close()
                    if shutil.which("memcstat"):
                        r = subprocess.run(["memcstat", f"--servers={path}"], capture_output=True,
                                           text=True, timeout=10)
                        self.assertEqual(r.returncode, 0, r.stderr)
                        self.assertIn("curr_items: 2", r.stdout)

    def test_default_mode_is_0700(self):
        path = self.path("default.sock")
        with harness.Server(unix=path):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o700)

    def test_the_file_is_removed_at_a_clean_exit(self):
        # memcached leaves it behind; memcoro removes what it made.
        path = self.path("gone.sock")
        srv = harness.Server(unix=path)
        self.assertTrue(os.path.exists(path))
        srv.stop()
        self.assertFalse(os.path.exists(path))

    def test_a_stale_socket_file_is_replaced(self):
        path = self.path("stale.sock")
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(path)  # bound, never listening: what a crashed server leaves
        with harness.Server(unix=path) as srv:
            self.assertEqual(command(srv, b"version\r\n", end=b"\r\n")[:8], "VERSION ")

    def test_a_served_socket_and_other_files_are_left_alone(self):
        path = self.path("live.sock")
        with harness.Server(unix=path) as first:
            r = subprocess.run([harness.MEMCORO, "-s", path, "--admin-port", "0"],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 71)
            self.assertIn("a server is listening on it", r.stderr)
            # The first server still serves, on the same file.
            self.assertEqual(command(first, b"version\r\n", end=b"\r\n")[:8], "VERSION ")
        plain = self.path("plain")
        with open(plain, "w") as f:
            f.write("data")
        r = subprocess.run([harness.MEMCORO, "-s", plain, "--admin-port", "0"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 71)
        self.assertIn("not a socket", r.stderr)
        with open(plain) as f:
            self.assertEqual(f.read(), "data")

    def test_a_path_too_long_is_refused(self):
        r = subprocess.run([harness.MEMCORO, "-s", "/tmp/" + "x" * 120, "--admin-port", "0"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 64)
        self.assertIn("longer than 107", r.stderr)

    def test_health_check_over_the_socket(self):
        path = self.path("health.sock")
        with harness.Server(unix=path):
            r = subprocess.run([harness.MEMCORO, "--health-check", "-s", path],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()

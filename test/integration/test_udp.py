"""memcached's UDP protocol (-U), memcoro beside Debian's memcached 1.6.18,
datagram for datagram: the 8-byte frame header echoed with the request id,
replies split into numbered datagrams of at most 1400 bytes, memcached's
message boundaries for multi-key gets, and the datagrams both drop."""
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

# (name, request payload, frame header) — replayed in order against both.
CASES = [
    ("set", b"set a 0 0 3\r\nabc\r\n", (7, 0, 1, 0)),
    ("set another", b"set c 0 0 1\r\nc\r\n", (8, 0, 1, 0)),
    ("get hit", b"get a\r\n", (9, 0, 1, 0)),
    ("get miss", b"get b\r\n", (10, 0, 1, 0)),
    ("two hits", b"get a a\r\n", (11, 0, 1, 0)),
    ("first key missed", b"get b a\r\n", (12, 0, 1, 0)),
    ("middle key missed", b"get a b c\r\n", (13, 0, 1, 0)),
    ("all missed", b"get b b b\r\n", (14, 0, 1, 0)),
    ("misses then hits", b"get a b b c d\r\n", (15, 0, 1, 0)),
    ("gat", b"gat 100 a c\r\n", (16, 0, 1, 0)),
    ("meta", b"mg a v\r\nmg b v\r\nmn\r\n", (17, 0, 1, 0)),
    ("unknown command", b"bogus\r\n", (18, 0, 1, 0)),
    ("noreply is silent", b"set x 0 0 1 noreply\r\nx\r\nget x\r\n", (19, 0, 1, 0)),
    ("delete miss", b"delete zz\r\n", (20, 0, 1, 0)),
    ("incr", b"set n 0 0 2\r\n41\r\nincr n 1\r\n", (21, 0, 1, 0)),
    ("several commands", b"version\r\nget a\r\ntouch a 10\r\n", (0xfffe, 0, 1, 0)),
    ("a line cut at the end is dropped", b"get a\r\nget c", (22, 0, 1, 0)),
    ("sequence number ignored", b"get a\r\n", (24, 5, 1, 0)),
    ("multi-datagram request dropped", b"get a\r\n", (25, 0, 2, 0)),
    ("datagram count 0 dropped", b"get a\r\n", (26, 0, 0, 0)),
    ("value over one datagram", b"set big 0 0 3000\r\n" + b"x" * 3000 + b"\r\nget big\r\n",
     (27, 0, 1, 0)),
    ("large value", b"set huge 0 0 60000\r\n" + b"y" * 60000 + b"\r\nget huge a\r\n",
     (28, 0, 1, 0)),
    ("the big ones again", b"get big huge big\r\n", (29, 0, 1, 0)),
]


def exchange(port, payload, header, wait=0.3):
    """Sends one datagram; every datagram that comes back within `wait`
    (the version number masked)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.settimeout(wait)
        s.sendto(struct.pack(">HHHH", *header) + payload, ("127.0.0.1", port))
        out = []
        try:
            while True:
                out.append(re.sub(rb"VERSION [^\r]*", b"VERSION <v>", s.recv(65536)))
        except socket.timeout:
            return out


def udp_server(kind, args=()):
    port = harness.free_port()
    return harness.Server(["-U", str(port), *args], kind=kind, port=port), port


class Udp(unittest.TestCase):
    def test_every_case_as_memcached_answers_it(self):
        servers = {k: udp_server(k) for k in ("memcached", "memcoro")}
        try:
            for name, payload, header in CASES:
                with self.subTest(case=name):
                    theirs = exchange(servers["memcached"][1], payload, header)
                    ours = exchange(servers["memcoro"][1], payload, header)
                    self.assertEqual(ours, theirs)
            # The datagrams of a large reply are numbered and counted.
            got = exchange(servers["memcoro"][1], b"get huge\r\n", (30, 0, 1, 0))
            count = struct.unpack(">H", got[0][4:6])[0]
            self.assertEqual(len(got), count)
            self.assertEqual([struct.unpack(">H", d[2:4])[0] for d in got], list(range(count)))
            self.assertTrue(all(len(d) <= 1400 for d in got))
            self.assertEqual(b"".join(d[8:] for d in got),
                             b"VALUE huge 0 60000\r\n" + b"y" * 60000 + b"\r\nEND\r\n")
            # What UDP stored, TCP reads.
            with servers["memcoro"][0].connect() as s:
                self.assertEqual(harness.command(s, b"get a\r\n"), b"VALUE a 0 3\r\nabc\r\nEND\r\n")
        finally:
            for srv, _ in servers.values():
                srv.stop()

    def test_a_value_cut_at_the_end_does_not_reach_the_next_datagram(self):
        # A deliberate difference: memcached keeps waiting for the rest of
        # the value and reads the next datagram (header and all) into it;
        # in memcoro every datagram stands alone.
        srv, port = udp_server("memcoro")
        with srv:
            self.assertEqual(exchange(port, b"set q 0 0 10\r\nabc", (1, 0, 1, 0)), [])
            self.assertEqual(exchange(port, b"get q\r\n", (2, 0, 1, 0)),
                             [b"\x00\x02\x00\x00\x00\x01\x00\x00END\r\n"])

    def test_a_large_value_cut_at_the_end_is_never_stored(self):
        # A value of 16 KiB or more is received straight into its item; a
        # datagram that ends inside it must not finish it with whatever the
        # item's memory held before (here: the same key's freed value).
        srv, port = udp_server("memcoro")
        with srv:
            with srv.connect() as s:
                self.assertEqual(harness.command(s, b"set q 0 0 30000\r\n" + b"o" * 30000 +
                                                 b"\r\ndelete q\r\n", until=b"DELETED\r\n"),
                                 b"STORED\r\nDELETED\r\n")
            exchange(port, b"set q 0 0 30000\r\n" + b"n" * 20000, (1, 0, 1, 0))
            with srv.connect() as s:
                self.assertEqual(harness.command(s, b"get q\r\n", until=b"END\r\n"), b"END\r\n")
            self.assertEqual(exchange(port, b"version\r\n", (2, 0, 1, 0))[0][8:16], b"VERSION ")

    def test_dropped_datagrams_are_counted_and_harm_no_one(self):
        srv, port = udp_server("memcoro")
        with srv:
            before = int(harness.stats(srv)["udp_dropped"])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for bad in (b"", b"\x00\x01", b"\x00" * 8, struct.pack(">HHHH", 1, 0, 3, 0) + b"x"):
                    s.sendto(bad, ("127.0.0.1", port))
            self.assertEqual(exchange(port, b"version\r\n", (5, 0, 1, 0))[0][8:16], b"VERSION ")
            self.assertEqual(int(harness.stats(srv)["udp_dropped"]), before + 4)

    def test_stats_conns_and_settings_show_the_sockets(self):
        for kind in ("memcached", "memcoro"):
            with self.subTest(kind=kind):
                srv, port = udp_server(kind, ["-t", "1"])
                with srv:
                    with srv.connect() as s:
                        conns = harness.command(s, b"stats conns\r\n").decode()
                    self.assertIn(f"STAT udpport {port}", harness.command(
                        srv.connect(), b"stats settings\r\n").decode())
                    udp = re.findall(r"STAT (\d+):UDP UDP\r\nSTAT \1:addr (\S+)\r\nSTAT \1:state "
                                     r"(\S+)\r\n", conns)
                    self.assertEqual([(a, st) for _, a, st in udp],
                                     [(f"udp:127.0.0.1:{port}", "conn_read")])

    def test_off_by_default_as_in_memcached(self):
        with harness.Server() as srv:
            self.assertIn("STAT udpport 0", harness.command(
                srv.connect(), b"stats settings\r\n").decode())
            self.assertNotIn("udp_dropped", harness.stats(srv))

    def test_refused_with_authentication_as_memcached_refuses_it(self):
        with tempfile.NamedTemporaryFile("w", suffix=".auth") as f:
            f.write("alice:secret\n")
            f.flush()
            r = subprocess.run([harness.MEMCORO, "-U", "11311", "-Y", f.name, "--admin-port", "0"],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 64)
            self.assertIn("Cannot use UDP with ascii authentication enabled", r.stderr)
            r = subprocess.run([harness.MEMCORO, "-U", "11311", "-S", "--sasl-pwdb", f.name,
                                "--admin-port", "0"], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 64)
            self.assertIn("Cannot enable UDP while using binary SASL authentication", r.stderr)


if __name__ == "__main__":
    unittest.main()

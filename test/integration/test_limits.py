"""Limits and bad input over real sockets: each answered as memcached
answers it, and never harming other clients or stored data."""
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(["-c", "8", "-I", "1m"])

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def conn(self):
        return self.server.connect()

    def test_key_length(self):
        with self.conn() as s:
            k250, k251 = b"k" * 250, b"k" * 251
            self.assertEqual(harness.command(s, b"set " + k250 + b" 0 0 1\r\nx\r\n"), b"STORED\r\n")
            self.assertEqual(harness.command(s, b"get " + k250 + b"\r\n", until=b"END\r\n"),
                             b"VALUE " + k250 + b" 0 1\r\nx\r\nEND\r\n")
            self.assertEqual(harness.command(s, b"get " + k251 + b"\r\n"),
                             b"CLIENT_ERROR bad command line format\r\n")
            # The connection keeps working.
            self.assertEqual(harness.command(s, b"version\r\n")[:8], b"VERSION ")

    def test_value_too_large_connection_keeps_working(self):
        with self.conn() as s:
            harness.command(s, b"set big 0 0 1\r\nx\r\n")
            payload = b"v" * (2 << 20)
            s.sendall(b"set big 0 0 %d\r\n" % len(payload))
            # The error comes at once, before the data is even sent.
            self.assertEqual(harness.read_reply(s, until=b"\r\n", idle=2)[0],
                             b"SERVER_ERROR object too large for cache\r\n")
            s.sendall(payload + b"\r\n")
            self.assertEqual(harness.command(s, b"get big\r\n", until=b"END\r\n"), b"END\r\n")
            self.assertEqual(harness.command(s, b"set ok 0 0 2\r\nok\r\n"), b"STORED\r\n")

    def test_largest_value_that_fits(self):
        with self.conn() as s:
            size = (1 << 20) - 64
            data = bytes(range(256)) * (size // 256)
            reply = harness.command(s, b"set large 0 0 %d\r\n%s\r\n" % (len(data), data))
            self.assertEqual(reply, b"STORED\r\n")
            reply = harness.command(s, b"get large\r\n", until=b"END\r\n")
            self.assertEqual(reply, b"VALUE large 0 %d\r\n%s\r\nEND\r\n" % (len(data), data))

    def test_line_too_long_without_newline_closes(self):
        with self.conn() as s:
            s.sendall(b"set " + b"a" * 4000)
            reply, closed = harness.read_reply(s, idle=2)
            self.assertEqual(reply, b"")
            self.assertTrue(closed)
        with self.conn() as s:  # others are unaffected
            self.assertEqual(harness.command(s, b"set a 0 0 1\r\nx\r\n"), b"STORED\r\n")

    def test_huge_multiget_line(self):
        with self.conn() as s:
            harness.command(s, b"set k7 0 0 1\r\n7\r\n")
            keys = b" ".join(b"k%d" % i for i in range(20000))
            reply = harness.command(s, b"get " + keys + b"\r\n", until=b"END\r\n")
            self.assertEqual(reply, b"VALUE k7 0 1\r\n7\r\nEND\r\n")

    def test_unknown_command_and_bad_numbers(self):
        with self.conn() as s:
            self.assertEqual(harness.command(s, b"bogus\r\n"), b"ERROR\r\n")
            self.assertEqual(harness.command(s, b"set k x 0 1\r\n"),
                             b"CLIENT_ERROR bad command line format\r\n")
            self.assertEqual(harness.command(s, b"x\r\n"), b"ERROR\r\n")
            self.assertEqual(harness.command(s, b"set k 99999999999 0 1\r\n"),
                             b"CLIENT_ERROR bad command line format\r\n")
            self.assertEqual(harness.command(s, b"incr k 99999999999999999999\r\n"),
                             b"CLIENT_ERROR invalid numeric delta argument\r\n")
            self.assertEqual(harness.command(s, b"touch k 1x\r\n"),
                             b"CLIENT_ERROR invalid exptime argument\r\n")

    def test_data_block_length_mismatch(self):
        with self.conn() as s:
            self.assertEqual(harness.command(s, b"set k 0 0 2\r\nabc\r\n", until=b"ERROR\r\n"),
                             b"CLIENT_ERROR bad data chunk\r\nERROR\r\n")
            self.assertEqual(harness.command(s, b"get k\r\n", until=b"END\r\n"), b"END\r\n")

    def test_one_byte_at_a_time(self):
        with self.conn() as s:
            req = b"set frag 5 0 6\r\nab\r\ncd\r\nget frag\r\n"
            for i in range(len(req)):
                s.sendall(req[i:i + 1])
                time.sleep(0.002)
            reply, _ = harness.read_reply(s, until=b"END\r\n", idle=2)
            self.assertEqual(reply, b"STORED\r\nVALUE frag 5 6\r\nab\r\ncd\r\nEND\r\n")

    def test_100_pipelined_in_one_packet(self):
        with self.conn() as s:
            req = b"".join(b"set p%d 0 0 %d\r\n%d\r\n" % (i, len(str(i)), i) for i in range(50))
            req += b"".join(b"get p%d\r\n" % i for i in range(50))
            s.sendall(req)
            expected = b"STORED\r\n" * 50 + b"".join(
                b"VALUE p%d 0 %d\r\n%d\r\nEND\r\n" % (i, len(str(i)), i) for i in range(50))
            reply, _ = harness.read_reply(s, until=expected[-12:], idle=2)
            self.assertEqual(reply, expected)

    def test_too_many_connections(self):
        before = int(harness.stats(self.server)["rejected_connections"])
        held = [self.conn() for _ in range(7)]
        try:
            # Each held connection is served (stats itself takes the 8th).
            for s in held:
                self.assertEqual(harness.command(s, b"set c 0 0 1\r\nx\r\n"), b"STORED\r\n")
            one_more = self.conn()
            harness.command(held[0], b"version\r\n")  # the 8th is now open
            extra = self.conn()
            reply, closed = harness.read_reply(extra, idle=2)
            self.assertEqual(reply, b"ERROR Too many open connections\r\n")
            self.assertTrue(closed)
            extra.close()
            # The others keep working.
            for s in held + [one_more]:
                self.assertEqual(harness.command(s, b"get c\r\n", until=b"END\r\n"),
                                 b"VALUE c 0 1\r\nx\r\nEND\r\n")
            one_more.close()
        finally:
            for s in held:
                s.close()
        time.sleep(0.2)
        st = harness.stats(self.server)
        self.assertEqual(int(st["rejected_connections"]), before + 1)

    def test_slow_client_does_not_block_others(self):
        slow = self.conn()
        try:
            slow.sendall(b"set slow 0 0 100\r\nonly part")  # never finished
            for _ in range(20):
                with self.conn() as s:
                    self.assertEqual(harness.command(s, b"set f 0 0 1\r\nx\r\n"), b"STORED\r\n")
        finally:
            slow.close()

    def test_quit_closes(self):
        with self.conn() as s:
            s.sendall(b"get never-set\r\nquit\r\nget never-set\r\n")
            reply, closed = harness.read_reply(s, idle=2)
            self.assertEqual(reply, b"END\r\n")
            self.assertTrue(closed)


class IdleTimeout(unittest.TestCase):
    def test_idle_connection_is_closed(self):
        with harness.Server(["--idle-timeout", "1"]) as server:
            with server.connect() as s:
                self.assertEqual(harness.command(s, b"set a 0 0 1\r\nx\r\n"), b"STORED\r\n")
                reply, closed = harness.read_reply(s, idle=4)
                self.assertTrue(closed)


if __name__ == "__main__":
    unittest.main()

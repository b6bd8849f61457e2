"""Cross-protocol requests on the cache port: what a web page in a browser
can send to 127.0.0.1:11211 (a fetch() POST whose body is memcached
commands), and binary-protocol clients, which memcoro does not serve yet.
Each is sent over a real socket to memcoro and, where memcached has the
behaviour, to Debian's memcached as well."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

BODY = b"set xp 0 0 5\r\nhello\r\nget xp\r\n"


def browser_post(port, body=BODY):
    # What Chromium sends for fetch("http://127.0.0.1:PORT/", {method: "POST",
    # mode: "no-cors", body}) with a text body: a "simple" request, no preflight.
    return (b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: keep-alive\r\n"
            b"Content-Length: %d\r\nContent-Type: text/plain;charset=UTF-8\r\n"
            b"Origin: http://evil.example\r\nUser-Agent: Mozilla/5.0\r\n"
            b"Accept: */*\r\n\r\n" % (port, len(body)))


def stored(server, key):
    with server.connect() as s:
        return harness.command(s, b"get %s\r\n" % key, until=b"END\r\n") != b"END\r\n"


class CrossProtocol(harness.SideBySide):
    def each_server(self):
        for _, server in super().each_server():
            with server.connect() as s:
                harness.command(s, b"flush_all\r\n")
            yield server

    def assert_closed_unexecuted(self, server, pieces, pause=0.1, before=None):
        """Sends `pieces` one after another (after the `before` exchange, if
        any): the server must close without a reply and store nothing."""
        with server.connect() as s:
            if before is not None:
                self.assertTrue(harness.command(s, before[0]).startswith(before[1]))
            for i, piece in enumerate(pieces):
                if i > 0:
                    time.sleep(pause)
                try:
                    s.sendall(piece)
                except OSError:
                    break  # already closed: what we want
            reply, closed = harness.read_reply(s, idle=2)
        self.assertEqual((reply, closed), (b"", True))
        self.assertFalse(stored(server, b"xp"))

    def test_post_with_body_in_the_same_packet_is_not_executed(self):
        for server in self.each_server():
            self.assert_closed_unexecuted(server, [browser_post(server.port) + BODY])

    def test_post_with_body_in_a_later_packet_is_not_executed(self):
        for server in self.each_server():
            self.assert_closed_unexecuted(server, [browser_post(server.port), BODY], pause=0.3)

    def test_request_line_after_other_commands_closes_before_the_rest(self):
        for server in self.each_server():
            self.assert_closed_unexecuted(
                server, [b"PUT /k HTTP/1.1\r\nHost: localhost\r\n\r\n" + BODY],
                before=(b"version\r\n", b"VERSION "))

    def test_http_line_split_across_packets(self):
        for server in self.each_server():
            self.assert_closed_unexecuted(
                server, [b"GET / HT", b"TP/1.0\r", b"\nset xp 0 0 1\r\nx\r\n"])

    def test_first_byte_0x80_is_served_as_binary_on_both(self):
        # A binary-protocol VERSION (magic 0x80, opcode 0x0b, opaque 7): both
        # servers answer it as binary (status 0, opaque echoed).
        request = bytes([0x80, 0x0B] + [0] * 10 + [0, 0, 0, 7] + [0] * 8)
        for server in self.each_server():
            with server.connect() as s:
                s.sendall(request)
                reply, closed = harness.read_reply(s, idle=1)
            self.assertFalse(closed, server.kind)
            self.assertEqual(reply[:2], b"\x81\x0b", server.kind)
            self.assertEqual(reply[6:8], b"\x00\x00", server.kind)
            self.assertEqual(reply[12:16], b"\x00\x00\x00\x07", server.kind)
            # Only the first byte of a connection picks the protocol: 0x80
            # later on is just a (bad) text key.
            with server.connect() as s:
                self.assertEqual(harness.command(s, b"get \x80\r\n", until=b"END\r\n"),
                                 b"END\r\n")


if __name__ == "__main__":
    unittest.main()

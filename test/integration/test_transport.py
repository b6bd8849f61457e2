"""The transport under back-pressure, against memcached and memcoro alike:
a client that reads its replies slowly gets every byte, in order, including
the reply to a request it sent while the server was still blocked sending;
a client that sends a large value slowly, in small pieces, gets it stored
intact; many connections interleaving one-byte sends are each answered.
These are the paths where a server waits for the socket (memcoro's event
loop, lib/server/src/event_loop.cpp: output blocked, input not yet there).
"""
import socket
import time
import unittest

import harness

VALUE = 900 * 1024  # under the default 1 MiB item limit


def value_of(i):
    return bytes([97 + i]) * VALUE


class Transport(harness.SideBySide):
    MEMCACHED_ARGS = ("-m", "256")
    MEMCORO_ARGS = ("-m", "256")

    def test_slow_reader_gets_every_byte_then_its_next_reply(self):
        for _, server in self.each_server():
            with server.connect() as s:
                for i in range(5):
                    harness.command(s, b"set big%d 3 0 %d\r\n%s\r\n" % (i, VALUE, value_of(i)))
            keys = [b"big%d" % (i % 5) for i in range(8)]  # about 7 MiB of replies
            c = socket.create_connection(("127.0.0.1", server.port))
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
            try:
                c.sendall(b"get " + b" ".join(keys) + b"\r\n")
                time.sleep(0.3)  # the server fills the socket and has to wait
                c.sendall(b"version\r\n")  # arrives while the server is blocked sending
                got = bytearray()
                c.settimeout(10)
                while not (got.endswith(b"\r\n") and b"END\r\nVERSION " in got[-64:]):
                    chunk = c.recv(64 * 1024)
                    self.assertTrue(chunk, "the server closed the connection")
                    got += chunk
                    if len(got) < 2 << 20:
                        time.sleep(0.002)  # slow for the first few MiB
            finally:
                c.close()
            expected = bytearray()
            for k in keys:
                i = int(k[3:])
                expected += b"VALUE %s 3 %d\r\n%s\r\n" % (k, VALUE, value_of(i))
            expected += b"END\r\n"
            self.assertEqual(bytes(got[:len(expected)]), bytes(expected))
            self.assertTrue(got[len(expected):].startswith(b"VERSION "))

    def test_large_value_sent_slowly_is_stored_intact(self):
        for _, server in self.each_server():
            data = bytes(range(256)) * (VALUE // 256)
            request = b"set slow 9 0 %d\r\n%s\r\n" % (len(data), data)
            with server.connect() as s:
                for i in range(0, len(request), 7000):
                    s.sendall(request[i:i + 7000])
                    time.sleep(0.001)
                self.assertEqual(harness.read_reply(s, until=b"\r\n", idle=5)[0], b"STORED\r\n")
                reply = harness.command(s, b"get slow\r\n", until=b"END\r\n", idle=5)
            self.assertEqual(reply, b"VALUE slow 9 %d\r\n%s\r\nEND\r\n" % (len(data), data))

    def test_interleaved_one_byte_sends_on_many_connections(self):
        for _, server in self.each_server():
            conns = [server.connect() for _ in range(20)]
            try:
                requests = [b"set t%d 0 0 2\r\n%02d\r\nget t%d\r\n" % (i, i, i)
                            for i in range(len(conns))]
                for at in range(max(len(r) for r in requests)):
                    for c, r in zip(conns, requests):
                        if at < len(r):
                            c.sendall(r[at:at + 1])
                for i, c in enumerate(conns):
                    reply = harness.read_reply(c, until=b"END\r\n", idle=5)[0]
                    self.assertEqual(reply, b"STORED\r\nVALUE t%d 0 2\r\n%02d\r\nEND\r\n" % (i, i))
            finally:
                for c in conns:
                    c.close()


if __name__ == "__main__":
    unittest.main()

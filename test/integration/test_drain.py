"""Graceful stop: on SIGTERM memcoro stops accepting, runs and answers every
complete request it has already received, then exits 0; drain_timeout
bounds the wait for clients that do not read. memcached answers the same
pipelines in full, side by side."""
import os
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CLIENTS = 20
SETS = 1000


def pipeline(client):
    keys = [b"c%d-%d" % (client, i) for i in range(SETS)]
    sets = b"".join(b"set %s 0 0 4\r\nv%03d\r\n" % (k, i % 1000) for i, k in enumerate(keys))
    # The get at the end reads every key back before the server exits: a
    # STORED that was not really stored shows up as a missing VALUE.
    return keys, sets + b"get " + b" ".join(keys) + b"\r\n"


def read_all(sock, out, i):
    sock.settimeout(20)
    data = bytearray()
    try:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except (OSError, socket.timeout):
        pass
    out[i] = bytes(data)


class Drain(unittest.TestCase):
    def run_pipelines_then_stop(self, server):
        socks = [server.connect() for _ in range(CLIENTS)]
        # Every client accepted by the server, not only by the kernel (the
        # backlog at the stop has a test of its own, below).
        deadline = time.monotonic() + 30
        while int(harness.stats(server)["curr_connections"]) < CLIENTS + 1:  # + the stats one
            self.assertLess(time.monotonic(), deadline, "the clients were never accepted")
            time.sleep(0.05)
        requests = [pipeline(i) for i in range(CLIENTS)]
        for s, (_, data) in zip(socks, requests):
            s.sendall(data)  # all of it is in the kernel's buffers now
        server.proc.send_signal(signal.SIGTERM)
        replies = [None] * CLIENTS
        threads = [threading.Thread(target=read_all, args=(s, replies, i))
                   for i, s in enumerate(socks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        code = server.proc.wait(timeout=30)
        for s in socks:
            s.close()
        return requests, replies, code

    def test_every_received_request_is_answered(self):
        for kind, args in (("memcached", []), ("memcoro", [])):
            with self.subTest(server=kind):
                server = harness.Server(args, kind=kind)
                try:
                    requests, replies, code = self.run_pipelines_then_stop(server)
                finally:
                    server.stop()
                self.assertEqual(code, 0)
                answered = 0
                for (keys, _), reply in zip(requests, replies):
                    answered += reply.count(b"STORED\r\n")
                    self.assertEqual(reply.count(b"STORED\r\n"), SETS)
                    for i, k in enumerate(keys):
                        self.assertIn(b"VALUE %s 0 4\r\nv%03d\r\n" % (k, i % 1000), reply)
                    self.assertTrue(reply.endswith(b"END\r\n"))
                print(f"{kind}: {answered} of {CLIENTS * SETS} sets answered")

    def test_connections_still_in_the_listen_backlog_are_answered(self):
        """The server stopped (SIGSTOP) while 50 clients connect and send a
        get: the kernel completes their connections into the listen backlog
        and keeps their requests. Then SIGTERM and SIGCONT: every one is
        answered before the exit."""
        replies = {}
        for kind in ("memcached", "memcoro"):
            server = harness.Server(kind=kind)
            socks = []
            try:
                with server.connect() as s:
                    harness.command(s, b"set k 0 0 2\r\nhi\r\n")
                server.proc.send_signal(signal.SIGSTOP)
                socks = [socket.create_connection(("127.0.0.1", server.port), timeout=20)
                         for _ in range(50)]
                for c in socks:
                    c.sendall(b"get k\r\n")
                server.proc.send_signal(signal.SIGTERM)
                server.proc.send_signal(signal.SIGCONT)
                got = [None] * len(socks)
                for i, c in enumerate(socks):
                    read_all(c, got, i)
                code = server.proc.wait(timeout=30)
            finally:
                for c in socks:
                    c.close()
                server.stop()
            replies[kind] = got
            answered = got.count(b"VALUE k 0 2\r\nhi\r\nEND\r\n")
            print(f"{kind}: {answered} of 50 clients in the backlog answered", file=sys.stderr)
            self.assertEqual(code, 0, kind)
        self.assertEqual(replies["memcoro"], [b"VALUE k 0 2\r\nhi\r\nEND\r\n"] * 50)

    def test_drain_timeout_bounds_a_client_that_does_not_read(self):
        server = harness.Server(["--drain-timeout", "1"])
        try:
            with server.connect() as s:
                harness.command(s, b"set big 0 0 500000\r\n" + b"v" * 500000 + b"\r\n")
                s.sendall(b"get" + b" big" * 40 + b"\r\n")  # 20 MB it never reads
                time.sleep(0.3)
                start = time.time()
                server.proc.send_signal(signal.SIGTERM)
                code = server.proc.wait(timeout=15)
                took = time.time() - start
        finally:
            server.stop()
        self.assertEqual(code, 0)
        self.assertGreater(took, 0.9)
        self.assertLess(took, 4)

    def test_idle_connections_do_not_delay_the_stop(self):
        server = harness.Server(["--drain-timeout", "30"])
        socks = [server.connect() for _ in range(50)]
        try:
            harness.command(socks[0], b"set a 0 0 1\r\nx\r\n")
            start = time.time()
            server.proc.send_signal(signal.SIGTERM)
            code = server.proc.wait(timeout=15)
            took = time.time() - start
        finally:
            for s in socks:
                s.close()
            server.stop()
        self.assertEqual(code, 0)
        self.assertLess(took, 3)


if __name__ == "__main__":
    unittest.main()

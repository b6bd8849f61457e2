"""The idle timeout against slow clients, side by side with memcached's
t/idle-timeout.t: the timeout counts from the last complete command line,
so a client that drips bytes without ever finishing a line (slowloris) is
closed like a silent one, and a client that keeps sending commands is not.
Both servers run with an idle timeout of 2 seconds."""
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

IDLE = 2


def closed_within(sock, seconds):
    """Seconds until the server closed sock, or None if it stayed open."""
    start = time.time()
    sock.settimeout(0.2)
    while time.time() - start < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.time() - start
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.time() - start
    return None


def drip(sock, stop, data=b"get " + b"k" * 200, every=0.5):
    """Sends one byte every `every` seconds, never a whole line."""
    for b in data:
        if stop.is_set():
            return
        try:
            sock.send(bytes([b]))
        except OSError:
            return
        stop.wait(every)


class IdleTimeout(harness.SideBySide):
    MEMCACHED_ARGS = ("-o", f"idle_timeout={IDLE}")
    MEMCORO_ARGS = ("--idle-timeout", str(IDLE))

    def test_silent_client_is_closed_and_counted(self):
        for _, server in self.each_server():
            before = int(harness.stats(server)["idle_kicks"])
            with server.connect() as s:
                took = closed_within(s, IDLE + 4)
            self.assertIsNotNone(took)
            self.assertGreater(took, IDLE - 0.5)
            self.assertGreaterEqual(int(harness.stats(server)["idle_kicks"]), before + 1)

    def test_dripping_client_is_closed(self):
        for _, server in self.each_server():
            stop = threading.Event()
            with server.connect() as s:
                t = threading.Thread(target=drip, args=(s, stop), daemon=True)
                t.start()
                took = closed_within(s, IDLE + 4)
                stop.set()
                t.join()
            self.assertIsNotNone(took, "a client that never finishes a line must time out")

    def test_dripping_data_block_is_closed(self):
        # The line is complete, the data block never is: memcached leaves
        # such a connection alone (it only times out connections waiting for
        # a line); memcoro counts from the line, so it is closed too.
        server = self.servers["memcoro"]
        for size in (100, 100000):  # buffered, and received straight into the item
            stop = threading.Event()
            with server.connect() as s:
                s.sendall(b"set drip 0 0 %d\r\n" % size)
                t = threading.Thread(target=drip, args=(s, stop, b"x" * 100), daemon=True)
                t.start()
                took = closed_within(s, IDLE + 4)
                stop.set()
                t.join()
            self.assertIsNotNone(took, size)

    def test_client_that_sends_commands_stays(self):
        for _, server in self.each_server():
            with server.connect() as s:
                for _ in range(int((IDLE + 2) / 0.5)):
                    self.assertTrue(harness.command(s, b"version\r\n").startswith(b"VERSION "))
                    time.sleep(0.5)
                self.assertTrue(harness.command(s, b"version\r\n").startswith(b"VERSION "))

    def test_client_that_never_reads_its_replies_is_closed(self):
        # memcoro only: memcached does not time out a connection it is
        # writing to. 20 MB of replies, far more than the kernel buffers.
        # Its own server: connections of other tests close as they please.
        with harness.Server(self.MEMCORO_ARGS) as server:
            with server.connect() as s:
                harness.command(s, b"set big 0 0 500000\r\n" + b"v" * 500000 + b"\r\n")
                before = harness.stats(server)
                s.sendall(b"get" + b" big" * 40 + b"\r\n")
                time.sleep(IDLE + 2.5)
                after = harness.stats(server)
        self.assertEqual(int(before["curr_connections"]), 2)  # s and the stats query
        self.assertEqual(int(after["idle_kicks"]), int(before["idle_kicks"]) + 1)
        self.assertEqual(int(after["curr_connections"]), 1)

    def test_slowloris_does_not_lock_out_new_clients(self):
        # 150 dripping clients against a limit of 100 connections: once the
        # timeout has closed them, a new client gets in.
        for name, server in self.each_server():
            limited = harness.Server(["-c", "100", "--idle-timeout", str(IDLE)]) \
                if name == "memcoro" else \
                harness.Server(["-c", "100", "-o", f"idle_timeout={IDLE}"], kind="memcached")
            stop = threading.Event()
            socks, threads = [], []
            try:
                for _ in range(150):
                    try:
                        s = limited.connect()
                    except OSError:
                        continue
                    socks.append(s)
                    t = threading.Thread(target=drip, args=(s, stop), daemon=True)
                    t.start()
                    threads.append(t)
                time.sleep(0.5)
                start = time.time()
                served = None
                while time.time() - start < IDLE + 8:
                    try:
                        with limited.connect(timeout=1) as c:
                            reply = harness.command(c, b"version\r\n", idle=1)
                        if reply.startswith(b"VERSION "):
                            served = time.time() - start
                            break
                    except OSError:
                        pass
                    time.sleep(0.2)
                self.assertIsNotNone(served, f"{name}: a new client never got in")
                print(f"{name}: a new client was served after {served:.1f} s")
            finally:
                stop.set()
                for t in threads:
                    t.join()
                for s in socks:
                    s.close()
                limited.stop()


if __name__ == "__main__":
    unittest.main()

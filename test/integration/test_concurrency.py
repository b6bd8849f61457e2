"""Many clients on every worker thread at once: no lost update, no torn
value. Also run under ASan/UBSan and TSan (ctest label "sanitize")."""
import os
import random
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


def pipelined(sock, request, replies, terminator=b"\r\n"):
    """Sends one batch and reads until `replies` terminators arrived."""
    sock.sendall(request)
    buf = b""
    while buf.count(terminator) < replies:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


class Concurrency(unittest.TestCase):
    def test_incr_from_8_connections_loses_nothing(self):
        with harness.Server(["-t", "4"]) as server:
            with server.connect() as s:
                self.assertEqual(harness.command(s, b"set counter 0 0 1\r\n0\r\n"), b"STORED\r\n")
            errors = []

            def worker():
                try:
                    with server.connect(timeout=60) as s:
                        for _ in range(20):
                            reply = pipelined(s, b"incr counter 1\r\n" * 500, 500)
                            if b"ERROR" in reply or b"NOT_FOUND" in reply:
                                errors.append(reply[:100])
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))

            threads = [threading.Thread(target=worker) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            with server.connect() as s:
                self.assertEqual(harness.command(s, b"get counter\r\n", until=b"END\r\n"),
                                 b"VALUE counter 0 5\r\n80000\r\nEND\r\n")
            st = harness.stats(server)
            self.assertEqual(st["incr_hits"], "80000")

    def test_no_torn_values_under_concurrent_writes(self):
        # Every value is one letter repeated a length the letter decides, so a
        # torn read (two writes mixed) cannot pass the check.
        def value(letter):
            return bytes([letter]) * (1000 + (letter - 97) * 997)

        with harness.Server(["-t", "4"]) as server:
            stop = threading.Event()
            bad = []
            reads = [0]

            def writer(seed):
                rnd = random.Random(seed)
                with server.connect(timeout=60) as s:
                    for _ in range(300):
                        batch = b""
                        for _ in range(10):
                            v = value(rnd.randrange(97, 123))
                            key = b"t%d" % rnd.randrange(4)
                            op = rnd.choice([b"set", b"set", b"set", b"delete"])
                            if op == b"delete":
                                batch += b"delete " + key + b"\r\n"
                            else:
                                batch += b"set %s 0 0 %d\r\n%s\r\n" % (key, len(v), v)
                        pipelined(s, batch, 10)

            def reader():
                with server.connect(timeout=60) as s:
                    while not stop.is_set():
                        reply = pipelined(s, b"get t0 t1 t2 t3\r\n", 1, terminator=b"END\r\n")
                        pos = 0
                        while reply.startswith(b"VALUE ", pos):
                            eol = reply.index(b"\r\n", pos)
                            n = int(reply[pos:eol].split()[3])
                            data = reply[eol + 2:eol + 2 + n]
                            if data != value(data[0]) or reply[eol + 2 + n:eol + 4 + n] != b"\r\n":
                                bad.append(data[:20])
                            reads[0] += 1
                            pos = eol + 4 + n
                        if reply[pos:] != b"END\r\n":
                            bad.append(reply[pos:pos + 40])

            writers = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
            readers = [threading.Thread(target=reader) for _ in range(4)]
            for t in writers + readers:
                t.start()
            for t in writers:
                t.join()
            stop.set()
            for t in readers:
                t.join()
            self.assertEqual(bad, [])
            self.assertGreater(reads[0], 0)


if __name__ == "__main__":
    unittest.main()

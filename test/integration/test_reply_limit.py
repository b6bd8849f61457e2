"""Reply memory per connection: a client that sends multi-gets and never
reads its replies can make a server queue about 1 GB of replies per 2 MB
get line. memcoro stops running a connection's requests once
conn_reply_limit bytes of replies wait for it, so its memory stays bounded
while other clients go on at full speed."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

VALUE = b"v" * 1000  # below the zero-copy threshold: each reply copies it
ATTACKERS = 4
KEYS = 500_000


def rss_mib(server):
    return harness.rss_bytes(server.proc.pid) / (1 << 20)


def round_trips(server, n=2000):
    """Seconds for n set+get round trips on one connection."""
    with server.connect() as s:
        start = time.time()
        for i in range(n):
            s.sendall(b"set w%d 0 0 4\r\nwell\r\nget w%d\r\n" % (i % 100, i % 100))
            reply = b""
            while not reply.endswith(b"END\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    raise AssertionError("the well-behaved client was closed")
                reply += chunk
        return time.time() - start


class ReplyLimit(unittest.TestCase):
    def test_never_reading_clients_stay_bounded(self):
        server = harness.Server(["-t", "2"])
        attackers = []
        try:
            with server.connect() as s:
                harness.command(s, b"set a 0 0 %d\r\n%s\r\n" % (len(VALUE), VALUE))
            baseline = round_trips(server)
            rss_before = rss_mib(server)
            line = b"get" + b" a" * KEYS + b"\r\n"  # 1 MB, about 500 MB of replies
            for _ in range(ATTACKERS):
                a = server.connect()
                a.sendall(line)
                attackers.append(a)
            time.sleep(2)
            loaded = round_trips(server)
            rss_after = rss_mib(server)
            print(f"RSS {rss_before:.1f} -> {rss_after:.1f} MiB with {ATTACKERS} never-reading "
                  f"clients; 2000 round trips {baseline:.2f} s alone, {loaded:.2f} s beside them")
            # Each attacker may hold its 1 MB line (in a 2 MB buffer), the
            # 4 MB reply limit and what the kernel took: well under 64 MiB for
            # all four. (Before the limit: 2 GB.) Sanitizers keep freed memory
            # in quarantine, so RSS means nothing there.
            if not harness.SANITIZE:
                self.assertLess(rss_after - rss_before, 64)
            self.assertLess(loaded, max(2 * baseline, baseline + 1.0))
            # Once an attacker reads, it gets its whole reply, in order.
            got = 0
            a = attackers[0]
            a.settimeout(30)
            want = len(b"VALUE a 0 1000\r\n") + len(VALUE) + 2
            buf = b""
            while True:
                chunk = a.recv(1 << 20)
                self.assertTrue(chunk, "closed before the reply was complete")
                buf += chunk
                got += len(chunk)
                if got >= KEYS * want + 5:
                    break
                buf = buf[-16:]
            self.assertEqual(got, KEYS * want + 5)
            self.assertTrue(buf.endswith(b"END\r\n"))
        finally:
            for a in attackers:
                a.close()
            server.stop()

    def test_multi_get_over_the_limit_is_answered_whole(self):
        with harness.Server(["--conn-reply-limit", "16k"]) as server:
            with server.connect() as s:
                for i in range(50):
                    harness.command(s, b"set k%d 7 0 %d\r\n%s\r\n" % (i, 1500 + i, b"x" * (1500 + i)))
                keys = [b"k%d" % (i % 60) for i in range(3000)]  # hits, misses, repeats
                reply = harness.command(s, b"gets " + b" ".join(keys) + b"\r\nmn\r\n",
                                        until=b"END\r\nMN\r\n", idle=10)
            expected = []
            for k in keys:
                i = int(k[1:])
                if i < 50:
                    expected.append(b"VALUE %s 7 %d " % (k, 1500 + i))
            lines = [l for l in reply.split(b"\r\n") if l.startswith(b"VALUE ")]
            self.assertEqual([l.rsplit(b" ", 1)[0] + b" " for l in lines], expected)
            self.assertTrue(reply.endswith(b"END\r\nMN\r\n"))


if __name__ == "__main__":
    unittest.main()

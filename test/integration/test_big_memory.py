"""Big memory settings over real sockets (issues 10 and 16): every -m that
memcached 1.6.18 starts with starts memcoro, uses memory only as items are
stored, and cache_memlimit raises any starting limit up to the reservation
(memory_reserve; by default all that 36-bit handles name, 4 TiB less a page
with the default chunk sizes); side by side with memcached where it has the
behaviour."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

MB = 1 << 20
GIB = 1 << 30
TIB = 1 << 40
# What 36-bit handles name with 88-byte chunks in 1 MiB pages: 2^22 - 1 pages.
ADDRESSABLE = ((1 << 22) - 1) * MB
# TSan keeps much of the address space for itself: there the reservation is
# halved until the system grants it (as under a ulimit -v), so a test reads
# what was reserved; everywhere else it must be all that handles name.
SMALL_ADDRESS_SPACE = harness.SANITIZE == "thread"


def memory_reserve(test, server):
    """The reservation `stats settings` reports, checked."""
    with server.connect() as s:
        text = harness.command(s, b"stats settings\r\n", until=b"END\r\n")
    reserved = int(re.search(rb"STAT memory_reserve (\d+)\r\n", text).group(1))
    if SMALL_ADDRESS_SPACE:
        test.assertGreaterEqual(reserved, 256 * GIB)
        test.assertLessEqual(reserved, ADDRESSABLE)
    else:
        test.assertEqual(reserved, ADDRESSABLE)
    return reserved


def store_and_read(server, count=200, size=1000):
    """Stores `count` values and reads each back; returns the replies' faults."""
    with server.connect(timeout=30) as s:
        faults = []
        for i in range(count):
            value = (b"%06d" % i) * (size // 6)
            reply = harness.command(s, b"set big%d 0 0 %d\r\n%s\r\n" % (i, len(value), value))
            if reply != b"STORED\r\n":
                faults.append((i, reply))
        for i in range(count):
            value = (b"%06d" % i) * (size // 6)
            reply = harness.command(s, b"get big%d\r\n" % i, until=b"END\r\n")
            if reply != b"VALUE big%d 0 %d\r\n%s\r\nEND\r\n" % (i, len(value), value):
                faults.append((i, reply[:80]))
        return faults


class BigMemory(unittest.TestCase):
    def rss_after_workload(self, args):
        with harness.Server(args) as server:
            self.assertEqual(store_and_read(server), [])
            return harness.rss_bytes(server.proc.pid), harness.stats(server), server

    def test_every_limit_memcached_starts_with_starts(self):
        # 2147483647 is the largest -m memcached reads (atoi); 1000000 is the
        # issue's example. RSS must not grow with the limit: compared with the
        # same workload at -m 64 (sanitizer builds have a larger baseline).
        base_rss, _, _ = self.rss_after_workload(["-m", "64"])
        for mb in (8192, 65536, 1000000, 1048576, 2147483647):
            with self.subTest(mb=mb):
                with harness.Server(["-m", str(mb)], kind="memcached") as mc:
                    want = harness.stats(mc)["limit_maxbytes"]
                with harness.Server(["-m", str(mb)]) as server:
                    reserved = memory_reserve(self, server)
                    self.assertEqual(store_and_read(server), [])
                    rss = harness.rss_bytes(server.proc.pid)
                    st = harness.stats(server)
                    self.assertEqual(st["limit_maxbytes"], want)
                    self.assertEqual(st["limit_maxbytes"], str(mb * MB))
                    self.assertLess(rss, base_rss + 16 * MB, f"-m {mb}: RSS {rss} vs {base_rss}")
                    output_so_far = server.output()
                if mb * MB > reserved:
                    self.assertIn("items can use at most", output_so_far)
                else:
                    self.assertNotIn("items can use at most", output_so_far)

    def test_limits_above_what_memcached_reads_are_refused(self):
        # memcached's atoi wraps these into nonsense limits; memcoro says why.
        for arg in ("2147483648", "-5", "0"):
            with self.subTest(m=arg):
                with self.assertRaises(RuntimeError) as ctx:
                    harness.Server(["-m", arg])
                self.assertIn("memory_limit", str(ctx.exception))

    def test_cache_memlimit_raises_any_start_to_64_gib(self):
        script = (b"cache_memlimit 1025\r\ncache_memlimit 65536\r\n")
        with harness.Server(["-m", "64"], kind="memcached") as mc:
            with mc.connect() as s:
                expected = harness.command(s, script + b"mn\r\n", until=b"MN\r\n")
        self.assertEqual(expected, b"OK\r\nOK\r\nMN\r\n")
        for start in ("64", "8", "8192"):
            with self.subTest(start=start):
                with harness.Server(["-m", start]) as server:
                    with server.connect() as s:
                        self.assertEqual(
                            harness.command(s, script + b"mn\r\n", until=b"MN\r\n"), expected)
                    self.assertEqual(harness.stats(server)["limit_maxbytes"], str(64 * GIB))
                    self.assertEqual(store_and_read(server), [])
                    reserved = memory_reserve(self, server)
                    with server.connect() as s:
                        # Up to 1 TiB and beyond, but not past what handles
                        # name (what was reserved): refused with memcached's
                        # text, the limit unchanged.
                        if not SMALL_ADDRESS_SPACE:
                            self.assertEqual(harness.command(s, b"cache_memlimit 1048576\r\n"),
                                             b"OK\r\n")
                            self.assertEqual(harness.stats(server)["limit_maxbytes"], str(TIB))
                        self.assertEqual(
                            harness.command(s, b"cache_memlimit %d\r\n" % (reserved // MB)),
                            b"OK\r\n")
                        self.assertEqual(
                            harness.command(s, b"cache_memlimit %d\r\n" % (reserved // MB + 1)),
                            b"MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n")
                        self.assertEqual(harness.stats(server)["limit_maxbytes"], str(reserved))
                        self.assertEqual(harness.command(s, b"cache_memlimit 64\r\n"), b"OK\r\n")
                    self.assertEqual(harness.stats(server)["limit_maxbytes"], str(64 * MB))
                    self.assertEqual(store_and_read(server), [])


    def test_memory_reserve_bounds_cache_memlimit(self):
        # The reservation is a setting (--memory-reserve, -o, JSON) and shows
        # in `stats settings`; cache_memlimit stops at it, and -m may not
        # start above it.
        for args in (["--memory-reserve", "262144"], ["-o", "memory_reserve=262144"]):
            with self.subTest(args=args):
                with harness.Server(["-m", "64", *args]) as server:
                    with server.connect() as s:
                        settings = harness.command(s, b"stats settings\r\n", until=b"END\r\n")
                        self.assertIn(b"STAT memory_reserve %d\r\n" % (256 * GIB), settings)
                        self.assertEqual(harness.command(s, b"cache_memlimit 262144\r\n"),
                                         b"OK\r\n")
                        self.assertEqual(
                            harness.command(s, b"cache_memlimit 262145\r\n"),
                            b"MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n")
                    self.assertEqual(harness.stats(server)["limit_maxbytes"], str(256 * GIB))
        with harness.Server(["-m", "64"]) as server:
            memory_reserve(self, server)  # by default all that handles name
        with self.assertRaises(RuntimeError) as ctx:
            harness.Server(["-m", "2048", "--memory-reserve", "1024"])
        self.assertIn("must not exceed memory_reserve", str(ctx.exception))
        with self.assertRaises(RuntimeError) as ctx:
            harness.Server(["-o", "no_such_setting=1"])
        self.assertIn("no_such_setting", str(ctx.exception))

    @unittest.skipIf(harness.SANITIZE, "sanitizers add their own memory")
    def test_rss_follows_what_is_stored_at_any_limit(self):
        # About 100 MiB of 1000-byte values at -m 1 TiB and -m 64 GiB: RSS
        # grows with the data stored, the same at both limits (and as with
        # memcached at the same -m), never with the limit.
        count, size = 100_000, 1000
        value = b"v" * size

        def growth(kind, mb):
            with harness.Server(["-m", str(mb), "-t", "2"], kind=kind) as server:
                with server.connect(timeout=60) as s:
                    harness.command(s, b"set warm 0 0 1\r\nw\r\n")
                    before = harness.rss_bytes(server.proc.pid)
                    for start in range(0, count, 1000):
                        s.sendall(b"".join(b"set k%d 0 0 %d noreply\r\n%s\r\n" % (i, size, value)
                                           for i in range(start, start + 1000)))
                    self.assertEqual(harness.command(s, b"mn\r\n"), b"MN\r\n")
                    for i in (0, count // 2, count - 1):
                        self.assertEqual(
                            harness.command(s, b"get k%d\r\n" % i, until=b"END\r\n"),
                            b"VALUE k%d 0 %d\r\n%s\r\nEND\r\n" % (i, size, value))
                    after = harness.rss_bytes(server.proc.pid)
                self.assertEqual(harness.stats(server)["curr_items"], str(count + 1))
            return after - before

        stored = count * size
        for mb in (1048576, 65536):
            with self.subTest(mb=mb):
                ours = growth("memcoro", mb)
                theirs = growth("memcached", mb)
                self.assertGreater(ours, stored * 0.9, f"-m {mb}: {ours} for {stored}")
                self.assertLess(ours, stored * 1.4, f"-m {mb}: {ours} for {stored}")
                self.assertLess(ours, theirs * 1.1, f"-m {mb}: memcoro {ours}, memcached {theirs}")


if __name__ == "__main__":
    unittest.main()

"""Warm restart (issue 16) over real sockets: with -e FILE item memory lives
in a file on /dev/shm; a graceful stop (SIGTERM, SIGINT, SIGUSR1) writes
FILE.meta, and the next start with the same memory settings brings every
item back (value, flags, CAS, TTL, LRU order), without the items that
expired meanwhile. An unclean stop, other settings or damaged metadata start
empty, say why, and never crash. memcached 1.6.18's -e side by side where
its behaviour compares (it saves on SIGUSR1 only)."""
import os
import random
import re
import shutil
import signal
import struct
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SHM = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def fnv1a64(data):
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def meta_get(sock, key):
    """(value, flags, cas, ttl) of key, or None: `mg key v f c t`."""
    reply = harness.command(sock, b"mg %s v f c t\r\n" % key, until=b"\r\n")
    if reply.startswith(b"EN"):
        return None
    head, _, rest = reply.partition(b"\r\n")
    size = int(head.split()[1])
    while len(rest) < size + 2:
        rest += sock.recv(1 << 20)
    flags = {t[:1]: t[1:] for t in head.split()[2:]}
    return rest[:size], int(flags[b"f"]), int(flags[b"c"]), int(flags[b"t"])


def fill(server, count, seed=7, ttl=lambda i: 0, prefix=b"k"):
    """Stores `count` items of varied sizes, flags and TTLs; returns them."""
    rnd = random.Random(seed)
    items = {}
    with server.connect(timeout=30) as s:
        batch = []
        for i in range(count):
            size = rnd.choice((1, 10, 32, 100, 1000, 5000)) if i % 50 else rnd.choice(
                (20_000, 200_000, 900_000))
            value = bytes(rnd.getrandbits(8) for _ in range(min(size, 64))) * (size // 64 + 1)
            value = value[:size]
            flags = rnd.getrandbits(32)
            key = b"%s%d" % (prefix, i)
            batch.append(b"set %s %d %d %d noreply\r\n%s\r\n" % (key, flags, ttl(i), size, value))
            items[key] = (value, flags)
            if len(batch) >= 100:
                s.sendall(b"".join(batch))
                batch = []
        s.sendall(b"".join(batch))
        assert harness.command(s, b"mn\r\n") == b"MN\r\n"
    return items


def read_all(server, keys):
    with server.connect(timeout=30) as s:
        return {k: meta_get(s, k) for k in keys}


def cachedump(server):
    """`stats cachedump` of every class with items: the LRU order, MRU first."""
    with server.connect() as s:
        items = harness.command(s, b"stats items\r\n", until=b"END\r\n").decode()
        classes = sorted({int(m) for m in re.findall(r"STAT items:(\d+):number ", items)})
        return {c: harness.command(s, b"stats cachedump %d 0\r\n" % c, until=b"END\r\n")
                for c in classes}


class MemoryFile:
    """A memory file path on /dev/shm, removed with its metadata afterwards."""

    def __init__(self):
        fd, self.path = tempfile.mkstemp(prefix="memcoro-warm-", dir=SHM)
        os.close(fd)
        os.unlink(self.path)
        self.meta = self.path + ".meta"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in (self.path, self.meta, self.meta + ".tmp"):
            if os.path.exists(p):
                os.unlink(p)


def start(mem, *args, kind="memcoro"):
    return harness.Server(["-m", "64", "-e", mem.path, *args], kind=kind)


def stop_with(server, sig):
    """Sends sig and waits for the exit: (exit status, log)."""
    server.proc.send_signal(sig)
    server.proc.wait(timeout=20)
    rc = server.proc.returncode
    out = server.output()
    if sig == signal.SIGKILL:
        server.log.close()  # not server.stop(): it fails a memcoro killed on purpose
    else:
        server.stop()
    return rc, out


class WarmRestart(unittest.TestCase):
    def test_every_item_comes_back_with_its_cas_flags_ttl_and_lru_order(self):
        with MemoryFile() as mem:
            server = start(mem)
            now = int(time.time())
            # No TTL, a relative one, an absolute one (Unix time).
            ttls = lambda i: (0, 1000, now + 5000)[i % 3]  # noqa: E731
            items = fill(server, 1500, ttl=ttls)
            before = read_all(server, items)
            dump = cachedump(server)
            stats = harness.stats(server)
            stopped = time.time()
            server.stop()  # SIGTERM: the container's stop
            self.assertTrue(os.path.exists(mem.meta))

            server = start(mem)
            try:
                self.assertIn("1500 items restored", server.output())
                self.assertFalse(os.path.exists(mem.meta), "the metadata must go at start")
                self.assertEqual(cachedump(server), dump)  # LRU order, before any read
                after = read_all(server, items)
                elapsed = time.time() - stopped
                for key, (value, flags) in items.items():
                    got, want = after[key], before[key]
                    self.assertIsNotNone(got, key)
                    self.assertEqual(got[0], value, key)
                    self.assertEqual(got[1], flags, key)
                    self.assertEqual(got[2], want[2], key)  # CAS
                    if want[3] == -1:
                        self.assertEqual(got[3], -1, key)
                    else:
                        self.assertLessEqual(got[3], want[3], key)
                        self.assertGreaterEqual(got[3], want[3] - elapsed - 2, key)
                st = harness.stats(server)
                for name in ("curr_items", "bytes"):
                    self.assertEqual(st[name], stats[name], name)
                # CAS stays monotonic: a new item's is above every old one's.
                with server.connect() as s:
                    harness.command(s, b"set fresh 0 0 1\r\nx\r\n")
                    fresh_cas = meta_get(s, b"fresh")[2]
                self.assertGreater(fresh_cas, max(v[2] for v in before.values()))
            finally:
                server.stop()

    def test_sigint_and_sigusr1_stop_gracefully_too(self):
        for sig in (signal.SIGINT, signal.SIGUSR1):
            with self.subTest(sig=sig.name), MemoryFile() as mem:
                server = start(mem)
                items = fill(server, 200)
                rc, out = stop_with(server, sig)
                self.assertEqual(rc, 0, out)
                self.assertIn("saved " + mem.meta, out)
                with start(mem) as server:
                    self.assertEqual(harness.stats(server)["curr_items"], "200")
                    got = read_all(server, items)
                    self.assertEqual({k: (v[0], v[1]) for k, v in got.items()}, items)

    def test_a_second_server_on_the_same_file_is_refused(self):
        with MemoryFile() as mem:
            with start(mem) as server:
                fill(server, 10)
                with self.assertRaises(RuntimeError) as ctx:
                    start(mem)
                self.assertIn("in use by another process", str(ctx.exception))
                self.assertEqual(harness.stats(server)["curr_items"], "10")

    def test_shutdown_command_with_A_saves_too(self):
        with MemoryFile() as mem:
            server = start(mem, "-A")
            items = fill(server, 100)
            with server.connect() as s:
                s.sendall(b"shutdown\r\n")
            server.proc.wait(timeout=20)
            self.assertEqual(server.proc.returncode, 0)
            server.stop()
            with start(mem, "-A") as server:
                self.assertEqual(harness.stats(server)["curr_items"], "100")
                self.assertEqual(read_all(server, [b"k7"])[b"k7"][0], items[b"k7"][0])

    def test_after_sigkill_the_cache_starts_empty_and_works(self):
        with MemoryFile() as mem:
            with start(mem) as server:
                pass  # a graceful cycle first: a metadata file exists...
            server = start(mem)  # ...until this start removes it
            fill(server, 300, prefix=b"old")
            stop_with(server, signal.SIGKILL)
            server = start(mem)
            try:
                self.assertIn("the last stop was not graceful", server.output())
                self.assertIn("starting with an empty cache", server.output())
                self.assertEqual(harness.stats(server)["curr_items"], "0")
                items = fill(server, 100, prefix=b"new")
            finally:
                server.stop()
            with start(mem) as server:
                # The items of the killed run never come back, these do.
                self.assertEqual(harness.stats(server)["curr_items"], "100")
                self.assertIsNone(read_all(server, [b"old1"])[b"old1"])
                self.assertEqual(read_all(server, [b"new1"])[b"new1"][0], items[b"new1"][0])

    def test_other_memory_settings_start_empty_and_say_which(self):
        for args, name in ((["-m", "128"], "memory_limit"), (["-n", "64"], "chunk_size"),
                           (["-f", "1.5"], "growth_factor"), (["-I", "2m"], "max_item_size"),
                           (["--memory-reserve", "256"], "memory_reserve")):
            with self.subTest(setting=name), MemoryFile() as mem:
                with start(mem) as server:
                    fill(server, 50)
                with harness.Server(["-m", "64", "-e", mem.path, *args]) as server:
                    self.assertIn(f"restart incompatible due to setting for [{name}]",
                                  server.output())
                    self.assertEqual(harness.stats(server)["curr_items"], "0")
                    with server.connect() as s:
                        self.assertEqual(harness.command(s, b"set a 0 0 1\r\nx\r\n"),
                                         b"STORED\r\n")

    def test_items_that_expire_while_stopped_are_gone(self):
        with MemoryFile() as mem:
            server = start(mem)
            items = fill(server, 300, ttl=lambda i: 2 if i % 2 else 1000)
            server.stop()
            time.sleep(3.2)
            with start(mem) as server:
                self.assertIn("150 items restored, 150 expired while stopped", server.output())
                got = read_all(server, items)
                for i, key in enumerate(items):
                    if i % 2:
                        self.assertIsNone(got[key], key)
                    else:
                        self.assertEqual(got[key][0], items[key][0], key)
                st = harness.stats(server)
                self.assertEqual(st["curr_items"], "150")

    def test_a_full_tmpfs_refuses_pages_instead_of_killing_the_server(self):
        # The file (-m 64) is larger than its 8 MiB tmpfs: pages past what
        # the tmpfs holds are refused as a full cache refuses them (evicting),
        # never a SIGBUS. Needs root to mount a tmpfs.
        with tempfile.TemporaryDirectory() as d:
            if os.geteuid() != 0 or os.system(f"mount -t tmpfs -o size=8m tmpfs {d}") != 0:
                self.skipTest("cannot mount a tmpfs here")
            try:
                path = os.path.join(d, "memory")
                with harness.Server(["-m", "64", "-e", path]) as server:
                    value = b"x" * 100_000
                    with server.connect(timeout=30) as s:
                        for i in range(300):  # 30 MB
                            self.assertEqual(
                                harness.command(s, b"set f%d 0 0 %d\r\n%s\r\n" % (
                                    i, len(value), value)), b"STORED\r\n", i)
                        self.assertEqual(
                            harness.command(s, b"get f299\r\n", until=b"END\r\n"),
                            b"VALUE f299 0 %d\r\n%s\r\nEND\r\n" % (len(value), value))
                        slabs = harness.command(s, b"stats slabs\r\n", until=b"END\r\n")
                    malloced = int(re.search(rb"STAT total_malloced (\d+)", slabs).group(1))
                    self.assertLessEqual(malloced, 8 << 20)
                    self.assertGreater(int(harness.stats(server)["evictions"]), 0)
            finally:
                os.system(f"umount {d}")

    def damaged_starts(self, mem, good_meta, good_mem, damage):
        """Starts over a copy of a good pair with the metadata damaged; the
        server must come up, serve and stop cleanly. Returns its log."""
        shutil.copyfile(good_mem, mem.path)
        with open(mem.meta, "wb") as f:
            f.write(damage(good_meta))
        with start(mem) as server:
            with server.connect() as s:
                self.assertEqual(harness.command(s, b"set z 1 0 2\r\nzz\r\n"), b"STORED\r\n")
                self.assertEqual(harness.command(s, b"get z\r\n", until=b"END\r\n"),
                                 b"VALUE z 1 2\r\nzz\r\nEND\r\n")
            return server.output(), harness.stats(server)

    def test_damaged_metadata_never_crashes(self):
        with MemoryFile() as mem, tempfile.TemporaryDirectory(dir=SHM) as keep:
            server = start(mem)
            fill(server, 400)
            server.stop()
            with open(mem.meta, "rb") as f:
                good = f.read()
            good_mem = os.path.join(keep, "mem")
            shutil.copyfile(mem.path, good_mem)

            # The undamaged pair restores: the copies are a fair start.
            log, st = self.damaged_starts(mem, good, good_mem, lambda m: m)
            self.assertIn("400 items restored", log)
            self.assertEqual(st["curr_items"], "401")

            rnd = random.Random(16)
            cuts = [0, 10, len(good) // 2, len(good) - 1]
            flips = [0, 30, 40, len(good) // 2, len(good) - 9, len(good) - 1]
            damages = [(f"cut at {n}", lambda m, n=n: m[:n]) for n in cuts]
            damages += [(f"flip at {i}", lambda m, i=i: m[:i] + bytes([m[i] ^ 0x5A]) + m[i + 1:])
                        for i in flips]
            for name, damage in damages:
                with self.subTest(damage=name):
                    log, st = self.damaged_starts(mem, good, good_mem, damage)
                    self.assertIn("starting with an empty cache", log)
                    self.assertRegex(log, r"damaged|not memcoro warm restart|another version")
                    self.assertEqual(st["curr_items"], "1")

            # Damage behind a valid checksum (as a bug writing it would): the
            # restore's own checks must hold. Either the cache comes back or
            # it starts empty; it never crashes.
            body = good[:-8]
            for n in range(40):
                i = rnd.randrange(24, len(body))
                bad = body[:i] + bytes([body[i] ^ (1 << rnd.randrange(8))]) + body[i + 1:]
                with self.subTest(flip_with_checksum=i):
                    log, st = self.damaged_starts(
                        mem, good, good_mem, lambda m, b=bad: b + struct.pack("<Q", fnv1a64(b)))
                    self.assertTrue("items restored" in log or "empty cache" in log, log)


class BesideMemcached(unittest.TestCase):
    """memcached 1.6.18's -e: saved on SIGUSR1 (not SIGTERM), refused within
    the second of the stop; otherwise the same outcomes."""

    def cycle(self, kind, stop_signal):
        with MemoryFile() as mem:
            server = start(mem, kind=kind)
            items = fill(server, 200)
            rc, _ = stop_with(server, stop_signal)
            time.sleep(1.1)  # memcached refuses a restart in the stop's second
            with start(mem, kind=kind) as server:
                got = read_all(server, items)
                return {k: (v[0], v[1]) for k, v in got.items() if v is not None}, items

    def test_sigusr1_restores_both(self):
        for kind in ("memcached", "memcoro"):
            with self.subTest(kind=kind):
                got, items = self.cycle(kind, signal.SIGUSR1)
                self.assertEqual(got, items)

    def test_memcoro_starts_empty_over_memcacheds_file(self):
        # The files are each server's own: memcoro reads none of memcached's.
        with MemoryFile() as mem:
            server = start(mem, kind="memcached")
            fill(server, 100)
            stop_with(server, signal.SIGUSR1)
            self.assertTrue(os.path.exists(mem.meta))
            with start(mem) as server:
                self.assertIn("is not memcoro warm restart metadata", server.output())
                self.assertEqual(harness.stats(server)["curr_items"], "0")

    def test_sigkill_empties_both(self):
        for kind in ("memcached", "memcoro"):
            with self.subTest(kind=kind):
                got, _ = self.cycle(kind, signal.SIGKILL)
                self.assertEqual(got, {})


if __name__ == "__main__":
    unittest.main()

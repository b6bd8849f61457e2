"""Every stats group names the fields memcached 1.6.18 names, in its order.

memcoro and Debian's memcached are started side by side with the same
options, given the same items (in two slab classes, so that per-class groups
exist), and each group's field names are compared: `stats`, `stats
settings`, `stats items`, `stats slabs`, `stats sizes` and `stats conns`.
Values are not compared here (they depend on the server), except for the
counters whose meaning is checked below.
"""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

# Deliberate memcoro-only fields, by group, with the reason. None today:
# a field added here must say why a tool reading memcached's output would
# want it anyway.
MEMCORO_ONLY = {
    "stats": [],
    # The address space reserved for items: how far cache_memlimit can raise
    # maxbytes, which a tool resizing a node needs before it tries.
    "stats settings": ["memory_reserve"],
    "stats items": [],
    "stats slabs": [],
    "stats sizes": [],
    "stats conns": [],
}

GROUPS = ("stats", "stats settings", "stats items", "stats slabs", "stats sizes", "stats conns")
ITEMS = (b"set a 0 0 5\r\nhello\r\n", b"set b 0 0 3000\r\n" + b"x" * 3000 + b"\r\n")


def stat_lines(server, group):
    with server.connect() as s:
        reply = harness.command(s, group.encode() + b"\r\n", until=b"END\r\n").decode()
    assert reply.endswith("END\r\n"), (group, reply)
    return [line.split(" ")[1] for line in reply.split("\r\n") if line.startswith("STAT ")]


def shape(names):
    """Names with the per-class or per-descriptor number replaced by N, each
    block of one class (descriptor) given once: every block must have the
    same fields, in the same order."""
    out, blocks, order = [], {}, []
    for name in names:
        m = re.fullmatch(r"(items:)?(\d+)(:.*)?", name)
        if m is None:
            out.append(name)
            continue
        key = m.group(2)
        if key not in blocks:
            blocks[key] = []
            order.append(key)
            out.append((m.group(1) or "") + "N" + "{block}")
        blocks[key].append((m.group(1) or "") + "N" + (m.group(3) or ""))
    fields = [blocks[k] for k in order]
    return out, fields


def prepare(server):
    with server.connect() as s:
        if server.kind == "memcached":
            # memcoro tracks `stats sizes` always; memcached once asked.
            assert b"enabled" in harness.command(s, b"stats sizes_enable\r\n", until=b"END\r\n")
        for item in ITEMS:
            assert harness.command(s, item) == b"STORED\r\n"
        harness.command(s, b"get a b c\r\n", until=b"END\r\n")


class StatsFields(unittest.TestCase):
    def compare(self, memcoro_args, memcached_args):
        with harness.Server(kind="memcached", args=memcached_args) as theirs, \
                harness.Server(args=memcoro_args) as ours:
            for server in (theirs, ours):
                prepare(server)
            for group in GROUPS:
                with self.subTest(group=group, args=memcoro_args):
                    want = stat_lines(theirs, group)
                    got = [n for n in stat_lines(ours, group) if n not in MEMCORO_ONLY[group]]
                    self.assertGreater(len(want), 0, group)
                    want_outer, want_blocks = shape(want)
                    got_outer, got_blocks = shape(got)
                    if group == "stats conns":
                        # How many connections each server lists depends on
                        # when the previous queries' connections were reaped:
                        # compare the kinds of block (listener, client), once each.
                        self.assertEqual(sorted(set(map(tuple, got_blocks))),
                                         sorted(set(map(tuple, want_blocks))), group)
                        self.assertEqual(len(set(map(tuple, got_blocks))), 2, group)
                        continue
                    self.assertEqual(got_outer, want_outer, group)
                    if group in ("stats", "stats settings"):
                        self.assertEqual(got_blocks, [], group)
                        continue
                    # Two classes (sizes).
                    self.assertGreaterEqual(len(got_blocks), 2, group)
                    for block in want_blocks[1:]:
                        self.assertEqual(block, want_blocks[0], f"memcached {group}")
                    for block in got_blocks:
                        self.assertEqual(block, want_blocks[0], group)

    def test_defaults(self):
        self.compare([], [])

    def test_idle_timeout_adds_idle_kicks(self):
        # memcached shows idle_kicks only while an idle timeout is set.
        self.compare(["--idle-timeout", "30"], ["-o", "idle_timeout=30"])

    def test_crawler_off_hides_its_fields(self):
        # ... and lru_crawler_running/starts only while the crawler is on.
        self.compare(["--no-lru-crawler"], ["-o", "no_lru_crawler"])

    def test_new_counters_mean_what_memcached_means(self):
        # cmd_meta counts only `me` in memcached 1.6.18; get hits split by
        # LRU segment add up to the class's get_hits; stats reset clears them.
        sequence = (b"ms m 1\r\nx\r\nmg m v\r\nme m\r\nme nope\r\nmn\r\n"
                    b"get a b m zz\r\ngets a\r\nmg a v\r\nmn\r\n")
        seen = {}
        for kind in ("memcached", "memcoro"):
            with harness.Server(kind=kind) as server:
                prepare(server)
                with server.connect() as s:
                    reply = harness.command(s, sequence, until=b"hello\r\nMN\r\n")
                    self.assertTrue(reply.endswith(b"hello\r\nMN\r\n"), reply)
                general = harness.stats(server)
                items = self.class_values(server, "stats items", "items:")
                slabs = self.class_values(server, "stats slabs", "")
                hits = {}
                for cls, fields in items.items():
                    to = sum(int(fields[f"hits_to_{seg}"]) for seg in ("hot", "warm", "cold", "temp"))
                    self.assertEqual(to, int(slabs[cls]["get_hits"]), f"{kind} class {cls}")
                    hits[cls] = to
                with server.connect() as s:
                    self.assertEqual(harness.command(s, b"stats reset\r\n"), b"RESET\r\n")
                after = harness.stats(server)
                after_items = self.class_values(server, "stats items", "items:")
                self.assertEqual(after["cmd_meta"], "0", kind)
                for fields in after_items.values():
                    for seg in ("hot", "warm", "cold", "temp"):
                        self.assertEqual(fields[f"hits_to_{seg}"], "0", kind)
                seen[kind] = (general["cmd_meta"], general["get_hits"], sorted(hits.values()))
        self.assertEqual(seen["memcached"][0], "2")
        self.assertEqual(seen["memcoro"], seen["memcached"])

    @staticmethod
    def class_values(server, group, prefix):
        with server.connect() as s:
            reply = harness.command(s, group.encode() + b"\r\n", until=b"END\r\n").decode()
        out = {}
        for m in re.finditer(r"STAT " + prefix + r"(\d+):(\w+) (\S+)\r\n", reply):
            out.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)
        return out


if __name__ == "__main__":
    unittest.main()

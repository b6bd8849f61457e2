"""Byte-for-byte comparison of memcoro with Debian's memcached 1.6.18.

Each case of test/conformance/*.cases runs on a fresh connection against
both servers; replies must match exactly (CAS values and the version string
masked), and so must whether the server closed the connection. Cases marked
"diff:" are deliberate differences: there the replies must differ, so the
note stays true. A case whose request is a list runs each part on its own
connection, one after the other (text and binary clients on the same items).

Binary-protocol requests (first byte 0x80) end with a binary NOOP of opaque
0xffffffff instead of "mn"; their replies are compared as a list of packets,
every header field shown (CAS values, the version and stat values masked).

Under each case the file keeps memcached's reply (`=> b"..."`, `closed` when
memcached closed the connection), so a reader sees request and answer
together. Every run checks those against the live memcached; after a change
to the cases, `test_conformance.py --refresh` writes memcached's replies in.
"""
import collections
import concurrent.futures
import os
import re
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CASE_DIR = os.path.join(os.path.dirname(__file__), "..", "conformance")
CASE_FILES = ("text_protocol.cases", "meta_protocol.cases", "binary_protocol.cases")
# Cases for servers that ask clients to authenticate (auth_servers.py): the
# same users in memcached's sasldb / auth file and memcoro's user files.
AUTH_CASE_FILES = ("sasl.cases", "ascii_auth.cases")
MARKER = b"mn\r\n"
MARKER_REPLY = b"MN\r\n"
# --refresh: write memcached's replies into the case files instead of checking them.
REFRESH = "--refresh" in sys.argv
if REFRESH:
    sys.argv.remove("--refresh")


Case = collections.namedtuple("Case", "name request diff reply closed")
EVAL_NAMES = {"__builtins__": {"str": str, "len": len, "range": range}}
REPLY_PREFIX = "\t=> "


def req(op, key=b"", extras=b"", value=b"", opaque=0, cas=0, magic=0x80, keylen=None,
        extlen=None, bodylen=None, datatype=0, vbucket=0):
    """A binary-protocol request; the lengths follow the parts unless given."""
    kl = len(key) if keylen is None else keylen
    el = len(extras) if extlen is None else extlen
    bl = len(extras) + len(key) + len(value) if bodylen is None else bodylen
    return struct.pack(">BBHBBHIIQ", magic, op, kl, el, datatype, vbucket, bl, opaque,
                       cas) + extras + key + value


BIN_MARKER = req(0x0A, opaque=0xFFFFFFFF)
BIN_MARKER_REPLY = b"\x81\x0a" + bytes(10) + b"\xff" * 4 + bytes(8)
# Names the binary cases use: req(), u32/u64 for extras, the opcodes.
BINARY_ENV = {
    "req": req,
    "u32": lambda n: struct.pack(">I", n),
    "u64": lambda n: struct.pack(">Q", n),
    **{name: code for code, name in enumerate(
        "GET SET ADD REPLACE DELETE INCR DECR QUIT FLUSH GETQ NOOP VERSION GETK GETKQ APPEND "
        "PREPEND STAT SETQ ADDQ REPLACEQ DELETEQ INCRQ DECRQ QUITQ FLUSHQ APPENDQ PREPENDQ "
        "VERBOSITY TOUCH GAT GATQ".split())},
    "SASL_LIST_MECHS": 0x20, "SASL_AUTH": 0x21, "SASL_STEP": 0x22, "GATK": 0x23, "GATKQ": 0x24,
}
# For the auth cases: a SASL PLAIN message, and an ASCII login's two lines.
AUTH_ENV = {
    "plain": lambda user, password, authzid=b"": authzid + b"\0" + user + b"\0" + password,
    "login": lambda tokens: b"set k 0 0 %d\r\n%s\r\n" % (len(tokens), tokens),
}


def load_cases(files=CASE_FILES):
    env = {"K250": b"k" * 250, "K251": b"k" * 251, **BINARY_ENV, **AUTH_ENV}
    cases = []
    for name in files:
        cases += load_file(os.path.join(CASE_DIR, name), env)
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique across the files"
    return cases


def load_file(path, env):
    """Cases in file order; reply/closed: memcached's recorded answer (None
    when the file has none yet)."""
    cases = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(REPLY_PREFIX):
                text = line[len(REPLY_PREFIX):]
                closed = text.endswith(" closed")
                reply = eval(text[:-len(" closed")] if closed else text, EVAL_NAMES)
                cases[-1] = cases[-1]._replace(reply=reply, closed=closed)
                continue
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            name, expr = parts[0], parts[1]
            diff = parts[2][len("diff:"):].strip() if len(parts) > 2 else None
            cases.append(Case(name, eval(expr, EVAL_NAMES, env), diff, None, False))
    return cases


def write_replies(path, replies):
    """Rewrites a case file with memcached's reply under each case named in
    `replies` ({name: (reply, closed)}), keeping everything else."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(REPLY_PREFIX):
                continue
            out.append(line)
            name = line.split("\t")[0]
            if line.strip() and not line.startswith("#") and name in replies:
                reply, closed = replies[name]
                out.append(REPLY_PREFIX + repr(reply) + (" closed" if closed else "") + "\n")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(out)


META_LINE = re.compile(rb"(?m)^(HD|VA|EN|NS|EX|NF)( [^\r]*)?\r$")


def mask_meta(m):
    line = m.group(0)
    # CAS values, TTLs and idle times depend on the server and the clock.
    line = re.sub(rb" c\d+", b" c<cas>", line)
    line = re.sub(rb" t(\d+)", b" t<ttl>", line)
    line = re.sub(rb" l\d+", b" l<idle>", line)
    return line


STAT_OPCODE = 0x10
VERSION_OPCODE = 0x0B


def normalize_binary(reply):
    """The packets of a binary reply, one line each, every header field
    shown; CAS values, the version and stat values masked."""
    lines = []
    while len(reply) >= 24:
        magic, op, kl, el, dt, st, bl, opaque, cas = struct.unpack(">BBHBBHIIQ", reply[:24])
        if magic != 0x81 or len(reply) < 24 + bl or kl + el > bl:
            break
        body = reply[24:24 + bl]
        ext, key, value = body[:el], body[el:el + kl], body[el + kl:]
        if op == VERSION_OPCODE and st == 0:
            value = b"<v>"
        if op == STAT_OPCODE and st == 0 and kl > 0 and key != b"detailed":
            value = b"<stat>"  # (the detail dump is compared whole)
        lines.append(f"{magic:02x} {op:02x} s{st:x} d{dt} o{opaque:x} c{'C' if cas else 0}"
                     f" e{ext.hex()} k{key!r} v{value!r}")
        reply = reply[24 + bl:]
    if reply:
        lines.append(f"raw {reply!r}")
    return "\n".join(lines)


def normalize(reply):
    if reply[:1] == b"\x81":
        return normalize_binary(reply)
    reply = re.sub(rb"(?m)^VERSION [^\r]*", b"VERSION <v>", reply)
    reply = re.sub(rb"(?m)^(VALUE \S+ \d+ \d+) \d+\r$", rb"\1 <cas>\r", reply)
    reply = META_LINE.sub(mask_meta, reply)
    # me: the item layout (class, size) is memcoro's own.
    reply = re.sub(rb"(?m)^(ME \S+ exp=-?\d+ la=)\d+ cas=\d+( fetch=\w+) cls=\d+ size=\d+\r$",
                   rb"\1<la> cas=<cas>\2 cls=<cls> size=<size>\r", reply)
    return reply


def flush(server):
    with server.connect() as s:
        assert harness.command(s, b"flush_all\r\n") == b"OK\r\n"


def run_case(server, request, fragment=None, prepare=flush, settle=0):
    """Flushes (`prepare`), then sends the request (each part of a list on
    its own connection); returns the normalized replies and whether the
    (last) connection was closed. settle: seconds to wait before the end
    marker, so that the server reads the request alone first."""
    prepare(server)
    parts = request if isinstance(request, list) else [request]
    replies = []
    for part in parts:
        reply, closed = run_part(server, part, fragment, settle)
        replies.append(normalize(reply))
    if isinstance(request, list):
        return replies, closed
    return replies[0], closed


# How long a server may stay silent before its reply counts as whole: longer
# under a sanitizer, where a loaded 2-core machine can pause a reply.
REPLY_IDLE = 1.0 if harness.SANITIZE else 0.5


def run_part(server, request, fragment, settle=0):
    binary = request[:1] == b"\x80"
    marker, marker_reply = (BIN_MARKER, BIN_MARKER_REPLY) if binary else (MARKER, MARKER_REPLY)
    with server.connect() as s:
        try:
            if fragment:
                for i in range(0, len(request), fragment):
                    s.sendall(request[i:i + fragment])
                    time.sleep(0.0002)
            else:
                s.sendall(request)
            if not binary and not request.endswith(b"\n"):
                # An unterminated line: let the server see it alone first.
                time.sleep(0.3)
            time.sleep(settle)
            s.sendall(marker)
        except OSError:
            pass  # closed by the server; what it sent is still read below
        # One end reply per end marker in the request, plus the marker's.
        want = request.count(marker) + 1
        reply = b""
        while True:
            chunk, closed = harness.read_reply(s, until=marker_reply, idle=REPLY_IDLE)
            reply += chunk
            # read_reply returns early only at an end reply; otherwise the
            # server has said nothing for REPLY_IDLE seconds and is done.
            if closed or not chunk.endswith(marker_reply) or reply.count(marker_reply) >= want:
                break
    return reply, closed


def check_cases(test, cases, memcached, memcoro, **run):
    """Each case against both servers (`run`: run_case's options): memcoro
    answers as memcached, or differs where the case says so, and memcached
    answers what the file records. Returns memcached's replies by name."""
    live = {}  # memcached's replies, as they are today
    # Both servers at once: a case that ends in silence waits out the idle
    # time, and the two waits overlap.
    pool = concurrent.futures.ThreadPoolExecutor(2)
    for name, request, diff, recorded, closed in cases:
        with test.subTest(case=name):
            theirs = pool.submit(run_case, memcached, request, **run)
            ours = pool.submit(run_case, memcoro, request, **run)
            expected, actual = theirs.result(), ours.result()
            live[name] = expected
            if not REFRESH:
                test.assertEqual((recorded, closed), expected,
                                 f"{name}: memcached's reply in the case file is not what "
                                 "memcached answers; run test_conformance.py --refresh")
            if diff is None:
                test.assertEqual(actual, expected, f"{name}: memcoro differs from memcached")
            else:
                test.assertNotEqual(actual, expected,
                                    f"{name}: marked as a difference but the replies match")
                print(f"expected difference {name}: {diff}\n  memcached: {expected[0][:200]!r}"
                      f"\n  memcoro:   {actual[0][:200]!r}")
    pool.shutdown()
    return live


def assert_fragmented_same(test, server, request, fragment, **run):
    """The request sent in `fragment`-byte pieces is answered as the same
    request sent whole. A reply that names seconds (a TTL, `me`'s exp) can
    straddle a tick of the server's clock in one of the two runs, so a
    mismatch is tried once more before it counts."""
    for attempt in range(2):
        whole = run_case(server, request, **run)
        pieces = run_case(server, request, fragment, **run)
        if pieces == whole:
            return
    test.assertEqual(pieces, whole)


class Conformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.memcached = harness.Server(kind="memcached")
        cls.memcoro = harness.Server()

    @classmethod
    def tearDownClass(cls):
        cls.memcached.stop()
        cls.memcoro.stop()

    def test_cases(self):
        cases = load_cases()
        self.assertGreater(len(cases), 100)
        live = check_cases(self, cases, self.memcached, self.memcoro)
        if REFRESH:
            for file in CASE_FILES:
                write_replies(os.path.join(CASE_DIR, file), live)

    def test_fragmented_requests_answer_the_same(self):
        # A request cut into pieces at every byte (or every 7th) must be
        # answered as the same request sent whole. Lines over memcached's
        # 2048-byte limit are left out: for them memcached's answer itself
        # depends on how the bytes arrive.
        for name, request, *_ in load_cases():
            parts = request if isinstance(request, list) else [request]
            if any(len(p) > 4096 or any(len(line) > 2048 for line in p.split(b"\n"))
                   for p in parts if p[:1] != b"\x80") or sum(map(len, parts)) > 4096:
                continue
            for fragment in (1, 7):
                with self.subTest(case=name, fragment=fragment):
                    assert_fragmented_same(self, self.memcoro, request, fragment)

    def test_binary_stat_groups_are_the_text_reports(self):
        # Each STAT group answers the text `stats` group's names, in order,
        # one packet each, then the empty packet (values move: not compared).
        with self.memcoro.connect() as s:
            harness.command(s, b"set statkey 0 0 1\r\nx\r\n")
        for group in (b"", b"settings", b"items", b"slabs"):
            with self.subTest(group=group):
                with self.memcoro.connect() as s:
                    text = harness.command(s, b"stats " + group + b"\r\n", until=b"END\r\n")
                names = [line.split(b" ")[1] for line in text.split(b"\r\n")[:-2]]
                reply, _ = run_part(self.memcoro, req(STAT_OPCODE, group), None)
                packets = normalize_binary(reply).split("\n")
                self.assertEqual(packets[-2:], ["81 10 s0 d0 o0 c0 e kb'' vb''",
                                                "81 0a s0 d0 offffffff c0 e kb'' vb''"])
                keys = [re.search(r" kb'([^']*)'", p).group(1).encode() for p in packets[:-2]]
                # (uptime, time and the like may tick between the two asks)
                self.assertEqual(keys, names)

    def test_large_binary_values_round_trip_as_on_memcached(self):
        # Values past the read buffer arrive in place (memcoro) in pieces;
        # read back by binary GETK and by text get, the same as memcached.
        value = bytes(range(256)) * 900  # 230400 bytes
        request = req(0x11, b"big", struct.pack(">II", 7, 0), value) + req(0x0C, b"big")

        def run(server):
            replies = []
            for fragment in (None, 65536, 9999):
                reply, closed = run_case(server, [request, b"get big\r\n"], fragment)
                replies.append((reply, closed))
            return replies

        ours = run(self.memcoro)
        self.assertEqual(ours, run(self.memcached))
        binary, text = ours[0][0]
        self.assertIn("e00000007 kb'big'", binary)
        self.assertTrue(text.startswith(b"VALUE big 7 230400\r\n" + value[:100]))

    def test_cas_round_trip(self):
        # CAS values differ between servers, so the successful cas is a
        # two-step case: gets, then cas with what gets returned.
        def run(server):
            with server.connect() as s:
                harness.command(s, b"set c 1 0 2\r\nv1\r\n")
                reply = harness.command(s, b"gets c\r\n", until=b"END\r\n")
                cas = reply.split(b"\r\n")[0].split()[4]
                steps = [(b"cas c 2 0 2 %s\r\nv2\r\n" % cas, b"\r\n"),
                         (b"cas c 3 0 2 %s\r\nv3\r\n" % cas, b"\r\n"),
                         (b"cas c 4 0 2 %s noreply\r\nv4\r\ngets c\r\n" % cas, b"END\r\n")]
                return [normalize(reply)] + [normalize(harness.command(s, req, until=end))
                                             for req, end in steps]

        ours, theirs = run(self.memcoro), run(self.memcached)
        self.assertEqual(ours[1:3], [b"STORED\r\n", b"EXISTS\r\n"])
        self.assertEqual(ours, theirs)

    def test_stale_while_revalidate_across_clients(self):
        # Who gets W (recache) and who Z (someone else is on it), with three
        # clients, on both servers.
        def run(server):
            with server.connect() as s:
                harness.command(s, b"flush_all\r\n")
            a, b, c = server.connect(), server.connect(), server.connect()
            out = []

            def say(conn, req, end=b"\r\n"):
                reply = harness.command(conn, req, until=end)
                cas = re.search(rb" c(\d+)", reply)
                out.append(normalize(reply))
                return cas.group(1) if cas else None

            say(a, b"set k 0 0 3\r\nold\r\n")
            say(a, b"md k I T30\r\n")
            cas = say(b, b"mg k v c\r\n", b"old\r\n")
            say(a, b"mg k v\r\n", b"old\r\n")
            say(c, b"mg k v\r\n", b"old\r\n")
            say(b, b"ms k 3 C%s\r\nnew\r\n" % cas)
            say(a, b"mg k v\r\n", b"new\r\n")
            # Vivify on miss: one winner, everyone else waits.
            say(a, b"mg v1 N30 v\r\n", b"\r\n\r\n")
            say(b, b"mg v1 N30 v\r\n", b"\r\n\r\n")
            say(c, b"mg v1 N30 v t\r\n", b"\r\n\r\n")
            say(a, b"ms v1 5 T60\r\nfresh\r\n")
            say(b, b"mg v1 v\r\n", b"fresh\r\n")
            for conn in (a, b, c):
                conn.close()
            return out

        ours, theirs = run(self.memcoro), run(self.memcached)
        self.assertIn(b" W", ours[2])
        self.assertIn(b" Z", ours[3])
        self.assertEqual(ours, theirs)

    COUNTED = ("cmd_get get_hits get_misses cmd_set cmd_touch touch_hits touch_misses "
               "delete_hits delete_misses incr_hits incr_misses decr_hits decr_misses "
               "cas_hits cas_misses cas_badval get_expired cmd_flush").split()

    def assert_counted_alike(self, sequence):
        """The sequence moves every counter of COUNTED on memcoro as on memcached."""
        def deltas(server):
            before = harness.stats(server)
            run_case(server, sequence)
            after = harness.stats(server)
            return {n: int(after[n]) - int(before[n]) for n in self.COUNTED}

        self.assertEqual(deltas(self.memcoro), deltas(self.memcached))

    def test_meta_commands_count_in_stats_as_memcached_counts_them(self):
        self.assert_counted_alike(
            b"ms a 1\r\nx\r\nmg a v\r\nmg b v\r\nmg a T30 v\r\nmg b T30 v\r\n"
            b"md a\r\nmd a\r\nma n N0 J1\r\nma n\r\nma n MD\r\nma m\r\nma m MD\r\n"
            b"ms a 1 ME\r\ny\r\nms a 1 C1\r\nz\r\nms q 1 C1\r\nz\r\n"
            b"get a b\r\ngets a\r\nmg a q v\r\nmg zz q v\r\nmn\r\n")

    def test_binary_commands_count_in_stats_as_memcached_counts_them(self):
        ext = struct.pack(">II", 0, 0)
        arith = struct.pack(">QQI", 1, 5, 0)
        no_create = struct.pack(">QQI", 1, 5, 0xFFFFFFFF)
        sequence = b"".join([
            req(0x01, b"a", ext, b"x"), req(0x00, b"a"), req(0x00, b"b"), req(0x0D, b"b"),
            req(0x1C, b"a", struct.pack(">I", 30)), req(0x1D, b"b", struct.pack(">I", 30)),
            req(0x02, b"a", ext, b"y"), req(0x03, b"z", ext, b"y"),
            req(0x01, b"a", ext, b"z", cas=1 << 40), req(0x01, b"q", ext, b"z", cas=1),
            req(0x0E, b"a", value=b"!"),
            req(0x05, b"n", arith), req(0x05, b"n", arith), req(0x06, b"m", no_create),
            req(0x04, b"a"), req(0x04, b"a"), req(0x04, b"n", cas=1 << 40), req(0x08)])
        self.assert_counted_alike(sequence)

    def test_stats_detail_counts_what_memcached_counts(self):
        requests = (b"stats detail on\r\n"
                    b"set a:1 0 0 1\r\nx\r\nadd a:1 0 0 1\r\nx\r\nset b 0 0 1\r\nx\r\n"
                    b"cas a:1 0 0 1 1\r\nx\r\nappend c:1 0 0 1\r\nx\r\n"
                    b"set a:2 0 0 1 noreply\r\nx\r\n"
                    b"get a:1 a:9 b z:9 a:b:c\r\ngets a:1\r\ngat 0 a:1\r\n"
                    b"delete a:7\r\ndelete a:1\r\nincr a:2 1\r\ntouch a:2 0\r\nmg a:2 v\r\n"
                    b"stats detail dump\r\nstats detail off\r\nget a:2\r\n"
                    b"stats detail dump\r\nstats detail\r\nstats detail on extra\r\n"
                    b"stats detail off\r\n")
        dumps = []
        for server in (self.memcached, self.memcoro):
            with server.connect() as s:
                reply = harness.command(s, b"stats reset\r\n" + requests + b"mn\r\n",
                                        until=b"MN\r\n").decode()
            # Prefixes come in hash order from memcached, by name from memcoro.
            lines = reply.split("\r\n")
            dumps.append(sorted(l for l in lines if l.startswith("PREFIX ")))
            self.assertIn("CLIENT_ERROR usage: stats detail on|off|dump", lines)
            self.assertEqual(lines.count("OK"), 4, server.kind)
        self.assertEqual(dumps[1], dumps[0])
        self.assertIn("PREFIX a get 5 hit 3 set 4 del 2", dumps[0])

    def test_stats_conns_shows_what_memcached_shows(self):
        # An idle connection, then a second one asking: the listening
        # socket and both connections, with memcached's fields and states.
        servers = (self.memcached, self.memcoro)
        idle = {}
        for server in servers:
            idle[server] = server.connect()
            self.assertTrue(harness.command(idle[server], b"version\r\n").startswith(b"VERSION"))
        time.sleep(1.2)
        views = []
        for server in servers:
            with server.connect() as asking:
                reply = harness.command(asking, b"stats conns\r\n", until=b"END\r\n").decode()
                me = asking.getsockname()[1]
            idle_port = idle[server].getsockname()[1]
            idle[server].close()
            self.assertTrue(reply.endswith("END\r\n"), reply)
            rows = {}
            for line in reply.split("\r\n")[:-2]:
                m = re.fullmatch(r"STAT (\d+):(\w+) (\S+)", line)
                self.assertIsNotNone(m, line)
                rows.setdefault(int(m.group(1)), []).append((m.group(2), m.group(3)))
            self.assertEqual(list(rows), sorted(rows))  # by descriptor
            here = f"tcp:127.0.0.1:{server.port}"
            roles = {here: "listener",
                     f"tcp:127.0.0.1:{idle_port}": "idle",
                     f"tcp:127.0.0.1:{me}": "asking"}
            view = {}
            for fields in rows.values():
                d = dict(fields)
                role = roles.get(d["addr"])
                if role is None:
                    continue  # another test's connection
                secs = int(d.pop("secs_since_last_cmd"))
                if role == "idle":
                    self.assertGreaterEqual(secs, 1, server.kind)
                if role == "asking":
                    self.assertEqual(secs, 0, server.kind)
                view[role] = ([name for name, _ in fields], d["state"], d.get("listen_addr") == here)
            views.append(view)
        self.assertEqual(views[0]["idle"][1], "conn_read")
        self.assertEqual(views[0]["asking"][1], "conn_parse_cmd")
        self.assertEqual(views[1], views[0])


if __name__ == "__main__":
    unittest.main()

"""Hot keys over real sockets: the most read and written keys come first in
`stats hotkeys` and /stats/hotkeys, with a rate and a share; keys are shown
escaped, or only as hashes once hot_keys_hidden is set (live, through the
admin port)."""
import json
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import test_conformance as tc  # noqa: E402


def hotkeys(sock):
    reply = harness.command(sock, b"stats hotkeys\r\n", until=b"END\r\n")
    lines = reply.decode().split("\r\n")
    assert lines[-2:] == ["END", ""], reply
    return dict(line.split(" ", 2)[1:] for line in lines[:-2])


def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


admin = harness.admin_json


class HotKeys(unittest.TestCase):
    def traffic(self, c):
        # Reads: hot 3 in 6, warm 2 in 6, 100 cold keys once in 6; writes:
        # "written" 4 in 5. About 750 and 250 samples (one request in 64):
        # the shares' standard errors are under 0.03.
        batch = b""
        for i in range(48000):
            key = [b"hot", b"warm", b"hot", b"warm", b"hot", b"cold%d" % (i % 100)][i % 6]
            batch += b"get " + key + b"\r\n"
        for i in range(16000):
            batch += (b"set written 0 0 1 noreply\r\nx\r\n" if i % 5 else
                      b"set other%d 0 0 1 noreply\r\nx\r\n" % i)
        c.sendall(batch + b"mn\r\n")
        harness.read_until(c, b"MN\r\n")

    def test_the_hottest_keys_come_first(self):
        with harness.Server(args=["-t", "1"], admin=True) as srv, srv.connect() as c:
            self.assertEqual(hotkeys(c)["hot_keys_sample_every"], "64")
            self.traffic(c)
            got = hotkeys(c)
            doc = admin(srv.admin, "GET", "/stats/hotkeys")
        self.assertEqual((got["read_1_key"], got["read_2_key"]), ("hot", "warm"))
        self.assertAlmostEqual(float(got["read_1_share"]), 0.5, delta=0.12)
        self.assertAlmostEqual(float(got["read_2_share"]), 1 / 3, delta=0.12)
        self.assertGreater(float(got["read_1_rate"]), float(got["read_2_rate"]))
        self.assertEqual(got["write_1_key"], "written")
        self.assertAlmostEqual(float(got["write_1_share"]), 0.8, delta=0.12)
        self.assertNotIn("read_21_key", got)  # at most 20 per direction
        self.assertEqual(doc["read_1_key"], "hot")
        self.assertEqual(doc["write_1_key"], "written")

    def test_binary_keys_are_escaped_and_hidden_keys_are_hashes(self):
        key = b"bin\x01key\\"
        with harness.Server(args=["-t", "1"], admin=True) as srv, srv.connect() as c:
            with srv.connect() as b:
                b.sendall(tc.req(0x01, key, struct.pack(">II", 0, 0), b"v") * 400
                          + tc.req(0x0A))
                harness.read_until(b, b"\x81" + tc.req(0x0A)[1:])  # NOOP's reply
            self.assertEqual(hotkeys(c)["write_1_key"], "bin\\x01key\\x5c")
            self.assertEqual(admin(srv.admin, "PUT", "/config", {"hot_keys_hidden": True}),
                             {"applied": True, "changed": ["hot_keys_hidden"]})
            got = hotkeys(c)
            self.assertEqual(got["write_1_hash"], fnv1a(key))
            self.assertFalse([k for k in got if k.endswith("_key")], got)
            self.assertNotIn("bin", json.dumps(admin(srv.admin, "GET", "/stats/hotkeys")))


if __name__ == "__main__":
    unittest.main()

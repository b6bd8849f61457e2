"""SASL (-S) and ASCII authentication (-Y), byte for byte against Debian's
memcached 1.6.18: the cases of test/conformance/sasl.cases and
ascii_auth.cases, run by test_conformance.py's machinery against servers
that know the same users (auth_servers.py).

`test_auth_conformance.py --refresh` writes memcached's replies into them.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import auth_servers  # noqa: E402
import harness  # noqa: E402
import test_conformance as tc  # noqa: E402


def sasl_flush(server):
    with server.connect() as s:
        s.sendall(tc.req(0x21, b"PLAIN", value=b"\0alice\0secret") + tc.req(0x08) + tc.BIN_MARKER)
        reply, _ = harness.read_reply(s, until=tc.BIN_MARKER_REPLY, idle=2.0)
    assert b"Authenticated" in reply and reply.endswith(tc.BIN_MARKER_REPLY), reply


def ascii_flush(server):
    with server.connect() as s:
        reply = harness.command(s, b"set k 0 0 12\r\nalice secret\r\nflush_all\r\n",
                                until=b"OK\r\n")
    assert reply == b"STORED\r\nOK\r\n", reply


# file: (how its servers start, how a case starts clean, settle). Under -Y
# memcached answers only the last line of a read (a `diff:` case shows it):
# the end marker must arrive in a read of its own.
PROFILES = {
    "sasl.cases": (auth_servers.sasl_server, sasl_flush, 0),
    "ascii_auth.cases": (auth_servers.ascii_server, ascii_flush, 0.1),
}


class AuthConformance(auth_servers.WithCredentials):
    def run_file(self, file):
        start, prepare, settle = PROFILES[file]
        cases = tc.load_cases((file,))
        self.assertGreater(len(cases), 20)
        memcached, memcoro = start("memcached", self.creds), start("memcoro", self.creds)
        try:
            live = tc.check_cases(self, cases, memcached, memcoro, prepare=prepare,
                                  settle=settle)
            # A request cut at every byte is answered as the same request sent whole.
            for name, request, *_ in cases:
                if len(request) > 4096:
                    continue
                with self.subTest(case=name, fragment=1):
                    tc.assert_fragmented_same(self, memcoro, request, 1, prepare=prepare,
                                              settle=settle)
        finally:
            memcached.stop()
            memcoro.stop()
        if tc.REFRESH:
            tc.write_replies(os.path.join(tc.CASE_DIR, file), live)

    def test_sasl_cases(self):
        if self.creds.sasl_conf is None:
            self.skipTest("no saslpasswd2 (Debian's sasl2-bin) to make memcached's sasldb")
        self.run_file("sasl.cases")

    def test_ascii_auth_cases(self):
        self.run_file("ascii_auth.cases")


if __name__ == "__main__":
    unittest.main()

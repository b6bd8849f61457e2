"""memcached's `shutdown` command and -A, memcoro beside Debian's memcached
1.6.18: refused without -A, a bad mode refused with it, and with it both
`shutdown` and `shutdown graceful` stop the server (exit 0), answering
nothing on the connection that asked."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

KINDS = ("memcached", "memcoro")


def settings(server):
    with server.connect() as s:
        return harness.command(s, b"stats settings\r\n", until=b"END\r\n")


def ask(server, line):
    with server.connect() as s:
        s.sendall(line + b"version\r\n")
        return harness.read_reply(s, idle=1.0)


class Shutdown(unittest.TestCase):
    def test_not_enabled_without_A(self):
        replies = {}
        for kind in KINDS:
            with harness.Server(kind=kind) as srv:
                replies[kind] = [ask(srv, line)[0] for line in
                                 (b"shutdown\r\n", b"shutdown graceful\r\n", b"shutdown x y\r\n")]
                self.assertIsNone(srv.proc.poll(), kind)
                self.assertIn(b"STAT shutdown_command no\r\n",
                              settings(srv))
        self.assertEqual(replies["memcoro"][0][:29], b"ERROR: shutdown not enabled\r\n")
        masked = {k: [r.split(b"VERSION")[0] for r in v] for k, v in replies.items()}
        self.assertEqual(masked["memcoro"], masked["memcached"])

    def test_a_bad_mode_is_refused_and_the_server_goes_on(self):
        for kind in KINDS:
            with self.subTest(kind=kind), harness.Server(["-A"], kind=kind) as srv:
                for line in (b"shutdown bogus\r\n", b"shutdown graceful extra\r\n"):
                    reply, closed = ask(srv, line)
                    self.assertTrue(reply.startswith(b"CLIENT_ERROR invalid shutdown mode\r\n"
                                                     b"VERSION "), reply)
                self.assertIsNone(srv.proc.poll())
                self.assertIn(b"STAT shutdown_command yes\r\n",
                              settings(srv))

    def test_shutdown_stops_the_server(self):
        for mode in (b"shutdown\r\n", b"shutdown graceful\r\n"):
            for kind in KINDS:
                with self.subTest(kind=kind, mode=mode):
                    srv = harness.Server(["-A"], kind=kind)
                    other = srv.connect()  # an idle client is let go too
                    reply, closed = ask(srv, mode)
                    self.assertEqual(reply, b"")
                    self.assertTrue(closed)
                    self.assertEqual(srv.proc.wait(timeout=15), 0)
                    other.close()
                    srv.stop()


if __name__ == "__main__":
    unittest.main()

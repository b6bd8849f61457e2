"""Real binary-protocol clients over real sockets, memcoro and Debian's
memcached side by side: Dalli 3.0.6 (Debian's ruby-dalli) and memjs 1.3.2
(npm). Each client runs one script of steps (clients/*_flows.*) that prints a
line per step; both servers must print the same lines, with SASL too (the
same users on `memcoro -S` and `memcached -S`), and a wrong password must be
refused by both.

memjs comes from npm into .cache/npm (scripts/deps.sh fetches it; this test
fetches it there itself if it is missing) and the tests skip when npm cannot
fetch it. Dalli's tests skip when ruby-dalli is not installed."""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from auth_servers import WithCredentials, sasl_server  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MEMJS_VERSION = "1.3.2"
MEMJS_DIR = os.environ.get("MEMJS_DIR", os.path.join(REPO, ".cache", "npm"))


def memjs_ready():
    """Whether memjs MEMJS_VERSION is in MEMJS_DIR, fetching it with npm if not."""
    package = os.path.join(MEMJS_DIR, "node_modules", "memjs", "package.json")
    if not os.path.exists(package) and shutil.which("npm") and shutil.which("node"):
        subprocess.run(["npm", "install", "--prefix", MEMJS_DIR, "--no-audit", "--no-fund",
                        f"memjs@{MEMJS_VERSION}"], capture_output=True, timeout=180)
    try:
        with open(package) as f:
            return f'"version": "{MEMJS_VERSION}"' in f.read()
    except OSError:
        return False


def dalli_ready():
    if not shutil.which("ruby"):
        return False
    return subprocess.run(["ruby", "-e", 'require "dalli"'], capture_output=True).returncode == 0


class ClientFlows:
    """Runs self.command (the client's script) against both servers (a mixin,
    so that it is not a test class of its own)."""
    command = []
    expected = []  # lines both servers must produce

    def flows(self, server, *login):
        out = subprocess.run([*self.command, str(server.port), *login], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "MEMJS_DIR": MEMJS_DIR})
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return out.stdout.splitlines()

    def side_by_side(self, start, *login):
        with start("memcached") as memcached, start("memcoro") as memcoro:
            theirs, ours = self.flows(memcached, *login), self.flows(memcoro, *login)
        self.assertEqual(ours, theirs)
        return ours

    def sasl(self, password):
        if not self.creds.sasl_conf:
            self.skipTest("saslpasswd2 (sasl2-bin) is not installed")
        return self.side_by_side(lambda kind: sasl_server(kind, self.creds), "alice", password)

    def test_same_replies_as_memcached(self):
        lines = self.side_by_side(lambda kind: harness.Server(kind=kind))
        for line in self.expected:
            self.assertIn(line, lines)

    def test_sasl_same_replies_as_memcached(self):
        lines = self.sasl("secret")
        for line in self.expected:
            self.assertIn(line, lines)

    def test_sasl_wrong_password_refused(self):
        lines = self.sasl("wrong")
        # Every call fails (Dalli's get_multi swallows the error and answers {}).
        self.assertTrue(" raised " in lines[0] or " error " in lines[0], lines[0])
        for line in self.expected:
            self.assertNotIn(line, lines)


@unittest.skipUnless(dalli_ready(), "ruby-dalli is not installed")
class Dalli(ClientFlows, WithCredentials):
    command = ["ruby", os.path.join(HERE, "clients", "dalli_flows.rb")]
    expected = ['get "hello"', 'get_appended ">hello world"', "set_cas_stale false",
                'get_after_cas "v2!"', "incr 15", "decr 0", "get_multi_many 150",
                "touch_missing nil", "get_deleted nil", "large true"]


@unittest.skipUnless(memjs_ready(), f"npm cannot fetch memjs {MEMJS_VERSION}")
class Memjs(ClientFlows, WithCredentials):
    command = ["node", os.path.join(HERE, "clients", "memjs_flows.js")]
    expected = ['get "hello"', "add_existing false", "cas 0", "cas_stale 2", "cas_missing 1",
                'get_after_cas "v2"', "incr 15", "decr 0", "get_multi 150", "touch_missing false",
                "get_deleted null", "large true", "get_flushed null"]


if __name__ == "__main__":
    unittest.main()

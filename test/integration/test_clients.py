"""Real memcached clients against memcoro: pymemcache (Debian's
python3-pymemcache), libmemcached's memccapable (text and binary), and
Perl's Cache::Memcached::Fast."""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

from pymemcache.client.base import Client  # noqa: E402


class Pymemcache(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        cls.client = Client(("127.0.0.1", cls.server.port), connect_timeout=5, timeout=5)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.stop()

    def test_set_get_delete(self):
        c = self.client
        self.assertTrue(c.set("py:a", b"hello", expire=100))
        self.assertEqual(c.get("py:a"), b"hello")
        self.assertTrue(c.delete("py:a", noreply=False))
        self.assertIsNone(c.get("py:a"))

    def test_many(self):
        c = self.client
        data = {f"py:m{i}": str(i).encode() * 10 for i in range(200)}
        self.assertEqual(c.set_many(data, noreply=False), [])
        got = c.get_many(list(data) + ["py:missing"])
        self.assertEqual(got, data)
        c.delete_many(list(data), noreply=False)
        self.assertEqual(c.get_many(list(data)), {})

    def test_add_replace_append_prepend(self):
        c = self.client
        self.assertTrue(c.add("py:x", b"1", noreply=False))
        self.assertFalse(c.add("py:x", b"2", noreply=False))
        self.assertTrue(c.replace("py:x", b"3", noreply=False))
        self.assertFalse(c.replace("py:nope", b"3", noreply=False))
        self.assertTrue(c.append("py:x", b">", noreply=False))
        self.assertTrue(c.prepend("py:x", b"<", noreply=False))
        self.assertEqual(c.get("py:x"), b"<3>")

    def test_cas(self):
        c = self.client
        c.set("py:c", b"v1", noreply=False)
        value, cas = c.gets("py:c")
        self.assertEqual(value, b"v1")
        self.assertTrue(c.cas("py:c", b"v2", cas, noreply=False))
        self.assertFalse(c.cas("py:c", b"v3", cas, noreply=False))
        self.assertEqual(c.get("py:c"), b"v2")
        self.assertIsNone(c.cas("py:nope", b"v", cas, noreply=False))

    def test_incr_decr(self):
        c = self.client
        c.set("py:n", b"10", noreply=False)
        self.assertEqual(c.incr("py:n", 5, noreply=False), 15)
        self.assertEqual(c.decr("py:n", 20, noreply=False), 0)
        self.assertIsNone(c.incr("py:none", 1, noreply=False))

    def test_touch_gat(self):
        c = self.client
        c.set("py:t", b"v", noreply=False)
        self.assertTrue(c.touch("py:t", 100, noreply=False))
        self.assertFalse(c.touch("py:nope", 100, noreply=False))
        # (Debian's pymemcache 3.5 has no gat/gats; the raw tests cover them.)

    def test_large_value(self):
        c = self.client
        value = os.urandom(900_000)
        self.assertTrue(c.set("py:big", value, noreply=False))
        self.assertEqual(c.get("py:big"), value)

    def test_stats_version_flush(self):
        c = self.client
        st = c.stats()
        self.assertIn(b"curr_items", st)
        self.assertTrue(c.version().startswith(b"1.6"))
        c.set("py:f", b"v", noreply=False)
        self.assertTrue(c.flush_all(noreply=False))
        self.assertIsNone(c.get("py:f"))
        settings = c.stats("settings")
        self.assertEqual(settings[b"maxconns"], 1024)


class Memcapable(unittest.TestCase):
    def run_memcapable(self, flag):
        tool = shutil.which("memccapable") or shutil.which("memcapable")
        self.assertIsNotNone(tool, "memccapable (libmemcached-tools) is not installed")
        with harness.Server() as server:
            out = subprocess.run([tool, "-h", "127.0.0.1", "-p", str(server.port), flag],
                                 capture_output=True, text=True, timeout=120)
        print(out.stdout)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("All tests passed", out.stdout)
        self.assertNotIn("[fail]", out.stdout)
        return out.stdout

    def test_ascii_protocol(self):
        self.run_memcapable("-a")

    def test_binary_protocol(self):
        # libmemcached's 27 binary tests, every opcode it knows with its
        # quiet variant, as memcached 1.6.18 passes them.
        out = self.run_memcapable("-b")
        self.assertGreaterEqual(out.count("[pass]"), 27)


class LibmemcachedToolsBinary(unittest.TestCase):
    def test_copy_cat_stat_over_binary(self):
        # libmemcached's command-line tools with --binary: memccp stores a
        # file, memccat reads it back, memcstat lists the general stats.
        if not shutil.which("memccp"):
            self.skipTest("libmemcached-tools is not installed")
        import tempfile
        with harness.Server() as server, tempfile.TemporaryDirectory() as tmp:
            servers = f"--servers=127.0.0.1:{server.port}"
            path = os.path.join(tmp, "bin-file")
            data = bytes(range(256)) * 400  # binary bytes, past one read buffer
            with open(path, "wb") as f:
                f.write(data)
            run = lambda *args: subprocess.run(args, capture_output=True, timeout=60)
            cp = run("memccp", servers, "--binary", path)
            self.assertEqual(cp.returncode, 0, cp.stderr)
            cat = run("memccat", servers, "--binary", "bin-file")
            self.assertEqual(cat.returncode, 0, cat.stderr)
            self.assertEqual(cat.stdout, data + b"\n")  # memccat ends the value with a newline
            stat = run("memcstat", servers, "--binary")
            self.assertEqual(stat.returncode, 0, stat.stderr)
            self.assertIn(b"curr_items: 1", stat.stdout)


class PerlFast(unittest.TestCase):
    def test_cache_memcached_fast(self):
        script = r'''
use strict; use warnings; use Cache::Memcached::Fast;
my $m = Cache::Memcached::Fast->new({servers => ["127.0.0.1:$ARGV[0]"]});
$m->set("pl:a", "one") or die "set";
$m->get("pl:a") eq "one" or die "get";
$m->add("pl:a", "two") and die "add over existing";
$m->append("pl:a", "!") or die "append";
my $h = $m->get_multi("pl:a", "pl:none");
$h->{"pl:a"} eq "one!" or die "get_multi";
exists $h->{"pl:none"} and die "miss";
$m->set("pl:n", 5); $m->incr("pl:n", 3) == 8 or die "incr";
my $g = $m->gets("pl:a"); $m->cas("pl:a", $g->[0], "new") or die "cas";
$m->get("pl:a") eq "new" or die "after cas";
$m->delete("pl:a") or die "delete";
defined $m->get("pl:a") and die "deleted";
print "ok\n";
'''
        with harness.Server() as server:
            out = subprocess.run(["perl", "-e", script, str(server.port)], capture_output=True,
                                 text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertEqual(out.stdout, "ok\n")


if __name__ == "__main__":
    unittest.main()

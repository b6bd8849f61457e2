"""Three nodes behind twemproxy (nutcracker), with a real client (pymemcache).

The test starts three servers and nutcracker in front of them (its config
written here, every port on loopback picked here), stores 10,000 keys through
the proxy and checks that they all read back, that ketama spreads them over
the nodes (25% to 42% each, read from each node's `stats`) and that
multi-gets spanning the nodes work. Then it kills one node with SIGKILL: the
proxy ejects it, the survivors' keys still read back, new writes succeed
(also of the keys ketama moves to the survivors), and the client sees errors
only for the killed node's keys, when the proxy retries it. The node is
restarted on its port and rejoins: writes of its keys land on it again.

The same scenario runs against three Debian memcached nodes, and the two runs
must agree: the same key on the same node, the same errors, the same
ejection and rejoin. What differs would be memcoro's doing, not the proxy's.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheServerError

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

NUTCRACKER = os.environ.get("NUTCRACKER_BIN", "/usr/sbin/nutcracker")
KEYS = [f"key:{i}" for i in range(10000)]
# ketama places keys by server name, not by address: a node restarted on
# another port, or the memcached run's nodes, get the same keys.
NAMES = ("node1", "node2", "node3")
VICTIM = 1
RETRY_MS = 2000  # how long the proxy leaves an ejected node out
# A slow reply ejects a node too (server_failure_limit 1); a killed node
# is noticed at once (EOF, then connection refused), so the reply timeout
# can be generous enough for a loaded machine.
TIMEOUT_MS = 2000


def value(key, generation):
    return f"{key}={generation}".encode()


def batches(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def spread(items, size=100):
    """Batches of about `size` items taken a stride apart. nutcracker's
    fnv1a_64 keeps only the low 32 bits of FNV-1a, which mix the last bytes
    of a key poorly: key:100 to key:199 mostly hash to the same stretch of
    the ring, so batches of consecutive keys mostly sit on one node."""
    stride = max(1, -(-len(items) // size))
    return [items[i::stride] for i in range(stride)]


def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.02)


def client(port):
    return Client(("127.0.0.1", port), connect_timeout=5, timeout=5, no_delay=True,
                  default_noreply=False)


class Proxy:
    """nutcracker in front of `ports`, with a stats port; it dies with the test."""

    def __init__(self, ports):
        self.dir = tempfile.TemporaryDirectory()
        conf = os.path.join(self.dir.name, "nutcracker.yml")
        self.logfile = os.path.join(self.dir.name, "nutcracker.log")
        servers = "".join(f"    - 127.0.0.1:{port}:1 {name}\n" for port, name in zip(ports, NAMES))
        for attempt in range(5):
            # Another test may take a port picked here before nutcracker binds
            # it: nutcracker then exits, and starts again on new ports.
            self.port, self.stats_port = harness.free_ports(2)
            with open(conf, "w") as f:
                f.write(f"cluster:\n  listen: 127.0.0.1:{self.port}\n  hash: fnv1a_64\n"
                        f"  distribution: ketama\n  auto_eject_hosts: true\n"
                        f"  server_retry_timeout: {RETRY_MS}\n  server_failure_limit: 1\n"
                        f"  timeout: {TIMEOUT_MS}\n  servers:\n{servers}")
            # -i: stats aggregated every 100 ms instead of 30 s.
            self.proc = subprocess.Popen(
                [NUTCRACKER, "-c", conf, "-s", str(self.stats_port), "-a", "127.0.0.1",
                 "-i", "100", "-o", self.logfile], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                preexec_fn=harness._die_with_parent)
            try:
                wait_for(self._ready, 10, "nutcracker to listen")
                return
            except RuntimeError:
                if attempt == 4:
                    raise

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"nutcracker exited {self.proc.returncode}: {self.log()}")
        try:
            for port in (self.port, self.stats_port):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def log(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()

    def stats(self):
        """The pool's stats: pool counters, and one dict per server name."""
        with socket.create_connection(("127.0.0.1", self.stats_port), timeout=5) as s:
            data, _ = harness.read_reply(s, idle=5)
        return json.loads(data)["cluster"]

    def stop(self):
        crashed = self.proc.poll() is not None
        self.proc.terminate()
        self.proc.wait(timeout=10)
        log = self.log()
        self.dir.cleanup()
        if crashed:
            raise AssertionError(f"nutcracker exited {self.proc.returncode}: {log}")


class Cluster(unittest.TestCase):
    def held(self, node, keys):
        """The keys of `keys` that `node` holds, asked directly."""
        direct = client(node.port)
        try:
            return {k for batch in batches(keys, 500) for k in direct.get_many(batch)}
        finally:
            direct.close()

    def scenario(self, kind):
        nodes = []
        proxy = None
        try:
            for _ in NAMES:
                nodes.append(harness.Server(kind=kind))
            proxy = Proxy([n.port for n in nodes])
            return self.exercise(kind, nodes, proxy)
        finally:
            if proxy is not None:
                proxy.stop()
            live = [node for node in nodes if node is not None]
            for node in live:  # memcached takes a second to stop: stop them together
                node.terminate()
            for node in live:
                node.stop()

    def exercise(self, kind, nodes, proxy):
        out = {}
        c = client(proxy.port)
        self.addCleanup(c.close)
        current = {k: value(k, 0) for k in KEYS}
        for batch in batches(KEYS, 1000):
            self.assertEqual(c.set_many({k: current[k] for k in batch}), [], kind)

        # Where each key is, from the nodes themselves: on exactly one.
        held = [self.held(node, KEYS) for node in nodes]
        owner = {k: i for i, keys in enumerate(held) for k in keys}
        self.assertEqual(sum(map(len, held)), len(KEYS), f"{kind}: a key on two nodes")
        self.assertEqual(len(owner), len(KEYS), f"{kind}: keys missing")
        items = [int(harness.stats(node)["curr_items"]) for node in nodes]
        self.assertEqual(items, [len(keys) for keys in held], kind)
        out["shares"] = [n / len(KEYS) for n in items]
        for share in out["shares"]:
            self.assertTrue(0.25 <= share <= 0.42, f"{kind}: shares {out['shares']}")
        out["owner"] = owner

        # Every key reads back through the proxy, in multi-gets of 100 keys
        # that each span all three nodes (the proxy splits them and merges
        # the replies).
        for batch in spread(KEYS):
            self.assertEqual(len({owner[k] for k in batch}), 3)
            self.assertEqual(c.get_many(batch), {k: current[k] for k in batch}, kind)

        # Kill a node. The proxy sees its connection close and ejects it.
        victim = nodes[VICTIM]
        nodes[VICTIM] = None
        victim_keys = [k for k in KEYS if owner[k] == VICTIM]
        survivor_keys = [k for k in KEYS if owner[k] != VICTIM]
        victim.proc.kill()
        victim.proc.wait()
        victim.log.close()
        killed = time.monotonic()
        wait_for(lambda: proxy.stats()["server_ejects"] >= 1, 5, "the proxy to eject the node")
        out["eject_s"] = time.monotonic() - killed
        pool = proxy.stats()
        self.assertEqual([pool[name]["server_ejected_at"] != 0 for name in NAMES],
                         [i == VICTIM for i in range(len(NAMES))], kind)

        # The failure window, for 1.5 retry periods: the proxy puts the dead
        # node back into the ring after RETRY_MS, the next request for one of
        # its keys is refused, and the node is ejected again. Read every key
        # and write every other one, one request each, so that each error
        # names its key.
        errors, victim_writes = [], set()
        mixed = [k for batch in spread(KEYS) for k in batch]
        ops = 0
        while time.monotonic() - killed < 1.5 * RETRY_MS / 1000 or not errors:
            self.assertLess(time.monotonic() - killed, 4 * RETRY_MS / 1000,
                            f"{kind}: the proxy never retried the killed node")
            key = mixed[ops % len(mixed)]
            ops += 1
            try:
                got = c.get(key)
                if owner[key] != VICTIM:
                    self.assertEqual(got, current[key], f"{kind}: survivor key {key}")
                else:  # now on a survivor: a miss, unless written there
                    self.assertEqual(got, current[key] if key in victim_writes else None,
                                     f"{kind}: killed node's key {key}")
                if ops % 2:
                    new = value(key, 1)
                    self.assertTrue(c.set(key, new), kind)
                    current[key] = new
                    if owner[key] == VICTIM:
                        victim_writes.add(key)
            except MemcacheServerError as e:
                errors.append((key, e.args[0].decode()))
        self.assertEqual([k for k, _ in errors if owner[k] != VICTIM], [],
                         f"{kind}: errors for keys of the nodes that are up")
        out["errors"] = sorted({e for _, e in errors})
        out["window"] = (ops, len(errors), len(victim_writes))

        # After the window: the survivors' keys read back, new writes to them
        # succeed, and the killed node's keys written in the window are on
        # the survivors.
        for batch in spread(survivor_keys):
            self.assertEqual(c.get_many(batch), {k: current[k] for k in batch}, kind)
        for batch in batches(survivor_keys, 1000):
            current.update({k: value(k, 2) for k in batch})
            self.assertEqual(c.set_many({k: current[k] for k in batch}), [], kind)
        self.assertGreater(len(victim_writes), 0, kind)
        out["moved"] = {k: i for i, n in enumerate(nodes) if n
                        for k in self.held(n, sorted(victim_writes))}
        self.assertEqual(sorted(out["moved"]), sorted(victim_writes), kind)

        # Restart the node on its port (empty). Once its retry timeout has
        # passed, the proxy connects to it again and its keys land on it.
        nodes[VICTIM] = harness.Server(kind=kind, port=victim.port)
        restarted = time.monotonic()
        landed = lambda: int(harness.stats(nodes[VICTIM])["cmd_set"]) > 0  # noqa: E731
        i = 0
        while not landed():
            self.assertLess(time.monotonic() - restarted, 3 * RETRY_MS / 1000,
                            f"{kind}: the restarted node never rejoined")
            for key in victim_keys[i % len(victim_keys):][:20]:
                current[key] = value(key, 3)
                self.assertTrue(c.set(key, current[key]), kind)
            i += 20
        out["rejoin_s"] = time.monotonic() - restarted
        for batch in batches(victim_keys, 1000):
            current.update({k: value(k, 3) for k in batch})
            self.assertEqual(c.set_many({k: current[k] for k in batch}), [], kind)
        # Every one of its keys is back on it: the same placement as before.
        self.assertEqual(self.held(nodes[VICTIM], KEYS), set(victim_keys), kind)
        self.assertEqual(int(harness.stats(nodes[VICTIM])["curr_items"]), len(victim_keys))
        for batch in spread(KEYS):
            self.assertEqual(c.get_many(batch), {k: current[k] for k in batch}, kind)
        return out

    def test_behind_twemproxy_as_memcached(self):
        seen = {}
        for kind in ("memcached", "memcoro"):
            start = time.monotonic()
            seen[kind] = self.scenario(kind)
            took = time.monotonic() - start
            s = seen[kind]
            print(f"{kind}: {took:.1f} s; shares {[round(x, 3) for x in s['shares']]}; "
                  f"ejection in the proxy's stats {s['eject_s'] * 1000:.0f} ms after the kill; "
                  f"window (ops, errors, writes moved to survivors) {s['window']}, "
                  f"errors {s['errors']}; "
                  f"rejoined {s['rejoin_s']:.2f} s after the restart")
        ours, theirs = seen["memcoro"], seen["memcached"]
        self.assertEqual(ours["owner"], theirs["owner"], "key placement")
        self.assertEqual(ours["shares"], theirs["shares"])
        self.assertEqual(ours["errors"], theirs["errors"])
        self.assertEqual(ours["errors"], ["Connection refused"])
        # ketama moved the killed node's keys to the same survivors.
        both = ours["moved"].keys() & theirs["moved"].keys()
        self.assertGreater(len(both), 0)
        self.assertEqual({k: ours["moved"][k] for k in both}, {k: theirs["moved"][k] for k in both})


if __name__ == "__main__":
    unittest.main()

"""The image and the compose cluster, for real: the repository's Dockerfile
built with podman, run, and checked from the host as a user of the image
would check it; then deploy/compose.yaml brought up with podman-compose and
a sharded cluster checked through twemproxy.

Needs root podman (scripts/deps.sh installs it) and Debian's mirror: the
base images are made locally by base-images.sh when missing. Every
container, network and image this test creates is removed at the end; the
base images are kept for the next run.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid
from contextlib import closing

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "integration"))
import harness  # noqa: E402

from pymemcache.client.base import Client  # noqa: E402

ENV = {**os.environ, "CONTAINERS_CONF": os.path.join(HERE, "containers.conf")}
RUN_ID = uuid.uuid4().hex[:8]
IMAGE = f"localhost/memcoro:test-{RUN_ID}"
PROXY_IMAGE = f"localhost/memcoro-twemproxy:test-{RUN_ID}"
# What the runtime image may add to debian:bookworm-slim (the bound).
MAX_ADDED_BYTES = 30 * 1000 * 1000


def podman(*args, check=True, timeout=120, env=ENV, cmd=("podman",)):
    out = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout,
                         env=env, stdin=subprocess.DEVNULL)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join([*cmd, *args])} exited {out.returncode}:\n"
                             f"{out.stdout}\n{out.stderr}")
    return out


def build(tag, context):
    # Docker format keeps HEALTHCHECK; --layers=false leaves no cached stage
    # images behind; the host network is the machine's route to the mirror.
    start = time.monotonic()
    podman("build", "--format", "docker", "--layers=false", "--network", "host", "-t", tag,
           context, timeout=1200)
    return time.monotonic() - start


def client(port):
    """A pymemcache client that reports errors (no noreply), for `with`."""
    return closing(Client(("127.0.0.1", port), connect_timeout=2, timeout=2,
                          default_noreply=False))


def http(port, method="GET", path="/", body=None, headers=None):
    """(status, body) of one request to a published admin port."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=body.encode() if body is not None else None,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def eventually(check, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 (the last error is reported below)
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def stats_settings(port):
    """`stats settings` as memcached's text: {name: value string}."""
    with closing(socket.create_connection(("127.0.0.1", port), timeout=5)) as s:
        s.sendall(b"stats settings\r\n")
        reply = b""
        while not reply.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    return dict(line.split(" ", 2)[1:] for line in reply.decode().split("\r\n")
                if line.startswith("STAT "))


class Container(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.containers = []
        start = time.monotonic()
        podman(os.path.join(HERE, "base-images.sh"), cmd=("sh",), timeout=600)
        cls.base_seconds = time.monotonic() - start
        cls.build_seconds = build(IMAGE, ROOT)
        cls.proxy_seconds = build(PROXY_IMAGE, os.path.join(ROOT, "deploy", "twemproxy"))
        print(f"\nbase images {cls.base_seconds:.0f} s, memcoro image {cls.build_seconds:.0f} s, "
              f"twemproxy image {cls.proxy_seconds:.0f} s", flush=True)

    @classmethod
    def tearDownClass(cls):
        for name in cls.containers:
            podman("rm", "-f", "-t", "0", name, check=False)
        podman("rmi", "-f", IMAGE, PROXY_IMAGE, check=False)

    def run_container(self, *args, ports=(11211, 11212)):
        """Starts the image detached with `args` (podman options, then "--",
        then memcoro's); returns (name, {container port: host port})."""
        name = f"memcoro-test-{RUN_ID}-{len(self.containers)}"
        host_ports = harness.free_ports(len(ports))
        publish = []
        for inside, outside in zip(ports, host_ports):
            publish += ["-p", f"127.0.0.1:{outside}:{inside}"]
        split = args.index("--") if "--" in args else len(args)
        podman("run", "-d", "--name", name, *publish, *args[:split], IMAGE, *args[split + 1:])
        self.containers.append(name)
        mapping = dict(zip(ports, host_ports))
        def serves():
            with client(mapping[ports[0]]) as c:
                return c.version()
        eventually(serves, what=f"{name} to serve")
        return name, mapping

    def stop_gracefully(self, name, port):
        """podman stop (SIGTERM, SIGKILL after 10 s) with a client still
        connected: memcoro must exit 0, well within the 10 s."""
        idle = client(port).thing
        idle.set("before-stop", b"1")
        start = time.monotonic()
        podman("stop", "-t", "10", name, timeout=30)
        took = time.monotonic() - start
        idle.close()
        state = json.loads(podman("inspect", name).stdout)[0]["State"]
        self.assertEqual(state["ExitCode"], 0, state)
        self.assertLess(took, 9, "stop took the full grace period")
        return took

    def test_image_is_slim_and_runs_as_a_user(self):
        image = json.loads(podman("image", "inspect", IMAGE).stdout)[0]
        base = json.loads(podman("image", "inspect",
                                 "docker.io/library/debian:bookworm-slim").stdout)[0]
        added = image["Size"] - base["Size"]
        print(f"\nimage {image['Size'] / 1e6:.1f} MB: {added / 1e6:.1f} MB above "
              f"debian:bookworm-slim", flush=True)
        self.assertLessEqual(added, MAX_ADDED_BYTES)
        config = image["Config"]
        self.assertEqual(config["User"], "memcoro")
        self.assertEqual(config["Entrypoint"], ["memcoro"])
        self.assertEqual(set(config["ExposedPorts"]), {"11211/tcp", "11212/tcp"})
        self.assertIn("--health-check", " ".join(image["Healthcheck"]["Test"]))
        # No compiler, no headers, no test tools in the runtime image.
        tools = podman("run", "--rm", "--entrypoint", "sh", IMAGE, "-c",
                       "ls /usr/bin/g++* /usr/bin/cc /usr/bin/cmake /usr/include/boost "
                       "/usr/bin/python3 2>/dev/null; exit 0")
        self.assertEqual(tools.stdout.strip(), "")

    def test_defaults_as_memcached_image(self):
        # docker run -p 11211:11211 -p 11212:11212 memcoro
        name, port = self.run_container()
        with client(port[11211]) as c:
            c.set("k", b"hello", expire=0)
            self.assertEqual(c.get("k"), b"hello")
        settings = stats_settings(port[11211])
        self.assertEqual(settings["maxbytes"], "67108864")
        self.assertEqual(settings["maxconns"], "1024")
        self.assertEqual(settings["num_threads"], "4")
        uid = podman("exec", name, "id", "-u").stdout.strip()
        self.assertNotEqual(uid, "0")
        # From the host: metrics and probes open, changes refused (no token,
        # and the host is not the container's loopback).
        status, metrics = http(port[11212], path="/metrics")
        self.assertEqual(status, 200)
        self.assertIn("memcached_up 1", metrics)
        self.assertEqual(http(port[11212], path="/healthz")[0], 200)
        self.assertEqual(http(port[11212], path="/readyz")[0], 200)
        status, body = http(port[11212], "PUT", "/config", '{"verbosity": 1}',
                            {"Content-Type": "application/json"})
        self.assertEqual(status, 403, body)
        self.assertIn("token", body)
        self.assertEqual(podman("healthcheck", "run", name, check=False).returncode, 0)
        self.assertIn("only loopback clients may change", podman("logs", name).stderr)
        self.stop_gracefully(name, port[11211])

    def test_flags_token_config_reload_read_only(self):
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o755)
            token = os.path.join(d, "token")
            with open(token, "w") as f:
                f.write("s3cret-token\n")
            os.chmod(token, 0o644)  # the image's user (uid 11211) reads it
            conf = os.path.join(d, "memcoro.json")
            with open(conf, "w") as f:
                json.dump({"conn_limit": 500, "idle_timeout": 0}, f)
            os.chmod(conf, 0o644)
            # memcached-style flags replace CMD; -p moves the cache port, which
            # the HEALTHCHECK (no flags of its own) must still find.
            name, port = self.run_container(
                "--read-only",
                "-v", f"{token}:/run/secrets/memcoro_admin_token:ro",
                "-e", "MEMCORO_ADMIN_TOKEN_FILE=/run/secrets/memcoro_admin_token",
                "-v", f"{conf}:/etc/memcoro/memcoro.json:ro",
                "--", "-p", "11311", "-m", "128", "-t", "2",
                ports=(11311, 11212))
            cache, admin = port[11311], port[11212]
            with client(cache) as c:
                c.set("k", b"v")
                self.assertEqual(c.get("k"), b"v")
            settings = stats_settings(cache)
            self.assertEqual(settings["maxbytes"], str(128 << 20))  # flag
            self.assertEqual(settings["num_threads"], "2")  # flag
            self.assertEqual(settings["maxconns"], "500")  # mounted file
            self.assertEqual(podman("healthcheck", "run", name, check=False).returncode, 0)
            # The token: refused without, applied with.
            change = ('{"conn_limit": 700}', {"Content-Type": "application/json"})
            self.assertEqual(http(admin, "PUT", "/config", *change)[0], 401)
            status, body = http(admin, "PUT", "/config", change[0],
                                {**change[1], "Authorization": "Bearer s3cret-token"})
            self.assertEqual(status, 200, body)
            self.assertEqual(stats_settings(cache)["maxconns"], "700")
            # SIGHUP re-reads the mounted file (rewritten in place: a bind
            # mount of one file follows its inode).
            with open(conf, "r+") as f:
                f.truncate(0)
                json.dump({"conn_limit": 600, "idle_timeout": 30}, f)
            podman("kill", "-s", "HUP", name)
            eventually(lambda: stats_settings(cache)["maxconns"] == "600", what="reload")
            self.assertEqual(stats_settings(cache)["idle_timeout"], "30")
            self.assertIn("SIGHUP: config reload: 200", podman("logs", name).stderr)
            # Read-only root: even root in the container cannot write to it,
            # and memcoro did not need to.
            self.assertTrue(json.loads(podman("inspect", name).stdout)[0]["HostConfig"]
                            ["ReadonlyRootfs"])
            touch = podman("exec", "--user", "root", name, "touch", "/x", check=False)
            self.assertIn("Read-only file system", touch.stderr)
            self.stop_gracefully(name, cache)

    def test_warm_restart_across_containers(self):
        # README, Deploy: the memory file on a host tmpfs directory outlives
        # the container; `podman stop` saves, a new container (as a new image
        # version would be) takes the cache back. Memory flags as given.
        with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
            os.chown(d, 11211, 11211)  # the image's user
            flags = ("-v", f"{d}:/cache", "--", "-m", "64", "-e", "/cache/memory")
            name, port = self.run_container(*flags)
            with client(port[11211]) as c:
                for i in range(500):
                    c.set(f"warm{i}", b"v%d" % i, expire=0 if i % 2 else 3600)
            self.stop_gracefully(name, port[11211])
            self.assertTrue(os.path.exists(os.path.join(d, "memory.meta")))
            podman("rm", name)
            name, port = self.run_container(*flags)
            self.assertIn("501 items restored", podman("logs", name).stderr)
            with client(port[11211]) as c:
                for i in range(500):
                    self.assertEqual(c.get(f"warm{i}"), b"v%d" % i)
            # Killed, it comes back empty: the start removed the metadata.
            podman("kill", "-s", "KILL", name)
            podman("rm", name)
            name, port = self.run_container(*flags)
            self.assertIn("starting with an empty cache", podman("logs", name).stderr)
            with client(port[11211]) as c:
                self.assertIsNone(c.get("warm1"))
            self.stop_gracefully(name, port[11211])

    def test_compose_cluster_behind_twemproxy(self):
        ports = harness.free_ports(5)
        env = {**ENV, "MEMCORO_IMAGE": IMAGE, "MEMCORO_TWEMPROXY_IMAGE": PROXY_IMAGE,
               "MEMCORO_PROXY_PORT": str(ports[0]), "MEMCORO_PROXY_STATS": str(ports[1]),
               "MEMCORO_NODE1_ADMIN": str(ports[2]), "MEMCORO_NODE2_ADMIN": str(ports[3]),
               "MEMCORO_NODE3_ADMIN": str(ports[4])}
        project = f"memcoro-test-{RUN_ID}"
        compose = ("podman-compose", "-p", project, "-f",
                   os.path.join(ROOT, "deploy", "compose.yaml"))
        try:
            podman("up", "-d", cmd=compose, env=env, timeout=300)
            self.cluster_serves_and_survives(project, ports[0], ports[2:])
        finally:
            podman("down", "-t", "1", cmd=compose, env=env, check=False, timeout=300)
            podman("network", "rm", "-f", f"{project}_default", check=False)

    def cluster_serves_and_survives(self, project, proxy, admins):
        keys = [f"key:{i}" for i in range(2000)]
        def proxy_serves():
            with client(proxy) as c:
                return c.set("probe", b"1")
        eventually(proxy_serves, timeout=30, what="the proxy to reach the nodes")
        with client(proxy) as c:
            c.delete("probe")
            for k in keys:
                self.assertTrue(c.set(k, k.encode()))
            self.assertEqual(c.get_many(keys[:100]), {k: k.encode() for k in keys[:100]})
        counts = [json.loads(http(a, path="/stats")[1])["curr_items"] for a in admins]
        self.assertEqual(sum(counts), len(keys), counts)
        for n in counts:
            self.assertTrue(0.20 * len(keys) <= n <= 0.47 * len(keys), counts)
        # node2 dies: once the proxy has ejected it, exactly the keys of the
        # two survivors read back (node2's now map to them, as misses).
        podman("kill", f"{project}_node2_1")
        with client(proxy) as c:
            def survivors_answer():
                try:
                    got = c.get_many(keys)
                except Exception:  # noqa: BLE001 (node2's keys fail until it is ejected)
                    return None
                return got
            got = eventually(survivors_answer, timeout=15, what="node2 to be ejected")
            self.assertEqual(len(got), len(keys) - counts[1])  # node1's and node3's keys
            for k, v in got.items():
                self.assertEqual(v, k.encode())
            for k in keys[:200]:  # new writes land on the survivors
                self.assertTrue(c.set(k, b"new"))
            self.assertEqual(set(c.get_many(keys[:200]).values()), {b"new"})
        # node2 comes back (same container, maybe a new address: twemproxy
        # places keys by the name in its config) and takes writes again.
        podman("start", f"{project}_node2_1")
        before = json.loads(eventually(lambda: http(admins[1], path="/stats")[1],
                                       what="node2 to restart"))["curr_items"]
        self.assertEqual(before, 0)  # a cold restart: memcoro keeps nothing yet

        def node2_rejoined():
            with client(proxy) as c:
                for k in keys[:300]:
                    c.set(k, b"again")
            return json.loads(http(admins[1], path="/stats")[1])["curr_items"] > 0
        eventually(node2_rejoined, timeout=20, what="node2 to rejoin the ring")


if __name__ == "__main__":
    if shutil.which("podman") is None:
        sys.exit("podman is not installed: run scripts/deps.sh")
    unittest.main(verbosity=2)

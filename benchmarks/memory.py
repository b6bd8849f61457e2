#!/usr/bin/python3
"""Memory benchmarks, memcoro and Debian's memcached side by side in one run.

  bound     -m 64: write 1 GiB of values (10 B .. 200 KB, log-uniform), then
            256 MiB of large values only; report RSS at the end.
  per-item  1,000,000 items, 10-byte keys, 32-byte values: RSS growth / items.
  hitratio  -m 64, Zipf(0.99) keys over 5x what the cache holds; 90% gets
            (a miss is followed by a set, as a cache-aside client does), 10% sets.

Usage: benchmarks/memory.py [bound] [per-item] [hitratio] [--markdown FILE]
The servers are the release build (build/release) and /usr/bin/memcached,
both with 4 threads, on 127.0.0.1 ports picked at random.
"""
import argparse
import bisect
import os
import platform
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "integration"))
os.environ.setdefault("MEMCORO_BIN", os.path.join(ROOT, "build", "release", "apps", "memcoro",
                                                  "memcoro"))
import harness  # noqa: E402

MB = 1 << 20


def rss(server):
    return harness.rss_bytes(server.proc.pid)


def sync(sock):
    sock.sendall(b"mn\r\n")
    reply, _ = harness.read_reply(sock, until=b"MN\r\n", idle=60)
    if not reply.endswith(b"MN\r\n"):
        raise RuntimeError(f"no MN: {reply[-200:]!r}")


def send_sets(sock, items, batch_bytes=1 << 20):
    batch, size = [], 0
    for key, value in items:
        batch.append(b"set %s 0 0 %d noreply\r\n%s\r\n" % (key, len(value), value))
        size += len(value)
        if size >= batch_bytes:
            sock.sendall(b"".join(batch))
            batch, size = [], 0
    sock.sendall(b"".join(batch))
    sync(sock)


def bound(kind):
    rnd = random.Random(42)
    with harness.Server(["-m", "64", "-t", "4"], kind=kind) as server:
        empty = rss(server)
        with server.connect(timeout=120) as s:
            def mixed():
                written, i = 0, 0
                while written < 1024 * MB:
                    size = int(10 * (20000 ** rnd.random()))
                    written += size
                    i += 1
                    yield b"mix%d" % i, b"x" * size

            send_sets(s, mixed())
            after_mixed = rss(server)

            def large():
                written, i = 0, 0
                while written < 256 * MB:
                    size = rnd.randint(100_000, 200_000)
                    written += size
                    i += 1
                    yield b"large%d" % i, b"L" * size

            send_sets(s, large())
        end = rss(server)
        st = harness.stats(server)
    return {"rss_empty": empty, "rss_after_mixed": after_mixed, "rss_end": end,
            "items": int(st["curr_items"]), "bytes": int(st["bytes"]),
            "evictions": int(st["evictions"])}


def per_item(kind):
    n = 1_000_000
    with harness.Server(["-m", "1024", "-t", "4"], kind=kind) as server:
        with server.connect(timeout=120) as s:
            send_sets(s, [(b"warm", b"w")])
            before = rss(server)
            value = b"v" * 32
            send_sets(s, ((b"k%09d" % i, value) for i in range(n)))
        after = rss(server)
        st = harness.stats(server)
    assert int(st["curr_items"]) == n + 1, st["curr_items"]
    return {"rss_per_item": (after - before) / n, "bytes_per_item": int(st["bytes"]) / (n + 1),
            "rss_growth": after - before}


class Zipf:
    def __init__(self, n, s, rnd):
        weights = [1.0 / (i ** s) for i in range(1, n + 1)]
        total = sum(weights)
        acc, self.cdf = 0.0, []
        for w in weights:
            acc += w / total
            self.cdf.append(acc)
        self.rnd = rnd
        self.perm = list(range(n))
        rnd.shuffle(self.perm)  # popular keys spread over the key space

    def __call__(self):
        return self.perm[min(bisect.bisect_left(self.cdf, self.rnd.random()), len(self.cdf) - 1)]


def hitratio(kind, ops=600_000, warmup=200_000):
    value = b"z" * 1000
    keys = 5 * (64 * MB // 1100)  # ~5x the items a 64 MiB cache holds
    rnd = random.Random(1234)
    zipf = Zipf(keys, 0.99, rnd)
    hits = gets = 0
    with harness.Server(["-m", "64", "-t", "4"], kind=kind) as server:
        with server.connect(timeout=120) as s:
            done = 0
            while done < warmup + ops:
                batch = [(zipf(), rnd.random() < 0.9) for _ in range(200)]
                get_keys = [k for k, is_get in batch if is_get]
                s.sendall(b"".join(b"get key%d\r\n" % k for k in get_keys))
                reply = b""
                while reply.count(b"END\r\n") < len(get_keys):
                    reply += s.recv(1 << 20)
                found = {int(line.split()[1][3:]) for line in reply.split(b"\r\n")
                         if line.startswith(b"VALUE ")}
                sets = []
                for k, is_get in batch:
                    if is_get:
                        hit = k in found
                        if done >= warmup:
                            gets += 1
                            hits += hit
                        if not hit:
                            sets.append(k)
                    else:
                        sets.append(k)
                    done += 1
                s.sendall(b"".join(b"set key%d 0 0 %d noreply\r\n%s\r\n" % (k, len(value), value)
                                   for k in sets))
            sync(s)
        st = harness.stats(server)
    return {"hit_ratio": hits / gets, "gets": gets, "evictions": int(st["evictions"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("which", nargs="*", default=["bound", "per-item", "hitratio"])
    ap.add_argument("--markdown", help="append the results to this file")
    args = ap.parse_args()
    lines = [f"### Memory ({time.strftime('%Y-%m-%d')}, {platform.node()}, "
             f"{os.cpu_count()} cores, {platform.platform()})", "",
             "Command: `" + " ".join(["benchmarks/memory.py"] + args.which) + "`", ""]
    for which in args.which:
        fn = {"bound": bound, "per-item": per_item, "hitratio": hitratio}[which]
        res = {kind: fn(kind) for kind in ("memcoro", "memcached")}
        lines.append(f"**{which}**")
        lines.append("")
        lines.append("| metric | memcoro | memcached | memcoro / memcached |")
        lines.append("|---|---|---|---|")
        for key in res["memcoro"]:
            a, b = res["memcoro"][key], res["memcached"][key]
            fmt = (lambda v: f"{v / MB:.1f} MiB") if key.startswith("rss") and "per" not in key \
                else (lambda v: f"{v:.4f}" if isinstance(v, float) and v < 1 else
                      (f"{v:.1f}" if isinstance(v, float) else str(v)))
            ratio = f"{a / b:.3f}" if b else "-"
            lines.append(f"| {key} | {fmt(a)} | {fmt(b)} | {ratio} |")
        lines.append("")
        print("\n".join(lines[-(len(res['memcoro']) + 4):]), flush=True)
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

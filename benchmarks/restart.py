#!/usr/bin/python3
"""Warm restart time, memcoro and Debian's memcached 1.6.18 side by side.

Each server runs with -m 1024 -e /dev/shm/FILE -t 4 and is filled until
full with small items (10-byte keys, 32-byte values: more than 1 GiB of
them, so both evict); then it is stopped the way that saves its metadata
(memcoro: SIGTERM; memcached: SIGUSR1), and started again over the same file.
Reported: items before the stop, the stop (signal to exit), the start (exec
to the first answer, a restored item read back), items after the start.

Usage: benchmarks/restart.py [--items N] [--markdown FILE]
The servers are the release build (build/release) and /usr/bin/memcached,
on 127.0.0.1 ports picked at random.
"""
import argparse
import os
import platform
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "integration"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
os.environ.setdefault("MEMCORO_BIN", os.path.join(ROOT, "build", "release", "apps", "memcoro",
                                                  "memcoro"))
import harness  # noqa: E402
from memory import send_sets  # noqa: E402


def run(kind, items, path):
    args = ["-m", "1024", "-t", "4", "-e", path]
    stop_signal = signal.SIGTERM if kind == "memcoro" else signal.SIGUSR1
    server = harness.Server(args, kind=kind)
    value = b"v" * 32
    with server.connect(timeout=600) as s:
        send_sets(s, ((b"k%09d" % i, value) for i in range(items)))
    st = harness.stats(server)
    before = int(st["curr_items"])
    evictions = int(st["evictions"])
    t0 = time.monotonic()
    server.proc.send_signal(stop_signal)
    server.proc.wait(timeout=120)
    stop_s = time.monotonic() - t0
    server.stop()
    time.sleep(1.1)  # memcached refuses a restart within the second of the stop
    t0 = time.monotonic()
    server = harness.Server(args, kind=kind)
    try:
        last = b"k%09d" % (items - 1)
        with server.connect() as s:
            reply = harness.command(s, b"get %s\r\n" % last, until=b"END\r\n")
        start_s = time.monotonic() - t0
        if not reply.startswith(b"VALUE"):
            raise RuntimeError(f"{kind}: the last item did not come back: {reply!r}")
        after = int(harness.stats(server)["curr_items"])
        log = server.output().strip()
    finally:
        server.stop()
    return {"items_before": before, "evictions": evictions, "stop_s": stop_s,
            "start_s": start_s, "items_after": after, "log": log}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=14_000_000,
                    help="items to store (more than 1 GiB holds, so the cache is full)")
    ap.add_argument("--markdown", help="append the results to this file")
    args = ap.parse_args()
    res = {}
    for kind in ("memcoro", "memcached"):
        fd, path = tempfile.mkstemp(prefix=f"restart-{kind}-", dir="/dev/shm")
        os.close(fd)
        os.unlink(path)
        try:
            res[kind] = run(kind, args.items, path)
        finally:
            for p in (path, path + ".meta"):
                if os.path.exists(p):
                    os.unlink(p)
        print(kind, res[kind], flush=True)
    lines = [f"### Warm restart ({time.strftime('%Y-%m-%d')}, {platform.node()}, "
             f"{os.cpu_count()} cores, {platform.platform()})", "",
             "Command: `benchmarks/restart.py" +
             (f" --items {args.items}" if args.items != 14_000_000 else "") + "`", "",
             "| metric | memcoro | memcached |", "|---|---|---|"]
    for key in ("items_before", "evictions", "stop_s", "start_s", "items_after"):
        a, b = res["memcoro"][key], res["memcached"][key]
        fmt = (lambda v: f"{v:.2f} s") if key.endswith("_s") else str
        lines.append(f"| {key} | {fmt(a)} | {fmt(b)} |")
    lines.append("")
    print("\n".join(lines))
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Hostile clients, before and after issue 10, side by side with memcached.

Two cases, each run against Debian's memcached 1.6.18, memcoro before
issue 10 (a5a708e) and memcoro now (build/release), in one run:

  slowloris     -c 100, idle timeout 2 s. 150 clients each send one byte
                every 500 ms and never finish a line. Then a fresh client
                tries `version` every 0.2 s: seconds until it is first
                answered (">30 s" if never); how many drippers the server
                refused at once (the -c limit) and had closed 10 s after
                they connected; idle_kicks from stats.
  never-reader  -m 1024, 200 values (v0..v199). One client with a 4 KiB
                receive buffer sends multi-gets and never reads. Server RSS
                before, peak over 5 s, and 2 s after the client closes; a
                well-behaved client's gets/s (100-byte value, one connection,
                2 s) without and beside the never-reader. Two variants:
                512 KiB values, 20 lines of 200 keys (2 GB of replies; every
                server sends such values by reference), and 1000 B values,
                4 lines of 200,000 keys (800 MB of replies; values under
                1 KiB are copied into memcoro's replies, which is what
                issue 10's conn_reply_limit bounds).

Usage: benchmarks/hostile.py [--markdown FILE]
  --markdown FILE   append the results as a section to FILE (RESULTS.md)
Binaries: MEMCORO_BEFORE (default build/baseline/a5a708ef6429/...),
MEMCORO_AFTER (default build/release/...), MEMCACHED_BIN (/usr/bin/memcached).
Takes about 2 minutes; all servers listen on 127.0.0.1 and die with it.
"""
import argparse
import datetime
import os
import platform
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "integration"))
import harness  # noqa: E402

BEFORE = os.environ.get("MEMCORO_BEFORE", os.path.join(
    ROOT, "build/baseline/a5a708ef6429/build/release/apps/memcoro/memcoro"))
AFTER_NAME = os.environ.get("MEMCORO_AFTER", "build/release/apps/memcoro/memcoro")
AFTER = os.path.join(ROOT, AFTER_NAME)
IDLE = 2
DRIPPERS, CONN_LIMIT, SERVED_CAP, COUNT_AT = 150, 100, 30, 10
VALUES = 200
MB = 1 << 20


def server(kind, binary, args, memcached_args):
    return harness.Server(memcached_args if kind == "memcached" else args,
                          kind=kind, binary=binary)


def drip_all(socks, closed, stop, every=0.5):
    """One thread drives every dripper: a byte each, every `every` seconds,
    never a whole line. A socket the server closed goes into `closed`, with
    the time it was seen closed."""
    while not stop.is_set():
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                while True:  # drain what the server says (memcached: "ERROR Too many...")
                    if s.recv(4096, socket.MSG_DONTWAIT) == b"":
                        raise ConnectionResetError
            except BlockingIOError:
                pass
            except OSError:
                closed[i] = time.time()
                continue
            try:
                s.send(b"k", socket.MSG_DONTWAIT)
            except BlockingIOError:
                pass
            except OSError:
                closed[i] = time.time()
        stop.wait(every)


def version_answered(srv):
    try:
        with srv.connect(timeout=1) as c:
            return harness.command(c, b"version\r\n", idle=1).startswith(b"VERSION ")
    except OSError:
        return False


def slowloris(kind, binary):
    srv = server(kind, binary, ["-c", str(CONN_LIMIT), "--idle-timeout", str(IDLE)],
                 ["-c", str(CONN_LIMIT), "-o", f"idle_timeout={IDLE}"])
    socks, closed, stop = [], {}, threading.Event()
    try:
        for _ in range(DRIPPERS):
            try:
                s = srv.connect(timeout=1)
                s.sendall(b"get ")
                s.setblocking(False)  # with a timeout, recv would wait despite MSG_DONTWAIT
                socks.append(s)
            except OSError:
                pass
        dripper = threading.Thread(target=drip_all, args=(socks, closed, stop), daemon=True)
        dripper.start()
        start, served = time.time(), None
        while time.time() - start < SERVED_CAP:
            if version_answered(srv):
                served = time.time() - start
                break
            time.sleep(0.2)
        time.sleep(max(0.0, start + COUNT_AT - time.time()))
        refused = sum(t < start + 1.5 for t in closed.values())  # before any idle timeout
        closed_at = len(closed)
        stop.set()
        dripper.join()
        for s in socks:
            s.close()
        time.sleep(0.5)  # let the server see the closes, so stats gets in
        kicks = "n/a"
        try:
            kicks = harness.stats(srv).get("idle_kicks", "n/a")
        except OSError:
            pass
        return {"served": served, "connected": len(socks), "refused": refused,
                "closed": closed_at, "kicks": kicks}
    finally:
        stop.set()
        for s in socks:
            s.close()
        srv.stop()


def gets_per_second(srv, seconds=2.0):
    with srv.connect() as c:
        n, end = 0, time.time() + seconds
        while time.time() < end:
            reply = harness.command(c, b"get small\r\n", until=b"END\r\n")
            if not reply.endswith(b"END\r\n") or len(reply) < 100:
                raise RuntimeError(f"bad reply {reply[:80]!r}")
            n += 1
        return n / seconds


def never_reader(kind, binary, value_size, keys_per_line, lines):
    """RSS and a well-behaved client's gets/s while one client that never
    reads has sent `lines` gets of `keys_per_line` keys (v0..v199 cycled)."""
    srv = server(kind, binary, ["-m", "1024"], ["-m", "1024"])
    try:
        value = b"x" * value_size
        with srv.connect(timeout=60) as c:
            for i in range(VALUES):
                c.sendall(b"set v%d 0 0 %d noreply\r\n%s\r\n" % (i, len(value), value))
            harness.command(c, b"set small 0 0 100\r\n" + b"s" * 100 + b"\r\n", idle=30)
        alone = gets_per_second(srv)
        before = harness.rss_bytes(srv.proc.pid)
        peak, stop = [before], threading.Event()

        def sample():
            while not stop.wait(0.1):
                peak[0] = max(peak[0], harness.rss_bytes(srv.proc.pid))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        hog = socket.socket()
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        hog.connect(("127.0.0.1", srv.port))
        hog.settimeout(4)
        line = b"get " + b" ".join(b"v%d" % (i % VALUES) for i in range(keys_per_line)) + b"\r\n"

        def send():
            try:
                hog.sendall(line * lines)
            except OSError:
                pass  # the server stopped reading (allowed) or closed us
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        time.sleep(1.5)
        during = gets_per_second(srv)
        time.sleep(1.5)
        stop.set()
        sampler.join()
        sender.join()
        hog.close()
        time.sleep(2)
        return {"before": before, "peak": peak[0], "after": harness.rss_bytes(srv.proc.pid),
                "alone": alone, "during": during}
    finally:
        srv.stop()


# (label, value size, keys per get line, get lines): 512 KiB values go out by
# reference everywhere; values under 1 KiB are copied into memcoro's replies.
NEVER_READERS = [("512 KiB values, 20 lines of 200 keys (2 GB of replies)", 512 << 10, 200, 20),
                 ("1000 B values, 4 lines of 200,000 keys (800 MB of replies)", 1000, 200_000, 4)]


def slowloris_row(name, r):
    served = f"{r['served']:.1f} s" if r["served"] is not None else f">{SERVED_CAP} s (never)"
    return (f"| {name} | {served} | {r['refused']} | {r['closed']} of {r['connected']} "
            f"| {r['kicks']} |")


def never_reader_row(name, r):
    return (f"| {name} | {r['before'] / MB:.0f} / {r['peak'] / MB:.0f} / {r['after'] / MB:.0f} MiB "
            f"| {r['alone']:,.0f} / {r['during']:,.0f} ({r['during'] / r['alone']:.2f}x) |")


SLOWLORIS_HEADER = ("| server | fresh client first served after | drippers refused at the "
                    f"limit (closed within 1.5 s) | drippers closed by {COUNT_AT} s | idle_kicks "
                    "|\n|---|---|---|---|---|")
NEVER_READER_HEADER = ("| server | RSS before / peak / 2 s after close "
                       "| well-behaved gets/s alone / beside it |\n|---|---|---|")


def git(*args):
    return subprocess.run(["git", "-C", ROOT, *args], capture_output=True,
                          text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", help="append a section to this file")
    opts = parser.parse_args()
    head = git("rev-parse", "--short", "HEAD")
    if git("status", "--porcelain", "--", "lib", "apps"):
        head += "+dirty"  # build/release may hold uncommitted lib/ or apps/ changes
    load = os.getloadavg()[0]
    built = datetime.datetime.fromtimestamp(os.path.getmtime(AFTER), datetime.timezone.utc)
    built = built.strftime("%Y-%m-%d %H:%M UTC")
    servers = [("memcached 1.6.18", "memcached", harness.MEMCACHED),
               ("memcoro before issue 10 (a5a708e)", "memcoro", BEFORE),
               (f"memcoro now ({head})", "memcoro", AFTER)]
    slow, never = [], [[] for _ in NEVER_READERS]
    for name, kind, binary in servers:
        print(f"{name}: slowloris ...", flush=True)
        slow.append(slowloris_row(name, slowloris(kind, binary)))
        print(slow[-1], flush=True)
        for rows, (label, size, keys, lines) in zip(never, NEVER_READERS):
            print(f"{name}: never-reader, {label} ...", flush=True)
            rows.append(never_reader_row(name, never_reader(kind, binary, size, keys, lines)))
            print(rows[-1], flush=True)
    text = (f"Slowloris (`-c {CONN_LIMIT}`, idle timeout {IDLE} s, {DRIPPERS} clients "
            "dripping a byte every 500 ms):\n\n" + SLOWLORIS_HEADER + "\n" + "\n".join(slow))
    for rows, (label, *_) in zip(never, NEVER_READERS):
        text += (f"\n\nNever-reading client (`-m 1024`, receive buffer 4 KiB), {label}:\n\n"
                 + NEVER_READER_HEADER + "\n" + "\n".join(rows))
    print("\n" + text)
    if opts.markdown:
        date = datetime.date.today().isoformat()
        with open(opts.markdown, "a") as f:
            f.write(f"\n## Issue 10 (hardening): hostile clients before and after ({date}, vm, "
                    f"{os.cpu_count()} cores)\n\n"
                    f"`benchmarks/hostile.py --markdown {opts.markdown}` (nproc "
                    f"{os.cpu_count()}, Linux {platform.release()}, load average {load:.1f} "
                    f"at the start; memcoro now: {AFTER_NAME}, built {built}, HEAD {head}; "
                    f"all three servers in this one run).\n\n{text}\n")


if __name__ == "__main__":
    main()

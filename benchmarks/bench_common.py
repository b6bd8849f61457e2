"""What the benchmark scripts share: the workloads of the compare matrix,
the load generator (memcoro-bench) and its prefill, server CPU time from
/proc, pinning to cores, and the build of a baseline revision for A/B runs."""
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "integration"))
BUILD = os.path.join(ROOT, "build", "release")
os.environ.setdefault("MEMCORO_BIN", os.path.join(BUILD, "apps", "memcoro", "memcoro"))
import harness  # noqa: E402

BENCH = os.path.join(BUILD, "apps", "memcoro-bench", "memcoro-bench")

# name: (description, memcoro-bench arguments, prefill arguments or None)
WORKLOADS = {
    "a": ("memtier: 4:8 set:get, 32-500 B, expiry 10-3600 s, 4x10 conns",
          ["--threads", "4", "--connections", "10", "--ratio", "4:8", "--key-maximum", "100000",
           "--data-size-range", "32-500", "--expiry-range", "10-3600"],
          ["--key-maximum", "100000", "--data-size", "200"]),
    "b": ("32 B, 1:10, 50 conns, no pipelining",
          ["--threads", "2", "--connections", "25", "--ratio", "1:10", "--data-size", "32"],
          ["--key-maximum", "100000", "--data-size", "32"]),
    "c": ("32 B, 1:10, 50 conns, pipeline 32",
          ["--threads", "2", "--connections", "25", "--ratio", "1:10", "--data-size", "32",
           "--pipeline", "32"],
          ["--key-maximum", "100000", "--data-size", "32"]),
    "d": ("multi-get of 10 keys, 32 B",
          ["--threads", "2", "--connections", "25", "--ratio", "0:1", "--multi-get", "10",
           "--data-size", "32"],
          ["--key-maximum", "100000", "--data-size", "32"]),
    "e": ("100 KB values, 1:1",
          ["--threads", "2", "--connections", "5", "--ratio", "1:1", "--data-size", "100000",
           "--key-maximum", "2000"],
          ["--key-maximum", "2000", "--data-size", "100000"]),
    "f": ("meta mg/ms, quiet pipelines of 32",
          ["--threads", "2", "--connections", "25", "--ratio", "1:10", "--data-size", "32",
           "--pipeline", "32", "--meta-quiet"],
          ["--key-maximum", "100000", "--data-size", "32"]),
    "storm": ("1,000 connections at once, 5 requests each",
              ["--threads", "4", "--connections", "250", "--requests", "5000", "--ratio", "1:10",
               "--data-size", "32"],
              None),
}

# The binary protocol on the workloads of b and c: GET/SET one at a time, and
# quiet pipelines (GETKQ/SETQ ... NOOP) of 32.
WORKLOADS["g"] = ("binary GET/SET, 32 B, 1:10, 50 conns, no pipelining",
                  [*WORKLOADS["b"][1], "--protocol", "binary"], WORKLOADS["b"][2])
WORKLOADS["h"] = ("binary quiet pipelines of 32 (GETKQ/SETQ ... NOOP)",
                  [*WORKLOADS["c"][1], "--protocol", "binary"], WORKLOADS["c"][2])

# TLS (issue 15): both servers started with -Z and the same certificate (compare makes it); b and
# c over TLS, and k: connections per second, each a TCP connect, a full TLS handshake (no session
# resumption), one `version` round trip and a close, on 50 connections at once.
WORKLOADS["i"] = ("TLS: 32 B, 1:10, 50 conns, no pipelining",
                  [*WORKLOADS["b"][1], "--tls"], [*WORKLOADS["b"][2], "--tls"])
WORKLOADS["j"] = ("TLS: 32 B, 1:10, 50 conns, pipeline 32",
                  [*WORKLOADS["c"][1], "--tls"], [*WORKLOADS["c"][2], "--tls"])
WORKLOADS["k"] = ("TLS handshakes/s: connect, handshake, version, close; 50 conns",
                  ["--threads", "2", "--connections", "25", "--handshakes", "--tls"], None)


def is_tls(name):
    """Whether workload `name` needs servers started with -Z."""
    return "--tls" in WORKLOADS[name][1]


def cpu_split(pid):
    """(user, kernel) CPU seconds of pid, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks  # utime, stime


def cpu_seconds(pid):
    return sum(cpu_split(pid))


# Pinned runs (benchmarks/pinned, benchmarks/floor): the server on one core, the load generator on
# the other, both under SCHED_FIFO when allowed, so that other work on a shared machine (builds,
# CI) cannot preempt either; both sides get the same treatment.
SERVER_CPU = 0
LOAD_CPU = 1
RT_PRIORITY = 50


def pin(pid, cpu, realtime):
    """Pins every thread of pid to cpu, SCHED_FIFO if realtime (False if refused)."""
    ok = True
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(tid), {cpu})
        if realtime:
            try:
                os.sched_setscheduler(int(tid), os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
            except PermissionError:
                ok = False
    return ok


def load_prefix(realtime):
    """The wrapper that runs the load generator on LOAD_CPU."""
    rt = ("chrt", "-f", str(RT_PRIORITY)) if realtime else ()
    return (*rt, "taskset", "-c", str(LOAD_CPU))


def one_thread(bench_args):
    """The workload's connections (threads x connections) on one load-generator thread: two
    client threads on one core take turns in scheduler slices, and the one waiting adds
    milliseconds to a percent of the replies (measured: p99 4.3 ms against a p90 of 0.18 ms),
    which is the client's latency, not the server's."""
    a = list(bench_args)
    threads = int(a[a.index("--threads") + 1])
    conns = int(a[a.index("--connections") + 1])
    a[a.index("--threads") + 1] = "1"
    a[a.index("--connections") + 1] = str(threads * conns)
    return a


def turns(kinds, repeat):
    """Each round's order of the servers (or kinds) under test, ABBA: the first in even rounds,
    the last in odd ones, so that whatever running first or second does (a warmer page cache,
    the other server's leftovers) favours neither side. With the fixed order (memcoro always
    first) an A/A run of `compare --baseline HEAD`, the same source built twice, read 0.971x
    on average over workloads a-h; with this order, 0.984x over a, c, e, f, h: a bias, if any,
    below the noise (benchmarks/RESULTS.md)."""
    items = list(kinds)
    for round_ in range(repeat):
        yield from (items if round_ % 2 == 0 else reversed(items))


# Student's t, two-sided 95%, by degrees of freedom 1-30 (beyond: 2.02 up to 60, then 1.96).
T_975 = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13,
         2.12, 2.11, 2.10, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04]


def paired_ratio(a, b):
    """(geometric mean, low, high) of the per-round ratios a[i] / b[i], with a 95% confidence
    interval (Student's t on the logarithms). The two sides of a round ran back to back (ABBA),
    so a slow minute of the shared machine slows both and cancels in their ratio; a ratio of
    medians compares runs minutes apart and keeps that drift."""
    logs = [math.log(x / y) for x, y in zip(a, b) if x > 0 and y > 0]
    if not logs:
        return float("nan"), float("nan"), float("nan")
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(mean), float("nan"), float("nan")
    df = len(logs) - 1
    t = T_975[df - 1] if df <= len(T_975) else (2.02 if df <= 60 else 1.96)
    half = t * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def run_bench(port, args, seconds, prefix=()):
    """memcoro-bench against port; `prefix` runs it under a wrapper (taskset)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [*prefix, BENCH, "--server", f"127.0.0.1:{port}", "--quiet", "--json", out.name, *args]
        if "--requests" not in args:
            cmd += ["--test-time", str(seconds)]
        subprocess.run(cmd, check=False, capture_output=True, timeout=seconds * 10 + 120)
        with open(out.name) as f:
            return json.load(f)


def prefill(port, args):
    subprocess.run([BENCH, "--server", f"127.0.0.1:{port}", "--quiet", "--prefill",
                    "--requests", "1", *args], check=True, capture_output=True, timeout=300)



def build_baseline(rev):
    """The memcoro binary of git revision `rev`, built in release mode."""
    sha = subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", rev + "^{commit}"],
                         check=True, capture_output=True, text=True).stdout.strip()
    src = os.path.join(ROOT, "build", "baseline", sha[:12])
    binary = os.path.join(src, "build", "release", "apps", "memcoro", "memcoro")
    if not os.path.exists(binary):
        os.makedirs(src, exist_ok=True)
        archive = subprocess.run(["git", "-C", ROOT, "archive", sha], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
        subprocess.run(["cmake", "-S", src, "-B", os.path.join(src, "build", "release"), "-G",
                        "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", os.path.join(src, "build", "release"), "--target",
                        "memcoro"], check=True, stdout=subprocess.DEVNULL)
    return binary

"""Seed inputs for text_fuzz from the conformance cases (every command and
error memcoro is compared with memcached on), each fed whole and in small
chunks. With a driver binary, runs it over them (the ctest entry); with
--out DIR only writes them (scripts/fuzz.sh's starting corpus).

  seeds.py --out DIR
  seeds.py --run BINARY

test/fuzz/regressions holds inputs that fuzzing found to break something;
they are replayed with the seeds.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import test_conformance  # noqa: E402

CHUNKS = (255, 0, 6)  # first byte: chunks of 256, 1 and 7 bytes


# Hostile inputs beyond the conformance cases (whose binary-protocol
# requests are seeds too): what a browser sends to the cache port, binary
# requests the cases do not make (a large value received in place, lengths
# that do not add up, text after binary), and multi-gets long enough to be
# answered in parts.
EXTRA = [
    ("browser_post", b"POST / HTTP/1.1\r\nHost: 127.0.0.1:11211\r\nContent-Type: text/plain\r\n"
     b"Content-Length: 21\r\n\r\nset xp 0 0 5\r\nhello\r\n"),
    ("browser_get", b"GET /favicon.ico HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ("binary_get", bytes([0x80, 0, 0, 1] + [0] * 4 + [0, 0, 0, 1] + [0] * 12) + b"k"),
    ("binary_set", bytes([0x80, 1, 0, 1, 8, 0, 0, 0, 0, 0, 0, 10] + [0] * 12) +
     b"\xde\xad\xbe\xef\x00\x00\x0e\x10kv"),
    ("binary_then_text", bytes([0x80, 0x0a] + [0] * 22) + b"get a\r\n"),
    ("binary_large_in_place", test_conformance.req(0x11, b"big", bytes(8), b"b" * 20000) +
     test_conformance.req(0x00, b"big") + test_conformance.req(0x0a)),
    ("binary_lengths", test_conformance.req(0x01, b"k", bytes(8), b"v", bodylen=0xfffffff0)),
    ("binary_quiet_pipeline", b"".join(test_conformance.req(op, b"k%d" % i, bytes(8), b"v")
                                       for i, op in enumerate((0x11, 0x12, 0x13))) +
     b"".join(test_conformance.req(0x0d, b"k%d" % i) for i in range(4)) +
     test_conformance.req(0x0a)),
    # Values of 16 KiB and more that have not all arrived are received
    # straight into their item: a good one, a bad chunk end, a refused one.
    ("large_in_place", b"set big 0 0 20000\r\n" + b"b" * 20000 + b"\r\nget big\r\n"
     b"set bad 0 0 20000\r\n" + b"b" * 20000 + b"XXget bad\r\n"
     b"set huge 0 0 70000\r\n" + b"h" * 70000 + b"\r\nget huge\r\n"),
    ("multiget_parts", b"set a 0 0 600\r\n" + b"v" * 600 + b"\r\nget" + b" a" * 40 +
     b" b\r\ngets" + b" a b" * 20 + b"\r\n"),
]


def write_seeds(out):
    os.makedirs(out, exist_ok=True)
    n = 0
    cases = list(EXTRA)
    for c in test_conformance.load_cases():
        # A list runs on several connections: each part is its own input.
        parts = c.request if isinstance(c.request, list) else [c.request]
        for i, part in enumerate(parts):
            cases.append((c.name if len(parts) == 1 else f"{c.name}-{i}", part))
    for name, request in cases:
        for chunk in CHUNKS:
            with open(os.path.join(out, f"{name}-{chunk}"), "wb") as f:
                f.write(bytes([chunk]) + request)
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--run")
    args = ap.parse_args()
    if args.out:
        print(f"{write_seeds(args.out)} seeds in {args.out}")
        return 0
    with tempfile.TemporaryDirectory() as d:
        n = write_seeds(d)
        if n < 300:
            print(f"only {n} seeds", file=sys.stderr)
            return 1
        # Inputs that once broke something stay in the repository.
        return subprocess.run([args.run, d, os.path.join(HERE, "regressions")],
                              timeout=600).returncode


if __name__ == "__main__":
    sys.exit(main())

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


def write_seeds(out):
    os.makedirs(out, exist_ok=True)
    n = 0
    for name, request, _diff in test_conformance.load_cases():
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

"""Reference timer of bench/mail/seal.sh: runs one command line (via /bin/sh, so a pipe of two
tools works) once per message, the message's bytes on stdin, until at least 20 messages and
5 seconds, and prints one Markdown row in seal.cpp's format: messages, msgs/s, p50 and p99 of
one run (process start included), size of the output.
Usage: reftime.py LABEL INPUT_FILE 'COMMAND'. Benchmark tool; asserts nothing.
"""

import subprocess
import sys
import time


def main():
    label, path, command = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(path, "rb") as f:
        data = f.read()
    times, out_bytes, start = [], 0, time.monotonic()
    while len(times) < 20 or time.monotonic() - start < 5.0:
        t0 = time.monotonic()
        r = subprocess.run(["/bin/sh", "-c", command], input=data, capture_output=True)
        t1 = time.monotonic()
        if r.returncode != 0:
            sys.exit(f"reftime: {label}: exit {r.returncode}: {r.stderr.decode()[-300:]}")
        times.append((t1 - t0) * 1000.0)
        out_bytes = len(r.stdout)
    seconds = time.monotonic() - start
    times.sort()
    pct = lambda p: times[min(len(times) - 1, int(p * len(times)))]
    print(f"| {label:<31} | {len(data):8d} | {len(times):6d} | {len(times) / seconds:9.1f} "
          f"| {pct(0.50):8.2f} | {pct(0.99):8.2f} | {out_bytes:9d} |")


if __name__ == "__main__":
    main()

"""Feeds Postfix the benchmark's messages over SMTP (bench/mail/run.sh): --connections
sessions in parallel, each sending its share of --count messages on one connection (no TLS:
loopback, Postfix's own smtpd on 127.0.0.x). Each message has the shape of what
bench/mail/enqueue.cpp has sealpost build (mail::mime::build_message): From, To, a Subject
"bench <label> <enqueue time, ns since the epoch>", Date, Message-ID, MIME-Version,
Content-Type text/plain; charset=utf-8, 7bit, and the same text body. Postfix's
opendkim milter signs it on the way in, as sealpost signs at enqueue.

Prints one line: "INJECTED n=<N> seconds=<wall> cpu_seconds=<this process's CPU>".
Standard library only. Benchmark tool: it sends only to the address it is given.
"""

import argparse
import email.utils
import os
import smtplib
import threading
import time

LINE = "The quick brown fox jumps over the lazy dog; 0123456789 pack my box with fiv"


def body_text(n, size):
    """The same text as enqueue.cpp's body_text, with CRLF line ends."""
    lines = [f"Benchmark message {n}."]
    used = len(lines[0]) + 1
    while used + len(LINE) + 1 <= size:
        lines.append(LINE)
        used += len(LINE) + 1
    return "\r\n".join(lines) + "\r\n"


def message(n, args):
    headers = [
        f"From: {args.sender}",
        f"To: {args.to}",
        f"Subject: bench {args.label} {time.time_ns()}",
        f"Date: {email.utils.formatdate(usegmt=True)}",
        f"Message-ID: <{os.urandom(16).hex()}@{args.sender.split('@')[1]}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 7bit",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + body_text(n, args.body_bytes)).encode()


def worker(first, count, args, errors):
    try:
        with smtplib.SMTP(args.host, args.port, local_hostname="bench.invalid", timeout=120) as s:
            for n in range(first, first + count):
                s.sendmail(args.sender, [args.to], message(n, args))
    except Exception as e:  # noqa: BLE001 - reported, and the script stops
        errors.append(repr(e))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--sender", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--label", required=True)
    p.add_argument("--body-bytes", type=int, default=5000)
    p.add_argument("--connections", type=int, default=4)
    args = p.parse_args()

    start = time.monotonic()
    cpu0 = time.process_time()
    errors = []
    threads = []
    share, extra = divmod(args.count, args.connections)
    first = 0
    for i in range(args.connections):
        n = share + (1 if i < extra else 0)
        t = threading.Thread(target=worker, args=(first, n, args, errors))
        first += n
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("inject.py: " + errors[0])
    print(f"INJECTED n={args.count} seconds={time.monotonic() - start:.3f} "
          f"cpu_seconds={time.process_time() - cpu0:.3f}", flush=True)


if __name__ == "__main__":
    main()

"""Load generator of bench/submission/run.sh: --connections SMTP submission sessions in
parallel (STARTTLS, then AUTH PLAIN when --user is given), each sending its share of --count
messages on its connection, each message answered 250 before the next (what a mail client
does). Prints one line: "SUBMITTED n=<accepted> refused=<n> seconds=<wall> p50=<ms> p99=<ms>",
the percentiles of one message's time from MAIL FROM to the 250 after its data.
Standard library only. Benchmark tool: it connects only to the address it is given.
"""

import argparse
import email.utils
import os
import smtplib
import ssl
import threading
import time

LINE = "The quick brown fox jumps over the lazy dog; 0123456789 pack my box with fiv"


def body(n, size):
    lines = [f"Benchmark message {n}."]
    used = len(lines[0]) + 1
    while used + len(LINE) + 1 <= size:
        lines.append(LINE)
        used += len(LINE) + 1
    return "\r\n".join(lines) + "\r\n"


def message(n, args):
    return "\r\n".join([
        f"From: {args.sender}", f"To: {args.to}", f"Subject: bench submission {n}",
        f"Date: {email.utils.formatdate(usegmt=True)}",
        f"Message-ID: <{os.urandom(16).hex()}@{args.sender.split('@')[1]}>",
        "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 7bit", "", body(n, args.body_bytes)])


def session(share, first, args, counts, lock, times):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the servers' certificates are self-signed here
    accepted = refused = 0
    mine = []
    with smtplib.SMTP(args.host, args.port, timeout=120) as s:
        s.ehlo("bench.example")
        s.starttls(context=ctx)
        s.ehlo("bench.example")
        if args.user:
            s.login(args.user, args.password)
        for n in range(first, first + share):
            text = message(n, args)
            try:
                t0 = time.monotonic()
                s.sendmail(args.sender, [args.to], text)
                mine.append((time.monotonic() - t0) * 1000.0)
                accepted += 1
            except smtplib.SMTPException:
                refused += 1
                s.rset()
    with lock:
        counts[0] += accepted
        counts[1] += refused
        times.extend(mine)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--body-bytes", type=int, default=5000)
    p.add_argument("--sender", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    args = p.parse_args()
    counts, lock, threads, times = [0, 0], threading.Lock(), [], []
    share = args.count // args.connections
    t0 = time.monotonic()
    for i in range(args.connections):
        t = threading.Thread(target=session, args=(share, i * share, args, counts, lock, times))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    seconds = time.monotonic() - t0
    times.sort()
    pct = lambda p: times[min(len(times) - 1, int(p * len(times)))] if times else 0.0
    print(f"SUBMITTED n={counts[0]} refused={counts[1]} seconds={seconds:.3f} "
          f"p50={pct(0.50):.2f} p99={pct(0.99):.2f}")


if __name__ == "__main__":
    main()

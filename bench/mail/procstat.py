"""Memory and CPU of a process tree over a benchmark window (bench/mail/run.sh).

  procstat.py --root PID [--root PID ...] [--interval 0.2]

Every --interval seconds it finds the roots and all their descendants and adds up their
VmRSS and their Pss (/proc/PID/smaps_rollup: shared pages divided among the processes that
map them), keeping the highest sums; it also keeps each process's own VmHWM (its peak).
On SIGTERM or SIGINT it prints one line:

  PROCSTAT peak_rss_kib=.. peak_pss_kib=.. hwm_sum_kib=.. hwm_max_kib=.. processes=.. \
    max_alive=.. cpu_seconds=..

peak_rss_kib and peak_pss_kib are the highest sampled sums (a peak between two samples is
missed); hwm_sum_kib adds the VmHWM of every process seen, which overstates a tree whose
processes did not all peak at once (an upper bound); hwm_max_kib is the largest single one.
cpu_seconds: user + system time of the tree between start and stop, counting what exited in
between (a reaped child's time is in its parent's cutime/cstime).
"""

import argparse
import os
import signal
import time

TICKS = os.sysconf("SC_CLK_TCK")


def stat_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is state (field 3): ppid is field 4, utime..cstime fields 14..17.
    return int(fields[1]), sum(int(x) for x in fields[11:15])


def tree(roots):
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parent[int(name)] = stat_of(int(name))[0]
            except (OSError, ValueError):
                pass
    children = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [r for r in roots if r in parent]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def status_kib(pid, keys):
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k = line.split(":", 1)[0]
            if k in keys:
                found[k] = int(line.split()[1])
    return found


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(roots):
    total = 0
    for pid in tree(roots):
        try:
            total += stat_of(pid)[1]
        except (OSError, ValueError):
            pass
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", type=int, action="append", required=True)
    p.add_argument("--interval", type=float, default=0.2)
    args = p.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    cpu0 = cpu_ticks(args.root)
    peak_rss = peak_pss = max_alive = 0
    hwm = {}
    while not stop:
        rss = pss = alive = 0
        for pid in tree(args.root):
            try:
                s = status_kib(pid, ("VmRSS", "VmHWM"))
            except OSError:
                continue
            if "VmRSS" not in s:
                continue  # a zombie
            alive += 1
            rss += s["VmRSS"]
            pss += pss_kib(pid)
            hwm[pid] = max(hwm.get(pid, 0), s.get("VmHWM", 0))
        peak_rss, peak_pss, max_alive = max(peak_rss, rss), max(peak_pss, pss), max(max_alive, alive)
        time.sleep(args.interval)
    cpu = (cpu_ticks(args.root) - cpu0) / TICKS
    print(f"PROCSTAT peak_rss_kib={peak_rss} peak_pss_kib={peak_pss} "
          f"hwm_sum_kib={sum(hwm.values())} hwm_max_kib={max(hwm.values(), default=0)} "
          f"processes={len(hwm)} max_alive={max_alive} cpu_seconds={cpu:.2f}", flush=True)


if __name__ == "__main__":
    main()

"""The staff portal's benchmark (driven by bench/portal/run.sh; read that file's top first).

For each count N (cumulative: the form is filled up to each count in turn):
  1. fill the intake form to exactly N submissions through the public form, with
     sealpost_loadgen --total (every one validated, signed, encrypted to the staff key and
     durably stored by the real server);
  2. server: wrk against GET .../submissions?limit=100 and GET .../export?limit=500 with a
     signed-in staff session (cookie + X-CSRF-Token), at several connection counts, and the
     same against nginx serving a static copy of each answer (same bytes, same TLS);
  3. browser: browser_export.mjs signs in through the real sign-in page, unlocks the key and
     runs the app's CSV export of the whole form, timed from the click to the finished
     download, with Chromium's memory sampled throughout. It fails unless the file has
     exactly N rows with N distinct references.

Figures are printed as markdown tables, never asserted; the only failures are a wrong
count (the run measured something else than it says) or a step that did not work.
Trust: everything here talks to servers this script started on 127.0.0.1.
"""

import argparse
import grp
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

from harness import Sealpost, free_port, generous_rate_limits  # noqa: E402
from portal import PASSPHRASE, PASSWORD, Portal, StaffKey, add_user  # noqa: E402

STAFF_EMAIL = "staff@example.org"
ADMIN_EMAIL = "admin@example.org"
ENDPOINTS = [  # (label, path): the two answers the portal serves in bulk
    ("submissions?limit=100", "/portal/api/forms/intake/submissions?limit=100"),
    ("export?limit=500", "/portal/api/forms/intake/export?limit=500"),
]


def say(text):
    print(f"== {text}", file=sys.stderr, flush=True)


class BenchFailure(Exception):
    pass


def fail(text):
    raise BenchFailure(text)


# -- process figures ---------------------------------------------------------------------------

def tree(pid):
    """pid and its children (nginx's workers)."""
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True,
                         text=True).stdout.split()
    return [pid] + [int(p) for p in out]


def cpu_ticks(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total


def reset_peak_rss(pid):
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def peak_rss_kib(pid):
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                m = re.search(r"^VmHWM:\s+(\d+)", f.read(), re.M)
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


class Neighbours:
    """What else used the CPU while we measured: every 5 s, the CPU time of each process
    that is not this script or one of its descendants, summed by command name. The cores
    are shared, so the figures mean little without this."""

    def __init__(self, period=5.0):
        self.period = period
        self.by_comm = {}
        self.seconds = 0.0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    @staticmethod
    def snapshot():
        procs = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    text = f.read()
            except OSError:
                continue
            comm = text[text.index("(") + 1:text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            procs[int(name)] = (int(fields[1]), comm, int(fields[11]) + int(fields[12]))
        return procs

    def ours(self, procs):
        mine = {os.getpid()}
        changed = True
        while changed:
            changed = False
            for pid, (ppid, _, _) in procs.items():
                if ppid in mine and pid not in mine:
                    mine.add(pid)
                    changed = True
        return mine

    def run(self):
        hz = os.sysconf("SC_CLK_TCK")
        before, t0 = self.snapshot(), time.time()
        while not self.stop_event.wait(self.period):
            now, t1 = self.snapshot(), time.time()
            mine = self.ours(now)
            for pid, (_, comm, ticks) in now.items():
                if pid in mine or pid not in before:
                    continue
                used = (ticks - before[pid][2]) / hz
                if used > 0:
                    self.by_comm[comm] = self.by_comm.get(comm, 0.0) + used
            self.seconds += t1 - t0
            before, t0 = now, t1

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        self.thread.join()

    def summary(self):
        if self.seconds <= 0:
            return "not sampled"
        top = sorted(self.by_comm.items(), key=lambda kv: -kv[1])[:6]
        total = sum(self.by_comm.values())
        parts = [f"{comm} {100 * used / self.seconds:.0f} %" for comm, used in top
                 if 100 * used / self.seconds >= 1]
        return (f"{100 * total / self.seconds:.0f} % of one core on average over "
                f"{self.seconds:.0f} s ({', '.join(parts) or 'nothing notable'})")


# -- nginx, with sealpost's TLS settings (http/tls_context.hpp), as bench/run.sh ------------------

NGINX_CONF = """# Generated by bench/portal/bench.py: static copies of two portal API answers.
worker_processes {cores};   # sealpost runs one event-loop thread per core
{user}
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  default_type application/json;
  server_tokens off;
  keepalive_requests 1000;        # sealpost: max_requests_per_connection
  keepalive_timeout 30s;          # sealpost: request_timeout_seconds
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {data}/tls/cert.pem;
    ssl_certificate_key {data}/tls/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
    ssl_prefer_server_ciphers on;
    ssl_session_tickets off;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    root {www};
{headers}
    location = /portal/api/forms/intake/submissions {{ try_files /submissions.json =404; }}
    location = /portal/api/forms/intake/export {{ try_files /export.json =404; }}
  }}
}}
"""

# Headers that are per response or that nginx sets itself; the rest (security headers) are
# copied so that both servers send about the same header bytes.
SKIP_HEADERS = {"date", "content-length", "content-type", "connection", "keep-alive", "server",
                "set-cookie", "transfer-encoding"}


class Nginx:
    def __init__(self, binary, root, data, headers):
        self.dir = os.path.join(root, "nginx")
        self.www = os.path.join(self.dir, "www")
        os.makedirs(self.www)
        self.port = free_port()
        lines = []
        for name, value in headers:
            if name.lower() in SKIP_HEADERS:
                continue
            lines.append(f'    add_header {name} "{value.replace(chr(34), chr(92) + chr(34))}" always;')
        # As root, nginx would switch its workers to "nobody", who cannot read our files.
        user = ""
        if os.geteuid() == 0:
            user = (f"user {pwd.getpwuid(os.geteuid()).pw_name} "
                    f"{grp.getgrgid(os.getegid()).gr_name};")
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(cores=os.cpu_count(), user=user, dir=self.dir, port=self.port,
                                      data=data, www=self.www, headers="\n".join(lines)))
        self.binary = binary
        self.proc = None

    def write(self, name, body):
        with open(os.path.join(self.www, name), "wb") as f:
            f.write(body)

    def start(self):
        conf = os.path.join(self.dir, "nginx.conf")
        test = subprocess.run([self.binary, "-p", self.dir, "-c", conf, "-t", "-q"],
                              capture_output=True, text=True)
        if test.returncode != 0:
            fail(f"nginx refused the configuration: {test.stderr.strip()}")
        self.err = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen([self.binary, "-p", self.dir, "-c", conf], stderr=self.err)
        deadline = time.time() + 10
        while time.time() < deadline:
            if subprocess.run(["curl", "-sk", "-o", "/dev/null", f"https://127.0.0.1:{self.port}/"]
                              ).returncode == 0:
                return
            if self.proc.poll() is not None:
                fail("nginx exited")
            time.sleep(0.1)
        fail("nginx did not answer")

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()
        self.proc = None


# -- wrk -------------------------------------------------------------------------------------

def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        fail(f"wrk printed a latency I cannot read: {text}")
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url, connections, seconds, headers):
    args = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
            "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    proc = subprocess.run(args + [url], capture_output=True, text=True)
    out = proc.stdout
    if proc.returncode != 0 or "Requests/sec" not in out:
        fail(f"wrk failed: {proc.stderr.strip()} {out.strip()}")
    result = {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99_ms": ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "non_2xx": 0,
        "socket_errors": "",
    }
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        result["non_2xx"] = int(m.group(1))
    m = re.search(r"Socket errors:\s+(.*)", out)
    if m:
        result["socket_errors"] = m.group(1).strip()
    return result, out


def measure(name, pid, url, connections, seconds, headers):
    """One wrk run against one server; the server's CPU share and peak RSS alongside."""
    reset_peak_rss(pid)
    hz = os.sysconf("SC_CLK_TCK")
    cpu0, t0 = cpu_ticks(pid), time.time()
    result, out = wrk(url, connections, seconds, headers)
    cpu1, t1 = cpu_ticks(pid), time.time()
    result["cpu_pct"] = 100.0 * (cpu1 - cpu0) / hz / (t1 - t0)
    result["peak_rss_mib"] = peak_rss_kib(pid) / 1024
    say(f"   {name:8s} c={connections:<3d} {result['rps']:9.1f} req/s  p50 {result['p50_ms']:.2f} ms"
        f"  p99 {result['p99_ms']:.2f} ms  cpu {result['cpu_pct']:.0f}%"
        + (f"  NON-2xx {result['non_2xx']}" if result["non_2xx"] else "")
        + (f"  socket errors: {result['socket_errors']}" if result["socket_errors"] else ""))
    if result["non_2xx"] or result["requests"] == 0:
        fail(f"{name}: {result['non_2xx']} of {result['requests']} answers were not 2xx:\n{out}")
    return result


# -- the run ---------------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--counts", default="10000,100000")
    p.add_argument("--connections", default="1,4,16,64", help="wrk connection counts")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured wrk first")
    p.add_argument("--fill-connections", type=int, default=16)
    p.add_argument("--skip-server", action="store_true", help="browser part only")
    p.add_argument("--skip-browser", action="store_true", help="server part only")
    p.add_argument("--loadgen", required=True)
    p.add_argument("--nginx", default="/usr/sbin/nginx")
    p.add_argument("--tmpdir", default=os.environ.get("BENCH_TMPDIR", "/tmp"))
    p.add_argument("--json", help="also write every figure, raw, to this file")
    return p.parse_args()


def fill(sp, loadgen, target, connections):
    have = sp.submission_count() or 0
    if have > target:
        fail(f"the form already holds {have} submissions, more than {target}")
    if have == target:
        return None
    say(f"storing {target - have} submissions (to {target}) through the public form")
    t0 = time.time()
    proc = subprocess.run([loadgen, "--host", "127.0.0.1", "--port", str(sp.https_port),
                           "--path", "/f/intake", "--name", "fill", "--keep-alive",
                           "--connections", str(connections), "--total", str(target - have)],
                          capture_output=True, text=True)
    seconds = time.time() - t0
    for line in proc.stdout.splitlines():
        if not line.startswith("RESULT"):
            say("   " + line)
    stored = sp.submission_count()
    if proc.returncode != 0 or stored != target:
        fail(f"the form holds {stored} submissions, not {target} (loadgen: {proc.stderr.strip()})")
    return {"count": target - have, "seconds": seconds, "rate": (target - have) / seconds}


def staff_session(sp, secret, used):
    staff = Portal(sp)
    staff.sign_in(STAFF_EMAIL, secret, used)
    return staff


def server_part(args, sp, staff, nginx_holder, count):
    headers = {"Cookie": f"__Host-sealpost-session={staff.cookie}", "X-CSRF-Token": staff.csrf,
               "Accept": "application/json"}
    bodies = {}
    for label, path in ENDPOINTS:
        status, h, body = sp.request("GET", path, headers=headers)
        if status != 200:
            fail(f"GET {path}: {status} {body[:200]!r}")
        items = json.loads(body)["items"]
        want = int(path.rsplit("=", 1)[1])
        if len(items) != min(want, count):
            fail(f"GET {path}: {len(items)} items, expected {min(want, count)}")
        bodies[label] = (body, h)
    if nginx_holder[0] is None:
        # sealpost's headers on the listing answer, minus the per-response ones.
        nginx_holder[0] = Nginx(args.nginx, sp.root, sp.data,
                                list(bodies[ENDPOINTS[0][0]][1].items()))
    nginx = nginx_holder[0]
    for (label, _), name in zip(ENDPOINTS, ("submissions.json", "export.json")):
        nginx.write(name, bodies[label][0])  # what sealpost answered, byte for byte
    if nginx.proc is None:
        nginx.start()

    rows = []
    for label, path in ENDPOINTS:
        size = len(bodies[label][0])
        for conns in [int(c) for c in args.connections.split(",")]:
            say(f"wrk {label} ({size} bytes), {conns} connections, {args.duration} s each")
            row = {"count": count, "endpoint": label, "bytes": size, "connections": conns}
            for name, pid, port in (("sealpost", sp.proc.pid, sp.https_port),
                                    ("nginx", nginx.proc.pid, nginx.port)):
                url = f"https://127.0.0.1:{port}{path}"
                if args.warmup:
                    wrk(url, conns, args.warmup, headers)
                row[name] = measure(name, pid, url, conns, args.duration, headers)
            rows.append(row)
    return rows


def browser_part(args, sp, secret, used, count):
    say(f"browser: sign in, unlock, export {count} submissions as CSV")
    env = dict(os.environ,
               SEALPOST_ORIGIN=f"https://localhost:{sp.https_port}",
               BENCH_EMAIL=STAFF_EMAIL, BENCH_PASSWORD=PASSWORD, BENCH_PASSPHRASE=PASSPHRASE,
               BENCH_TOTP_SECRET=secret, BENCH_TOTP_AFTER_STEP=str(max(used)),
               BENCH_EXPECTED_ROWS=str(count), BENCH_SERVER_PID=str(sp.proc.pid),
               BENCH_CLK_TCK=str(os.sysconf("SC_CLK_TCK")), TMPDIR=sp.root)
    load = loadavg()
    proc = subprocess.run(["node", os.path.join(HERE, "browser_export.mjs")], env=env,
                          capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        else:
            say("   " + line)
    if result and "totp_step" in result:
        used.add(result["totp_step"])
    if proc.returncode != 0 or result is None or not result.get("ok"):
        fail(f"the browser export failed: {result and result.get('error')}")
    result["load_before"] = load
    return result


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def mib(kib_or_bytes, unit=1024 * 1024):
    return kib_or_bytes / unit


def report(args, fills, server_rows, browser_rows, load_before, neighbours):
    cores = os.cpu_count()
    print()
    print(f"## Staff portal benchmark ({cores} cores, load average before: {load_before})")
    print()
    if fills:
        print("Filling the form (sealpost_loadgen --total, keep-alive, "
              f"{args.fill_connections} connections; GET form + POST + GET thanks each):")
        print()
        for f in fills:
            print(f"- to {f['target']}: {f['count']} submissions in {f['seconds']:.1f} s = "
                  f"{f['rate']:.0f} submissions/s")
        print()
    if browser_rows:
        print("### Browser: decrypt and export as CSV (Chromium "
              f"{browser_rows[0].get('browser_version', '?')}, headless)")
        print()
        print("| submissions | click → file s | subs/s | CSV MiB | rows | tab RSS at click → peak MiB "
              "| page JS heap peak MiB | worker JS heap peak MiB | browser process peak RSS MiB "
              "| worker thread CPU | page thread CPU | sealpost CPU | load avg |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for b in browser_rows:
            print(f"| {b['expected']} | {b['seconds']:.1f} | **{b['subs_per_s']:.0f}** | "
                  f"{mib(b['file_bytes']):.1f} | {b['rows']} | "
                  f"{mib(b['renderer_at_click_kib'], 1024):.0f} → **{mib(b['renderer_hwm_kib'], 1024):.0f}** | "
                  f"{mib(b['page_heap_peak']):.1f} | {mib(b['worker_heap_peak']):.1f} | "
                  f"{mib(b['browser_hwm_kib'], 1024):.0f} | {b['worker_thread_cpu_pct']:.0f} % | "
                  f"{b['page_thread_cpu_pct']:.0f} % | {b['server_cpu_pct']:.0f} % | {b['load_before']} |")
        print()
        print("Tab RSS: the renderer process of the portal tab (VmHWM, includes shared pages); "
              "JS heaps: CDP JSHeapUsedSize (page) and Runtime.getHeapUsage (worker), sampled every "
              f"{browser_rows[0]['sample_ms']} ms; CPU: % of one core over the export.")
        for b in browser_rows:
            print(f"The tab's RSS (MiB) at each tenth of the {b['expected']} export: "
                  f"{' '.join(str(v) for v in b['renderer_rss_trajectory_mib'])}.")
        print()
    if server_rows:
        print(f"### Server: ciphertext listing, wrk {args.duration} s per run, keep-alive, "
              "signed-in staff session")
        print()
        print("| N stored | endpoint | body KiB | conns | sealpost req/s | p50 ms | p99 ms "
              "| sealpost CPU | sealpost peak RSS MiB | nginx req/s | p50 ms | p99 ms "
              "| ratio req/s | p50 × | p99 × |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in server_rows:
            s, n = r["sealpost"], r["nginx"]
            print(f"| {r['count']} | `{r['endpoint']}` | {r['bytes'] / 1024:.1f} | {r['connections']} | "
                  f"{s['rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['cpu_pct']:.0f} % | "
                  f"{s['peak_rss_mib']:.0f} | "
                  f"{n['rps']:.0f} | {n['p50_ms']:.2f} | {n['p99_ms']:.2f} | "
                  f"**{s['rps'] / n['rps']:.2f}** | {s['p50_ms'] / n['p50_ms']:.1f} | "
                  f"{s['p99_ms'] / n['p99_ms']:.1f} |")
        print()
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"other processes on the machine during the run: {neighbours.summary()}")


def main():
    # A TERM (or Ctrl-C) still stops everything this script started: see `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    if counts != sorted(counts) or counts[0] < 1:
        fail("--counts must be increasing")
    load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    root = tempfile.mkdtemp(prefix="sealpost-portal-bench.", dir=args.tmpdir)
    sp = None
    keys = []
    nginx_holder = [None]
    fills, server_rows, browser_rows = [], [], []
    neighbours = Neighbours()
    neighbours.start()
    try:
        say(f"data directory in {root}")
        sp = Sealpost(root=root)
        generous_rate_limits(sp)
        sp.start()
        say(f"sealpost (pid {sp.proc.pid}) on 127.0.0.1:{sp.https_port}")

        admin_key = StaffKey(root, ADMIN_EMAIL)
        staff_key = StaffKey(root, STAFF_EMAIL)
        keys += [admin_key, staff_key]
        admin = Portal(sp)
        admin.enrol(add_user(sp, ADMIN_EMAIL, "admin"), admin_key)
        used = set()  # the staff member's spent TOTP steps
        secret, _ = Portal(sp).enrol(add_user(sp, STAFF_EMAIL, "staff"), staff_key,
                                     used_steps=used)
        status, users, _ = admin.call("GET", "/portal/api/users")
        staff_id = next(u["id"] for u in users if u["email"] == STAFF_EMAIL)
        status, body, _ = admin.call("POST", f"/portal/api/users/{staff_id}/grants",
                                     {"form_id": "intake"})
        if status != 200:
            fail(f"grant: {status} {body}")
        say(f"staff granted intake (form version {body['form_version']})")
        time.sleep(2.5)  # the server picks up a new form version within 2 s

        for count in counts:
            f = fill(sp, args.loadgen, count, args.fill_connections)
            if f:
                f["target"] = count
                fills.append(f)
            if not args.skip_server:
                staff = staff_session(sp, secret, used)
                server_rows += server_part(args, sp, staff, nginx_holder, count)
            if not args.skip_browser:
                b = browser_part(args, sp, secret, used, count)
                browser_rows.append(b)
                say(f"   {count} submissions: {b['seconds']:.1f} s, {b['subs_per_s']:.0f} subs/s, "
                    f"renderer peak {b['renderer_hwm_kib'] / 1024:.0f} MiB")
        neighbours.stop()
        report(args, fills, server_rows, browser_rows, load_before, neighbours)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"fills": fills, "server": server_rows, "browser": browser_rows}, f,
                          indent=1)
    except BenchFailure as e:
        print(f"bench/portal: FAILED: {e}", file=sys.stderr)
        if sp is not None and sp.proc is not None:
            print("--- tail of the server's log", file=sys.stderr)
            print("\n".join(sp.log().splitlines()[-20:]), file=sys.stderr)
        return 1
    finally:
        neighbours.stop()
        if nginx_holder[0] is not None:
            nginx_holder[0].stop()
        for k in keys:
            k.close()
        if sp is not None:
            sp.close()  # stops the server, removes the directory
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Helpers shared by the outbound-mail integration tests (test_mail_*.py)."""

import base64
import email
import email.policy
import json
import os
import re
import shutil
import socket
import subprocess
import time
import unittest

from harness import REPO, set_config_value

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's: the one python3-aiosmtpd and python3-dkim serve
SMTP_SINK = os.path.join(REPO, "tests", "support", "smtp_sink.py")
HTTPS_SERVER = os.path.join(REPO, "tests", "support", "mta_sts_server.py")


def require(condition, what):
    """A tool the test needs: in CI (CI=true) its absence fails the test (the install script
    should have installed it); elsewhere it skips."""
    if not condition:
        if os.environ.get("CI") == "true":
            raise AssertionError(what + " is missing (scripts/install-deps.sh installs it)")
        raise unittest.SkipTest(what + " is missing")


def free_port_on(hosts):
    """A TCP port free on every one of `hosts` (the sinks share sealpost's remote_port)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        ok = True
        for h in hosts[1:]:
            with socket.socket() as t:
                try:
                    t.bind((h, port))
                except OSError:
                    ok = False
        if ok:
            return port
    raise AssertionError("no common free port")


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Process:
    """A helper server started with Debian's python3; it prints "PORT <n>" when ready
    (`self.port`)."""

    def __init__(self, args, what):
        self.proc = subprocess.Popen([SYSTEM_PYTHON] + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{what} did not start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class Sink(Process):
    """An SMTP receiver (tests/support/smtp_sink.py: aiosmtpd) on host:port; `args` are its
    options (--cert/--key, --rcpt-reply, --sleep, ...). Every event is a line in its record."""

    def __init__(self, root, name, host, port, *args):
        self.record = os.path.join(root, f"sink-{name}.jsonl")
        super().__init__([SMTP_SINK, "--record", self.record, "--host", host, "--port",
                          str(port), "--pipelining", "--enhanced"] + list(args), f"sink {name}")

    def events(self, kind):
        return [e for e in read_jsonl(self.record) if e["event"] == kind]


class HttpsServer(Process):
    """MTA-STS policies from `policies` (GET) and TLS reports (POST) over HTTPS
    (tests/support/mta_sts_server.py) with `cert` = (cert, key, chain) from testca."""

    def __init__(self, root, name, host, port, cert, policies):
        self.record = os.path.join(root, f"https-{name}.jsonl")
        super().__init__([HTTPS_SERVER, "--host", host, "--port", str(port), "--cert", cert[2],
                          "--key", cert[1], "--policies", policies, "--record", self.record],
                         f"https server {name}")

    def requests(self, host=None):
        return [r for r in read_jsonl(self.record) if host is None or r["host"] == host]


# -- the secure-message portal (test_mail_portal.py, test_submitter_copy.py) ----------------

DNS_SH = os.path.join(REPO, "tests", "support", "dns.sh")
# A portal notice's link: origin, /s/<copy id>#<key>.
LINK_RE = re.compile(r"(https://\S+)/s/([A-Za-z0-9_-]{43})#([A-Za-z0-9_-]{43})")


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def require_mail_peers():
    """Debian's interpreter with aiosmtpd and dkim, and NSD: what a test with a DNS zone and
    SMTP receivers needs (a failure in CI, a skip elsewhere: require())."""
    require(os.path.exists(SYSTEM_PYTHON), "Debian's /usr/bin/python3")
    require(subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd, dkim"],
                           capture_output=True).returncode == 0,
            "python3-aiosmtpd / python3-dkim")
    require(shutil.which("nsd") or os.path.exists("/usr/sbin/nsd"), "nsd")


def dkim_records(dkim_out):
    """The TXT records `sealpost dkim init` printed, by name (without the final dot)."""
    return {name: "".join(re.findall(r'"([^"]*)"', strings))
            for name, strings in re.findall(r"^(\S+)\. IN TXT (.+)$", dkim_out, re.M)}


_DKIM_VERIFY = ("import dkim, sys, json\n"
                "records = json.loads(sys.argv[1])\n"
                "msg = sys.stdin.buffer.read()\n"
                "def dns(name, timeout=5):\n"
                "    return records.get(name.decode().rstrip('.'), '').encode()\n"
                "d = dkim.DKIM(msg)\n"
                "print(json.dumps([d.verify(idx=i, dnsfunc=dns) for i in range(2)]))\n")


def dkim_verdicts(message, records):
    """Whether each of the message's two DKIM signatures verifies, by Debian's python3-dkim
    with `records` as DNS: [bool, bool]."""
    out = subprocess.run([SYSTEM_PYTHON, "-c", _DKIM_VERIFY, json.dumps(records)],
                         input=message, capture_output=True, check=True).stdout
    return json.loads(out)


def start_mail_zone(root, dns_dir, data, zone, records, dkim_out, settings):
    """Starts NSD (tests/support/dns.sh) in `dns_dir` serving the signed test zone plus
    `records` (zone-file lines) and the DKIM TXT records `sealpost dkim init` printed
    (`dkim_out`), then points [mail] of the data directory `data` at it: resolver, trust
    anchor, and `settings` (pairs) on top."""
    extra = os.path.join(root, "extra.zone")
    with open(extra, "w") as f:
        f.write(records)
        f.write("\n".join(re.findall(r"^\S+\. IN TXT .+$", dkim_out, re.M)) + "\n")
    with open(os.path.join(root, "dns.log"), "w") as log:
        subprocess.run([DNS_SH, "start", dns_dir, extra], check=True, stdout=log,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    with open(os.path.join(dns_dir, "resolver")) as f:
        resolver = f.read().strip()
    for key, value in [("resolver", resolver),
                       ("trust_anchor_file", os.path.join(dns_dir, "trust-anchor")),
                       *settings]:
        set_config_value(data, "mail", key, value)


def stop_mail_zone(dns_dir):
    if os.path.exists(os.path.join(dns_dir, "ready")):
        subprocess.run([DNS_SH, "stop", dns_dir], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


# A recipient account's password (the staff policy: 12 characters or more).
RECIPIENT_PASSWORD = "correct horse battery staple 9"


class PortalReader:
    """What a recipient of the secure-message portal does, for a unittest.TestCase with
    `sink` (a Sink), `seen` (a set), `sp` (a running Sealpost), `origin` (its public
    origin) and `marker` (text that must never be in a notice). Each test posts from a
    loopback address of its own (127.0.1.N), as a recipient's browser would from its own:
    the portal's budget of credential checks per client address (20 at once, then 30 a
    minute) is per recipient, and the tests of a class together go over it."""

    _addresses = iter(range(1, 255))

    def setUp(self):
        super().setUp()
        self.client_address = f"127.0.1.{next(PortalReader._addresses)}"

    def next_mail(self, to, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for e in self.sink.events("message"):
                key = e["data_b64"]
                if to in e["rcpt_tos"] and key not in self.seen:
                    self.seen.add(key)
                    raw = base64.b64decode(key)
                    return raw, email.message_from_bytes(raw, policy=email.policy.default)
            time.sleep(0.25)
        self.fail(f"no mail for {to}: {self.sp.log()[-3000:]}")

    def notice(self, to):
        """The next portal notice to `to`: (copy id, key, message); PHI-free."""
        raw, msg = self.next_mail(to)
        self.assertNotIn(self.marker.encode(), raw)
        text = msg.get_body(("plain",)).get_content()
        self.assertNotIn(self.marker, text)
        m = LINK_RE.search(text)
        self.assertIsNotNone(m, text)
        self.assertEqual(m.group(1), self.origin)
        return m.group(2), m.group(3), msg

    def post(self, path, body, origin=None):
        conn = self.sp.connection(source=getattr(self, "client_address", None))
        try:
            status, headers, data = self.sp.request(
                "POST", path, body=json.dumps(body),
                headers={"Content-Type": "application/json", "Origin": origin or self.origin},
                conn=conn)
        finally:
            conn.close()
        return status, headers, json.loads(data) if data else None

    def code(self, to):
        _, msg = self.next_mail(to)
        text = msg.get_body(("plain",)).get_content()
        self.assertNotIn("/s/", text)
        self.assertNotIn(self.marker, text)
        return re.search(r"one-time code is: ([0-9]{8})", text).group(1)

    def open_copy(self, copy, code, password=RECIPIENT_PASSWORD, **more):
        """POST /api/s/<copy>/open with the code and the recipient account's password (a
        new account's at the first open of an address)."""
        return self.post(f"/api/s/{copy}/open", {"code": code, "password": password, **more})

    def decrypt(self, answer, key):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        sealed = base64.b64decode(answer["ciphertext"])
        plain = AESGCM(b64url(key)).decrypt(sealed[:12], sealed[12:],
                                            answer["message_id"].encode())
        return json.loads(plain)

    def audit(self):
        return [json.loads(line) for line in
                self.sp.cli("audit", "export", "--data", self.sp.data).stdout.splitlines()]

"""Helpers shared by the outbound-mail integration tests (test_mail_*.py)."""

import json
import os
import socket
import subprocess
import unittest

from harness import REPO

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

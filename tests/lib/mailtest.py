"""Helpers shared by the outbound-mail integration tests (test_mail_*.py)."""

import os
import socket
import unittest

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's: the one python3-aiosmtpd and python3-dkim serve


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

"""The SMTP client session (src/mail/smtp) against Debian's Postfix as the receiver: a
private instance (tests/support/postfix_instance.py) on 127.0.0.1 with the test CA's
certificate, delivering into a Maildir. Proves that a message sent with verified TLS
arrives intact, that Postfix saw the same TLS version and cipher (its Received: header
records them), and that Postfix's own refusals map to the right outcomes.

Postfix's master must be started by root: run as root (CI is). Outside CI, a non-root run
skips; in CI it fails.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

import test_smtp_client as base

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from postfix_instance import PostfixInstance  # noqa: E402


# A complete message (Date and Message-ID present, so Postfix's cleanup adds none) with the
# transparency cases of the aiosmtpd test. Postfix stores LF line ends.
HEADERS = (b"Date: Fri, 04 Dec 2026 08:00:00 +0000\r\n"
           b"Message-ID: <interop.1@client.sealpost.test>\r\n")
MESSAGE = HEADERS + base.MESSAGE
EXPECTED = (HEADERS + base.EXPECTED).replace(b"\r\n", b"\n")


class PostfixInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists("/usr/sbin/postfix"):
            raise RuntimeError("postfix is not installed (scripts/install-deps.sh --with-tests)")
        if os.geteuid() != 0:
            if os.environ.get("CI") == "true":
                raise RuntimeError("the Postfix test must run as root")
            raise unittest.SkipTest("Postfix's master must be started by root")
        if not base.TOOL or not os.path.exists(base.TOOL):
            raise RuntimeError("SMTP_SEND_TOOL not set or missing")
        cls.tmp = tempfile.mkdtemp(prefix="smtp-postfix-")
        os.chmod(cls.tmp, 0o755)  # Postfix's daemons (user postfix, nobody) pass through it
        os.makedirs(os.path.join(cls.tmp, "ca"))
        cls.ca = base.TestCA(os.path.join(cls.tmp, "ca"))
        cls.cert, cls.key, chain = cls.ca.leaf("mx", ["mx.sealpost.test"])
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            cls.port = s.getsockname()[1]
        cls.postfix = PostfixInstance(os.path.join(cls.tmp, "postfix"), cls.port, chain, cls.key)
        try:
            cls.postfix.start()
        except Exception:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.postfix.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        new = os.path.join(self.postfix.maildir, "new")
        if os.path.isdir(new):
            for name in os.listdir(new):
                os.unlink(os.path.join(new, name))
        self.message = os.path.join(self.tmp, "message.eml")
        with open(self.message, "wb") as f:
            f.write(MESSAGE)

    def send(self, level, *extra, to):
        cmd = [base.TOOL, "--ip", "127.0.0.1", "--port", str(self.port), "--mx",
               "mx.sealpost.test", "--ehlo", "client.sealpost.test", "--level", level,
               "--from", "sender@client.sealpost.test", "--message", self.message,
               "--timeout-ms", "20000"] + list(extra)
        for r in to:
            cmd += ["--to", r]
        out = subprocess.run(cmd, capture_output=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr.decode(errors="replace"))
        reports = json.loads(out.stdout)["transactions"]
        self.assertEqual(len(reports), 1)
        return reports[0]

    def check_delivered(self, report, verified, recipients):
        tls = report["tls"]
        self.assertTrue(tls["tls"], tls)
        self.assertEqual(tls["verified"], verified, tls)
        for r in report["recipients"]:
            self.assertEqual((r["outcome"], r["code"], r["enhanced"]), ("delivered", 250, "2.0.0"),
                             r)
            self.assertTrue(r["text"].startswith("Ok: queued as"), r)
        stored = self.postfix.wait_for_messages(len(recipients))
        self.assertEqual(len(stored), len(recipients))
        # After Postfix's own trace headers (Return-Path, Delivered-To, Received), exactly ours.
        expected = EXPECTED
        delivered_to = set()
        for raw in stored:
            self.assertTrue(raw.endswith(expected), raw[-300:])
            # Postfix's Received: header names the TLS of the session it received on.
            unfolded = raw.replace(b"\n\t", b" ").replace(b"\n ", b" ")
            self.assertIn(f"using {tls['version']} with cipher {tls['cipher']}".encode(),
                          unfolded)
            for line in raw.split(b"\n"):
                if line.startswith(b"Delivered-To: "):
                    delivered_to.add(line[len(b"Delivered-To: "):].decode())
        self.assertEqual(delivered_to, set(recipients))

    def test_verified_tls_delivery_arrives_intact(self):
        to = ("alice@sealpost.test", "bob@sealpost.test")
        report = self.send("verify", "--ca-file", self.ca.ca, to=to)
        self.check_delivered(report, "ca", to)
        self.assertEqual(report["tls"]["matched_name"], "mx.sealpost.test")

    def test_dane_ee_delivery(self):
        tlsa = "3 1 1 " + base.spki_sha256(self.cert)
        to = ("carol@sealpost.test",)
        report = self.send("dane", "--tlsa", tlsa, to=to)
        self.check_delivered(report, "dane_ee", to)

    def test_postfix_refusal_is_permanent_for_that_recipient_only(self):
        to = ("dave@sealpost.test", "someone@example.net")
        report = self.send("verify", "--ca-file", self.ca.ca, to=to)
        ok, refused = report["recipients"]
        self.assertEqual(ok["outcome"], "delivered")
        self.assertEqual((refused["outcome"], refused["code"], refused["enhanced"],
                          refused["stage"]), ("permanent", 554, "5.7.1", "rcpt"))
        self.assertIn("Relay access denied", refused["text"])
        stored = self.postfix.wait_for_messages(1)
        self.assertEqual(len(stored), 1)
        self.assertIn(b"Delivered-To: dave@sealpost.test", stored[0])


if __name__ == "__main__":
    unittest.main()

"""A real Postfix relays into sealpost's SMTP submission port (issue 9 point 5): Debian's
Postfix, a private instance (tests/support/postfix_instance.py) with `relayhost` = our
587-style listener, `smtp_tls_security_level = encrypt` and SASL (`smtp_sasl_auth_enable`,
Cyrus's PLAIN/LOGIN client plugins from libsasl2-modules) with an API key as the password.
A message handed to that Postfix (swaks, plain SMTP from 127.0.0.1) is relayed over STARTTLS
+ AUTH and lands in sealpost's queue, audited for the key; a Postfix given a wrong key gets
535 and defers the message (nothing is queued on our side).

Postfix must be started by root (master(8) drops to mail_owner itself).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import Sealpost, free_port, set_config_value
from mailtest import require
from testca import TestCA

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from postfix_instance import PostfixInstance  # noqa: E402

ZONE = "sealpost.example"
SENDER = f"clinic@{ZONE}"
KEY_RE = re.compile(r"^sp_([0-9a-f]{16})_([0-9a-f]{64})$")


class PostfixRelayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require(os.path.exists("/usr/sbin/postfix"), "postfix")
        require(shutil.which("swaks") is not None, "swaks")
        require(os.path.exists("/usr/lib/x86_64-linux-gnu/sasl2/libplain.so") or
                os.path.exists("/usr/lib/sasl2/libplain.so"), "libsasl2-modules")
        require(os.geteuid() == 0, "root (Postfix's master drops privileges itself)")
        cls.root = tempfile.mkdtemp(prefix="sealpost-postfix-relay-")
        os.chmod(cls.root, 0o755)  # Postfix (its own users) works under here
        cls.sp = None
        cls.postfixes = []
        try:
            cls.set_up()
        except BaseException:
            cls.tear_down()
            raise

    @classmethod
    def set_up(cls):
        cls.sp = sp = Sealpost(root=os.path.join(cls.root, "node"))
        sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE, "--selector", "s2026")
        # Nothing is delivered onwards here: the queue is what this test reads.
        for key, value in [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                           ("dkim_selector", "s2026"), ("trust_anchor_file", "")]:
            set_config_value(sp.data, "mail", key, value)
        cls.key = sp.cli("apikey", "add", "--data", sp.data, "--name", "postfix-relay",
                         "--scope", "messages:send").stdout.strip()
        assert KEY_RE.match(cls.key)
        sp.start(extra_args=["--submission-listen", "127.0.0.1:0"])
        cls.ca = TestCA(os.path.join(cls.root, "ca"))

    @classmethod
    def postfix(cls, name, password):
        """A Postfix that relays everything to our submission port with SASL."""
        cert = cls.ca.leaf(name, [f"{name}.sealpost.test"])
        port = free_port()
        pf = PostfixInstance(os.path.join(cls.root, name), port, cert[2], cert[1])
        settings = {
            "relayhost": f"[127.0.0.1]:{cls.sp.submission_port}",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "smtp_tls_security_level": "encrypt",
            "smtp_sasl_auth_enable": "yes",
            "smtp_sasl_password_maps": f"static:postfix-relay:{password}",
            "smtp_sasl_security_options": "noanonymous",
            "smtp_sasl_tls_security_options": "noanonymous",
            "smtp_sasl_mechanism_filter": "plain, login",
            # Our server's certificate is the node's self-signed one: encrypt, not verify.
            "smtp_tls_loglevel": "1",
            "smtp_connect_timeout": "10s",
        }
        subprocess.run(["/usr/sbin/postconf", "-c", pf.config, "-e"] +
                       [f"{k}={v}" for k, v in settings.items()], check=True)
        pf.start()
        cls.postfixes.append(pf)
        return pf

    @classmethod
    def tear_down(cls):
        cls.rc = None
        for pf in cls.postfixes:
            pf.stop()
        if cls.sp is not None:
            if cls.sp.proc is not None:
                cls.rc = cls.sp.stop()
            cls.sp.gpg.close()
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.tear_down()
        assert cls.rc == 0, f"serve exited {cls.rc} on SIGTERM"

    def inject(self, pf, subject):
        proc = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(pf.port), "--from", SENDER,
             "--to", "patient@example.net", "--header", f"Subject: {subject}", "--body",
             "Dear patient,\nsee you on Monday.\n", "--timeout", "60"],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def message_count(self):
        # Submitted ones only: a bounce notice of a submitted message (its MX cannot be
        # found here) is queued too, at a time of its own.
        return self.sp.sql("SELECT count(*) FROM mail_messages WHERE origin LIKE 'api:%'")[0][0]

    def test_postfix_relays_with_sasl_into_the_queue(self):
        pf = self.postfix("relay", self.key)
        before = self.message_count()
        self.inject(pf, "Relayed " + os.urandom(4).hex())
        deadline = time.time() + 60
        while self.message_count() == before and time.time() < deadline:
            time.sleep(0.3)
        self.assertEqual(self.message_count(), before + 1, pf.log_text())
        log = pf.log_text()
        self.assertRegex(log, r"status=sent \(250 2\.0\.0 Ok: queued as [0-9a-f]{32}\)")
        self.assertRegex(log, r"Trusted TLS connection established|Untrusted TLS connection "
                              r"established|Anonymous TLS connection established")
        key_id = KEY_RE.match(self.key).group(1)
        rows = self.sp.sql("SELECT count(*) FROM mail_messages WHERE origin = ?", "api:" + key_id)
        self.assertEqual(rows[0][0], 1)
        self.assertIn(f"event=submission_auth key={key_id}", self.sp.log())

    def test_postfix_with_a_wrong_key_is_refused_and_defers(self):
        wrong = self.key[:-1] + ("0" if self.key[-1] != "0" else "1")
        pf = self.postfix("wrongkey", wrong)
        before = self.message_count()
        self.inject(pf, "Wrong key " + os.urandom(4).hex())
        deadline = time.time() + 60
        while "535 5.7.8" not in pf.log_text() and time.time() < deadline:
            time.sleep(0.3)
        self.assertIn("535 5.7.8", pf.log_text())
        self.assertEqual(self.message_count(), before)


if __name__ == "__main__":
    unittest.main()

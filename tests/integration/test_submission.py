"""SMTP submission (issue 9 point 5, RFC 6409) end to end: `sealpost serve
--submission-listen` (587-style, STARTTLS required) and `--submissions-listen` (465-style,
implicit TLS), driven by swaks (Debian) and, where swaks cannot send what a broken client
sends (a bare LF, a disconnect in DATA), by Python's ssl socket.

Real peers only, on loopback, started here: NSD serving the DNSSEC-signed test zone
(tests/support/dns.sh) with an MX for sub.sealpost.example at 127.0.0.32, where an aiosmtpd
receiver (tests/support/smtp_sink.py) offers STARTTLS; python3-dkim (what dkimverify runs)
verifies the DKIM signature of what arrives, against the TXT record `sealpost dkim init`
printed.

Cases: STARTTLS + AUTH PLAIN queues (250 only with the queue id) and the receiver gets the
message DKIM-signed; AUTH LOGIN with --pipeline; implicit TLS; AUTH and MAIL before
STARTTLS refused (530) and AUTH not offered before TLS; a wrong key, a wrong user name, a
key without messages:send refused (535) and audited, and repeated failures lock the address
out of both SMTP and the HTTP API (shared lockout); too many recipients (452); an oversized
message (552); a bare LF (554, and a "." after a bare LF does not end DATA); 8-bit without
BODY=8BITMIME (554) and with it (queued); a blind copy, a From at another domain, a From
header unlike MAIL FROM; the [secure] subject marker to a recipient without a key (554); a
client that disconnects in DATA queues nothing. The [secure] marker to a recipient with an
imported key: PGP/MIME without the marker in the subject, decrypted and verified by gpg. Each refusal leaves the queue as it was.
"""

import base64
import email
import email.policy
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import REPO, Sealpost, new_recipient_home, request_from, sanitizer_reports, \
    set_config_value
from mailtest import SYSTEM_PYTHON, Sink, free_port_on, require
from testca import TestCA

DNS_SH = os.path.join(REPO, "tests", "support", "dns.sh")
ZONE = "sealpost.example"
MX_ADDRESS = "127.0.0.32"
SENDER = f"clinic@{ZONE}"
DOMAIN = f"sub.{ZONE}"
KEY_RE = re.compile(r"^sp_([0-9a-f]{16})_([0-9a-f]{64})$")
# Client addresses of their own, so that the lockout one case provokes touches no other.
WRONG_SOURCE = "127.0.0.33"
LOCKOUT_SOURCE = "127.0.0.34"
RATE_BURST = 40

# python3-dkim's verify, as dkimverify runs it, with the test zone's TXT records given.
DKIM_VERIFY = r"""
import json, sys, dkim
records = json.loads(sys.argv[1])
def dns(name, timeout=5):
    return records.get(name.decode().rstrip(".").lower(), "").encode() or None
sys.exit(0 if dkim.verify(sys.stdin.buffer.read(), dnsfunc=dns) else 1)
"""


class SubmissionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require(shutil.which("swaks") is not None, "swaks")
        require(os.path.exists(SYSTEM_PYTHON), "Debian's /usr/bin/python3")
        for module, package in [("aiosmtpd", "python3-aiosmtpd"), ("dkim", "python3-dkim")]:
            require(subprocess.run([SYSTEM_PYTHON, "-c", f"import {module}"],
                                   capture_output=True).returncode == 0, package)
        require(shutil.which("nsd") or os.path.exists("/usr/sbin/nsd"), "nsd")
        cls.root = tempfile.mkdtemp(prefix="sealpost-submission-")
        os.chmod(cls.root, 0o755)  # NSD (its own user) reads its zone under here
        cls.dns_dir = os.path.join(cls.root, "dns")
        cls.sink = cls.sp = None
        cls.final_log = ""
        try:
            cls.set_up()
        except BaseException:
            cls.tear_down()
            raise

    @classmethod
    def set_up(cls):
        ca = TestCA(os.path.join(cls.root, "ca"))
        cert = ca.leaf("mxsub", [f"mxsub.{ZONE}"])
        cls.sink = Sink(cls.root, "sub", MX_ADDRESS, free_port_on([MX_ADDRESS]), "--cert",
                        cert[2], "--key", cert[1])

        cls.sp = sp = Sealpost(root=os.path.join(cls.root, "node"))
        out = sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE,
                     "--selector", "s2026").stdout
        cls.dkim_records = {}
        for name, value in re.findall(r"^(\S+)\. IN TXT (.+)$", out, re.M):
            cls.dkim_records[name.lower()] = "".join(re.findall(r'"([^"]*)"', value)) or value
        extra = os.path.join(cls.root, "extra.zone")
        with open(extra, "w") as f:
            f.write(f"sub    MX 10 mxsub\nmxsub  A  {MX_ADDRESS}\n")
            f.write("\n".join(re.findall(r"^\S+\. IN TXT .+$", out, re.M)) + "\n")
        with open(os.path.join(cls.root, "dns.log"), "w") as log:
            subprocess.run([DNS_SH, "start", cls.dns_dir, extra], check=True, stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with open(os.path.join(cls.dns_dir, "resolver")) as f:
            resolver = f.read().strip()
        for key, value in [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                           ("dkim_selector", "s2026"), ("resolver", resolver),
                           ("trust_anchor_file", os.path.join(cls.dns_dir, "trust-anchor")),
                           ("remote_port", cls.sink.port), ("ca_file", ca.ca),
                           ("default_policy", "verify")]:
            set_config_value(sp.data, "mail", key, value)

        # A small burst for the rate limit case (its own key); the others stay far below it.
        set_config_value(sp.data, "submission", "messages_burst", RATE_BURST)
        set_config_value(sp.data, "submission", "messages_per_minute", 1)
        cls.key = cls.add_key("ehr-mailer", "messages:send")
        cls.rate_key = cls.add_key("busy-mailer", "messages:send")
        cls.read_only = cls.add_key("dashboard", "messages:read")
        sp.start(extra_args=["--submission-listen", "127.0.0.1:0",
                             "--submissions-listen", "127.0.0.1:0"])
        assert sp.submission_port and sp.submissions_port, "no submission listening lines"

    @classmethod
    def add_key(cls, name, *scopes):
        args = ["apikey", "add", "--data", cls.sp.data, "--name", name]
        for s in scopes:
            args += ["--scope", s]
        key = cls.sp.cli(*args).stdout.strip()
        assert KEY_RE.match(key), key
        return key

    @classmethod
    def tear_down(cls):
        cls.rc = None
        if cls.sp is not None:
            if cls.sp.proc is not None:
                cls.rc = cls.sp.stop()
                cls.final_log = cls.sp.log()
            cls.sp.gpg.close()
        if cls.sink is not None:
            cls.sink.stop()
        if os.path.exists(os.path.join(cls.dns_dir, "ready")):
            subprocess.run([DNS_SH, "stop", cls.dns_dir], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.tear_down()
        assert cls.rc == 0, f"serve exited {cls.rc} on SIGTERM: {cls.final_log[-3000:]}"

    # -- helpers ----------------------------------------------------------------------

    def swaks(self, *args, port=None, tls=True, user="ehr-mailer", key=None, auth="PLAIN",
              source=None, to=None, subject=None, body=None):
        cmd = ["swaks", "--server", "127.0.0.1", "--port",
               str(port or self.sp.submission_port), "--timeout", "120",
               "--helo", "client.example", "--from", SENDER,
               "--to", to or f"patient@{DOMAIN}"]
        if tls:
            cmd.append("--tls")
        if auth:
            cmd += ["--auth", auth, "--auth-user", user, "--auth-password", key or self.key]
        if source:
            cmd += ["--local-interface", source]
        if subject is not None:
            cmd += ["--header", f"Subject: {subject}"]
        if body is not None:
            cmd += ["--body", body]
        proc = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300)
        return proc.returncode, proc.stdout + proc.stderr

    def message_count(self):
        return self.sp.sql("SELECT count(*) FROM mail_messages")[0][0]

    def queued_id(self, transcript):
        m = re.search(r"<[-~]\s+250 2\.0\.0 Ok: queued as ([0-9a-f]{32})", transcript)
        self.assertIsNotNone(m, transcript)
        return m.group(1)

    def received(self, subject, deadline_seconds=60):
        """The raw message the receiver got with `subject` (waits, bounded)."""
        deadline = time.time() + deadline_seconds
        while time.time() < deadline:
            for e in self.sink.events("message"):
                data = base64.b64decode(e["data_b64"])
                if re.search(rb"^Subject: " + re.escape(subject.encode()) + rb"\r?$", data,
                             re.M):
                    return data, e
            time.sleep(0.3)
        self.fail(f"the receiver did not get {subject!r}: {self.sp.log()[-3000:]}")

    def dkim_ok(self, message):
        proc = subprocess.run([SYSTEM_PYTHON, "-c", DKIM_VERIFY, json.dumps(self.dkim_records)],
                              input=message, capture_output=True)
        return proc.returncode == 0

    class Raw:
        """One SMTP session by hand (what swaks will not send): read replies, send lines."""

        def __init__(self, port, implicit=False):
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
            if implicit:
                self._wrap()
            self.file = self.sock.makefile("rb")
            self.greeting = self.reply()

        def _wrap(self):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock)

        def reply(self):
            lines = []
            while True:
                line = self.file.readline()
                if not line:
                    return " ".join(lines) if lines else ""
                lines.append(line.decode().rstrip("\r\n"))
                if len(line) < 4 or line[3:4] != b"-":
                    return "\n".join(lines)

        def send(self, data):
            self.sock.sendall(data if isinstance(data, bytes) else data.encode())

        def cmd(self, line):
            self.send(line + "\r\n")
            return self.reply()

        def starttls(self):
            assert self.cmd("STARTTLS").startswith("220"), "STARTTLS refused"
            self._wrap()
            self.file = self.sock.makefile("rb")

        def close(self):
            try:
                self.file.close()  # the file holds the socket open too
                self.sock.close()
            except OSError:
                pass

    def authenticated(self, port=None):
        raw = self.Raw(port or self.sp.submission_port)
        raw.cmd("EHLO client.example")
        raw.starttls()
        self.assertIn("AUTH PLAIN LOGIN", raw.cmd("EHLO client.example"))
        plain = base64.b64encode(b"\0ehr-mailer\0" + self.key.encode()).decode()
        self.assertTrue(raw.cmd("AUTH PLAIN " + plain).startswith("235 2.7.0"))
        return raw

    # -- cases --------------------------------------------------------------------------

    def test_starttls_auth_plain_queues_and_delivers_dkim_signed(self):
        subject = "Appointment " + os.urandom(4).hex()
        before = self.message_count()
        rc, out = self.swaks(subject=subject, body="Dear patient,\nsee you on Monday.\n")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"<-\s+250[ -]STARTTLS")
        self.assertIn("AUTH PLAIN LOGIN", out)
        self.assertIn("235 2.7.0", out)
        mid = self.queued_id(out)
        self.assertEqual(self.message_count(), before + 1)
        data, event = self.received(subject)
        self.assertEqual(event["rcpt_tos"], [f"patient@{DOMAIN}"])
        self.assertTrue(event["tls"])
        self.assertIn(b"DKIM-Signature:", data)
        self.assertIn(b"see you on Monday.", data)
        self.assertTrue(self.dkim_ok(data), data[:2000])
        self.assertFalse(self.dkim_ok(data.replace(b"Monday", b"Friday")))
        # The message is the key's: the HTTP API shows it to the same key.
        status, _, body = self.sp.request("GET", f"/api/v1/messages/{mid}",
                                          headers={"Authorization": f"Bearer {self.key}"})
        self.assertEqual(status, 403, body)  # this key may send, not read: scope enforced
        self.assertIn("event=submission_queued", self.sp.log())

    def test_auth_login_with_pipelining(self):
        subject = "Pipelined " + os.urandom(4).hex()
        rc, out = self.swaks("--pipeline", auth="LOGIN", subject=subject)
        self.assertEqual(rc, 0, out)
        self.assertIn("PIPELINING", out)
        self.queued_id(out)
        self.received(subject)

    def test_implicit_tls(self):
        subject = "Implicit " + os.urandom(4).hex()
        rc, out = self.swaks("--tls-on-connect", tls=False, port=self.sp.submissions_port,
                             subject=subject)
        self.assertEqual(rc, 0, out)
        self.assertNotIn("STARTTLS", out)  # already TLS: not offered again
        self.queued_id(out)
        self.received(subject)

    def test_auth_and_mail_before_starttls_are_refused(self):
        raw = self.Raw(self.sp.submission_port)
        try:
            self.assertTrue(raw.greeting.startswith("220 "), raw.greeting)
            ehlo = raw.cmd("EHLO client.example")
            self.assertIn("STARTTLS", ehlo)
            self.assertNotIn("AUTH", ehlo)
            plain = base64.b64encode(b"\0ehr-mailer\0" + self.key.encode()).decode()
            self.assertTrue(raw.cmd("AUTH PLAIN " + plain).startswith("530 5.7.0"))
            self.assertTrue(raw.cmd(f"MAIL FROM:<{SENDER}>").startswith("530 5.7.0"))
            # A command pipelined behind STARTTLS is dropped, not run inside TLS: the first
            # reply inside TLS is NOOP's 250, not HELP's 214.
            raw.send(b"STARTTLS\r\nHELP\r\n")
            self.assertTrue(raw.reply().startswith("220"))
            raw._wrap()
            raw.file = raw.sock.makefile("rb")
            answer = raw.cmd("NOOP")
            self.assertTrue(answer.startswith("250"), answer)
            self.assertIn("AUTH PLAIN LOGIN", raw.cmd("EHLO client.example"))
        finally:
            raw.close()
        # swaks, told to authenticate without TLS, finds no AUTH to use.
        rc, out = self.swaks(tls=False)
        self.assertNotEqual(rc, 0, out)
        self.assertNotIn("queued as", out)

    def test_wrong_credentials_are_refused_and_audited(self):
        before = self.message_count()
        wrong_key = self.key[:-1] + ("0" if self.key[-1] != "0" else "1")
        for user, key in [("ehr-mailer", wrong_key), ("someone-else", self.key),
                          ("dashboard", self.read_only), ("ehr-mailer", "not a key")]:
            with self.subTest(user=user):
                rc, out = self.swaks(user=user, key=key, source=WRONG_SOURCE)
                self.assertNotEqual(rc, 0, out)
                self.assertIn("535 5.7.8", out)
        # The id works as the user name too.
        rc, out = self.swaks(user=KEY_RE.match(self.key).group(1), subject="By id",
                             source=WRONG_SOURCE)
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.message_count(), before + 1)
        trail = self.sp.cli("audit", "export", "--data", self.sp.data).stdout
        failed = [json.loads(l) for l in trail.splitlines()
                  if l.strip() and json.loads(l)["action"] == "submission.auth_failed"]
        self.assertGreaterEqual(len([e for e in failed if e["source"] == WRONG_SOURCE]), 4)
        log = self.sp.log()
        self.assertNotIn(KEY_RE.match(self.key).group(2), log)
        self.assertNotIn(KEY_RE.match(self.key).group(2), trail)

    def test_repeated_failures_lock_the_address_out_of_smtp_and_the_api(self):
        wrong_key = self.key[:-1] + ("0" if self.key[-1] != "0" else "1")
        locked = False
        for _ in range(40):  # bounded: the lockout engages after 10 free failures
            rc, out = self.swaks(key=wrong_key, source=LOCKOUT_SOURCE)
            self.assertNotEqual(rc, 0, out)
            counted = len(re.findall(r"event=api_auth_failed .*source=" +
                                     re.escape(LOCKOUT_SOURCE) + " ", self.sp.log()))
            if "454 4.7.0" in out and counted >= 13:
                locked = True
                break
        self.assertTrue(locked, "no lockout after 40 failures")
        # Locked (the delay is now at least 16 s): the right key is refused too, over SMTP
        # and, since the lockout is the API's, over HTTP.
        rc, out = self.swaks(source=LOCKOUT_SOURCE)
        self.assertIn("454 4.7.0", out)
        self.assertNotIn("queued as", out)
        status, _ = request_from(self.sp, LOCKOUT_SOURCE, "POST", "/api/v1/messages",
                                 body=json.dumps({"to": [f"a@{DOMAIN}"], "subject": "s",
                                                  "text": "x"}),
                                 headers={"Authorization": f"Bearer {self.key}"},
                                 content_type="application/json")
        self.assertEqual(status, 429)

    def test_messages_per_key_are_rate_limited(self):
        raw = self.Raw(self.sp.submission_port)
        try:
            raw.cmd("EHLO client.example")
            raw.starttls()
            raw.cmd("EHLO client.example")
            plain = base64.b64encode(b"\0busy-mailer\0" + self.rate_key.encode()).decode()
            self.assertTrue(raw.cmd("AUTH PLAIN " + plain).startswith("235"))
            for i in range(RATE_BURST):
                answer = raw.cmd(f"MAIL FROM:<{SENDER}>")
                self.assertTrue(answer.startswith("250"), (i, answer))
                self.assertTrue(raw.cmd("RSET").startswith("250"))
            # The burst is spent (1 a minute after it): the next is told to wait.
            self.assertTrue(raw.cmd(f"MAIL FROM:<{SENDER}>").startswith("451 4.7.1"))
        finally:
            raw.close()
        # Another key's budget is its own.
        rc, out = self.swaks(subject="Other key " + os.urandom(4).hex())
        self.assertEqual(rc, 0, out)
        self.assertIn("event=submission_rate_limited key=" +
                      KEY_RE.match(self.rate_key).group(1), self.sp.log())

    def test_too_many_recipients(self):
        to = ",".join(f"r{i}@{DOMAIN}" for i in range(101))
        rc, out = self.swaks(to=to, subject="Many " + os.urandom(4).hex())
        self.assertIn("452 4.5.3 Too many recipients", out)

    def test_oversized_message_is_refused_and_nothing_queued(self):
        before = self.message_count()
        big = os.path.join(self.root, "big.txt")
        with open(big, "w") as f:
            line = "x" * 76 + "\n"
            f.write(line * (11 * 1024 * 1024 // len(line)))
        rc, out = self.swaks(body="@" + big, subject="Big")
        self.assertNotEqual(rc, 0, out[-2000:])
        self.assertIn("552 5.3.4", out[-5000:])
        self.assertEqual(self.message_count(), before)

    def test_bare_lf_is_refused_and_does_not_end_data(self):
        before = self.message_count()
        raw = self.authenticated()
        try:
            self.assertTrue(raw.cmd(f"MAIL FROM:<{SENDER}>").startswith("250"))
            self.assertTrue(raw.cmd(f"RCPT TO:<a@{DOMAIN}>").startswith("250"))
            self.assertTrue(raw.cmd("DATA").startswith("354"))
            # The 2023 SMTP smuggling shape: "\n.\n" must not end the data.
            raw.send(f"From: <{SENDER}>\r\nTo: <a@{DOMAIN}>\r\nSubject: lf\r\n\r\n"
                     f"one\n.\nMAIL FROM:<{SENDER}>\r\n.\r\n")
            answer = raw.reply()
            self.assertTrue(answer.startswith("554 5.6.0"), answer)
            self.assertTrue(raw.cmd("NOOP").startswith("250"))
        finally:
            raw.close()
        self.assertEqual(self.message_count(), before)

    def test_eight_bit_needs_8bitmime(self):
        before = self.message_count()
        rc, out = self.swaks(subject="8bit", body="Grüße aus der Praxis\n")
        self.assertIn("554 5.6.1", out)
        self.assertEqual(self.message_count(), before)
        subject = "Umlaut " + os.urandom(4).hex()
        raw = self.authenticated()
        try:
            self.assertTrue(raw.cmd(f"MAIL FROM:<{SENDER}> BODY=8BITMIME").startswith("250"))
            self.assertTrue(raw.cmd(f"RCPT TO:<b@{DOMAIN}>").startswith("250"))
            self.assertTrue(raw.cmd("DATA").startswith("354"))
            raw.send((f"From: Praxis <{SENDER}>\r\nTo: <b@{DOMAIN}>\r\nSubject: {subject}\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n..dot\r\n.\r\n")
                     .encode())
            answer = raw.reply()
            self.assertTrue(answer.startswith("250 2.0.0 Ok: queued as"), answer)
        finally:
            raw.close()
        self.assertEqual(self.message_count(), before + 1)
        data, _ = self.received(subject)
        self.assertTrue(self.dkim_ok(data))

    def test_policy_refusals_queue_nothing(self):
        before = self.message_count()
        cases = [
            # A blind copy: b@ is not in To.
            (dict(to=f"a@{DOMAIN},b@{DOMAIN}", subject="bcc"), ["--header", f"To: a@{DOMAIN}"],
             "554 5.7.0 Every recipient"),
            # The subject marker asks for message-level encryption: patient@ has no key.
            (dict(subject="[secure] Lab results"), [],
             f"554 5.6.0 recipient 1 (patient@{DOMAIN}) has no usable OpenPGP key"),
            # From header unlike MAIL FROM.
            (dict(subject="from"), ["--header", f"From: other@{ZONE}"], "554 5.7.1"),
        ]
        for kwargs, extra, want in cases:
            with self.subTest(want=want):
                rc, out = self.swaks(*extra, **kwargs)
                self.assertNotEqual(rc, 0, out)
                self.assertIn(want, out)
        # MAIL FROM at a domain this server does not sign for.
        raw = self.authenticated()
        try:
            self.assertTrue(raw.cmd("MAIL FROM:<x@elsewhere.example>").startswith("553 5.7.1"))
        finally:
            raw.close()
        self.assertEqual(self.message_count(), before)

    def test_the_secure_marker_sends_pgp_mime_without_the_marker(self):
        home, fpr = new_recipient_home(self.sp, "lab", f"Lab <lab@{DOMAIN}>")
        try:
            rc, out = self.swaks(to=f"lab@{DOMAIN}", subject="Lab results [SECURE] for you",
                                 body="Your potassium is 4.1 mmol/L.")
            self.assertEqual(rc, 0, out)
            mid = self.queued_id(out)
            # Header protection (RFC 9788): the subject is "[...]" outside, the real one in.
            data, event = self.received("[...]")
            self.assertIn(f"lab@{DOMAIN}", event["rcpt_tos"])
            self.assertTrue(event["tls"])
            self.assertTrue(self.dkim_ok(data))
            self.assertNotIn(b"potassium", data)
            msg = email.message_from_bytes(data, policy=email.policy.default)
            self.assertEqual(msg.get_content_type(), "multipart/encrypted")
            self.assertEqual(msg.get_param("protocol"), "application/pgp-encrypted")
            armored = list(msg.iter_parts())[1].get_payload(decode=True)
            path = os.path.join(self.root, f"{mid}.asc")
            with open(path, "wb") as f:
                f.write(armored)
            rc, plaintext, status = home.decrypt(path)
            self.assertEqual(rc, 0, status)
            self.assertRegex(status, r"VALIDSIG " + self.sp.server_fpr)
            self.assertIn(b"potassium is 4.1", plaintext)
            inner = email.message_from_bytes(plaintext, policy=email.policy.default)
            self.assertEqual(inner["Subject"], "Lab results for you")  # the marker removed
            shown = self.sp.cli("mail", "show", "--data", self.sp.data, mid).stdout
            self.assertIn("pgp-mime", shown)
        finally:
            home.close()

    def test_disconnect_in_data_queues_nothing(self):
        before = self.message_count()
        raw = self.authenticated()
        self.assertTrue(raw.cmd(f"MAIL FROM:<{SENDER}>").startswith("250"))
        self.assertTrue(raw.cmd(f"RCPT TO:<a@{DOMAIN}>").startswith("250"))
        self.assertTrue(raw.cmd("DATA").startswith("354"))
        raw.send(f"From: <{SENDER}>\r\nTo: <a@{DOMAIN}>\r\nSubject: cut\r\n\r\nhalf a".encode())
        raw.close()
        deadline = time.time() + 30
        while "event=submission_data_aborted" not in self.sp.log() and time.time() < deadline:
            time.sleep(0.2)
        self.assertIn("event=submission_data_aborted", self.sp.log())
        self.assertEqual(self.message_count(), before)

    def test_z_no_sanitizer_reports(self):
        self.assertEqual(sanitizer_reports(self.sp), [])


if __name__ == "__main__":
    unittest.main()

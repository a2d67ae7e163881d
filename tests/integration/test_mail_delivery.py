"""Outbound mail end to end (issue 8): `sealpost mail send` queues durably, a running
`sealpost serve` delivers, and every recipient's outcome is what its policy promises.

Real peers only, all on loopback and started here:
- DNS: NSD serving the DNSSEC-signed test zone (tests/support/dns.sh) with this test's
  records appended (MX hosts at 127.0.0.21-23, a TLSA record of one sink's key); sealpost's
  resolver is pointed at it with the zone's own trust anchor, so DANE is real DANE.
- SMTP: three aiosmtpd receivers (tests/support/smtp_sink.py, Debian's python3), one per MX
  address, on one port (sealpost's [mail] remote_port): one with a certificate from this
  test's CA, one with a self-signed certificate for another name (acceptable only through
  DANE), one without STARTTLS.
- dkimpy (Debian's python3-dkim) verifies both DKIM signatures of what the sink received.
- HTTPS: a TLS report server (tests/support/mta_sts_server.py) at 127.0.0.26 with a
  certificate from this test's CA, where the day's TLS report is POSTed (RFC 8460 3).

Cases: verify -> delivered over TLS, CA-verified; opportunistic to a DANE domain -> delivered,
verified by DANE despite the certificate's name; verify to a receiver without STARTTLS ->
deferred 4.7.4, nothing sent; exclusive -> dropped; forced -> awaiting_fallback;
opportunistic non-PHI -> delivered in cleartext, recorded as such; a bogus DNSSEC answer ->
deferred 4.7.5, never sent unverified; null MX -> bounced 5.1.10. The audit trail records
each queueing and each outcome and verifies; the body is nowhere at rest (the data
directory; on PostgreSQL also the cluster's data directory, WAL and log).
"""

import base64
import email
import email.policy
import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import REPO, Sealpost, location_reference, new_recipient_home, sanitizer_reports, \
    set_config_value
from mailtest import SYSTEM_PYTHON, HttpsServer, Sink, free_port_on, require
from testca import TestCA, spki_sha256

DNS_SH = os.path.join(REPO, "tests", "support", "dns.sh")
ZONE = "sealpost.example"
MARKER = "zqxbodymarker" + os.urandom(4).hex()


class MailDeliveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require(os.path.exists(SYSTEM_PYTHON), "Debian's /usr/bin/python3")
        require(subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd, dkim"],
                               capture_output=True).returncode == 0,
                "python3-aiosmtpd / python3-dkim")
        require(shutil.which("nsd") or os.path.exists("/usr/sbin/nsd"), "nsd")
        cls.root = tempfile.mkdtemp(prefix="sealpost-mail-")
        # NSD drops to its own user as root and must reach its zone under this directory.
        os.chmod(cls.root, 0o755)
        cls.sinks = []
        cls.dns_dir = os.path.join(cls.root, "dns")
        cls.sp = None
        try:
            cls.set_up()
        except BaseException:
            cls.tear_down()
            raise

    @classmethod
    def set_up(cls):
        ca = TestCA(os.path.join(cls.root, "ca"))
        ok_cert = ca.leaf("mxok", [f"mxok.{ZONE}"])
        dane_cert = ca.leaf("mxdane", ["not-the-mx.invalid"], self_signed=True)
        cls.port = free_port_on(["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24",
                                 "127.0.0.25"])
        cls.ok = Sink(cls.root, "ok", "127.0.0.21", cls.port, "--cert", ok_cert[2],
                      "--key", ok_cert[1])
        cls.dane = Sink(cls.root, "dane", "127.0.0.22", cls.port, "--cert", dane_cert[0],
                        "--key", dane_cert[1])
        cls.clear = Sink(cls.root, "clear", "127.0.0.23", cls.port)
        # Slow to answer the end of data: a kill -9 lands while deliveries are in flight.
        cls.slow = Sink(cls.root, "slow", "127.0.0.24", cls.port, "--cert", ok_cert[2],
                        "--key", ok_cert[1], "--sleep", "data_end=2")
        # Refuses two mailboxes for good: a bounce, and the bounce of a bounce.
        cls.reject = Sink(cls.root, "reject", "127.0.0.25", cls.port, "--cert", ok_cert[2],
                          "--key", ok_cert[1],
                          "--rcpt-reply", f"nobody@reject.{ZONE}=550 5.1.1 no such user here",
                          "--rcpt-reply", f"clinic@reject.{ZONE}=550 5.1.1 mailbox gone")
        cls.sinks = [cls.ok, cls.dane, cls.clear, cls.slow, cls.reject]
        # Where the DANE domain's TLS reports are posted (RFC 8460 3): HTTPS with a
        # certificate from the test CA, on a port of its own (the URL names it).
        cls.reports = HttpsServer(cls.root, "reports", "127.0.0.26", 0,
                                  ca.leaf("reports", [f"reports.{ZONE}"]), cls.root)
        cls.sinks.append(cls.reports)

        cls.sp = sp = Sealpost(root=os.path.join(cls.root, "node"))
        out = sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE,
                     "--selector", "s2026").stdout
        # The records as dkim init printed them: what dkimpy's DNS lookup will be answered with.
        cls.dkim_records = {}
        for name, strings in re.findall(r"^(\S+)\. IN TXT (.+)$", out, re.M):
            cls.dkim_records[name] = "".join(re.findall(r'"([^"]*)"', strings))
        assert len(cls.dkim_records) == 2, out
        extra = os.path.join(cls.root, "extra.zone")
        with open(extra, "w") as f:
            f.write(f"""ok        MX 10 mxok
mxok      A  127.0.0.21
dane      MX 10 mxdane
mxdane    A  127.0.0.22
_{cls.port}._tcp.mxdane TLSA 3 1 1 {spki_sha256(dane_cert[0])}
clear     MX 10 mxclear
mxclear   A  127.0.0.23
slow      MX 10 mxslow
mxslow    A  127.0.0.24
reject    MX 10 mxreject
mxreject  A  127.0.0.25
reports   A  127.0.0.26
""")
            # mailto:, a reachable https: and an https: host that does not exist.
            f.write(f'_smtp._tls.dane TXT "v=TLSRPTv1; rua=mailto:tlsrpt@ok.{ZONE},'
                    f'https://reports.{ZONE}:{cls.reports.port}/v1/tlsrpt,'
                    f'https://nowhere.{ZONE}/v1"\n')
            # The DKIM records exactly as `dkim init` printed them (absolute names).
            f.write("\n".join(re.findall(r"^\S+\. IN TXT .+$", out, re.M)) + "\n")
        # Output to a file, not a pipe: NSD, a daemon, keeps inherited descriptors open.
        with open(os.path.join(cls.root, "dns.log"), "w") as log:
            subprocess.run([DNS_SH, "start", cls.dns_dir, extra], check=True, stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with open(os.path.join(cls.dns_dir, "resolver")) as f:
            resolver = f.read().strip()

        for key, value in [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                           ("dkim_selector", "s2026"), ("resolver", resolver),
                           ("trust_anchor_file", os.path.join(cls.dns_dir, "trust-anchor")),
                           ("remote_port", cls.port), ("ca_file", ca.ca),
                           ("retry_first_seconds", 600), ("lease_seconds", 30)]:
            set_config_value(sp.data, "mail", key, value)
        # A form whose new submissions are announced to the front desk (S5). Its domain
        # passes the TLS probe (M9): STARTTLS and a certificate the test CA signed.
        cls.form_add_out = sp.add_form(cls.notify_form(f"frontdesk@ok.{ZONE}"),
                                       name="callback.toml").stdout
        # S5 with notify_mode = "pgp": the front desk holds a recipient key of its own, named
        # by its address, and its notice carries the stored submission.
        cls.desk, cls.desk_fpr = new_recipient_home(sp, "desk", f"Front Desk <desk@ok.{ZONE}>")
        sp.add_form(cls.notify_form(f"desk@ok.{ZONE}", form_id="callbackpgp",
                                    recipients=[cls.desk_fpr], mode="pgp"),
                    name="callbackpgp.toml")
        sp.start()

    @classmethod
    def notify_form(cls, address, form_id="callback", recipients=None, mode="link"):
        recipients = recipients or [cls.sp.recipients[0]]
        return f"""id = "{form_id}"
title = "Call me back"
recipients = {json.dumps(recipients)}
notify = ["{address}"]
notify_mode = "{mode}"

[[fields]]
name = "note"
type = "text"
label = "What is it about?"
required = true
"""

    @classmethod
    def tear_down(cls):
        if cls.sp is not None:
            if cls.sp.proc is not None:
                cls.rc = cls.sp.stop()
            cls.sp.gpg.close()
        if getattr(cls, "desk", None) is not None:
            cls.desk.close()
        for s in cls.sinks:
            s.stop()
        if os.path.exists(os.path.join(cls.dns_dir, "ready")):
            subprocess.run([DNS_SH, "stop", cls.dns_dir], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.rc = None
        cls.tear_down()
        # A clean stop: in-flight attempts recorded, leases released, exit 0.
        assert cls.rc == 0, f"serve exited {cls.rc} on SIGTERM"

    # -- helpers ----------------------------------------------------------------------

    def send(self, to, security, phi=True, subject="Your appointment", sender=None):
        body = os.path.join(self.root, f"body-{time.monotonic_ns()}.txt")
        with open(body, "w") as f:
            f.write(f"Dear patient,\n{MARKER}\n.a line with a leading dot\nfrom the clinic\n")
        args = ["mail", "send", "--data", self.sp.data, "--to", to, "--subject", subject,
                "--body-file", body, "--security", security]
        if phi:
            args.append("--phi")
        if sender:
            args += ["--from", sender]
        return self.sp.cli(*args).stdout.strip()

    def show(self, message_id):
        return self.sp.cli("mail", "show", "--data", self.sp.data, message_id).stdout

    def wait_state(self, message_id, states, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = self.show(message_id)
            m = re.search(r"^recipient 0 \S+: (\w+)", out, re.M)
            if m and m.group(1) in states and "last attempt" in out:
                return m.group(1), out
            time.sleep(0.3)
        self.fail(f"{message_id} never reached {states}: {out}\n{self.sp.log()[-3000:]}")

    def received(self, sink, message_id):
        return [e for e in sink.events("message")
                if message_id in base64.b64decode(e["data_b64"]).decode(errors="replace")]

    def assert_dkim_verifies(self, data):
        script = ("import dkim, sys, json\n"
                  "records = json.loads(sys.argv[1])\n"
                  "msg = sys.stdin.buffer.read()\n"
                  "def dns(name, timeout=5):\n"
                  "    return records.get(name.decode().rstrip('.'), '').encode()\n"
                  "d = dkim.DKIM(msg)\n"
                  "print(sum(1 for i in range(2) if d.verify(idx=i, dnsfunc=dns)))\n")
        out = subprocess.run([SYSTEM_PYTHON, "-c", script, json.dumps(self.dkim_records)],
                             input=data, capture_output=True, check=True).stdout
        self.assertEqual(out.strip(), b"2", "both DKIM signatures (ed25519, rsa) verify")

    def body_bytes(self, mid):
        """The size of the message's sealed body in the queue (0 once erased)."""
        return self.sp.sql("SELECT length(body) FROM mail_messages WHERE id = ?", mid)[0][0]

    # -- cases --------------------------------------------------------------------------

    def test_verify_delivers_over_verified_tls_signed_and_intact(self):
        mid = self.send(f"patient@ok.{ZONE}", "verify")
        state, out = self.wait_state(mid, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        self.assertRegex(out, r"TLSv1\.[23] \S+, certificate verified: ca")
        got = self.received(self.ok, mid)
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0]["tls"])
        self.assertEqual(got[0]["rcpt_tos"], [f"patient@ok.{ZONE}"])
        self.assertEqual(got[0]["mail_from"], f"forms@{ZONE}")
        data = base64.b64decode(got[0]["data_b64"])
        self.assertIn(MARKER.encode(), data)
        self.assertIn(b"\r\n.a line with a leading dot", data)  # un-stuffed by the receiver
        self.assert_dkim_verifies(data)
        # Delivered to its one recipient: the queue keeps no body any more.
        self.assertEqual(self.body_bytes(mid), 0)

    def test_dane_raises_opportunistic_to_verified_by_tlsa(self):
        mid = self.send(f"patient@dane.{ZONE}", "opportunistic")
        state, out = self.wait_state(mid, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        self.assertIn("certificate verified: dane", out)
        self.assertEqual(len(self.received(self.dane, mid)), 1)

    def test_policies_when_the_receiver_offers_no_tls(self):
        cases = {"verify": "deferred", "exclusive": "dropped", "forced": "awaiting_fallback"}
        ids = {policy: self.send(f"patient@clear.{ZONE}", policy) for policy in cases}
        clear_ok = self.send(f"newsletter@clear.{ZONE}", "opportunistic", phi=False)
        for policy, want in cases.items():
            state, out = self.wait_state(ids[policy], {want})
            self.assertIn("4.7.4", out)
            self.assertIn("no TLS", out)
            self.assertEqual(self.received(self.clear, ids[policy]), [], policy)
        state, out = self.wait_state(clear_ok, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        self.assertIn("no TLS", out)
        got = self.received(self.clear, clear_ok)
        self.assertEqual(len(got), 1)
        self.assertFalse(got[0]["tls"])
        # The deferred one waits for its next attempt (retry_first_seconds = 600).
        self.assertRegex(self.show(ids["verify"]), r"deferred, next attempt \d{4}-")
        # What may still be sent keeps its sealed body; what is final does not.
        self.assertGreater(self.body_bytes(ids["verify"]), 0)
        self.assertGreater(self.body_bytes(ids["forced"]), 0)
        self.assertEqual(self.body_bytes(ids["exclusive"]), 0)
        self.assertEqual(self.body_bytes(clear_ok), 0)

    def test_bogus_dnssec_defers_and_never_sends(self):
        mid = self.send(f"patient@bogus-mx.{ZONE}", "opportunistic")
        state, out = self.wait_state(mid, {"deferred", "delivered", "bounced"})
        self.assertEqual(state, "deferred", out)
        self.assertIn("4.7.5", out)

    def test_new_submission_notice_names_the_form_and_reference_never_a_value(self):
        secret = "zqxfieldvalue" + os.urandom(4).hex()
        status, headers, _ = self.sp.submit([("note", secret)], form="callback")
        self.assertEqual(status, 303)
        reference = location_reference(headers, form="callback")
        self.assertIsNotNone(reference)
        deadline = time.time() + 60
        notices = []
        while time.time() < deadline and not notices:
            notices = [e for e in self.ok.events("message")
                       if f"frontdesk@ok.{ZONE}" in e["rcpt_tos"]]
            time.sleep(0.3)
        self.assertEqual(len(notices), 1, self.sp.log()[-3000:])
        n = notices[0]
        self.assertTrue(n["tls"])  # policy verify: the CA-verified receiver
        data = base64.b64decode(n["data_b64"])
        self.assert_dkim_verifies(data)
        text = data.decode(errors="replace")
        self.assertIn("Subject: New submission: Call me back (" + reference + ")", text)
        self.assertIn(reference, text)
        self.assertIn("/portal/", text)
        self.assertNotIn(secret, text)  # never a field value
        self.assertNotIn(secret, self.sp.log())
        self.assertIn(f"event=notice_queued form=callback reference={reference}", self.sp.log())

    def test_a_pgp_notice_carries_the_stored_submission_that_the_desk_key_opens(self):
        secret = "zqxpgpvalue" + os.urandom(4).hex()
        status, headers, _ = self.sp.submit([("note", secret)], form="callbackpgp")
        self.assertEqual(status, 303)
        reference = location_reference(headers, form="callbackpgp")
        self.assertIsNotNone(reference)
        deadline = time.time() + 60
        notices = []
        while time.time() < deadline and not notices:
            notices = [e for e in self.ok.events("message") if f"desk@ok.{ZONE}" in e["rcpt_tos"]]
            time.sleep(0.3)
        self.assertEqual(len(notices), 1, self.sp.log()[-3000:])
        self.assertTrue(notices[0]["tls"])
        data = base64.b64decode(notices[0]["data_b64"])
        self.assert_dkim_verifies(data)
        self.assertNotIn(secret.encode(), data)  # what travels in the clear has no value
        msg = email.message_from_bytes(data, policy=email.policy.default)
        self.assertEqual(msg.get_content_type(), "multipart/mixed")
        text, attached = list(msg.iter_parts())
        self.assertIn(reference, text.get_content())
        self.assertIn(f"submission-{reference}.pgp", text.get_content())
        self.assertEqual(attached.get_filename(), f"submission-{reference}.pgp")
        self.assertEqual(attached.get_content_disposition(), "attachment")
        payload = attached.get_payload(decode=True)
        # Exactly the stored ciphertext: the server encrypted nothing again.
        stored = self.sp.sql("SELECT ciphertext FROM submissions WHERE reference = ?",
                             reference)[0][0]
        self.assertEqual(payload, bytes(stored))
        path = os.path.join(self.root, f"{reference}.pgp")
        with open(path, "wb") as f:
            f.write(payload)
        rc, plaintext, status_text = self.desk.decrypt(path)
        self.assertEqual(rc, 0, status_text)
        self.assertIn("DECRYPTION_OKAY", status_text)
        self.assertRegex(status_text, r"VALIDSIG " + self.sp.server_fpr)
        doc = json.loads(plaintext)
        self.assertEqual(doc["attestation"]["reference"], reference)
        self.assertEqual(doc["fields"]["note"], secret)
        self.assertNotIn(secret, self.sp.log())

    def test_a_pgp_notice_is_refused_for_an_address_without_a_recipient_key(self):
        path = os.path.join(self.root, "nokey.toml")
        with open(path, "w") as f:
            f.write(self.notify_form(f"frontdesk@ok.{ZONE}", form_id="nokeypgp", mode="pgp"))
        r = self.sp.cli("form", "add", "--data", self.sp.data, path, check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"notify address frontdesk@ok.{ZONE} is not in a user id of any of the "
                      "form's recipient keys", r.stderr)
        with open(path, "w") as f:
            f.write(self.notify_form(f"frontdesk@ok.{ZONE}", form_id="nokeypgp", mode="smime"))
        r = self.sp.cli("form", "add", "--data", self.sp.data, path, check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        # S/MIME needs a certificate for the address (test_mail_secure sends one).
        self.assertIn(f'notify_mode = "smime": recipient 1 (frontdesk@ok.{ZONE}) has no usable '
                      "S/MIME certificate", r.stderr)
        self.assertNotIn("nokeypgp", self.sp.cli("form", "list", "--data", self.sp.data).stdout)

    def test_null_mx_bounces(self):
        mid = self.send(f"patient@nullmx.{ZONE}", "verify")
        state, out = self.wait_state(mid, {"bounced", "deferred"})
        self.assertEqual(state, "bounced", out)
        self.assertIn("5.1.10", out)

    def test_permanent_failure_returns_one_notice_to_the_sender(self):
        # Refused with 550 at RCPT: bounced, and the sender (whose domain's MX is the `ok`
        # receiver) gets an RFC 3464 notice from MAILER-DAEMON with a null envelope sender,
        # DKIM-signed, under the original's policy.
        mid = self.send(f"nobody@reject.{ZONE}", "exclusive", sender=f"clinic@ok.{ZONE}")
        state, out = self.wait_state(mid, {"bounced", "deferred", "delivered"})
        self.assertEqual(state, "bounced", out)
        self.assertIn("5.1.1", out)
        deadline = time.time() + 60
        notices = []
        while time.time() < deadline and not notices:
            notices = [e for e in self.ok.events("message")
                       if mid in base64.b64decode(e["data_b64"]).decode(errors="replace")
                       and "multipart/report" in base64.b64decode(e["data_b64"]).decode()]
            time.sleep(0.3)
        self.assertEqual(len(notices), 1, self.sp.log()[-3000:])
        n = notices[0]
        self.assertIn(n["mail_from"], ("", "<>"))
        self.assertEqual(n["rcpt_tos"], [f"clinic@ok.{ZONE}"])
        self.assertTrue(n["tls"])
        data = base64.b64decode(n["data_b64"])
        self.assert_dkim_verifies(data)
        script = ("import email, sys, json\n"
                  "from email import policy\n"
                  "m = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)\n"
                  "parts = list(m.iter_parts())\n"
                  "status = parts[1]\n"
                  "fields = [dict(block.items()) for block in status.get_payload()]\n"
                  "print(json.dumps({'type': m.get_content_type(),\n"
                  "  'report_type': m.get_param('report-type'),\n"
                  "  'parts': [p.get_content_type() for p in parts],\n"
                  "  'from': str(m['from']), 'auto': str(m['auto-submitted']),\n"
                  "  'fields': fields}))\n")
        parsed = json.loads(subprocess.run([SYSTEM_PYTHON, "-c", script], input=data,
                                           capture_output=True, check=True).stdout)
        self.assertEqual(parsed["type"], "multipart/report")
        self.assertEqual(parsed["report_type"], "delivery-status")
        self.assertEqual(parsed["parts"],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        self.assertIn(f"MAILER-DAEMON@forms.{ZONE}", parsed["from"])
        self.assertEqual(parsed["auto"], "auto-replied")
        per_message, per_recipient = parsed["fields"][0], parsed["fields"][1]
        self.assertEqual(per_message["Reporting-MTA"], f"dns; forms.{ZONE}")
        self.assertEqual(per_recipient["Final-Recipient"], f"rfc822; nobody@reject.{ZONE}")
        self.assertEqual(per_recipient["Action"], "failed")
        self.assertEqual(per_recipient["Status"], "5.1.1")
        self.assertEqual(per_recipient["Remote-MTA"], f"dns; mxreject.{ZONE}")
        self.assertIn("550 5.1.1 no such user here", per_recipient["Diagnostic-Code"])
        self.assertNotIn(MARKER, data.decode(errors="replace"))  # never the body
        # The notice took the original's header before its body was erased.
        self.assertEqual(self.body_bytes(mid), 0)

    def test_a_bounce_is_never_bounced(self):
        # The sender's own mailbox refuses too: the notice bounces, and nothing answers it.
        mid = self.send(f"nobody@reject.{ZONE}", "exclusive", sender=f"clinic@reject.{ZONE}")
        self.assertEqual(self.wait_state(mid, {"bounced", "deferred"})[0], "bounced")

        def refused_notices():
            return [e for e in self.reject.events("refused")
                    if e["address"] == f"clinic@reject.{ZONE}"]
        deadline = time.time() + 60
        while time.time() < deadline and not refused_notices():
            time.sleep(0.3)
        self.assertEqual(len(refused_notices()), 1, self.sp.log()[-3000:])
        self.assertIn(refused_notices()[0]["mail_from"], ("", "<>"))
        time.sleep(3)  # three more claim rounds: no notice about the notice appears
        self.assertEqual(len(refused_notices()), 1)
        trail = self.sp.cli("audit", "export", "--data", self.sp.data).stdout
        dsn_for = [json.loads(l)["object"] for l in trail.splitlines()
                   if "dsn-for:" in l]
        self.assertEqual(len([o for o in dsn_for if f"dsn-for:{mid}" in o]), 1, dsn_for)

    def test_check_dns_reads_spf_dkim_and_dmarc(self):
        proc = self.sp.cli("mail", "check-dns", "--data", self.sp.data, check=False)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout.count("\nok "), 4, proc.stdout)  # SPF, 2 DKIM, DMARC
        self.assertIn("DKIM s2026-rsa: published, matches", proc.stdout)
        self.assertIn("(DNSSEC-signed)", proc.stdout)
        # A domain with none of them: each named, with what to publish; exit 1.
        other = os.path.join(self.root, "other-data")
        shutil.copytree(self.sp.data, other)
        set_config_value(other, "mail", "dkim_domain", f"implicit.{ZONE}")
        proc = self.sp.cli("mail", "check-dns", "--data", other, check=False)
        self.assertEqual(proc.returncode, 1, proc.stdout)
        self.assertIn("PROBLEM SPF: no record at implicit." + ZONE, proc.stdout)
        self.assertIn("PROBLEM DKIM s2026: no record at s2026._domainkey.implicit." + ZONE,
                      proc.stdout)
        self.assertIn("PROBLEM DMARC: no record", proc.stdout)

    def test_notify_is_refused_for_a_domain_that_does_not_do_tls(self):
        # M9: the accepted form's probe said how its domain passed.
        self.assertRegex(self.form_add_out,
                         rf"notify: ok\.{ZONE} passes TLS \(mxok\.{ZONE} \[127\.0\.0\.21\], "
                         r"TLSv1\.[23], certificate verified: ca\)")
        before = self.sp.cli("form", "list", "--data", self.sp.data).stdout
        # Refused: no STARTTLS at all; a domain that does not exist.
        for address, why in [(f"desk@clear.{ZONE}", "STARTTLS not offered"),
                             (f"desk@nowhere.{ZONE}", "the domain does not exist")]:
            path = os.path.join(self.root, "refused.toml")
            with open(path, "w") as f:
                f.write(self.notify_form(address, form_id="refused"))
            r = self.sp.cli("form", "add", "--data", self.sp.data, path, check=False)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(f"{address.split('@')[1]} does not pass TLS", r.stderr)
            self.assertIn(why, r.stderr)
            self.assertIn("notices go only to domains that do TLS (M9)", r.stderr)
        # Accepted: a certificate only DANE vouches for (its name is not the MX host's).
        path = os.path.join(self.root, "dane-notify.toml")
        with open(path, "w") as f:
            f.write(self.notify_form(f"desk@dane.{ZONE}", form_id="danenotify"))
        out = self.sp.cli("form", "add", "--data", self.sp.data, path).stdout
        self.assertIn(f"notify: dane.{ZONE} passes TLS", out)
        self.assertIn("certificate verified: dane_ee", out)
        # Nothing was added for the refused ones.
        after = self.sp.cli("form", "list", "--data", self.sp.data).stdout
        self.assertNotIn("refused", after)
        self.assertEqual(len(after.splitlines()), len(before.splitlines()) + 1)

    def test_phi_is_never_sent_with_policy_none(self):
        proc = self.sp.cli("mail", "send", "--data", self.sp.data, "--to", f"a@ok.{ZONE}",
                           "--subject", "x", "--body-file", os.devnull, "--security", "none",
                           "--phi", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("never used for a message marked as PHI", proc.stderr)

    def test_zz_kill9_mid_run_loses_nothing_and_resends_only_what_was_in_flight(self):
        # The slow receiver's certificate names mxok, so send with a policy that encrypts
        # without checking the name: `exclusive`.
        ids = [self.send(f"patient{i}@slow.{ZONE}", "exclusive") for i in range(6)]
        deadline = time.time() + 60
        while not self.slow.events("message") and time.time() < deadline:
            time.sleep(0.05)
        # In flight now: at most max_per_domain (4) sessions to this domain.
        self.sp.kill9()
        at_kill = {i: len(self.received(self.slow, i)) for i in ids}
        self.sp.start()
        for i in ids:
            # The dead node's leases expire (lease_seconds = 30), then this node takes over.
            state, out = self.wait_state(i, {"delivered", "bounced", "dropped"}, timeout=120)
            self.assertEqual(state, "delivered", out)
        counts = {i: len(self.received(self.slow, i)) for i in ids}
        self.assertTrue(all(c >= 1 for c in counts.values()), counts)  # nothing lost
        duplicates = sum(c - 1 for c in counts.values())
        print(f"\n  kill -9: received before the kill {sum(at_kill.values())}, "
              f"duplicates after {duplicates}", end="")
        self.assertLessEqual(duplicates, 4, counts)  # only what was in flight
        self.assertEqual(sanitizer_reports(self.sp), [])

    def test_y_tls_report_for_the_day_reaches_the_domain_that_asked(self):
        # The DANE domain publishes _smtp._tls with three destinations: mailto: (at the `ok`
        # receiver), https: at this test's report server, and https: at a host that does
        # not exist. The day's report goes by mail through our own queue and by POST.
        mid = self.send(f"patient@dane.{ZONE}", "opportunistic")
        self.assertEqual(self.wait_state(mid, {"delivered", "deferred"})[0], "delivered")
        out = self.sp.cli("mail", "tls-report", "--data", self.sp.data, "--day", "today").stdout
        self.assertRegex(out, rf"(?m)^dane\.{ZONE}: sent: 1 by mail \(\w+\), 1 by https; "
                              rf"not posted to https://nowhere\.{ZONE}/v1: nowhere\.{ZONE} has "
                              r"no address \(\w+\)$")
        self.assertRegex(out, rf"(?m)^ok\.{ZONE}: no record$")
        # Claimed once: a second run (or another node) finds nothing left for the day.
        again = self.sp.cli("mail", "tls-report", "--data", self.sp.data, "--day", "today")
        self.assertNotIn(f"dane.{ZONE}", again.stdout)
        # RFC 8460 3: POSTed as application/tlsrpt+gzip, SNI and Host the URL's host.
        posts = [r for r in self.reports.requests() if r.get("method") == "POST"]
        self.assertEqual(len(posts), 1, posts)
        self.assertEqual(posts[0]["path"], "/v1/tlsrpt")
        self.assertEqual(posts[0]["host"], f"reports.{ZONE}")
        self.assertEqual(posts[0]["sni"], f"reports.{ZONE}")
        self.assertEqual(posts[0]["content_type"], "application/tlsrpt+gzip")
        posted = json.loads(gzip.decompress(base64.b64decode(posts[0]["body_b64"])))
        deadline = time.time() + 60
        reports = []
        while time.time() < deadline and not reports:
            reports = [e for e in self.ok.events("message")
                       if b"report-type=tlsrpt" in base64.b64decode(e["data_b64"])]
            time.sleep(0.3)
        self.assertEqual(len(reports), 1, self.sp.log()[-3000:])
        self.assertIn(reports[0]["mail_from"], ("", "<>"))
        self.assertEqual(reports[0]["rcpt_tos"], [f"tlsrpt@ok.{ZONE}"])
        data = base64.b64decode(reports[0]["data_b64"])
        self.assert_dkim_verifies(data)
        script = ("import email, gzip, json, sys\n"
                  "from email import policy\n"
                  "m = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)\n"
                  "att = [p for p in m.iter_attachments()][0]\n"
                  "print(json.dumps({'domain': str(m['tls-report-domain']),\n"
                  "  'submitter': str(m['tls-report-submitter']),\n"
                  "  'subject': str(m['subject']), 'type': att.get_content_type(),\n"
                  "  'name': att.get_filename(),\n"
                  "  'report': json.loads(gzip.decompress(att.get_payload(decode=True)))}))\n")
        parsed = json.loads(subprocess.run([SYSTEM_PYTHON, "-c", script], input=data,
                                           capture_output=True, check=True).stdout)
        self.assertEqual(parsed["domain"], f"dane.{ZONE}")
        self.assertEqual(parsed["submitter"], ZONE)
        self.assertTrue(parsed["subject"].startswith(f"Report Domain: dane.{ZONE} Submitter: "))
        self.assertEqual(parsed["type"], "application/tlsrpt+gzip")
        self.assertRegex(parsed["name"], rf"^{re.escape(ZONE)}!dane\.{re.escape(ZONE)}!\d+!\d+!")
        report = parsed["report"]
        self.assertEqual(report["organization-name"], ZONE)
        policies = report["policies"]
        self.assertEqual([p["policy"]["policy-type"] for p in policies], ["tlsa"])
        self.assertEqual(policies[0]["policy"]["policy-domain"], f"dane.{ZONE}")
        self.assertTrue(policies[0]["policy"]["policy-string"][0].startswith("3 1 1 "))
        self.assertGreaterEqual(policies[0]["summary"]["total-successful-session-count"], 1)
        self.assertEqual(policies[0]["summary"]["total-failure-session-count"], 0)
        # The same report went to both destinations.
        self.assertEqual(posted, report)

    def test_z_audit_trail_and_no_body_at_rest(self):
        mid = self.send(f"patient@ok.{ZONE}", "verify")
        self.wait_state(mid, {"delivered"})
        trail = self.sp.cli("audit", "export", "--data", self.sp.data).stdout
        entries = [json.loads(line) for line in trail.splitlines() if line.strip()]
        actions = [(e["action"], e["object"]) for e in entries]
        self.assertIn("mail.queue", [a for a, _ in actions])
        delivered = [o for a, o in actions if a == "mail.delivered" and mid in o]
        self.assertEqual(len(delivered), 1, actions)
        self.assertIn("verified:ca", delivered[0])
        self.assertNotIn("patient@", trail)  # recipients by position and domain only
        self.assertIn("audit trail intact",
                      self.sp.cli("audit", "verify", "--data", self.sp.data).stdout)
        # Nowhere at rest: the data directory and, on PostgreSQL, the cluster with its WAL.
        self.assertEqual(self.sp.files_containing(MARKER.encode()), [],
                         "the body in cleartext at rest")
        self.assertNotIn(MARKER, self.sp.log())
        self.assertEqual(sanitizer_reports(self.sp), [])


if __name__ == "__main__":
    unittest.main()

"""The secure-message portal (issue 9): a `security = encrypt` message to a recipient with
neither an OpenPGP key nor an S/MIME certificate goes out as a PHI-free notice with a link;
the content waits in the database as AES-256-GCM ciphertext under a key only the link holds.

Real peers, on loopback, started here: NSD serving the signed test zone (tests/support/
dns.sh) with an MX at 127.0.0.94; an aiosmtpd receiver there (tests/support/smtp_sink.py)
without STARTTLS, so the notice travels in clear as it may in the world; gpg decrypts the
PGP/MIME half of a mixed message; Python's `cryptography` (OpenSSL-backed AESGCM, not our
code) decrypts what the portal hands out, with the key from the notice's link.

Checked: a keyless recipient gets only the notice (nothing of the subject or body), a keyed
one the PGP/MIME message (one queued message per method); the copy in the database does not
decrypt without the link's key, and the notice's body is erased once delivered; the code
comes in a separate mail, works once, within its time; wrong codes count in the portal's
lockout (429); the open is audited and `mail show` says "read at"; `mail revoke` makes the
links answer 410; without [server] public_origin keyless recipients are refused as before.
Recipient accounts: the first open of a copy to an address needs a new password (Argon2id,
the staff policy) besides the code; from the second message on, that password (wrong ones
count in the lockout, and a wrong password does not spend the code); an authenticator (TOTP)
can be added after an open and is then required. Secure replies: the open answers a token
with which the recipient replies; the reply reaches the sender PGP/MIME (gpg decrypts it,
with the recipient's address inside and nothing of it outside), at most 5 per copy, with a
`message.replied` webhook event queued with it (and `message.read` at the first open); a
tampered or foreign token is refused; `mail reset-recipient` forgets an account.
Policy `forced` (M2) to a keyless recipient whose receiver offers no STARTTLS (this sink)
falls back to the portal: the original recipient is dropped naming the notice, the copy
holds the original's subject and text, and its code comes (opportunistic, like the notice).
"""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import Gpg, Sealpost, free_port, set_config_value
from mailtest import (RECIPIENT_PASSWORD, SYSTEM_PYTHON, PortalReader, Sink, b64url,
                      free_port_on, require, start_mail_zone, stop_mail_zone)
from portal import fresh_totp

ZONE = "sealpost.example"
MX = "127.0.0.94"  # this test's own loopback address
MARKER = "zqxportalmarker" + os.urandom(4).hex()
PASSWORD = RECIPIENT_PASSWORD


class SecureMessagePortalTest(PortalReader, unittest.TestCase):
    marker = MARKER

    @classmethod
    def setUpClass(cls):
        require(os.path.exists(SYSTEM_PYTHON), "Debian's /usr/bin/python3")
        require(subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd"],
                               capture_output=True).returncode == 0, "python3-aiosmtpd")
        require(shutil.which("nsd") or os.path.exists("/usr/sbin/nsd"), "nsd")
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: F401
        except ImportError:
            require(False, "python3-cryptography")
        cls.root = tempfile.mkdtemp(prefix="sealpost-portal-")
        os.chmod(cls.root, 0o755)  # NSD (its own user) reads its zone under here
        cls.dns_dir = os.path.join(cls.root, "dns")
        cls.sink = None
        cls.sp = None
        cls.gpg = None
        cls.seen = set()
        try:
            cls.set_up()
        except BaseException:
            cls.tear_down()
            raise

    @classmethod
    def set_up(cls):
        port = free_port_on([MX])
        cls.sink = Sink(cls.root, "patient", MX, port)
        cls.sp = sp = Sealpost(root=os.path.join(cls.root, "node"))
        out = sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE,
                     "--selector", "s2026").stdout
        start_mail_zone(cls.root, cls.dns_dir, sp.data, ZONE,
                        f"patient MX 10 mxpatient\nclinic MX 10 mxpatient\nmxpatient A {MX}\n", out,
                        [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                         ("dkim_selector", "s2026"), ("remote_port", port),
                         # 10 s (the least): a rare transaction reported "not attempted"
                         # on a reused connection (seen once under load, being looked
                         # into) is retried within next_mail()'s wait.
                         ("retry_first_seconds", 10),
                         ("secure_message_days", 3)])
        # A keyed recipient (gpg), whose receiver is the same sink.
        cls.gpg = Gpg(os.path.join(cls.root, "gnupg"))
        cls.gpg.gpg("--import", os.path.join(sp.data, "server-signing-key.asc"))
        cls.keyed = f"kim@patient.{ZONE}"
        fpr = cls.gpg.new_key(f"Kim <{cls.keyed}>")
        sp.cli("key", "import", "--data", sp.data,
               cls.gpg.export_public(fpr, os.path.join(cls.root, "kim.asc")))
        # A staff sender with a key: secure replies reach them PGP/MIME.
        cls.nurse = f"nurse@clinic.{ZONE}"
        fpr = cls.gpg.new_key(f"Nurse <{cls.nurse}>")
        sp.cli("key", "import", "--data", sp.data,
               cls.gpg.export_public(fpr, os.path.join(cls.root, "nurse.asc")))
        # A webhook that takes the portal's events (its endpoint is down: the deliveries
        # wait in the queue, where the test reads them).
        sp.cli("webhook", "add", "--data", sp.data, "--url", f"https://hooks.{ZONE}/portal-events",
               "--events", "message.read,message.replied")
        cls.https_port = free_port()
        cls.origin = f"https://localhost:{cls.https_port}"
        set_config_value(sp.data, "server", "public_origin", cls.origin)
        cls.api_key = sp.cli("apikey", "add", "--data", sp.data, "--name", "ehr", "--scope",
                             "messages:send", "--scope", "messages:read").stdout.strip()
        sp.start(https_listen=f"127.0.0.1:{cls.https_port}")

    @classmethod
    def tear_down(cls):
        if cls.sp is not None:
            if cls.sp.proc is not None:
                cls.sp.stop()
            cls.sp.gpg.close()
        if cls.gpg is not None:
            cls.gpg.close()
        if cls.sink is not None:
            cls.sink.stop()
        stop_mail_zone(cls.dns_dir)
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.tear_down()

    # -- helpers ----------------------------------------------------------------------

    def send(self, *to, subject="Your results", check=True, security="encrypt", sender=None):
        path = os.path.join(self.root, f"body-{time.monotonic_ns()}.txt")
        with open(path, "w") as f:
            f.write(f"Dear patient,\nyour results: {MARKER}\nÄrztin Müller <b>x</b>\n")
        args = ["mail", "send", "--data", self.sp.data, "--subject", f"{subject} {MARKER}",
                "--body-file", path, "--security", security, "--phi"]
        if sender:
            args += ["--from", sender]
        for t in to:
            args += ["--to", t]
        return self.sp.cli(*args, check=check)

    # -- tests ------------------------------------------------------------------------

    def test_mixed_message_notice_code_open_read_receipt(self):
        patient = f"pat@patient.{ZONE}"
        mid = self.send(self.keyed, patient).stdout.strip()
        self.assertRegex(mid, r"^[0-9a-f]{32}$")
        copy, key, notice = self.notice(patient)
        self.assertFalse(notice.get("Subject", "").count(MARKER))
        # The keyed recipient: PGP/MIME, which gpg opens; it went as its own message.
        raw, msg = self.next_mail(self.keyed)
        # Its Subject is protected (RFC 9788): "[...]" outside, the real one inside.
        self.assertEqual(msg["Subject"], "[...]")
        self.assertNotIn(MARKER.encode(), raw.split(b"\r\n\r\n", 1)[1])
        self.assertEqual(msg.get_content_type(), "multipart/encrypted")
        self.assertNotIn(patient, msg.get("To", ""))
        armored = msg.get_payload()[1].get_content()
        path = os.path.join(self.root, "kim.asc.pgp")
        with open(path, "w") as f:
            f.write(armored if isinstance(armored, str) else armored.decode())
        self.assertIn(MARKER, self.gpg.gpg("--decrypt", path).stdout)
        # In the database: ciphertext only, which does not open without the link's key.
        rows = self.sp.sql("SELECT message_id, recipient, ciphertext FROM secure_messages "
                           "WHERE id = ?", copy)
        self.assertEqual(rows[0][0], mid)
        self.assertEqual(rows[0][1], patient)
        self.assertNotIn(MARKER.encode(), bytes(rows[0][2]))
        self.assertEqual(self.sp.files_containing(b64url(key)), [])
        self.assertEqual(self.sp.files_containing(key.encode()), [])
        show = self.sp.cli("mail", "show", "--data", self.sp.data, mid).stdout
        self.assertRegex(show, rf"portal {re.escape(patient)}: unread, expires ")

        # No Origin (or another one): refused, nothing mailed.
        self.assertEqual(self.post(f"/api/s/{copy}/code", {}, origin="https://evil.example")[0],
                         403)
        status, _, answer = self.post(f"/api/s/{copy}/code", {})
        self.assertEqual(status, 200, answer)
        code = self.code(patient)
        # Within the minute, no second code mail.
        self.assertEqual(self.post(f"/api/s/{copy}/code", {})[0], 429)
        wrong = "00000000" if code != "00000000" else "11111111"
        self.assertEqual(self.post(f"/api/s/{copy}/open", {"code": wrong})[0], 401)
        # The first message to this address: a password is chosen with the code.
        status, _, answer = self.post(f"/api/s/{copy}/open", {"code": code})
        self.assertEqual((status, answer["needs"]), (422, "new_password"), answer)
        status, _, answer = self.open_copy(copy, code)
        self.assertEqual(status, 200, answer)
        self.assertTrue(answer["account_created"])
        self.assertEqual(answer["message_id"], mid)
        content = self.decrypt(answer, key)
        self.assertEqual(content["subject"], f"Your results {MARKER}")
        self.assertIn(f"your results: {MARKER}", content["body"])
        self.assertIn("Ärztin Müller <b>x</b>", content["body"])
        # A wrong key fails the tag (the browser says the link is damaged).
        bad = base64.urlsafe_b64encode(bytes(32)).decode().rstrip("=")
        with self.assertRaises(Exception):
            self.decrypt(answer, bad)
        # The code is single use.
        self.assertEqual(self.post(f"/api/s/{copy}/open", {"code": code})[0], 401)
        self.assertRegex(self.sp.cli("mail", "show", "--data", self.sp.data, mid).stdout,
                         rf"portal {re.escape(patient)}: read at \d{{4}}-")
        entries = self.audit()
        opens = [e for e in entries if e["action"] == "secure_message.open"
                 and e["object"].startswith(f"message:{mid} ")]
        self.assertEqual([e["object"] for e in opens], [f"message:{mid} copy:{copy} first:yes"])
        self.assertTrue(any(e["action"] == "secure_message.deposit" and
                            e["object"].startswith(f"message:{mid} copy:{copy} ")
                            for e in entries))
        queued = [e["object"] for e in entries if e["action"] == "mail.queue"]
        self.assertTrue(any(o.startswith(f"message:{mid} ") and "sealed:pgp-mime portal:1" in o
                            for o in queued), queued)
        for e in entries:
            self.assertNotIn(patient, json.dumps(e))
            self.assertNotIn(MARKER, json.dumps(e))
        # Once delivered, the notice's body is gone from the queue.
        deadline = time.time() + 30
        while time.time() < deadline:
            left = self.sp.sql("SELECT count(*) FROM mail_messages WHERE body IS NOT NULL "
                               "AND length(body) > 0")[0][0]
            if left == 0:
                break
            time.sleep(0.3)
        self.assertEqual(left, 0)

    def test_forced_without_tls_falls_back_to_the_portal(self):
        patient = f"forced@patient.{ZONE}"
        mid = self.send(patient, security="forced").stdout.strip()
        copy, key, _ = self.notice(patient)
        show = self.sp.cli("mail", "show", "--data", self.sp.data, mid).stdout
        self.assertRegex(show, rf"recipient 0 {re.escape(patient)}: dropped")
        m = re.search(r"no acceptable TLS: sent by message-level encryption \(portal\) "
                      r"as message ([0-9a-f]{32})", show)
        self.assertIsNotNone(m, show)
        notice_id = m.group(1)
        self.assertRegex(show, rf"portal {re.escape(patient)}: unread, expires ")
        rows = self.sp.sql("SELECT message_id, recipient FROM secure_messages WHERE id = ?", copy)
        self.assertEqual((rows[0][0], rows[0][1]), (mid, patient))
        # The original never went out in clear.
        for e in self.sink.events("message"):
            self.assertNotIn(MARKER.encode(), base64.b64decode(e["data_b64"]))
        self.assertEqual(self.post(f"/api/s/{copy}/code", {})[0], 200)
        status, _, answer = self.open_copy(copy, self.code(patient))
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["message_id"], mid)
        content = self.decrypt(answer, key)
        self.assertEqual(content["subject"], f"Your results {MARKER}")
        self.assertIn(f"your results: {MARKER}", content["body"])
        self.assertIn("Ärztin Müller <b>x</b>", content["body"])
        entries = self.audit()
        queued = [e["object"] for e in entries if e["action"] == "mail.queue"]
        self.assertTrue(any(o.startswith(f"message:{notice_id} ") and
                            f"fallback-for:{mid} recipient:0 sealed:portal" in o
                            for o in queued), queued)
        self.assertTrue(any(e["action"] == "secure_message.deposit" and
                            e["object"].startswith(f"message:{mid} copy:{copy} ")
                            for e in entries))
        for e in entries:
            self.assertNotIn(patient, json.dumps(e))
            self.assertNotIn(MARKER, json.dumps(e))

    def test_wrong_codes_lock_out(self):
        patient = f"lock@patient.{ZONE}"
        self.send(patient)
        copy, _, _ = self.notice(patient)
        self.assertEqual(self.post(f"/api/s/{copy}/code", {})[0], 200)
        code = self.code(patient)
        wrong = "00000000" if code != "00000000" else "11111111"
        statuses = [self.post(f"/api/s/{copy}/open", {"code": wrong})[0] for _ in range(5)]
        self.assertIn(429, statuses, statuses)
        self.assertEqual(statuses[0], 401)
        status, headers, _ = self.open_copy(copy, code)
        self.assertEqual(status, 429)  # even the right code waits
        self.assertGreaterEqual(int(headers["retry-after"]), 1)
        failures = [e for e in self.audit() if e["action"] == "secure_message.code"
                    and e["outcome"] == "failure"]
        self.assertGreaterEqual(len(failures), 3)

    def test_api_deposits_through_the_same_outbox(self):
        patient = f"api@patient.{ZONE}"
        message = {"to": [patient], "subject": f"Results {MARKER}",
                   "text": f"your results: {MARKER}\n", "security": "encrypt", "phi": True}
        status, _, body = self.sp.request(
            "POST", "/api/v1/messages", body=json.dumps(message),
            headers={"Authorization": f"Bearer {self.api_key}",
                     "Content-Type": "application/json"})
        self.assertEqual(status, 202, body)
        mid = json.loads(body)["id"]
        copy, key, _ = self.notice(patient)
        self.assertEqual(self.sp.sql("SELECT message_id FROM secure_messages WHERE id = ?",
                                     copy)[0][0], mid)
        self.assertEqual(self.post(f"/api/s/{copy}/code", {})[0], 200)
        status, _, answer = self.open_copy(copy, self.code(patient))
        self.assertEqual(status, 200, answer)
        self.assertEqual(self.decrypt(answer, key)["body"], f"your results: {MARKER}\n")
        # The sender's read receipt, over the API.
        status, _, body = self.sp.request(
            "GET", f"/api/v1/messages/{mid}", headers={"Authorization": f"Bearer {self.api_key}"})
        self.assertEqual(status, 200, body)
        portal = json.loads(body)["portal"]
        self.assertEqual([(p["recipient"], p["state"]) for p in portal], [(patient, "read")])
        self.assertRegex(portal[0]["read_at"], r"^\d{4}-\d\d-\d\dT")
        self.assertNotIn(MARKER, body.decode())

    def test_account_reply_totp_and_reset(self):
        patient = f"acct@patient.{ZONE}"
        mid = self.send(patient, sender=self.nurse).stdout.strip()
        copy, key, _ = self.notice(patient)
        status, _, answer = self.post(f"/api/s/{copy}/code", {})
        self.assertEqual((status, answer["account"], answer["totp"]), (200, False, False))
        code = self.code(patient)
        # A weak new password is refused with the policy's words; the code stays usable.
        status, _, answer = self.open_copy(copy, code, password="short")
        self.assertEqual(status, 422, answer)
        self.assertIn("12", answer["error"])
        status, _, first = self.open_copy(copy, code)
        self.assertEqual(status, 200, first)
        self.assertTrue(first["account_created"])
        self.assertEqual(first["replies_left"], 5)
        self.assertIn(MARKER, self.decrypt(first, key)["body"])
        token = first["reply_token"]

        # A secure reply: to the sender, PGP/MIME (they have a key), gpg opens it.
        reply = f"Thank you. A question about {MARKER}-reply"
        status, _, answer = self.post(f"/api/s/{copy}/reply", {"token": token, "text": reply})
        self.assertEqual((status, answer["replies_left"]), (200, 4), answer)
        raw, msg = self.next_mail(self.nurse)
        self.assertEqual(msg.get_content_type(), "multipart/encrypted")
        self.assertNotIn(b"zqxportalmarker", raw)
        self.assertNotIn(patient.encode(), raw)  # the recipient's address is inside only
        self.assertIsNone(msg.get("Reply-To"))
        path = os.path.join(self.root, "reply.pgp")
        armored = msg.get_payload()[1].get_content()
        with open(path, "w") as f:
            f.write(armored if isinstance(armored, str) else armored.decode())
        plain = self.gpg.gpg("--decrypt", path).stdout
        self.assertIn(reply, plain)
        self.assertIn(f"From: {patient}", plain)
        self.assertIn(f"In reply to: message {mid}", plain)
        # A tampered token, a blank reply: refused, nothing queued.
        bad = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        self.assertEqual(self.post(f"/api/s/{copy}/reply", {"token": bad, "text": "x"})[0], 401)
        self.assertEqual(self.post(f"/api/s/{copy}/reply", {"text": "x"})[0], 401)
        self.assertEqual(self.post(f"/api/s/{copy}/reply",
                                   {"token": token, "text": " \n"})[0], 422)
        # At most 5 replies a copy.
        for i in range(4):
            status, _, answer = self.post(f"/api/s/{copy}/reply",
                                          {"token": token, "text": f"more {i}"})
            self.assertEqual(status, 200, answer)
        status, _, answer = self.post(f"/api/s/{copy}/reply", {"token": token, "text": "six"})
        self.assertEqual(status, 409, answer)
        for _ in range(4):  # the other four replies, each its own message
            self.next_mail(self.nurse)
        # Webhook events: one message.read for the first open, one message.replied a reply;
        # ids and the domain only.
        events = [(t, json.loads(p)) for t, p in self.sp.sql(
            "SELECT type, payload FROM webhook_deliveries")]
        ours = [(t, p["data"]) for t, p in events if p["data"].get("message") == mid]
        self.assertEqual([t for t, _ in ours].count("message.read"), 1, ours)
        self.assertEqual([t for t, _ in ours].count("message.replied"), 5, ours)
        for _, data in ours:
            self.assertEqual(data["domain"], f"patient.{ZONE}")
            self.assertNotIn(patient, json.dumps(data))
            self.assertNotIn(copy, json.dumps(data))
        entries = self.audit()
        self.assertEqual(len([e for e in entries if e["action"] == "secure_message.reply"
                              and e["object"].startswith(f"message:{mid} copy:{copy} ")]), 5)
        created = [e for e in entries if e["action"] == "recipient.account_created"]
        self.assertTrue(any(e["object"].endswith(f" copy:{copy}") for e in created), created)

        # The second message to the address: the password is needed; a wrong one counts
        # (audited) and leaves the code usable.
        mid2 = self.send(patient, sender=self.nurse).stdout.strip()
        copy2, key2, _ = self.notice(patient)
        status, _, answer = self.post(f"/api/s/{copy2}/code", {})
        self.assertEqual((answer["account"], answer["totp"]), (True, False))
        code2 = self.code(patient)
        # The first copy's token opens nothing here.
        self.assertEqual(self.post(f"/api/s/{copy2}/reply", {"token": token, "text": "x"})[0],
                         401)
        status, _, answer = self.post(f"/api/s/{copy2}/open", {"code": code2})
        self.assertEqual((status, answer["needs"]), (401, "password"))
        status, _, answer = self.open_copy(copy2, code2, password="not the password 123")
        self.assertEqual((status, answer["needs"]), (401, "password"))
        status, _, second = self.open_copy(copy2, code2)
        self.assertEqual(status, 200, second)
        self.assertFalse(second["account_created"])
        self.assertEqual(second["message_id"], mid2)
        self.assertIn(MARKER, self.decrypt(second, key2)["body"])
        failures = [e for e in self.audit() if e["action"] == "secure_message.password"]
        self.assertEqual(len(failures), 2, failures)
        self.assertNotIn(patient, json.dumps(failures))

        # An authenticator, added after the open; the third message then needs its code.
        status, _, answer = self.post(f"/api/s/{copy2}/totp", {"token": second["reply_token"]})
        self.assertEqual(status, 200, answer)
        secret = answer["secret"]
        self.assertTrue(answer["otpauth_uri"].startswith("otpauth://totp/"))
        used = set()
        status, _, answer = self.post(f"/api/s/{copy2}/totp/confirm",
                                      {"token": second["reply_token"], "totp": "000000"})
        self.assertEqual(status, 422, answer)
        status, _, answer = self.post(f"/api/s/{copy2}/totp/confirm",
                                      {"token": second["reply_token"],
                                       "totp": fresh_totp(secret, used)})
        self.assertEqual(status, 200, answer)
        self.send(patient, sender=self.nurse)
        copy3, key3, _ = self.notice(patient)
        status, _, answer = self.post(f"/api/s/{copy3}/code", {})
        self.assertEqual((answer["account"], answer["totp"]), (True, True))
        code3 = self.code(patient)
        status, _, answer = self.open_copy(copy3, code3)
        self.assertEqual((status, answer["needs"]), (401, "totp"))
        status, _, third = self.open_copy(copy3, code3, totp=fresh_totp(secret, used))
        self.assertEqual(status, 200, third)
        self.assertTrue(third["totp"])
        self.assertIn(MARKER, self.decrypt(third, key3)["body"])
        self.assertTrue(any(e["action"] == "recipient.totp_enrolled" for e in self.audit()))

        # An administrator's reset forgets the account: the next copy asks for a new one.
        out = self.sp.cli("mail", "reset-recipient", "--data", self.sp.data, "--email", patient)
        self.assertRegex(out.stdout, r"^reset recipient:[0-9a-f]{24}")
        again = self.sp.cli("mail", "reset-recipient", "--data", self.sp.data, "--email",
                            patient, check=False)
        self.assertNotEqual(again.returncode, 0)
        self.send(patient, sender=self.nurse)
        copy4, _, _ = self.notice(patient)
        status, _, answer = self.post(f"/api/s/{copy4}/code", {})
        self.assertEqual((status, answer["account"]), (200, False))
        self.code(patient)
        resets = [e for e in self.audit() if e["action"] == "recipient.account_reset"]
        self.assertEqual(len(resets), 1)
        self.assertNotIn(patient, json.dumps(self.audit()))

    def test_revoked_and_unknown(self):
        patient = f"rev@patient.{ZONE}"
        mid = self.send(patient).stdout.strip()
        copy, _, _ = self.notice(patient)
        out = self.sp.cli("mail", "revoke", "--data", self.sp.data, mid).stdout
        self.assertIn("revoked 1 unread portal copy", out)
        self.assertEqual(self.post(f"/api/s/{copy}/code", {})[0], 410)
        self.assertEqual(self.post(f"/api/s/{copy}/open", {"code": "12345678"})[0], 410)
        # Pruning erases the revoked copy's content; the row (the receipt) stays.
        self.assertGreater(int(self.sp.sql("SELECT length(ciphertext) FROM secure_messages "
                                           "WHERE id = ?", copy)[0][0]), 0)
        out = self.sp.cli("mail", "prune", "--data", self.sp.data).stdout
        self.assertRegex(out, r"erased the content of [1-9]\d* expired or revoked portal copy")
        self.assertEqual(int(self.sp.sql("SELECT length(ciphertext) FROM secure_messages "
                                         "WHERE id = ?", copy)[0][0]), 0)
        self.assertTrue(any(e["action"] == "secure_message.prune" for e in self.audit()))
        self.assertIn(f"message:{mid} copies:1",
                      [e["object"] for e in self.audit() if e["action"] == "secure_message.revoke"])
        self.assertEqual(self.post("/api/s/" + "A" * 43 + "/open", {"code": "1"})[0], 404)
        self.assertEqual(self.post("/api/s/short/open", {"code": "1"})[0], 404)
        status, headers, body = self.sp.request("GET", f"/s/{copy}")
        self.assertEqual(status, 200)
        self.assertIn("script-src 'self'", headers["content-security-policy"])
        self.assertIn(b'integrity="sha384-', body)

    def test_without_public_origin_keyless_is_refused(self):
        # The CLI reads the configuration afresh; the running server keeps what it read.
        path = os.path.join(self.sp.data, "sealpost.toml")
        with open(path) as f:
            config = f.read()
        line = f'public_origin = "{self.origin}"'
        self.assertIn(line, config)
        with open(path, "w") as f:
            f.write(config.replace(line, 'public_origin = ""'))
        try:
            before = self.sp.sql("SELECT count(*) FROM mail_messages")[0][0]
            body = os.path.join(self.root, "b.txt")
            with open(body, "w") as f:
                f.write("x\n")
            r = self.sp.cli("mail", "send", "--data", self.sp.data, "--to",
                            f"nokey@patient.{ZONE}", "--subject", "s", "--body-file", body,
                            "--security", "encrypt", check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("has no usable OpenPGP key or S/MIME certificate", r.stderr)
            self.assertIn("public_origin", r.stderr)
            self.assertEqual(self.sp.sql("SELECT count(*) FROM mail_messages")[0][0], before)
        finally:
            with open(path, "w") as f:
                f.write(config)


if __name__ == "__main__":
    unittest.main()

"""F14: a submitter's copy of what they sent, e-mailed under the rules of message-level
encryption (M6). A form declaring `copy_to = "<email field>"` shows an unticked box
"E-mail me a copy of what I sent"; ticked, the server queues one `encrypt` + PHI message to
the address typed in that field once the submission is durable. The patient has no key
here, so the Outbox turns it into a secure-message portal copy and a PHI-free notice.

Real peers, on loopback, started here (as test_mail_portal.py, whose helpers are shared
through tests/lib/mailtest.py): NSD serving the signed test zone with an MX at 127.0.0.96,
an aiosmtpd receiver there, and Python's `cryptography` (OpenSSL's AES-GCM) to read the
copy the portal hands out with the key from the notice's link.

Checked: the notice carries no field value and links /s/<id>#<key>; the copy opened there
holds the reference and every answer; the thank-you page says "A copy is on its way"; no
audit entry and no log line names the address or a value. A post without the box queues
nothing; a form without `copy_to` refuses the box as an unexpected field (422, nothing
stored); the fourth copy to one address within the hour is refused (the submission still
303, the page says "We could not send a copy this time", the log says
event=submitter_copy_refused reason=rate, without the address).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import Sealpost, free_port, generous_rate_limits, set_config_value, valid_intake
from mailtest import (SYSTEM_PYTHON, PortalReader, Sink, free_port_on, require,
                      start_mail_zone, stop_mail_zone)

ZONE = "sealpost.example"
MX = "127.0.0.96"  # this test's own loopback address
MARKER = "zqxcopymarker" + os.urandom(4).hex()
THANKS_RE = r"/f/copy/thanks/([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})"

COPY_FORM = """id = "copy"
title = "Repeat prescription"
recipients = ["{fpr}"]
copy_to = "email"

[[fields]]
name = "full_name"
type = "text"
label = "Full name"
required = true

[[fields]]
name = "email"
type = "email"
label = "Your e-mail address"

[[fields]]
name = "notes"
type = "textarea"
label = "What do you need?"
"""


class SubmitterCopyTest(PortalReader, unittest.TestCase):
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
        cls.root = tempfile.mkdtemp(prefix="sealpost-copy-")
        os.chmod(cls.root, 0o755)  # NSD (its own user) reads its zone under here
        cls.dns_dir = os.path.join(cls.root, "dns")
        cls.sink = None
        cls.sp = None
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
        sp.add_form(COPY_FORM.format(fpr=sp.recipients[0]), name="copy.toml")
        out = sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE,
                     "--selector", "s2026").stdout
        start_mail_zone(cls.root, cls.dns_dir, sp.data, ZONE,
                        f"patient MX 10 mxpatient\nmxpatient A {MX}\n", out,
                        [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                         ("dkim_selector", "s2026"), ("remote_port", port),
                         ("retry_first_seconds", 10)])
        cls.https_port = free_port()
        cls.origin = f"https://localhost:{cls.https_port}"
        set_config_value(sp.data, "server", "public_origin", cls.origin)
        generous_rate_limits(sp)  # the posts' own limits; the copies' are what is tested
        sp.start(https_listen=f"127.0.0.1:{cls.https_port}")

    @classmethod
    def tear_down(cls):
        if cls.sp is not None:
            if cls.sp.proc is not None:
                cls.sp.stop()
            cls.sp.gpg.close()
        if cls.sink is not None:
            cls.sink.stop()
        stop_mail_zone(cls.dns_dir)
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.tear_down()

    # -- helpers ----------------------------------------------------------------------

    def submit_copy_form(self, address, copy=True, name=None):
        fields = [("full_name", name or f"Pat {MARKER}"), ("email", address),
                  ("notes", f"Two boxes of {MARKER}\nthank you")]
        if copy:
            fields.append(("_copy", "1"))
        return self.sp.submit(fields, form="copy")

    def thanks(self, location):
        status, _, body = self.sp.request("GET", location)
        self.assertEqual(status, 200, body[:400])
        return body.decode()

    def queued_for(self, address):
        """Portal copies queued for `address` (the Outbox's table; the address is only
        there and in the queue, both sealed or needed to deliver)."""
        return self.sp.sql("SELECT count(*) FROM secure_messages WHERE recipient = ?",
                           address)[0][0]

    # -- tests ------------------------------------------------------------------------

    def test_form_shows_an_unticked_box(self):
        status, _, body = self.sp.request("GET", "/f/copy")
        self.assertEqual(status, 200)
        box = re.search(rb'<input type="checkbox" id="([a-z-]+)" name="_copy" value="1"'
                        rb'( checked)? aria-describedby="([a-z-]+)">', body)
        self.assertIsNotNone(box, body)
        self.assertIsNone(box.group(2))
        self.assertIn(b'<label for="' + box.group(1) + b'">E-mail me a copy of what I sent '
                      b'(through our secure-message service)</label>', body)
        self.assertRegex(body, rb'id="' + box.group(3) + rb'">[^<]*Your e-mail address')
        status, _, body = self.sp.request("GET", "/f/intake")
        self.assertNotIn(b'name="_copy"', body)

    def test_copy_goes_through_the_portal_and_holds_what_was_sent(self):
        patient = f"pat@patient.{ZONE}"
        status, headers, body = self.submit_copy_form(patient)
        self.assertEqual(status, 303, body[:400])
        m = re.fullmatch(THANKS_RE + r"\?copy=sent", headers["location"])
        self.assertIsNotNone(m, headers["location"])
        ref = m.group(1)
        page = self.thanks(headers["location"])
        self.assertIn("A copy is on its way", page)
        self.assertIn(ref, page)
        self.assertNotIn("could not send a copy", page)

        # The notice: PHI-free (PortalReader.notice checks the marker), with its link.
        copy, key, notice = self.notice(patient)
        for value in ("Two boxes", "What do you need"):
            self.assertNotIn(value, notice.get_body(("plain",)).get_content())
        self.assertNotIn(MARKER, str(notice.get("Subject", "")))
        # The copy, opened as the patient would: the reference, the time, every answer.
        self.assertEqual(self.post(f"/api/s/{copy}/code", {})[0], 200)
        status, _, answer = self.open_copy(copy, self.code(patient))
        self.assertEqual(status, 200, answer)
        content = self.decrypt(answer, key)
        self.assertEqual(content["subject"], f"Your submission {ref} to Repeat prescription")
        text = content["body"]
        self.assertIn(f"Reference: {ref}\n", text)
        self.assertRegex(text, r"Received: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n")
        self.assertIn(f"Full name: Pat {MARKER}\n", text)
        self.assertIn(f"Your e-mail address: {patient}\n", text)
        self.assertIn(f"What do you need?:\n  Two boxes of {MARKER}\n  thank you\n", text)
        self.assertLess(text.index("Full name"), text.index("Your e-mail address"))
        self.assertLess(text.index("Your e-mail address"), text.index("What do you need?"))
        for reserved in ("_copy", "_website", "_token"):
            self.assertNotIn(reserved, text)

        # The trail says a message was queued and deposited, never to whom or what.
        entries = self.audit()
        queued = [e for e in entries if e["action"] == "mail.queue"
                  and e["actor"] == "submitter-copy"]
        self.assertTrue(queued, [e["action"] for e in entries])
        self.assertTrue(any(e["action"] == "secure_message.deposit" and
                            e["actor"] == "submitter-copy" for e in entries))
        for e in entries:
            self.assertNotIn(patient, json.dumps(e))
            self.assertNotIn(MARKER, json.dumps(e))
        log = self.sp.log()
        self.assertIn(f"event=submitter_copy_queued form=copy reference={ref}", log)
        self.assertNotIn(patient, log)
        self.assertNotIn(MARKER, log)

    def test_no_box_no_copy(self):
        patient = f"nobox@patient.{ZONE}"
        status, headers, body = self.submit_copy_form(patient, copy=False)
        self.assertEqual(status, 303, body[:400])
        self.assertRegex(headers["location"], "^" + THANKS_RE + "$")
        page = self.thanks(headers["location"])
        self.assertNotIn("A copy is on its way", page)
        self.assertNotIn("could not send a copy", page)
        time.sleep(3)  # a copy would be queued from the pool right after the 303
        self.assertEqual(self.queued_for(patient), 0)
        self.assertEqual(self.sp.sql("SELECT count(*) FROM mail_recipients WHERE address = ?",
                                     patient)[0][0], 0)

    def test_a_form_without_copy_to_refuses_the_box(self):
        before = self.sp.submission_count("intake")
        fields = valid_intake() + [("_copy", "1")]
        status, headers, body = self.sp.submit(fields)
        self.assertEqual(status, 422, body[:400])
        self.assertIn(b"unexpected field", body)
        self.assertEqual(self.sp.submission_count("intake"), before)
        # Without the box the same answers are taken.
        status, headers, _ = self.sp.submit(valid_intake())
        self.assertEqual(status, 303)
        self.assertNotIn("?", headers["location"])

    def test_a_fourth_copy_within_the_hour_is_refused(self):
        patient = f"often@patient.{ZONE}"
        for i in range(3):
            status, headers, body = self.submit_copy_form(patient.upper() if i == 1 else patient)
            self.assertEqual(status, 303, body[:400])
            self.assertTrue(headers["location"].endswith("?copy=sent"), headers["location"])
        status, headers, body = self.submit_copy_form(patient)
        self.assertEqual(status, 303, body[:400])
        m = re.fullmatch(THANKS_RE + r"\?copy=not-sent", headers["location"])
        self.assertIsNotNone(m, headers["location"])
        page = self.thanks(headers["location"])
        self.assertIn("We could not send a copy this time", page)
        self.assertNotIn("A copy is on its way", page)
        # The submission itself is stored.
        self.assertEqual(self.sp.sql("SELECT count(*) FROM submissions WHERE reference = ?",
                                     m.group(1))[0][0], 1)
        log = self.sp.log()
        refused = [line for line in log.splitlines() if "event=submitter_copy_refused" in line]
        self.assertEqual(len(refused), 1, refused)
        self.assertIn("reason=rate", refused[0])
        self.assertIn(f"reference={m.group(1)}", refused[0])
        self.assertNotIn("often", log.lower())
        # Three copies, no fourth (the second was typed in capitals: the same address).
        deadline = time.time() + 30
        while time.time() < deadline and self.sp.sql(
                "SELECT count(*) FROM secure_messages WHERE lower(recipient) = ?",
                patient)[0][0] < 3:
            time.sleep(0.25)
        time.sleep(2)
        self.assertEqual(self.sp.sql(
            "SELECT count(*) FROM secure_messages WHERE lower(recipient) = ?", patient)[0][0], 3)


if __name__ == "__main__":
    unittest.main()

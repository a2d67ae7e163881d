"""Consent-gated campaigns (issue 11: C2, C3, C5, C6, C1's withdrawal), end to end on both
engines: contacts imported with the real CLI, two staff members enrolled in the portal (a form
owner who writes, a reviewer who approves), mail delivered to real receivers on loopback.

Real peers, started here: NSD serving the signed test zone with three MX hosts, and aiosmtpd
receivers: `tls` offers STARTTLS with a certificate from this test's CA (the campaign's
policy `exclusive` needs TLS), `slow` too but answers 451 to one recipient (its message waits,
deferred), `clear` offers no TLS (policy `exclusive` drops its recipient). Python's dkim
(Debian's python3-dkim) verifies what arrives, List-Unsubscribe included.

Checked: undeclared fields and unescaped output are refused when the campaign is written; the
author cannot approve; an approval is of the hash the reviewer read, and an edit voids it
(audited); an unapproved campaign cannot start; the audience and a preview; sending: each
contact checked for its authorisation as the message is built, suppressions counted by
reason (revoked, no_authorisation), the segment respected, TLS-less receivers dropped by the
policy; List-Unsubscribe + List-Unsubscribe-Post (RFC 8058) signed by DKIM, and their POST
revokes; a revocation while a message waits in the queue withdraws it (counted, its body
erased); the campaign ends `sent`, audited with its counts.
"""

import base64
import email
import email.policy
import json
import os
import re
import shutil
import tempfile
import time
import unittest
import urllib.parse

from harness import Sealpost, free_port, set_config_value
from mailtest import (Sink, dkim_records, dkim_verdicts, free_port_on, require_mail_peers,
                      start_mail_zone, stop_mail_zone)
from portal import Portal, StaffKey, add_user
from testca import TestCA

ZONE = "sealpost.example"
TLS_MX, SLOW_MX, CLEAR_MX = "127.0.0.101", "127.0.0.102", "127.0.0.103"
MARKER = "zqxcampaign" + os.urandom(4).hex()


class CampaignTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_mail_peers()
        cls.root = tempfile.mkdtemp(prefix="sealpost-campaigns-")
        os.chmod(cls.root, 0o755)  # NSD (its own user) reads its zone under here
        cls.dns_dir = os.path.join(cls.root, "dns")
        cls.sinks = []
        cls.sp = None
        cls.keys = []
        try:
            cls.set_up()
        except BaseException:
            cls.tear_down()
            raise

    @classmethod
    def set_up(cls):
        ca = TestCA(os.path.join(cls.root, "ca"))
        port = free_port_on([TLS_MX, SLOW_MX, CLEAR_MX])
        cert = ca.leaf("mx", [f"mxtls.{ZONE}", f"mxslow.{ZONE}"])
        cls.tls = Sink(cls.root, "tls", TLS_MX, port, "--cert", cert[2], "--key", cert[1])
        cls.slow = Sink(cls.root, "slow", SLOW_MX, port, "--cert", cert[2], "--key", cert[1],
                        "--rcpt-reply", f"fay@slow.{ZONE}=451 4.3.0 try again later")
        cls.clear = Sink(cls.root, "clear", CLEAR_MX, port)
        cls.sinks = [cls.tls, cls.slow, cls.clear]
        cls.sp = sp = Sealpost(root=os.path.join(cls.root, "node"))
        out = sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE,
                     "--selector", "s2026").stdout
        cls.dkim_records = dkim_records(out)
        start_mail_zone(cls.root, cls.dns_dir, sp.data, ZONE,
                        f"tls MX 10 mxtls\nmxtls A {TLS_MX}\n"
                        f"slow MX 10 mxslow\nmxslow A {SLOW_MX}\n"
                        f"clear MX 10 mxclear\nmxclear A {CLEAR_MX}\n", out,
                        [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                         ("dkim_selector", "s2026"), ("remote_port", port),
                         ("ca_file", ca.ca), ("retry_first_seconds", 600)])
        cls.https_port = free_port()
        cls.origin = f"https://localhost:{cls.https_port}"
        set_config_value(sp.data, "server", "public_origin", cls.origin)

        # Contacts: five authorised for marketing, one without any authorisation.
        authorised = os.path.join(cls.root, "authorised.csv")
        with open(authorised, "w") as f:
            f.write("email,first_name,city\r\n"
                    f"ann@tls.{ZONE},Ann {MARKER},Bern\r\n"
                    f"bob@tls.{ZONE},Bob,Basel\r\n"
                    f"cat@tls.{ZONE},Cat,Bern\r\n"
                    f"eve@clear.{ZONE},Eve,Bern\r\n"
                    f"fay@slow.{ZONE},Fay,Zug\r\n")
        sp.cli("contact", "import", "--data", sp.data, authorised, "--purpose", "marketing",
               "--consent-version", "v1")
        unauthorised = os.path.join(cls.root, "unauthorised.csv")
        with open(unauthorised, "w") as f:
            f.write(f"email,first_name,city\r\ndan@tls.{ZONE},Dan,Bern\r\n")
        sp.cli("contact", "import", "--data", sp.data, unauthorised)
        # Cat withdrew her consent before the campaign.
        sp.cli("contact", "revoke", "--data", sp.data, "--email", f"cat@tls.{ZONE}",
               "--purpose", "marketing")
        sp.start(https_listen=f"127.0.0.1:{cls.https_port}")
        # The owner is a reviewer too: four eyes must still refuse her own campaign.
        cls.owner = cls.staff("owner@clinic.example", "form_owner", "reviewer")
        cls.reviewer = cls.staff("reviewer@clinic.example", "reviewer")

    @classmethod
    def staff(cls, address, *roles):
        key = StaffKey(cls.sp.root, address)
        cls.keys.append(key)
        p = Portal(cls.sp)
        p.enrol(add_user(cls.sp, address, *roles), key)
        return p

    @classmethod
    def tear_down(cls):
        if cls.sp is not None:
            if cls.sp.proc is not None:
                cls.sp.stop()
            cls.sp.gpg.close()
        for key in cls.keys:
            key.close()
        for s in cls.sinks:
            s.stop()
        stop_mail_zone(cls.dns_dir)
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.tear_down()

    # -- helpers ----------------------------------------------------------------------

    def draft(self, **changes):
        d = {"name": "Flu shots", "purpose": "marketing", "sender": f"news@{ZONE}",
             "fields": ["first_name", "city"],
             "segment": 'city = "Bern" or city = "Zug"',
             "subject": "Flu shots for {{first_name}}",
             "body": "Dear {{first_name}},\nflu shots are here.\n", "per_minute": 6000}
        d.update(changes)
        return d

    def audit(self):
        return [json.loads(l) for l in
                self.sp.cli("audit", "export", "--data", self.sp.data).stdout.splitlines()]

    def wait_for(self, predicate, what, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.3)
        what = what() if callable(what) else what
        self.fail(f"timed out waiting for {what}: {self.sp.log()[-3000:]}")

    def messages_to(self, sink, address):
        return [base64.b64decode(e["data_b64"]) for e in sink.events("message")
                if address in e["rcpt_tos"]]

    # -- the test -----------------------------------------------------------------------

    def test_write_approve_send_suppress_unsubscribe_withdraw(self):
        owner, reviewer = self.owner, self.reviewer
        # Written: what uses an undeclared field, or unescaped output, is refused.
        for bad, member in ((self.draft(body="Dear {{last_name}}"), "body"),
                            (self.draft(subject="Hi {{{first_name}}}"), "subject"),
                            (self.draft(segment='age > "40"'), "segment"),
                            (self.draft(purpose="sales"), "purpose")):
            status, answer, _ = owner.call("POST", "/portal/api/campaigns", bad)
            self.assertEqual(status, 422, answer)
            self.assertTrue(answer["error"].startswith(member + ":"), answer)
        self.assertEqual(self.sp.sql("SELECT count(*) FROM campaigns")[0][0], 0)

        status, campaign, _ = owner.call("POST", "/portal/api/campaigns", self.draft())
        self.assertEqual(status, 200, campaign)
        cid = campaign["id"]
        self.assertEqual((campaign["state"], campaign["approved"], campaign["author"]),
                         ("draft", False, "owner@clinic.example"))
        # Not approved: cannot start.
        status, answer, _ = owner.call("POST", f"/portal/api/campaigns/{cid}/state",
                                       {"state": "sending"})
        self.assertEqual(status, 409, answer)
        # The reviewer reads it; the owner changes it meanwhile: the old hash is refused.
        status, read, _ = reviewer.call("GET", f"/portal/api/campaigns/{cid}")
        self.assertEqual(status, 200, read)
        status, edited, _ = owner.call("POST", f"/portal/api/campaigns/{cid}",
                                       self.draft(body="Dear {{first_name}},\nflu shots are "
                                                       "here, free of charge.\n"))
        self.assertEqual(status, 200, edited)
        self.assertNotEqual(edited["content_hash"], read["content_hash"])
        status, answer, _ = reviewer.call("POST", f"/portal/api/campaigns/{cid}/approve",
                                          {"content_hash": read["content_hash"]})
        self.assertEqual(status, 409, answer)
        # The author cannot approve, reviewer though she is.
        status, answer, _ = owner.call("POST", f"/portal/api/campaigns/{cid}/approve",
                                       {"content_hash": edited["content_hash"]})
        self.assertEqual(status, 403, answer)
        self.assertIn("author", answer["error"])
        status, answer, _ = reviewer.call("POST", f"/portal/api/campaigns/{cid}/approve",
                                          {"content_hash": edited["content_hash"]})
        self.assertEqual(status, 204, answer)
        # A change after approval voids it.
        status, changed, _ = owner.call("POST", f"/portal/api/campaigns/{cid}",
                                        self.draft(subject="Flu shots, {{first_name}}"))
        self.assertEqual((status, changed["approved"]), (200, False), changed)
        status, answer, _ = owner.call("POST", f"/portal/api/campaigns/{cid}/state",
                                       {"state": "sending"})
        self.assertEqual(status, 409, answer)
        status, answer, _ = reviewer.call("POST", f"/portal/api/campaigns/{cid}/approve",
                                          {"content_hash": changed["content_hash"]})
        self.assertEqual(status, 204, answer)

        # What the approval page shows: six contacts, five in the segment (not Bob, in
        # Basel), three of them authorised (Ann, Eve, Fay: Cat revoked, Dan never agreed).
        status, audience, _ = reviewer.call("GET", f"/portal/api/campaigns/{cid}/audience")
        self.assertEqual(status, 200, audience)
        self.assertEqual((audience["contacts"], audience["in_segment"], audience["authorised"]),
                         (6, 5, 3))
        self.assertFalse(audience["everyone"])
        status, preview, _ = reviewer.call("POST", f"/portal/api/campaigns/{cid}/preview",
                                           {"email": f"ann@tls.{ZONE}"})
        self.assertEqual(status, 200, preview)
        self.assertEqual(preview["subject"], f"Flu shots, Ann {MARKER}")
        self.assertTrue(preview["authorised"])
        status, preview, _ = reviewer.call("POST", f"/portal/api/campaigns/{cid}/preview",
                                           {"email": f"cat@tls.{ZONE}"})
        self.assertEqual((preview["authorised"], preview["suppressed_because"]),
                         (False, "revoked"))

        status, answer, _ = owner.call("POST", f"/portal/api/campaigns/{cid}/state",
                                       {"state": "sending"})
        self.assertEqual(status, 204, answer)

        # Ann gets hers over TLS, DKIM-signed, with one-click unsubscribe.
        got = self.wait_for(lambda: self.messages_to(self.tls, f"ann@tls.{ZONE}"), "Ann's mail")
        self.assertEqual(len(got), 1)
        raw = got[0]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg["Subject"], f"Flu shots, Ann {MARKER}")
        self.assertIn(f"Dear Ann {MARKER},", msg.get_body(("plain",)).get_content())
        self.assertEqual(msg["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        url = re.fullmatch(r"<(https://[^>]+)>", msg["List-Unsubscribe"]).group(1)
        self.assertTrue(url.startswith(self.origin + "/u/"), url)
        self.assertEqual(dkim_verdicts(raw, self.dkim_records), [True, True])
        h_tags = re.findall(rb"\bh=([^;]+);", raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b""))
        for tags in h_tags:
            names = [n.strip().lower() for n in tags.replace(b" ", b"").split(b":")]
            self.assertIn(b"list-unsubscribe", names)
            self.assertIn(b"list-unsubscribe-post", names)

        # Fay's receiver answers 451: her message waits. She revokes (the API, the CLI or a
        # link: the CLI here): it is withdrawn, not sent later.
        def fay_deferred():
            rows = self.sp.sql(
                "SELECT r.state, s.message_id FROM campaign_sends s JOIN mail_recipients r "
                "ON r.message_id = s.message_id JOIN contacts c ON c.id = s.contact_id "
                "WHERE c.address = ?", f"fay@slow.{ZONE}")
            return rows if rows and rows[0][0] == "deferred" else None
        (state, fay_message), = self.wait_for(fay_deferred, "Fay's message deferred")
        out = self.sp.cli("contact", "revoke", "--data", self.sp.data, "--email",
                          f"fay@slow.{ZONE}", "--purpose", "marketing").stdout
        self.assertIn("revoked 1 marketing authorisation(s)", out)
        self.assertEqual(self.sp.sql("SELECT state FROM mail_recipients WHERE message_id = ?",
                                     fay_message), [("dropped",)])
        self.assertEqual(self.sp.sql("SELECT length(body) FROM mail_messages WHERE id = ?",
                                     fay_message), [(0,)])

        status, done, _ = self.wait_for(
            lambda: (lambda r: r if r[1]["state"] == "sent" else None)(
                owner.call("GET", f"/portal/api/campaigns/{cid}")), "the campaign sent")
        outcomes = done["progress"]["outcomes"]
        self.assertEqual(outcomes, {"queued": 2, "withdrawn": 1, "revoked": 1,
                                    "no_authorisation": 1}, done)
        # Eve's receiver has no TLS: policy exclusive drops her (a policy drop, counted).
        def progress():
            return owner.call("GET", f"/portal/api/campaigns/{cid}")[1]["progress"]
        # (Deliveries count the messages still `queued` as an outcome: Fay's is `withdrawn`.)
        self.wait_for(lambda: progress()["deliveries"] == {"delivered": 1, "dropped": 1},
                      lambda: f"Eve dropped by the policy ({progress()})")
        self.assertEqual(self.messages_to(self.clear, f"eve@clear.{ZONE}"), [])
        self.assertEqual(self.messages_to(self.tls, f"bob@tls.{ZONE}"), [])
        self.assertEqual(self.messages_to(self.tls, f"cat@tls.{ZONE}"), [])
        self.assertEqual(self.messages_to(self.tls, f"dan@tls.{ZONE}"), [])

        # The command line says the same.
        status_text = self.sp.cli("campaign", "status", "--data", self.sp.data, cid).stdout
        self.assertIn("contacts: queued 3 (withdrawn since 1), suppressed 2 "
                      "(no_authorisation 1, revoked 1)", status_text)
        self.assertIn("deliveries: delivered 1, dropped 1", status_text)
        self.assertIn("approved by reviewer@clinic.example", status_text)
        self.assertRegex(status_text, r"rate: [0-9.]+ messages a minute")
        self.assertIn(f"{cid} sent approved purpose:marketing Flu shots",
                      self.sp.cli("campaign", "list", "--data", self.sp.data).stdout)
        r = self.sp.cli("campaign", "pause", "--data", self.sp.data, cid, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is sent: it cannot become paused", r.stderr)

        # The one-click POST a mail client sends (RFC 8058) revokes Ann's authorisation.
        path = urllib.parse.urlsplit(url).path
        status, _, page = self.sp.request(
            "POST", path, body="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        (via,), = self.sp.sql("SELECT a.revoked_via FROM authorisations a JOIN contacts c ON "
                              "c.id = a.contact_id WHERE c.address = ?", f"ann@tls.{ZONE}")
        self.assertEqual(via, "unsubscribe")

        trail = self.audit()
        actions = [(e["action"], e["outcome"]) for e in trail
                   if e["object"].startswith(f"campaign:{cid}")]
        self.assertIn(("campaign.add", "ok"), actions)
        refusals = [e["object"] for e in trail if e["action"] == "campaign.approve"
                    and e["outcome"] == "refused"]
        self.assertEqual([r.rsplit(" ", 1)[1] for r in refusals],
                         ["reason:changed", "reason:author"])
        self.assertIn(("campaign.start", "ok"), actions)
        self.assertIn(("campaign.sent", "ok"), actions)
        voided = [e for e in trail if e["action"] == "campaign.edit"
                  and e["object"].endswith("approval:voided")]
        self.assertEqual(len(voided), 1)
        sent = [e for e in trail if e["action"] == "campaign.sent"]
        self.assertEqual(sent[0]["object"], f"campaign:{cid} queued:3 suppressed:2")
        self.assertTrue(any(e["action"] == "authorisation.revoke" and
                            e["object"].endswith("via:cli revoked:1 withdrawn:1")
                            for e in trail))
        # No field value in the trail or the log.
        self.assertNotIn(MARKER, json.dumps(trail))
        self.assertNotIn(MARKER, self.sp.log())


if __name__ == "__main__":
    unittest.main()

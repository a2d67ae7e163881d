"""Webhooks for integrators (issue 9 point 7): `sealpost webhook add|list|show|remove` and a
running `sealpost serve` that POSTs signed events (Standard Webhooks) to HTTPS endpoints.

Real peers only, on loopback and started here:
- DNS: NSD serving the DNSSEC-signed test zone (tests/support/dns.sh) with
  `hooks.<zone>` A 127.0.0.76 and `badhooks.<zone>` A 127.0.0.77: the sender resolves the
  endpoint with sealpost's own resolver, as in production.
- HTTPS: receivers (tests/support/webhook_receiver.py, Python's http.server + ssl) that check
  each signature with their own code from the specification; 127.0.0.76 with a certificate
  from the test CA (given to sealpost as [mail] ca_file), 127.0.0.77 with a self-signed one.

Cases: the CLI refuses http: and malformed URLs and unknown events, prints the secret once
and never lists it, audits add and remove; a stored submission is delivered once, signed,
with its form and reference only (no field value); an endpoint that is down is retried and
gets the event once it is back; a 500 is retried with the same webhook-id; a slow endpoint
runs into the deadline and is retried; a bad certificate is never sent to and the failure
is recorded; a removed webhook's pending deliveries are cancelled.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import REPO, Sealpost, sanitizer_reports, set_config_value, valid_intake, \
    location_reference
from mailtest import SYSTEM_PYTHON, Process, Sink, free_port_on, read_jsonl, require
from testca import TestCA

DNS_SH = os.path.join(REPO, "tests", "support", "dns.sh")
RECEIVER = os.path.join(REPO, "tests", "support", "webhook_receiver.py")
ZONE = "sealpost.example"
GOOD_IP, BAD_IP, MX_IP = "127.0.0.76", "127.0.0.77", "127.0.0.78"
MAIL_DOMAIN = f"hookmail.{ZONE}"
GOOD_HOST, BAD_HOST = f"hooks.{ZONE}", f"badhooks.{ZONE}"
# Bounds on waiting (never asserted as durations): the first retry comes 4-6 s after a
# failure, the second 8-12 s after that; the request deadline is 10 s.
WAIT = 90


class Receiver(Process):
    def __init__(self, root, name, host, cert, port=0):
        self.root = root
        self.name = name
        self.record = os.path.join(root, f"hook-{name}.jsonl")
        self.secret_file = os.path.join(root, f"hook-{name}.secret")
        self.mode_file = os.path.join(root, f"hook-{name}.mode")
        self.args = [RECEIVER, "--host", host, "--cert", cert[2], "--key", cert[1],
                     "--secret-file", self.secret_file, "--mode-file", self.mode_file,
                     "--record", self.record]
        super().__init__(self.args + ["--port", str(port)], f"receiver {name}")

    def restart(self):
        super().__init__(self.args + ["--port", str(self.port)], f"receiver {self.name}")

    def mode(self, text):
        with open(self.mode_file, "w") as f:
            f.write(text)

    def secret(self, text):
        with open(self.secret_file, "w") as f:
            f.write(text)

    def posts(self):
        return read_jsonl(self.record)


class WebhooksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require(os.path.exists(SYSTEM_PYTHON), "Debian's /usr/bin/python3")
        require(shutil.which("nsd") or os.path.exists("/usr/sbin/nsd"), "nsd")
        require(subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd"],
                               capture_output=True).returncode == 0, "python3-aiosmtpd")
        cls.root = tempfile.mkdtemp(prefix="sealpost-webhooks-")
        os.chmod(cls.root, 0o755)  # NSD drops to its own user and reads its zone under here
        cls.procs = []
        cls.dns_dir = os.path.join(cls.root, "dns")
        cls.sp = None
        try:
            cls.set_up()
        except BaseException:
            cls.tear_down()
            raise

    @classmethod
    def set_up(cls):
        cls.ca = TestCA(os.path.join(cls.root, "ca"))
        cls.good_cert = cls.ca.leaf("hooks", [GOOD_HOST])
        cls.bad_cert = cls.ca.leaf("badhooks", [BAD_HOST], self_signed=True)
        # The MX of hookmail.<zone>: accepts patient@, refuses nobody@ for good.
        mx_cert = cls.ca.leaf("mx-hooks", [f"mx-hooks.{ZONE}"])
        cls.mx_port = free_port_on([MX_IP])
        cls.mx = Sink(cls.root, "mx", MX_IP, cls.mx_port, "--cert", mx_cert[2], "--key",
                      mx_cert[1], "--rcpt-reply", f"nobody@{MAIL_DOMAIN}=550 5.1.1 no such user")
        cls.procs.append(cls.mx)
        extra = os.path.join(cls.root, "extra.zone")
        with open(extra, "w") as f:
            f.write(f"hooks A {GOOD_IP}\nbadhooks A {BAD_IP}\nmx-hooks A {MX_IP}\n"
                    f"hookmail MX 10 mx-hooks\n")
        with open(os.path.join(cls.root, "dns.log"), "w") as log:
            subprocess.run([DNS_SH, "start", cls.dns_dir, extra], check=True, stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with open(os.path.join(cls.dns_dir, "resolver")) as f:
            resolver = f.read().strip()
        cls.sp = sp = Sealpost(root=os.path.join(cls.root, "node"))
        # Mail set up as in production: the sender uses its resolver and its CA file.
        sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE, "--selector", "s2026")
        for key, value in [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                           ("dkim_selector", "s2026"), ("resolver", resolver),
                           ("trust_anchor_file", os.path.join(cls.dns_dir, "trust-anchor")),
                           ("ca_file", cls.ca.ca), ("remote_port", cls.mx_port)]:
            set_config_value(sp.data, "mail", key, value)
        sp.start()

    @classmethod
    def tear_down(cls):
        cls.rc = None
        if cls.sp is not None:
            if cls.sp.proc is not None:
                cls.rc = cls.sp.stop()
            cls.sp.gpg.close()
        for p in cls.procs:
            p.stop()
        if os.path.exists(os.path.join(cls.dns_dir, "ready")):
            subprocess.run([DNS_SH, "stop", cls.dns_dir], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.tear_down()
        assert cls.rc == 0, f"serve exited {cls.rc} on SIGTERM"

    # -- helpers ----------------------------------------------------------------------

    def receiver(self, name, host=GOOD_IP, cert=None):
        r = Receiver(self.root, name, host, cert or self.good_cert)
        self.procs.append(r)
        return r

    def add(self, receiver, hostname=GOOD_HOST, events="submission.received"):
        out = self.sp.cli("webhook", "add", "--data", self.sp.data, "--url",
                          f"https://{hostname}:{receiver.port}/hooks/{receiver.name}?x=1",
                          "--events", events, "--name", receiver.name).stdout.split("\n")
        hook_id, secret = out[0], out[1]
        self.assertRegex(hook_id, r"^wh_[0-9A-Z]{16}$")
        self.assertRegex(secret, r"^whsec_[A-Za-z0-9+/]{43}=$")
        receiver.secret(secret)
        self.addCleanup(self.sp.cli, "webhook", "remove", "--data", self.sp.data, hook_id,
                        check=False)
        return hook_id, secret

    def submit(self):
        status, headers, _ = self.sp.submit(valid_intake())
        self.assertEqual(status, 303)
        ref = location_reference(headers)
        self.assertIsNotNone(ref)
        return ref

    def show(self, hook_id):
        return self.sp.cli("webhook", "show", "--data", self.sp.data, hook_id).stdout

    def delivery_line(self, hook_id, ref):
        for line in self.show(hook_id).splitlines():
            if line.strip().startswith(f"evt_sub_intake_{ref} "):
                return line
        return ""

    def wait_for(self, what, predicate):
        deadline = time.time() + WAIT
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.3)
        self.fail(f"{what} did not happen\n{self.sp.log()[-3000:]}")

    def posts_for(self, receiver, ref):
        return [p for p in receiver.posts() if f'"reference":"{ref}"' in p["body"]]

    # -- cases --------------------------------------------------------------------------

    def test_cli_refuses_bad_urls_and_events_and_never_lists_the_secret(self):
        for url in ["http://hooks.sealpost.example/x", "https://user@hooks.sealpost.example/",
                    "https://127.0.0.66/x", "https://hooks.sealpost.example:0/",
                    "https://hooks .sealpost.example/", "ftp://hooks.sealpost.example/"]:
            r = self.sp.cli("webhook", "add", "--data", self.sp.data, "--url", url, "--events",
                            "submission.received", check=False)
            self.assertNotEqual(r.returncode, 0, url)
            self.assertIn("--url", r.stderr)
        r = self.sp.cli("webhook", "add", "--data", self.sp.data, "--url",
                        "https://hooks.sealpost.example/", "--events", "submission.stored",
                        check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown event type", r.stderr)
        receiver = self.receiver("cli")
        hook_id, secret = self.add(receiver, events="submission.received,message.bounced")
        listed = self.sp.cli("webhook", "list", "--data", self.sp.data).stdout
        self.assertIn(hook_id, listed)
        self.assertIn("events:submission.received,message.bounced", listed)
        self.assertNotIn(secret, listed)
        self.assertNotIn(secret[6:], self.show(hook_id))
        # At rest: sealed, not in the clear (nor its base64) in the database.
        row = self.sp.sql("SELECT sealed_secret FROM webhooks WHERE id = ?", hook_id)[0][0]
        self.assertNotIn(secret[6:].encode(), bytes(row))
        import base64
        self.assertNotIn(base64.b64decode(secret[6:]), bytes(row))
        self.sp.cli("webhook", "remove", "--data", self.sp.data, hook_id)
        again = self.sp.cli("webhook", "remove", "--data", self.sp.data, hook_id, check=False)
        self.assertNotEqual(again.returncode, 0)
        actions = [a for (a,) in self.sp.sql(
            "SELECT action FROM audit WHERE object LIKE ? ORDER BY seq", f"webhook:{hook_id}%")]
        self.assertEqual(actions, ["webhook.add", "webhook.remove"])

    def test_a_submission_is_delivered_once_signed_and_without_phi(self):
        receiver = self.receiver("ok")
        hook_id, _ = self.add(receiver)
        ref = self.submit()
        posts = self.wait_for("the delivery", lambda: self.posts_for(receiver, ref))
        self.assertTrue(self.wait_for("delivered", lambda: " delivered " in
                                      self.delivery_line(hook_id, ref)))
        posts = self.posts_for(receiver, ref)
        self.assertEqual(len(posts), 1)
        p = posts[0]
        self.assertTrue(p["verified"], p)
        self.assertEqual(p["sni"], GOOD_HOST)
        self.assertEqual(p["path"], "/hooks/ok?x=1")
        self.assertEqual(p["content_type"], "application/json")
        self.assertEqual(p["id"], f"evt_sub_intake_{ref}")
        body = json.loads(p["body"])
        self.assertEqual(body["type"], "submission.received")
        self.assertEqual(body["data"], {"form": "intake", "reference": ref})
        self.assertRegex(body["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        for value in ("Jürgen", "1980-02-03", "j@example.org", "555"):
            self.assertNotIn(value, p["body"])
        self.assertRegex(self.sp.cli("webhook", "list", "--data", self.sp.data).stdout,
                         rf"{hook_id} active .* delivered:1 ")

    def test_an_endpoint_that_is_down_gets_the_event_once_it_is_back(self):
        receiver = self.receiver("down")
        receiver.stop()
        hook_id, _ = self.add(receiver)
        ref = self.submit()
        line = self.wait_for("a failed attempt", lambda: re.search(
            r" pending attempts:[1-9].*error:unreachable", self.delivery_line(hook_id, ref))
            and self.delivery_line(hook_id, ref))
        self.assertIn("status:-", line)
        receiver.restart()
        self.wait_for("the delivery", lambda: self.posts_for(receiver, ref))
        self.wait_for("delivered", lambda: " delivered " in self.delivery_line(hook_id, ref))
        posts = self.posts_for(receiver, ref)
        self.assertEqual(len(posts), 1)
        self.assertTrue(posts[0]["verified"])

    def test_a_500_is_retried_with_the_same_id(self):
        receiver = self.receiver("fivehundred")
        receiver.mode("500")
        hook_id, _ = self.add(receiver)
        ref = self.submit()
        self.wait_for("a 500", lambda: self.posts_for(receiver, ref))
        self.wait_for("recorded", lambda: "status:500" in self.delivery_line(hook_id, ref))
        self.assertIn(" pending ", self.delivery_line(hook_id, ref))
        receiver.mode("ok")
        self.wait_for("delivered", lambda: " delivered " in self.delivery_line(hook_id, ref))
        posts = self.posts_for(receiver, ref)
        self.assertGreaterEqual(len(posts), 2)
        self.assertEqual([p["answered"] for p in posts][-1], 204)
        self.assertTrue(all(p["answered"] == 500 for p in posts[:-1]))
        self.assertEqual({p["id"] for p in posts}, {f"evt_sub_intake_{ref}"})
        self.assertTrue(all(p["verified"] for p in posts))

    def test_a_slow_endpoint_runs_into_the_deadline_and_is_retried(self):
        receiver = self.receiver("slow")
        receiver.mode("sleep 20")  # over the 10 s deadline
        hook_id, _ = self.add(receiver)
        ref = self.submit()
        self.wait_for("a timed-out attempt", lambda: "error:unreachable or timed out" in
                      self.delivery_line(hook_id, ref))
        receiver.mode("ok")
        self.wait_for("delivered", lambda: " delivered " in self.delivery_line(hook_id, ref))

    def test_a_bad_certificate_is_never_sent_to_and_is_recorded(self):
        receiver = self.receiver("badcert", host=BAD_IP, cert=self.bad_cert)
        hook_id, _ = self.add(receiver, hostname=BAD_HOST)
        ref = self.submit()
        line = self.wait_for("a refused certificate", lambda: "certificate did not verify" in
                             self.delivery_line(hook_id, ref) and self.delivery_line(hook_id, ref))
        self.assertIn(" pending ", line)
        self.assertEqual(receiver.posts(), [])
        # Removing it cancels what is pending: nothing is ever sent there.
        self.sp.cli("webhook", "remove", "--data", self.sp.data, hook_id)
        self.assertIn(" cancelled ", self.delivery_line(hook_id, ref))
        self.assertEqual(receiver.posts(), [])

    def test_message_delivered_and_bounced_carry_ids_and_the_domain_only(self):
        receiver = self.receiver("mail")
        self.add(receiver, events="message.delivered,message.bounced")
        body = os.path.join(self.root, "body.txt")
        with open(body, "w") as f:
            f.write("Dear patient,\nyour appointment is confirmed.\n")
        sent = {}
        for who in ("patient", "nobody"):
            sent[who] = self.sp.cli("mail", "send", "--data", self.sp.data, "--to",
                                    f"{who}@{MAIL_DOMAIN}", "--subject", "Appointment",
                                    "--body-file", body, "--security", "opportunistic",
                                    "--phi").stdout.strip()

        def event_of(mid):
            for p in receiver.posts():
                if json.loads(p["body"])["data"].get("message") == mid:
                    return p
            return None

        delivered = self.wait_for("message.delivered", lambda: event_of(sent["patient"]))
        bounced = self.wait_for("message.bounced", lambda: event_of(sent["nobody"]))
        for p, kind, mid in ((delivered, "message.delivered", sent["patient"]),
                             (bounced, "message.bounced", sent["nobody"])):
            self.assertTrue(p["verified"], p)
            body_json = json.loads(p["body"])
            self.assertEqual(body_json["type"], kind)
            self.assertEqual(body_json["data"],
                             {"message": mid, "recipient": 0, "domain": MAIL_DOMAIN})
            for secret in ("patient@", "nobody@", "Appointment", "Dear patient"):
                self.assertNotIn(secret, p["body"])
        # Sent once each (the sink saw the one message; one event each).
        self.assertEqual(len([p for p in receiver.posts()
                              if json.loads(p["body"])["data"].get("message") in sent.values()]),
                         2)

    def test_no_sanitizer_reports(self):
        self.assertEqual(sanitizer_reports(self.sp), [])


if __name__ == "__main__":
    unittest.main()

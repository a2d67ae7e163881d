"""The HTTP messages API end to end (issue 8): `sealpost apikey add` prints a key once, a
POST /api/v1/messages with it is answered 202 with an id only once the message is queued,
a running `sealpost serve` delivers it, and GET /api/v1/messages/{id} shows how.

Real peers only, on loopback, started here: NSD serving the DNSSEC-signed test zone
(tests/support/dns.sh) with an MX for api.sealpost.example at 127.0.0.31, where an aiosmtpd
receiver (tests/support/smtp_sink.py, Debian's python3) offers STARTTLS with a certificate
from this test's CA; Python's http.client as the API client.

Cases: a key is printed once and `apikey list` never shows its secret; POST -> 202, the
receiver gets the message (its subject), GET -> delivered with TLS version, cipher and CA
verification; a key without messages:send -> 403; revoked, garbage and missing keys -> the
same 401 with WWW-Authenticate: Bearer; bad JSON, a bad address, a CR/LF subject -> 400
naming the field, an oversized body -> 413, and nothing queued; the audit trail has
apikey.add, apikey.revoke and mail.queue by api:<id>; the key's secret is in neither the
server's log nor any file of the data directory.
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

from harness import REPO, Sealpost, sanitizer_reports, set_config_value
from mailtest import SYSTEM_PYTHON, Sink, free_port_on, require
from testca import TestCA

DNS_SH = os.path.join(REPO, "tests", "support", "dns.sh")
ZONE = "sealpost.example"
MX_ADDRESS = "127.0.0.31"
KEY_RE = re.compile(r"^sp_([0-9a-f]{16})_([0-9a-f]{64})$")


class MailApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require(os.path.exists(SYSTEM_PYTHON), "Debian's /usr/bin/python3")
        require(subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd"],
                               capture_output=True).returncode == 0, "python3-aiosmtpd")
        require(shutil.which("nsd") or os.path.exists("/usr/sbin/nsd"), "nsd")
        cls.root = tempfile.mkdtemp(prefix="sealpost-api-")
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
        cert = ca.leaf("mxapi", [f"mxapi.{ZONE}"])
        cls.sink = Sink(cls.root, "api", MX_ADDRESS, free_port_on([MX_ADDRESS]), "--cert",
                        cert[2], "--key", cert[1])
        port = cls.sink.port

        cls.sp = sp = Sealpost(root=os.path.join(cls.root, "node"))
        out = sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE,
                     "--selector", "s2026").stdout
        extra = os.path.join(cls.root, "extra.zone")
        with open(extra, "w") as f:
            f.write(f"api    MX 10 mxapi\nmxapi  A  {MX_ADDRESS}\n")
            f.write("\n".join(re.findall(r"^\S+\. IN TXT .+$", out, re.M)) + "\n")
        with open(os.path.join(cls.root, "dns.log"), "w") as log:
            subprocess.run([DNS_SH, "start", cls.dns_dir, extra], check=True, stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with open(os.path.join(cls.dns_dir, "resolver")) as f:
            resolver = f.read().strip()
        for key, value in [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                           ("dkim_selector", "s2026"), ("resolver", resolver),
                           ("trust_anchor_file", os.path.join(cls.dns_dir, "trust-anchor")),
                           ("remote_port", port), ("ca_file", ca.ca),
                           ("default_policy", "verify")]:
            set_config_value(sp.data, "mail", key, value)

        # Keys are made before the server starts, as an operator would; every node reads them
        # from the database at each request, so revoking one below takes effect at once.
        cls.key, cls.key_stderr = cls.add_key("ehr", "messages:send", "messages:read")
        cls.read_only, _ = cls.add_key("dashboard", "messages:read")
        cls.revoked, _ = cls.add_key("old", "messages:send")
        sp.cli("apikey", "revoke", "--data", sp.data, cls.key_id(cls.revoked))
        sp.start()

    @classmethod
    def add_key(cls, name, *scopes):
        args = ["apikey", "add", "--data", cls.sp.data, "--name", name]
        for s in scopes:
            args += ["--scope", s]
        proc = cls.sp.cli(*args)
        key = proc.stdout.strip()
        assert KEY_RE.match(key), proc.stdout
        return key, proc.stderr

    @staticmethod
    def key_id(key):
        return KEY_RE.match(key).group(1)

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

    def api(self, method, path, key=None, body=None, content_type="application/json"):
        headers = {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if body is not None:
            headers["Content-Type"] = content_type
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        status, hdrs, data = self.sp.request(method, path, body=body, headers=headers)
        return status, hdrs, data

    def send(self, key, message):
        return self.api("POST", "/api/v1/messages", key, message)

    def queue_text(self):
        return self.sp.cli("mail", "queue", "--data", self.sp.data).stdout

    def received_subjects(self):
        out = []
        for e in self.sink.events("message"):
            data = base64.b64decode(e["data_b64"]).decode(errors="replace")
            m = re.search(r"^Subject: (.*)$", data, re.M)
            out.append((m.group(1).strip() if m else None, e["rcpt_tos"], e["tls"]))
        return out

    # -- cases --------------------------------------------------------------------------

    def test_a_key_is_shown_once_and_never_listed(self):
        self.assertIn("shown only now", self.key_stderr)
        listed = self.sp.cli("apikey", "list", "--data", self.sp.data).stdout
        secret = KEY_RE.match(self.key).group(2)
        self.assertIn(self.key_id(self.key) + " active scopes:messages:send,messages:read",
                      listed)
        self.assertIn(self.key_id(self.revoked) + " revoked", listed)
        self.assertNotIn(secret, listed)
        # An unknown scope is refused, and nothing is added.
        proc = self.sp.cli("apikey", "add", "--data", self.sp.data, "--name", "x", "--scope",
                           "admin", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("unknown scope", proc.stderr)
        self.assertEqual(self.sp.cli("apikey", "list", "--data", self.sp.data).stdout, listed)

    def test_send_delivers_and_get_shows_how(self):
        subject = "API appointment " + os.urandom(4).hex()
        status, headers, body = self.send(self.key, {
            "to": [f"patient@api.{ZONE}"], "subject": subject,
            "text": "Dear patient,\nyour appointment is on Monday.\n", "phi": True})
        self.assertEqual(status, 202, body)
        self.assertEqual(headers["content-type"], "application/json")
        mid = json.loads(body)["id"]
        self.assertRegex(mid, r"^[0-9a-f]{32}$")

        deadline = time.time() + 40
        state = None
        while time.time() < deadline:
            status, _, body = self.api("GET", f"/api/v1/messages/{mid}", self.key)
            self.assertEqual(status, 200, body)
            shown = json.loads(body)
            state = shown["recipients"][0]["state"]
            if state not in ("queued", "deferred") or shown["recipients"][0]["attempts"]:
                break
            time.sleep(0.3)
        r = shown["recipients"][0]
        self.assertEqual(state, "delivered", body)
        self.assertEqual(shown["id"], mid)
        self.assertEqual(shown["origin"], "api:" + self.key_id(self.key))
        self.assertEqual(shown["security"], "verify")  # [mail] default_policy
        self.assertTrue(shown["phi"])
        self.assertEqual(r["address"], f"patient@api.{ZONE}")
        self.assertRegex(r["tls"]["version"], r"^TLSv1\.[23]$")
        self.assertTrue(r["tls"]["cipher"])
        self.assertEqual(r["tls"]["verified"], "ca")
        self.assertTrue(r["reply"].startswith("250 "), r)
        got = [s for s in self.received_subjects() if s[0] == subject]
        self.assertEqual(len(got), 1, self.received_subjects())
        self.assertEqual(got[0][1], [f"patient@api.{ZONE}"])
        self.assertTrue(got[0][2])  # over TLS
        # Another key, even one allowed to read, does not see it.
        status, _, _ = self.api("GET", f"/api/v1/messages/{mid}", self.read_only)
        self.assertEqual(status, 404)
        self.assertEqual(self.api("GET", "/api/v1/messages/" + "0" * 32, self.key)[0], 404)

    def test_missing_scope_is_403(self):
        status, _, body = self.send(self.read_only, {"to": [f"a@api.{ZONE}"], "subject": "s",
                                                     "text": "x"})
        self.assertEqual(status, 403, body)
        self.assertIn("messages:send", json.loads(body)["message"])

    def test_revoked_garbage_and_missing_keys_get_the_same_401(self):
        message = {"to": [f"a@api.{ZONE}"], "subject": "s", "text": "x"}
        before = self.queue_text()
        answers = []
        for key in [self.revoked, "garbage", self.key[:-1] + ("0" if self.key[-1] != "0" else "1"),
                    None]:
            status, headers, body = self.send(key, message)
            self.assertEqual(status, 401, (key, body))
            self.assertEqual(headers.get("www-authenticate"), 'Bearer realm="sealpost"')
            answers.append(body)
        self.assertEqual(len(set(answers)), 1, answers)
        self.assertEqual(self.queue_text(), before)

    def test_bad_input_is_refused_naming_the_field_and_nothing_is_queued(self):
        before = self.queue_text()
        cases = [
            ("{not json", None),
            ({"to": ["not an address"], "subject": "s", "text": "x"}, "to"),
            ({"to": [f"a@api.{ZONE}"], "subject": "a\r\nBcc: x@evil.example", "text": "x"},
             "subject"),
            ({"to": [f"a@api.{ZONE}"], "subject": "s", "text": "x", "security": "none",
              "phi": True}, "security"),
            ({"to": [f"a@api.{ZONE}"] * 101, "subject": "s", "text": "x"}, "to"),
            ({"to": [f"a@api.{ZONE}"], "subjet": "s", "text": "x"}, "subjet"),
        ]
        for body, field in cases:
            with self.subTest(field=field):
                status, headers, answer = self.send(self.key, body)
                self.assertEqual(status, 400, answer)
                self.assertEqual(headers["content-type"], "application/json")
                self.assertEqual(json.loads(answer).get("field"), field, answer)
        # Over the body limit (1 MiB): 413 on the Content-Length, before any parsing.
        status, _, _ = self.sp.raw_request(
            (f"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
             f"Authorization: Bearer {self.key}\r\nContent-Type: application/json\r\n"
             f"Content-Length: {1024 * 1024 + 1}\r\n\r\n").encode())
        self.assertEqual(status, 413)
        self.assertEqual(self.queue_text(), before)

    def test_z_audit_trail_and_no_secret_anywhere(self):
        # After the other cases (unittest runs them in name order).
        trail = self.sp.cli("audit", "export", "--data", self.sp.data).stdout
        entries = [json.loads(line) for line in trail.splitlines() if line.strip()]
        actions = [(e["action"], e["actor"], e["object"]) for e in entries]
        added = [o for a, _, o in actions if a == "apikey.add"]
        self.assertEqual(len(added), 3, actions)
        self.assertIn(f"apikey:{self.key_id(self.key)} scopes:messages:send,messages:read",
                      added)
        self.assertIn(("apikey.revoke", f"apikey:{self.key_id(self.revoked)}"),
                      [(a, o) for a, _, o in actions])
        queued = [(actor, o) for a, actor, o in actions if a == "mail.queue"]
        self.assertTrue(queued, actions)
        self.assertTrue(all(actor == "api:" + self.key_id(self.key) for actor, _ in queued),
                        queued)
        self.assertNotIn("patient@", trail)
        self.assertIn("audit trail intact",
                      self.sp.cli("audit", "verify", "--data", self.sp.data).stdout)

        log = self.sp.log()
        self.assertIn("event=api_auth_failed", log)
        self.assertIn("key=" + self.key_id(self.revoked), log)  # the id is logged ...
        for key in (self.key, self.read_only, self.revoked):
            secret = KEY_RE.match(key).group(2)
            self.assertNotIn(secret, log)  # ... the secret never
            self.assertEqual(self.sp.files_containing(secret.encode()), [])
        self.assertNotIn("patient@", log)
        self.assertNotIn("Dear patient", log)
        self.assertEqual(sanitizer_reports(self.sp), [])


if __name__ == "__main__":
    unittest.main()

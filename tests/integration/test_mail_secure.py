"""Message-level encryption of outbound mail (issue 9, M6): `mail send --security encrypt`
and the API's "security": "encrypt" send PGP/MIME (RFC 3156), signed by the server's
OpenPGP key and encrypted to each recipient's imported key, over TLS whenever the
receiver offers it.

Real peers only, all on loopback and started here:
- DNS: NSD serving the DNSSEC-signed test zone (tests/support/dns.sh) with this test's MX
  records (127.0.0.71 with STARTTLS and a certificate from this test's CA, 127.0.0.72
  without STARTTLS).
- SMTP: two aiosmtpd receivers (tests/support/smtp_sink.py, Debian's python3).
- OpenPGP: GnuPG (`gpg --decrypt`), Sequoia (`sq decrypt --signer-cert`) and RNP's CLI
  (`rnp --decrypt`) each decrypt every message received and verify the server's signature;
  Python's email parser checks the RFC 3156 structure (what Thunderbird expects);
  dkimpy verifies the DKIM signatures over the encrypted message.

S/MIME (RFC 8551): certificates from this test's S/MIME CA (openssl), imported with
`sealpost cert import` (CBC by default, GCM with --aes-gcm); `openssl cms -decrypt` then
`openssl cms -verify` against the CA read what the receiver got (EnvelopedData AES-256-CBC,
AuthEnvelopedData AES-256-GCM), signed by the organisation's certificate.

Policy `forced` (M2): a recipient whose receiver offers no STARTTLS and who has a key gets
a sealed copy (its own message, queued in the unit of work that makes the original recipient
final); one without a key stays in awaiting_fallback.

Bad input: recipients whose key is expired, revoked or sign-only, or who have no key, are
refused at enqueue with an error naming the recipient, and nothing is queued; certificates
without keyEncipherment/keyAgreement, expired, or not chaining to [mail] smime_ca_file are
refused by `cert import` (a pinned one is taken), and a removed one is no longer used.
"""

import base64
import email
import email.policy
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import REPO, Gpg, Sealpost, set_config_value
from mailtest import SYSTEM_PYTHON, Sink, free_port_on, require
from testca import TestCA

DNS_SH = os.path.join(REPO, "tests", "support", "dns.sh")
ZONE = "sealpost.example"
TLS_MX = "127.0.0.71"
CLEAR_MX = "127.0.0.72"
MARKER = "zqxsecretmarker" + os.urandom(4).hex()
KEY_RE = re.compile(r"^sp_([0-9a-f]{16})_([0-9a-f]{64})$")


def tool(*cmd, input=None, env=None):
    return subprocess.run(list(cmd), input=input, capture_output=True, env=env, timeout=120)


class SecureMailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require(os.path.exists(SYSTEM_PYTHON), "Debian's /usr/bin/python3")
        require(subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd, dkim"],
                               capture_output=True).returncode == 0,
                "python3-aiosmtpd / python3-dkim")
        require(shutil.which("nsd") or os.path.exists("/usr/sbin/nsd"), "nsd")
        require(shutil.which("sq"), "sq (Sequoia)")
        require(shutil.which("rnp"), "rnp (RNP's CLI)")
        cls.root = tempfile.mkdtemp(prefix="sealpost-secure-")
        os.chmod(cls.root, 0o755)  # NSD (its own user) reads its zone under here
        cls.dns_dir = os.path.join(cls.root, "dns")
        cls.sinks = []
        cls.sp = None
        cls.homes = []
        cls.final_log = ""
        try:
            cls.set_up()
        except BaseException:
            cls.tear_down()
            raise

    @classmethod
    def set_up(cls):
        ca = TestCA(os.path.join(cls.root, "ca"))
        cert = ca.leaf("mxtls", [f"mxtls.{ZONE}"])
        port = free_port_on([TLS_MX, CLEAR_MX])
        cls.tls_sink = Sink(cls.root, "tls", TLS_MX, port, "--cert", cert[2], "--key", cert[1])
        cls.clear_sink = Sink(cls.root, "clear", CLEAR_MX, port)
        cls.sinks = [cls.tls_sink, cls.clear_sink]

        cls.sp = sp = Sealpost(root=os.path.join(cls.root, "node"))
        out = sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE,
                     "--selector", "s2026").stdout
        cls.dkim_records = {}
        for name, strings in re.findall(r"^(\S+)\. IN TXT (.+)$", out, re.M):
            cls.dkim_records[name] = "".join(re.findall(r'"([^"]*)"', strings))
        extra = os.path.join(cls.root, "extra.zone")
        with open(extra, "w") as f:
            f.write(f"tls    MX 10 mxtls\nmxtls  A  {TLS_MX}\n"
                    f"clear  MX 10 mxclear\nmxclear A {CLEAR_MX}\n")
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
                           ("retry_first_seconds", 600)]:
            set_config_value(sp.data, "mail", key, value)

        cls.server_key = os.path.join(sp.data, "server-signing-key.asc")
        cls.server_fpr = re.findall(
            r"^fpr:+([0-9A-F]{40}):",
            tool("gpg", "--with-colons", "--show-keys", cls.server_key).stdout.decode(),
            re.M)[0]

        # Alice: a GnuPG key (her home also knows the server's public key).
        cls.gpg = Gpg(os.path.join(cls.root, "alice"))
        cls.homes.append(cls.gpg)
        cls.gpg.gpg("--import", cls.server_key)
        cls.alice = f"alice@tls.{ZONE}"
        cls.import_gpg_key(cls.gpg.new_key(f"Alice <{cls.alice}>"), "alice")
        # Her secret key, unprotected, for sq and rnp; with the server's key for rnp.
        cls.alice_secret = os.path.join(cls.root, "alice-secret.asc")
        with open(cls.alice_secret, "w") as f:
            f.write(cls.gpg.gpg("--armor", "--export-secret-keys", cls.alice).stdout)
        cls.rnp_keys = os.path.join(cls.root, "rnp-keys.asc")
        with open(cls.rnp_keys, "w") as f, open(cls.alice_secret) as a, \
                open(cls.server_key) as s:
            f.write(a.read() + s.read())
        # Bob: a key Sequoia made.
        cls.bob = f"bob@tls.{ZONE}"
        cls.bob_secret = os.path.join(cls.root, "bob-secret.pgp")
        r = tool("sq", "key", "generate", "--userid", f"Bob <{cls.bob}>",
                 "--export", cls.bob_secret)
        assert r.returncode == 0, r.stderr
        bob_cert = os.path.join(cls.root, "bob.asc")
        r = tool("sq", "key", "extract-cert", "--output", bob_cert, cls.bob_secret)
        assert r.returncode == 0, r.stderr
        sp.cli("key", "import", "--data", sp.data, bob_cert)
        # Carol, whose receiver offers no STARTTLS.
        cls.carol = f"carol@clear.{ZONE}"
        cls.import_gpg_key(cls.gpg.new_key(f"Carol <{cls.carol}>"), "carol")

        # Keys that must never be used: expired (made in 2020, valid one day), revoked,
        # sign-only.
        cls.expired = f"expired@tls.{ZONE}"
        cls.gpg.gpg("--faked-system-time", "20200101T000000", "--quick-gen-key",
                    f"<{cls.expired}>", "default", "default", "1d")
        cls.import_gpg_key(cls.fpr_of(cls.expired), "expired")
        cls.revoked = f"revoked@tls.{ZONE}"
        revoked_fpr = cls.gpg.new_key(f"<{cls.revoked}>")
        rev = os.path.join(cls.gpg.home, "openpgp-revocs.d", f"{revoked_fpr}.rev")
        with open(rev) as f:
            # gpg writes its revocation certificate with a ':' guarding the armor line.
            cls.gpg.gpg("--import", input=f.read().replace(":-----BEGIN", "-----BEGIN"))
        cls.import_gpg_key(revoked_fpr, "revoked")
        cls.sign_only = f"signonly@tls.{ZONE}"
        cls.gpg.gpg("--quick-gen-key", f"<{cls.sign_only}>", "ed25519", "sign", "never")
        cls.import_gpg_key(cls.fpr_of(cls.sign_only), "signonly")

        # S/MIME: the organisation's signing certificate and the recipients', from one CA.
        cls.smime_ca = TestCA(os.path.join(cls.root, "smimeca"))
        org = cls.smime_leaf("org", f"forms@{ZONE}", "rsa", "digitalSignature")
        for key, value in [("smime_cert_file", org[0]), ("smime_key_file", org[1]),
                           ("smime_ca_file", cls.smime_ca.ca)]:
            set_config_value(sp.data, "mail", key, value)
        cls.dana = f"dana@tls.{ZONE}"
        cls.dana_cert = cls.smime_leaf("dana", cls.dana, "rsa", "keyEncipherment,digitalSignature")
        cls.erin = f"erin@tls.{ZONE}"
        cls.erin_cert = cls.smime_leaf("erin", cls.erin, "ec", "keyAgreement,digitalSignature")
        cls.frank = f"frank@tls.{ZONE}"
        cls.frank_cert = cls.smime_leaf("frank", cls.frank, "rsa",
                                        "keyEncipherment,digitalSignature")
        sp.cli("cert", "import", "--data", sp.data, cls.dana_cert[0])
        sp.cli("cert", "import", "--data", sp.data, "--aes-gcm", cls.erin_cert[0])
        sp.cli("cert", "import", "--data", sp.data, cls.frank_cert[0])

        # S5, notify_mode = "smime": Dana (a certificate) hears of each submission to this
        # form with its answers, encrypted to her certificate.
        sp.add_form(cls.notify_form("notifysmime", cls.dana), name="notifysmime.toml")

        cls.api_key = sp.cli("apikey", "add", "--data", sp.data, "--name", "ehr", "--scope",
                             "messages:send", "--scope", "messages:read").stdout.strip()
        assert KEY_RE.match(cls.api_key)
        sp.start()

    @classmethod
    def smime_leaf(cls, name, address, kind, usage, eku="emailProtection", start=None,
                   end=None, ca=None):
        """A certificate for `address` from the S/MIME CA (or `ca`): (cert, key)."""
        ca = ca or cls.smime_ca
        key = os.path.join(ca.d, name + ".key")
        csr = os.path.join(ca.d, name + ".csr")
        cert = os.path.join(ca.d, name + ".pem")
        newkey = (["-newkey", "rsa:2048"] if kind == "rsa" else
                  ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        ext = ["-addext", f"subjectAltName=email:{address}", "-addext", f"keyUsage={usage}"]
        if eku:
            ext += ["-addext", f"extendedKeyUsage={eku}"]
        subprocess.run(["openssl", "req", "-new", *newkey, "-nodes", "-keyout", key, "-out",
                        csr, "-subj", f"/CN={name}", *ext], check=True, capture_output=True)
        dates = ["-startdate", start, "-enddate", end] if start else ["-days", "30"]
        subprocess.run(["openssl", "ca", "-batch", "-config", ca.conf, "-cert", ca.ca,
                        "-keyfile", ca.ca_key, "-in", csr, "-out", cert, "-notext", *dates],
                       check=True, capture_output=True)
        return cert, key

    @classmethod
    def notify_form(cls, form_id, address):
        return f"""id = "{form_id}"
title = "Call me back"
recipients = ["{cls.sp.recipients[0]}"]
notify = ["{address}"]
notify_mode = "smime"

[[fields]]
name = "note"
type = "text"
label = "What is it about?"
required = true
"""

    @classmethod
    def fpr_of(cls, uid):
        out = cls.gpg.gpg("--list-keys", "--with-colons", uid).stdout
        return re.findall(r"^fpr:+([0-9A-F]{40}):", out, re.M)[0]

    @classmethod
    def import_gpg_key(cls, fpr, name):
        path = cls.gpg.export_public(fpr, os.path.join(cls.root, f"{name}.asc"))
        cls.sp.cli("key", "import", "--data", cls.sp.data, path)

    @classmethod
    def tear_down(cls):
        if cls.sp is not None:
            if cls.sp.proc is not None:
                cls.rc = cls.sp.stop()
                cls.final_log = cls.sp.log()
            cls.sp.gpg.close()
        for h in cls.homes:
            h.close()
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
        assert cls.rc == 0, f"serve exited {cls.rc} on SIGTERM: {cls.final_log[-3000:]}"

    # -- helpers ----------------------------------------------------------------------

    def body_file(self):
        path = os.path.join(self.root, f"body-{time.monotonic_ns()}.txt")
        with open(path, "w") as f:
            f.write(f"Dear patient,\nyour results: {MARKER}\nÄrztin Müller\n")
        return path

    def send(self, *to, check=True):
        args = ["mail", "send", "--data", self.sp.data, "--subject", "Your results",
                "--body-file", self.body_file(), "--security", "encrypt", "--phi"]
        for t in to:
            args += ["--to", t]
        return self.sp.cli(*args, check=check)

    def wait_for_log(self, pattern, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.sp.log())
            if m:
                return m.group(1)
            time.sleep(0.3)
        self.fail(f"no log line {pattern}: {self.sp.log()[-3000:]}")

    def queued_count(self):
        return self.sp.sql("SELECT count(*) FROM mail_messages")[0][0]

    def wait_delivered(self, message_id, count, timeout=90):
        deadline = time.time() + timeout
        out = ""
        while time.time() < deadline:
            out = self.sp.cli("mail", "show", "--data", self.sp.data, message_id).stdout
            states = re.findall(r"^recipient \d+ \S+: (\w+)", out, re.M)
            if len(states) == count and all(s == "delivered" for s in states):
                return out
            if any(s in ("bounced", "dropped", "awaiting_fallback") for s in states):
                break
            time.sleep(0.3)
        self.fail(f"{message_id} not delivered: {out}\n{self.sp.log()[-3000:]}")

    def received(self, sink, message_id):
        got = [e for e in sink.events("message")
               if message_id in base64.b64decode(e["data_b64"]).decode(errors="replace")]
        self.assertEqual(len(got), 1, f"{message_id} received once")
        return got[0]

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
        self.assertEqual(out.strip(), b"2", "both DKIM signatures verify")

    def pgp_part(self, data):
        """The RFC 3156 structure, checked; returns the armored OpenPGP message."""
        self.assertNotIn(MARKER.encode(), data, "the body never travels in cleartext")
        msg = email.message_from_bytes(data, policy=email.policy.default)
        self.assertEqual(msg.get_content_type(), "multipart/encrypted")
        self.assertEqual(msg.get_param("protocol"), "application/pgp-encrypted")
        # Header protection (RFC 9788): outside, the subject is obscured.
        self.assertEqual(msg["Subject"], "[...]")
        parts = list(msg.iter_parts())
        self.assertEqual(len(parts), 2)
        self.assertEqual(parts[0].get_content_type(), "application/pgp-encrypted")
        self.assertEqual(parts[0].get_payload(decode=True).strip(), b"Version: 1")
        self.assertEqual(parts[1].get_content_type(), "application/octet-stream")
        armored = parts[1].get_payload(decode=True)
        self.assertTrue(armored.startswith(b"-----BEGIN PGP MESSAGE-----"), armored[:80])
        return armored

    def assert_inner_entity(self, plaintext, subject="Your results"):
        """What was encrypted is a MIME entity (RFC 3156 section 4): the text part, with the
        message's header fields protected (RFC 9788): the real Subject is inside."""
        inner = email.message_from_bytes(plaintext, policy=email.policy.default)
        self.assertEqual(inner.get_content_type(), "text/plain")
        self.assertEqual(inner.get_param("hp"), "cipher")
        self.assertEqual(inner["Subject"], subject)
        self.assertIn(("Subject", "[...]"),
                      [tuple(v.split(": ", 1)) for v in inner.get_all("HP-Outer", [])])
        self.assertTrue(inner["Message-ID"] and inner["From"] and inner["To"])
        text = inner.get_content()
        self.assertIn(MARKER, text)
        self.assertIn("Ärztin Müller", text)

    def decrypt_gpg(self, armored):
        path = os.path.join(self.root, f"msg-{time.monotonic_ns()}.asc")
        with open(path, "wb") as f:
            f.write(armored)
        rc, out, status = self.gpg.decrypt(path)
        self.assertEqual(rc, 0, status)
        self.assertIn("DECRYPTION_OKAY", status)
        self.assertRegex(status, rf"VALIDSIG {self.server_fpr} ")
        self.assertNotIn("BADSIG", status)
        return out

    def decrypt_sq(self, armored, secret):
        r = tool("sq", "decrypt", "--recipient-key", secret, "--signer-cert", self.server_key,
                 input=armored)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        self.assertIn("Good signature", r.stderr.decode(errors="replace"))
        return r.stdout

    def decrypt_rnp(self, armored):
        path = os.path.join(self.root, f"rnp-{time.monotonic_ns()}.asc")
        with open(path, "wb") as f:
            f.write(armored)
        out = path + ".out"
        r = tool("rnp", "--keyfile", self.rnp_keys, "--decrypt", path, "--output", out)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 0, err)
        self.assertIn("Good signature", err)
        self.assertNotIn("BAD signature", err)
        with open(out, "rb") as f:
            return f.read()

    def smime_read(self, data, cert, secret=MARKER):
        """The S/MIME structure checked, decrypted with `cert`'s key and verified against
        the CA by openssl; returns (inner entity bytes, the CMS content type)."""
        self.assertNotIn(secret.encode(), data, "the body never travels in cleartext")
        msg = email.message_from_bytes(data, policy=email.policy.default)
        self.assertEqual(msg.get_content_type(), "application/pkcs7-mime")
        self.assertEqual(msg.get_param("smime-type"), "enveloped-data")
        self.assertEqual(msg["Subject"], "[...]")  # protected: the real one is inside
        der = msg.get_payload(decode=True)
        printed = tool("openssl", "cms", "-cmsout", "-print", "-inform", "DER",
                       input=der).stdout.decode()
        content_type = re.search(r"contentType: (\S+)", printed).group(1)
        path = os.path.join(self.root, f"smime-{time.monotonic_ns()}.eml")
        with open(path, "wb") as f:
            f.write(data)
        r = tool("openssl", "cms", "-decrypt", "-in", path, "-recip", cert[0], "-inkey", cert[1])
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        signed = r.stdout
        inner = email.message_from_bytes(signed, policy=email.policy.default)
        self.assertEqual(inner.get_content_type(), "multipart/signed")
        self.assertEqual(inner.get_param("protocol"), "application/pkcs7-signature")
        r = tool("openssl", "cms", "-verify", "-CAfile", self.smime_ca.ca, "-purpose", "any",
                 input=signed)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        self.assertIn("Verification successful", r.stderr.decode(errors="replace"))
        # The signer is the organisation's certificate (forms@).
        signers = os.path.join(self.root, f"signer-{time.monotonic_ns()}.pem")
        tool("openssl", "cms", "-verify", "-CAfile", self.smime_ca.ca, "-purpose", "any",
             "-signer", signers, input=signed)
        with open(signers, "rb") as f:
            subject = tool("openssl", "x509", "-noout", "-subject", input=f.read()).stdout
        self.assertIn(b"CN = org", subject)
        return r.stdout, content_type

    # -- cases --------------------------------------------------------------------------

    def test_smime_cbc_and_gcm_read_by_openssl_cms(self):
        for who, cert, want in ((self.dana, self.dana_cert, "pkcs7-envelopedData"),
                                (self.erin, self.erin_cert, "id-smime-ct-authEnvelopedData")):
            with self.subTest(who=who):
                mid = self.send(who).stdout.strip()
                shown = self.wait_delivered(mid, 1)
                self.assertIn("sealed smime-aes-256-" +
                              ("gcm" if who == self.erin else "cbc"), shown)
                got = self.received(self.tls_sink, mid)
                self.assertTrue(got["tls"])
                data = base64.b64decode(got["data_b64"])
                self.assert_dkim_verifies(data)
                entity, content_type = self.smime_read(data, cert)
                self.assertEqual(content_type, want)
                self.assert_inner_entity(entity.replace(b"\r\n", b"\n"))
        # Two S/MIME recipients, one CBC and one GCM: CBC, which both read.
        mid = self.send(self.dana, self.erin).stdout.strip()
        self.wait_delivered(mid, 2)
        data = base64.b64decode(self.received(self.tls_sink, mid)["data_b64"])
        for cert in (self.dana_cert, self.erin_cert):
            entity, content_type = self.smime_read(data, cert)
            self.assertEqual(content_type, "pkcs7-envelopedData")
            self.assert_inner_entity(entity.replace(b"\r\n", b"\n"))
        trail = self.sp.cli("audit", "export", "--data", self.sp.data).stdout
        self.assertIn(f"message:{mid} ", trail)
        self.assertIn("sealed:smime-aes-256-cbc", trail)
        self.assertIn("sealed:smime-aes-256-gcm", trail)
        imports = [json.loads(l) for l in trail.splitlines() if '"cert.import"' in l]
        self.assertGreaterEqual(len(imports), 3)

    def test_notify_mode_smime_carries_the_answers_to_the_certificate(self):
        secret = "zqxsmimenote" + os.urandom(4).hex()
        status, headers, _ = self.sp.submit([("note", secret)], form="notifysmime")
        self.assertEqual(status, 303)
        reference = re.search(r"/f/notifysmime/thanks/([A-Z0-9-]+)",
                              headers["location"]).group(1)
        # Outside, only its Message-ID tells the notice apart (the subject is protected).
        queued = self.wait_for_log(
            rf"event=notice_queued form=notifysmime reference={reference} message=([0-9a-f]{{32}})")
        deadline = time.time() + 60
        notices = []
        while time.time() < deadline and not notices:
            notices = [e for e in self.tls_sink.events("message")
                       if self.dana in e["rcpt_tos"] and f"<{queued}@" in
                       base64.b64decode(e["data_b64"]).decode(errors="replace")]
            time.sleep(0.3)
        self.assertEqual(len(notices), 1, self.sp.log()[-3000:])
        self.assertTrue(notices[0]["tls"])
        data = base64.b64decode(notices[0]["data_b64"])
        self.assert_dkim_verifies(data)
        entity, content_type = self.smime_read(data, self.dana_cert, secret=secret)
        self.assertEqual(content_type, "pkcs7-envelopedData")
        inner = email.message_from_bytes(entity, policy=email.policy.default)
        self.assertEqual(inner["Subject"], f"New submission: Call me back ({reference})")
        self.assertEqual(inner.get_param("hp"), "cipher")
        text = inner.get_content()
        self.assertIn(f"Reference: {reference}", text)
        self.assertIn(f"What is it about?: {secret}", text)
        self.assertNotIn(secret, self.sp.log())
        # An address with an OpenPGP key but no certificate cannot be notified this way.
        path = os.path.join(self.root, "notifyalice.toml")
        with open(path, "w") as f:
            f.write(self.notify_form("notifyalice", self.alice))
        r = self.sp.cli("form", "add", "--data", self.sp.data, path, check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"recipient 1 ({self.alice}) has no usable S/MIME certificate", r.stderr)

    def test_bad_certificates_are_refused_at_import(self):
        other_ca = TestCA(os.path.join(self.root, "otherca"))
        cases = {
            "signonly": (self.smime_leaf("signonly", f"so@tls.{ZONE}", "rsa",
                                         "digitalSignature"),
                         "neither keyEncipherment nor keyAgreement"),
            "expired": (self.smime_leaf("expired", f"old@tls.{ZONE}", "rsa", "keyEncipherment",
                                        start="20200101000000Z", end="20210101000000Z"),
                        "has expired"),
            "noeku": (self.smime_leaf("noeku", f"web@tls.{ZONE}", "rsa", "keyEncipherment",
                                      eku="serverAuth"),
                      "emailProtection"),
            "otherca": (self.smime_leaf("stranger", f"gina@tls.{ZONE}", "rsa",
                                        "keyEncipherment", ca=other_ca),
                        "does not chain"),
        }
        before = self.sp.cli("cert", "list", "--data", self.sp.data).stdout
        for name, ((cert, _), why) in cases.items():
            with self.subTest(name=name):
                r = self.sp.cli("cert", "import", "--data", self.sp.data, cert, check=False)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(why, r.stderr)
        with open(os.path.join(self.root, "garbage.pem"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        r = self.sp.cli("cert", "import", "--data", self.sp.data,
                        os.path.join(self.root, "garbage.pem"), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not an X.509 certificate", r.stderr)
        self.assertEqual(self.sp.cli("cert", "list", "--data", self.sp.data).stdout, before)
        # Pinned, the certificate from another CA is taken (the operator vouches for it).
        stranger = cases["otherca"][0]
        out = self.sp.cli("cert", "import", "--data", self.sp.data, "--pin", stranger[0]).stdout
        self.assertIn(f"gina@tls.{ZONE}", out)
        self.assertIn("pinned", out)

    def test_removed_certificate_is_no_longer_used(self):
        listed = self.sp.cli("cert", "list", "--data", self.sp.data).stdout
        line = [l for l in listed.splitlines() if self.frank in l]
        self.assertEqual(len(line), 1, listed)
        sha = line[0].split()[0]
        self.assertRegex(sha, r"^[0-9A-F]{64}$")
        self.sp.cli("cert", "remove", "--data", self.sp.data, sha)
        self.assertNotIn(self.frank, self.sp.cli("cert", "list", "--data", self.sp.data).stdout)
        r = self.send(self.frank, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"recipient 1 ({self.frank}) has no usable", r.stderr)
        trail = self.sp.cli("audit", "export", "--data", self.sp.data).stdout
        self.assertIn(f"cert:{sha}", [json.loads(l)["object"] for l in trail.splitlines()
                                      if '"cert.remove"' in l])

    def test_forced_falls_back_to_message_level_encryption(self):
        # Carol has a key and her receiver offers no STARTTLS; nokey@clear has neither.
        nokey = f"nokey@clear.{ZONE}"
        args = ["mail", "send", "--data", self.sp.data, "--subject", "Your results",
                "--body-file", self.body_file(), "--security", "forced", "--phi",
                "--to", self.carol, "--to", nokey]
        mid = self.sp.cli(*args).stdout.strip()
        deadline = time.time() + 90
        out = ""
        while time.time() < deadline:
            out = self.sp.cli("mail", "show", "--data", self.sp.data, mid).stdout
            states = re.findall(r"^recipient \d+ \S+: (\w+)", out, re.M)
            if states == ["dropped", "awaiting_fallback"]:
                break
            time.sleep(0.3)
        self.assertEqual(states, ["dropped", "awaiting_fallback"], out)
        m = re.search(r"sent by message-level encryption \(pgp-mime\) as message ([0-9a-f]{32})",
                      out)
        self.assertIsNotNone(m, out)
        copy = m.group(1)
        copy_out = self.wait_delivered(copy, 1)
        self.assertIn("sealed pgp-mime", copy_out)
        self.assertNotIn("sealed", out)  # the original itself was TLS only
        self.assertIn(self.carol, copy_out)
        self.assertNotIn(nokey, copy_out)
        got = self.received(self.clear_sink, copy)
        self.assertFalse(got["tls"])
        self.assertEqual(got["rcpt_tos"], [self.carol])
        data = base64.b64decode(got["data_b64"])
        self.assert_dkim_verifies(data)
        self.assert_inner_entity(self.decrypt_gpg(self.pgp_part(data)))
        # The original itself never went out: only its sealed copy.
        originals = [e for e in self.clear_sink.events("message")
                     if mid in base64.b64decode(e["data_b64"]).decode(errors="replace")]
        self.assertEqual(originals, [])
        trail = self.sp.cli("audit", "export", "--data", self.sp.data).stdout
        queued = [json.loads(l)["object"] for l in trail.splitlines() if '"mail.queue"' in l]
        self.assertTrue(any(o.startswith(f"message:{copy} ") and
                            f"fallback-for:{mid} recipient:0 sealed:pgp-mime" in o
                            for o in queued), queued)

    def test_mixed_methods_go_as_one_message_each(self):
        # Alice has an OpenPGP key, Dana a certificate: one message sealed per method, each
        # to its own recipients; the id printed is the first, the second names it.
        mid = self.send(self.alice, self.dana).stdout.strip()
        trail = self.sp.cli("audit", "export", "--data", self.sp.data).stdout
        queued = [json.loads(l)["object"] for l in trail.splitlines() if '"mail.queue"' in l]
        first = [o for o in queued if o.startswith(f"message:{mid} ")]
        self.assertEqual(len(first), 1, queued)
        self.assertIn("recipients:1", first[0])
        self.assertIn("sealed:pgp-mime", first[0])
        split = [o for o in queued if o.endswith(f"split-from:{mid}")]
        self.assertEqual(len(split), 1, queued)
        self.assertIn("recipients:1", split[0])
        self.assertIn("sealed:smime-aes-256-cbc", split[0])
        second = re.match(r"message:([0-9a-f]{32}) ", split[0]).group(1)
        self.assertIn("sealed pgp-mime", self.wait_delivered(mid, 1))
        self.assertIn("sealed smime-aes-256-cbc", self.wait_delivered(second, 1))
        got = self.received(self.tls_sink, mid)
        self.assertEqual(got["rcpt_tos"], [self.alice])
        self.assert_inner_entity(self.decrypt_gpg(self.pgp_part(base64.b64decode(got["data_b64"]))))
        got = self.received(self.tls_sink, second)
        self.assertEqual(got["rcpt_tos"], [self.dana])
        entity, _ = self.smime_read(base64.b64decode(got["data_b64"]), self.dana_cert)
        self.assert_inner_entity(entity.replace(b"\r\n", b"\n"))
        self.assertNotIn(self.alice, trail)
        self.assertNotIn(self.dana, trail)

    def test_pgp_mime_over_tls_read_by_gpg_sq_and_rnp(self):
        mid = self.send(self.alice, self.bob).stdout.strip()
        shown = self.wait_delivered(mid, 2)
        self.assertIn("sealed pgp-mime (for every recipient)", shown)
        got = self.received(self.tls_sink, mid)
        self.assertTrue(got["tls"], "encrypted mail still goes over TLS when offered")
        self.assertEqual(sorted(got["rcpt_tos"]), sorted([self.alice, self.bob]))
        data = base64.b64decode(got["data_b64"])
        self.assert_dkim_verifies(data)
        armored = self.pgp_part(data)
        # One ciphertext, readable by each recipient alone, with each tool.
        for plaintext in (self.decrypt_gpg(armored),
                          self.decrypt_sq(armored, self.alice_secret),
                          self.decrypt_sq(armored, self.bob_secret),
                          self.decrypt_rnp(armored)):
            self.assert_inner_entity(plaintext)
        # The trail says how it was sealed, never which key or address.
        trail = self.sp.cli("audit", "export", "--data", self.sp.data).stdout
        entries = [json.loads(line) for line in trail.splitlines() if line.strip()]
        queued = [e["object"] for e in entries
                  if e["action"] == "mail.queue" and f"message:{mid} " in e["object"]]
        self.assertEqual(len(queued), 1)
        self.assertIn("sealed:pgp-mime", queued[0])
        self.assertNotIn(self.alice, trail)
        self.assertNotIn(MARKER, trail)

    def test_receiver_without_tls_still_gets_only_ciphertext(self):
        mid = self.send(self.carol).stdout.strip()
        out = self.wait_delivered(mid, 1)
        self.assertIn("no TLS", out)
        got = self.received(self.clear_sink, mid)
        self.assertFalse(got["tls"])
        armored = self.pgp_part(base64.b64decode(got["data_b64"]))
        self.assert_inner_entity(self.decrypt_gpg(armored))

    def test_api_security_encrypt(self):
        message = {"to": [self.alice], "subject": "Your results",
                   "text": f"Dear patient,\nyour results: {MARKER}\nÄrztin Müller\n",
                   "security": "encrypt", "phi": True}
        status, _, body = self.sp.request(
            "POST", "/api/v1/messages", body=json.dumps(message),
            headers={"Authorization": f"Bearer {self.api_key}",
                     "Content-Type": "application/json"})
        self.assertEqual(status, 202, body)
        mid = json.loads(body)["id"]
        self.wait_delivered(mid, 1)
        status, _, shown = self.sp.request(
            "GET", f"/api/v1/messages/{mid}",
            headers={"Authorization": f"Bearer {self.api_key}"})
        self.assertEqual(status, 200, shown)
        self.assertEqual(json.loads(shown)["sealed"], "pgp-mime")
        got = self.received(self.tls_sink, mid)
        armored = self.pgp_part(base64.b64decode(got["data_b64"]))
        self.assert_inner_entity(self.decrypt_gpg(armored))
        self.assert_inner_entity(self.decrypt_sq(armored, self.alice_secret))

        # A recipient without a usable key: 400 naming it, nothing queued.
        before = self.queued_count()
        message["to"] = [self.alice, self.sign_only]
        status, _, body = self.sp.request(
            "POST", "/api/v1/messages", body=json.dumps(message),
            headers={"Authorization": f"Bearer {self.api_key}",
                     "Content-Type": "application/json"})
        self.assertEqual(status, 400, body)
        self.assertIn(f"recipient 2 ({self.sign_only})", json.loads(body)["message"])
        self.assertEqual(self.queued_count(), before)

    def test_unusable_keys_are_refused_and_nothing_is_queued(self):
        before = self.queued_count()
        for bad in (self.expired, self.revoked, self.sign_only, f"nokey@tls.{ZONE}"):
            with self.subTest(bad=bad):
                r = self.send(self.alice, bad, check=False)
                self.assertNotEqual(r.returncode, 0)
                self.assertEqual(r.stdout.strip(), "")
                self.assertIn(f"recipient 2 ({bad}) has no usable OpenPGP key or S/MIME "
                              "certificate", r.stderr)
        self.assertEqual(self.queued_count(), before)


if __name__ == "__main__":
    unittest.main()

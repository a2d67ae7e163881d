"""MTA-STS (RFC 8461) in outbound delivery: a running `sealpost serve` looks up each
recipient domain's `_mta-sts` TXT record in the signed test zone, fetches its policy over
HTTPS (verified against the test CA), caches it, and holds the delivery to it.

Real peers only, all on loopback and started here:
- DNS: NSD serving the DNSSEC-signed test zone (tests/support/dns.sh) with this test's
  records: `_mta-sts.<d>` TXT, `mta-sts.<d>` A 127.0.0.5x, MX records to 127.0.0.4x.
- HTTPS: three policy servers (tests/support/mta_sts_server.py, Python's http.server + ssl)
  on port 443: 127.0.0.51 with a certificate from the test CA naming every mta-sts.<d>,
  127.0.0.52 with a self-signed one, 127.0.0.53 (the cache case's, stopped mid-test).
- SMTP: three aiosmtpd receivers (tests/support/smtp_sink.py): mx-sts-ok (a CA certificate
  for its name), mx-sts-other (a CA certificate for its name, named by no policy), and
  mx-sts-badname (a CA certificate for another name).

Cases: enforce + a matching MX with a valid certificate -> delivered, verified by mta-sts;
enforce with two MX hosts, one outside the patterns -> delivered to the other only; enforce
and no MX host in the patterns -> deferred 4.7.5, never connected; enforce and a certificate
for another name -> deferred, never sent; a policy over a bad certificate, malformed, too
large, not text/plain or redirected -> no policy (delivered under opportunistic), logged;
testing -> delivered despite the bad certificate, recorded as testing with the certificate
failure TLS-RPT reports; a cached policy used while its HTTPS server is down and the TXT id
is unchanged; a cached policy past half its max_age fetched again in the background while
it still applies.
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
from mailtest import SYSTEM_PYTHON, HttpsServer, Sink, free_port_on, require
from testca import TestCA

DNS_SH = os.path.join(REPO, "tests", "support", "dns.sh")
ZONE = "sealpost.example"

MX_OK, MX_OTHER, MX_BADNAME = (f"mx-sts-ok.{ZONE}", f"mx-sts-other.{ZONE}",
                               f"mx-sts-badname.{ZONE}")
GOOD_HTTPS, BAD_HTTPS, CACHE_HTTPS = "127.0.0.51", "127.0.0.52", "127.0.0.53"
# sts-refresh's max_age: its cached copy is fetched again from half of it on (10 s), while
# it still applies (until 20 s), which leaves a loaded machine 8 s of slack.
REFRESH_MAX_AGE = 20


def policy(mode, *mx, max_age=86400):
    return "".join([f"version: STSv1\r\nmode: {mode}\r\n"] + [f"mx: {m}\r\n" for m in mx] +
                   [f"max_age: {max_age}\r\n"])


class MailMtaStsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require(os.path.exists(SYSTEM_PYTHON), "Debian's /usr/bin/python3")
        require(subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd"],
                               capture_output=True).returncode == 0, "python3-aiosmtpd")
        require(shutil.which("nsd") or os.path.exists("/usr/sbin/nsd"), "nsd")
        # The policy servers listen on port 443, as RFC 8461 requires of them.
        require(os.geteuid() == 0, "root (to bind 127.0.0.5x:443)")
        cls.root = tempfile.mkdtemp(prefix="sealpost-mta-sts-")
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
    def domain(cls, name):
        return f"{name}.{ZONE}"

    @classmethod
    def set_up(cls):
        ca = TestCA(os.path.join(cls.root, "ca"))
        mx_ok = ca.leaf("mx-ok", [MX_OK])
        mx_other = ca.leaf("mx-other", [MX_OTHER])
        mx_badname = ca.leaf("mx-badname", [f"not-this-host.{ZONE}"])
        # Every policy domain of the good servers, one certificate.
        cls.policies = {
            "sts-ok": {"body": policy("enforce", MX_OK)},
            "sts-skip": {"body": policy("enforce", MX_OK)},
            "sts-nomatch": {"body": policy("enforce", f"mx-allowed.{ZONE}", "*.other.example")},
            "sts-badname": {"body": policy("enforce", MX_BADNAME)},
            # Each of these would defer the delivery if it were applied (no MX matches).
            "sts-malformed": {"body": "version: STSv1\nmode: enforce\nmx: nothing.example\n"
                                      "max_age: 86400\nthis line is not a field\n"},
            "sts-large": {"body": policy("enforce", "nothing.example") +
                                  "".join(f"x-pad{i}: {'p' * 100}\r\n" for i in range(700))},
            "sts-html": {"body": policy("enforce", "nothing.example"),
                         "content_type": "text/html"},
            "sts-redirect": {"status": 302,
                             "location": f"https://mta-sts.sts-redirect.{ZONE}/.well-known/moved",
                             "body": policy("enforce", "nothing.example")},
            "sts-testing": {"body": policy("testing", MX_BADNAME)},
            "sts-cache": {"body": policy("enforce", f"*.{ZONE}", max_age=7200)},
            # Refreshed ahead of expiry once half its max_age has passed (RFC 8461 3.3).
            "sts-refresh": {"body": policy("enforce", MX_OK, max_age=REFRESH_MAX_AGE)},
        }
        assert len(cls.policies["sts-large"]["body"]) > 64 * 1024
        good_names = [f"mta-sts.{cls.domain(d)}" for d in cls.policies]
        good_cert = ca.leaf("mta-sts-good", good_names)
        bad_cert = ca.leaf("mta-sts-bad", [f"mta-sts.{cls.domain('sts-badcert')}"],
                           self_signed=True)
        good_dir = os.path.join(cls.root, "policies-good")
        bad_dir = os.path.join(cls.root, "policies-bad")
        for d in (good_dir, bad_dir):
            os.makedirs(d)
        for name, spec in cls.policies.items():
            with open(os.path.join(good_dir, cls.domain(name) + ".json"), "w") as f:
                json.dump(spec, f)
        # Served only over the self-signed certificate: would defer everything if applied.
        with open(os.path.join(bad_dir, cls.domain("sts-badcert") + ".json"), "w") as f:
            json.dump({"body": policy("enforce", "nothing.example")}, f)

        cls.port = free_port_on(["127.0.0.41", "127.0.0.42", "127.0.0.43"])
        cls.ok = Sink(cls.root, "ok", "127.0.0.41", cls.port, "--cert", mx_ok[2],
                      "--key", mx_ok[1])
        cls.procs.append(cls.ok)
        cls.other = Sink(cls.root, "other", "127.0.0.42", cls.port, "--cert", mx_other[2],
                         "--key", mx_other[1])
        cls.procs.append(cls.other)
        cls.badname = Sink(cls.root, "badname", "127.0.0.43", cls.port, "--cert", mx_badname[2],
                           "--key", mx_badname[1])
        cls.procs.append(cls.badname)
        cls.good_https = HttpsServer(cls.root, "good", GOOD_HTTPS, 443, good_cert, good_dir)
        cls.procs.append(cls.good_https)
        cls.bad_https = HttpsServer(cls.root, "bad", BAD_HTTPS, 443, bad_cert, bad_dir)
        cls.procs.append(cls.bad_https)
        cls.cache_https = HttpsServer(cls.root, "cache", CACHE_HTTPS, 443, good_cert, good_dir)
        cls.procs.append(cls.cache_https)

        mx_of = {"sts-ok": ["10 mx-sts-ok"], "sts-skip": ["10 mx-sts-other", "20 mx-sts-ok"],
                 "sts-nomatch": ["10 mx-sts-other"], "sts-badname": ["10 mx-sts-badname"],
                 "sts-badcert": ["10 mx-sts-badname"], "sts-malformed": ["10 mx-sts-badname"],
                 "sts-large": ["10 mx-sts-badname"], "sts-html": ["10 mx-sts-badname"],
                 "sts-redirect": ["10 mx-sts-badname"], "sts-testing": ["10 mx-sts-badname"],
                 "sts-cache": ["10 mx-sts-ok"], "sts-refresh": ["10 mx-sts-ok"]}
        https_of = {name: GOOD_HTTPS for name in cls.policies}
        https_of["sts-badcert"] = BAD_HTTPS
        https_of["sts-cache"] = CACHE_HTTPS
        lines = ["mx-sts-ok A 127.0.0.41", "mx-sts-other A 127.0.0.42",
                 "mx-sts-badname A 127.0.0.43"]
        for name, mxs in mx_of.items():
            lines += [f"{name} MX {mx}" for mx in mxs]
            lines.append(f'_mta-sts.{name} TXT "v=STSv1; id={name.replace("-", "")}1;"')
            lines.append(f"mta-sts.{name} A {https_of[name]}")
        extra = os.path.join(cls.root, "extra.zone")
        with open(extra, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(cls.root, "dns.log"), "w") as log:
            subprocess.run([DNS_SH, "start", cls.dns_dir, extra], check=True, stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with open(os.path.join(cls.dns_dir, "resolver")) as f:
            resolver = f.read().strip()

        cls.sp = sp = Sealpost(root=os.path.join(cls.root, "node"))
        sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE, "--selector", "s2026")
        for key, value in [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                           ("dkim_selector", "s2026"), ("resolver", resolver),
                           ("trust_anchor_file", os.path.join(cls.dns_dir, "trust-anchor")),
                           ("remote_port", cls.port), ("ca_file", ca.ca),
                           ("retry_first_seconds", 600), ("lease_seconds", 30)]:
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

    def send(self, name, security="opportunistic"):
        body = os.path.join(self.root, f"body-{time.monotonic_ns()}.txt")
        with open(body, "w") as f:
            f.write("Dear patient,\nyour appointment is confirmed.\n")
        return self.sp.cli("mail", "send", "--data", self.sp.data, "--to",
                           f"patient@{self.domain(name)}", "--subject", "Appointment",
                           "--body-file", body, "--security", security,
                           "--phi").stdout.strip()

    def show(self, message_id):
        return self.sp.cli("mail", "show", "--data", self.sp.data, message_id).stdout

    def wait_state(self, message_id, states, timeout=45):
        deadline = time.time() + timeout
        out = ""
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

    def db(self, sql, *args):
        return self.sp.sql(sql, *args)

    def last_attempt(self, message_id):
        rows = self.db("SELECT sts_mode, sts_id, tls_failure, verified, policy FROM mail_attempts "
                       "WHERE message_id = ? ORDER BY attempt DESC LIMIT 1", message_id)
        self.assertEqual(len(rows), 1)
        return dict(zip(["sts_mode", "sts_id", "tls_failure", "verified", "policy"], rows[0]))

    # -- cases --------------------------------------------------------------------------

    def test_enforce_delivers_to_a_matching_mx_over_verified_tls(self):
        mid = self.send("sts-ok")
        state, out = self.wait_state(mid, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        self.assertRegex(out, r"policy verify, TLSv1\.[23] \S+, certificate verified: mta-sts")
        self.assertEqual(len(self.received(self.ok, mid)), 1)
        attempt = self.last_attempt(mid)
        self.assertEqual((attempt["sts_mode"], attempt["sts_id"], attempt["tls_failure"]),
                         ("enforce", "stsok1", ""))
        # The fetch: SNI and Host name the policy host; the policy is cached as fetched.
        fetches = self.good_https.requests("mta-sts." + self.domain("sts-ok"))
        self.assertGreaterEqual(len(fetches), 1)
        self.assertEqual(fetches[0]["sni"], f"mta-sts.{self.domain('sts-ok')}")
        self.assertEqual(fetches[0]["path"], "/.well-known/mta-sts.txt")
        row = self.db("SELECT policy_id, mode, mx, max_age, expires_at - fetched_at "
                      "FROM mail_mta_sts WHERE domain = ?", self.domain("sts-ok"))
        self.assertEqual(row, [("stsok1", "enforce", MX_OK, 86400, 86400)])

    def test_enforce_uses_only_the_mx_hosts_the_policy_names(self):
        # MX 10 is outside the policy, MX 20 inside: delivered through MX 20.
        mid = self.send("sts-skip")
        state, out = self.wait_state(mid, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        self.assertIn(f"mx {MX_OK} ", out)
        self.assertIn("certificate verified: mta-sts", out)
        self.assertEqual(len(self.received(self.ok, mid)), 1)
        self.assertEqual(self.received(self.other, mid), [])

    def test_enforce_defers_when_no_mx_host_matches(self):
        mid = self.send("sts-nomatch")
        state, out = self.wait_state(mid, {"deferred", "delivered"})
        self.assertEqual(state, "deferred", out)
        self.assertIn("4.7.5 no MX host matches the MTA-STS policy", out)
        self.assertEqual(self.received(self.other, mid), [])
        self.assertEqual(self.last_attempt(mid)["tls_failure"], "validation-failure")
        self.assertIn(f"event=mail_mta_sts_mx_skipped message={mid}", self.sp.log())

    def test_enforce_defers_when_the_mx_certificate_names_another_host(self):
        mid = self.send("sts-badname")
        state, out = self.wait_state(mid, {"deferred", "delivered"})
        self.assertEqual(state, "deferred", out)
        self.assertIn("4.7.5", out)
        self.assertEqual(self.received(self.badname, mid), [])  # not sent, neither clear nor TLS
        attempt = self.last_attempt(mid)
        self.assertEqual((attempt["sts_mode"], attempt["tls_failure"]),
                         ("enforce", "certificate-host-mismatch"))

    def assert_no_policy(self, name, failure_type, detail=None):
        """The policy of `name` could not be had: delivered under opportunistic (its MX has a
        certificate for another name, so an enforce policy would have deferred), logged."""
        mid = self.send(name)
        state, out = self.wait_state(mid, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        self.assertIn("policy opportunistic", out)
        self.assertIn("certificate verified: none", out)
        self.assertNotIn("mta-sts", out)
        self.assertEqual(len(self.received(self.badname, mid)), 1)
        attempt = self.last_attempt(mid)
        self.assertEqual((attempt["sts_mode"], attempt["sts_id"], attempt["tls_failure"]),
                         ("", name.replace("-", "") + "1", failure_type))
        log = self.sp.log()
        line = [l for l in log.splitlines()
                if f"event=mta_sts_fetch_failed domain={self.domain(name)} " in l]
        self.assertEqual(len(line), 1, log[-3000:])
        self.assertIn(f"type={failure_type} using=no policy", line[0])
        if detail:
            self.assertIn(detail, line[0])
        self.assertEqual(self.db("SELECT count(*) FROM mail_mta_sts WHERE domain = ?",
                                 self.domain(name)), [(0,)])

    def test_a_policy_over_a_bad_certificate_is_no_policy(self):
        self.assert_no_policy("sts-badcert", "sts-webpki-invalid", "not valid")
        # The certificate was refused before any request was sent over it.
        self.assertEqual(self.bad_https.requests(), [])

    def test_a_malformed_policy_is_no_policy(self):
        self.assert_no_policy("sts-malformed", "sts-policy-invalid", "not a")

    def test_a_policy_over_64_kib_is_no_policy(self):
        self.assert_no_policy("sts-large", "sts-policy-invalid", "larger than 65536 bytes")

    def test_a_policy_not_served_as_text_plain_is_no_policy(self):
        self.assert_no_policy("sts-html", "sts-policy-invalid", "not text/plain")

    def test_a_redirect_is_not_followed(self):
        self.assert_no_policy("sts-redirect", "sts-policy-fetch-error", "redirect, not followed")
        # Only the first request: the Location was not fetched.
        requests = self.good_https.requests("mta-sts." + self.domain("sts-redirect"))
        self.assertEqual([r["path"] for r in requests], ["/.well-known/mta-sts.txt"])

    def test_testing_mode_delivers_as_without_a_policy_and_says_so(self):
        mid = self.send("sts-testing")
        state, out = self.wait_state(mid, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        self.assertIn("policy opportunistic", out)
        self.assertIn("certificate verified: none (mta-sts testing)", out)
        self.assertEqual(len(self.received(self.badname, mid)), 1)
        attempt = self.last_attempt(mid)
        self.assertEqual((attempt["sts_mode"], attempt["sts_id"]), ("testing", "ststesting1"))
        # Checked though not enforced (RFC 8461 5): the certificate names another host, and
        # that is what TLS-RPT will report.
        self.assertEqual(attempt["tls_failure"], "certificate-host-mismatch")

    def test_a_cached_policy_is_refreshed_before_it_expires(self):
        first = self.send("sts-refresh")
        state, out = self.wait_state(first, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        name = "mta-sts." + self.domain("sts-refresh")
        fetches = self.good_https.requests(name)
        self.assertEqual(len(fetches), 1)
        # Past half its max_age, still fresh: the next delivery uses the cached copy (not
        # waiting) and fetches it again in the background.
        time.sleep(max(0.0, fetches[0]["time"] + REFRESH_MAX_AGE / 2 + 1 - time.time()))
        second = self.send("sts-refresh")
        state, out = self.wait_state(second, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        self.assertIn("certificate verified: mta-sts", out)
        deadline = time.time() + 30
        while time.time() < deadline and len(self.good_https.requests(name)) < 2:
            time.sleep(0.2)
        self.assertEqual(len(self.good_https.requests(name)), 2)
        while time.time() < deadline and "event=mta_sts_refreshed" not in self.sp.log():
            time.sleep(0.2)
        self.assertRegex(self.sp.log(), rf"event=mta_sts_refreshed domain=sts-refresh\.{ZONE} "
                                        r"id=stsrefresh1 mode=enforce max_age=20")
        # The refreshed row: fetched anew, so it expires max_age after the second fetch.
        rows = self.db("SELECT fetched_at, expires_at FROM mail_mta_sts WHERE domain = ?",
                       self.domain("sts-refresh"))
        self.assertEqual(len(rows), 1)
        self.assertGreaterEqual(rows[0][0], int(fetches[0]["time"]) + REFRESH_MAX_AGE // 2)
        self.assertEqual(rows[0][1] - rows[0][0], REFRESH_MAX_AGE)

    def test_z_a_cached_policy_holds_while_its_server_is_down(self):
        first = self.send("sts-cache")
        state, out = self.wait_state(first, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        self.assertIn("certificate verified: mta-sts", out)
        self.assertEqual(len(self.cache_https.requests()), 1)
        self.cache_https.stop()
        # Same TXT id, fresh cache: no fetch is even tried, and the policy still applies.
        second = self.send("sts-cache")
        state, out = self.wait_state(second, {"delivered", "deferred"})
        self.assertEqual(state, "delivered", out)
        self.assertIn("certificate verified: mta-sts", out)
        self.assertEqual(self.last_attempt(second)["sts_mode"], "enforce")
        self.assertIn(f"event=mail_mta_sts message={second} domain={self.domain('sts-cache')} "
                      "mode=enforce id=stscache1 source=cache", self.sp.log())
        self.assertNotIn(f"mta_sts_fetch_failed domain={self.domain('sts-cache')}",
                         self.sp.log())

    def test_zz_never_connected_to_an_mx_host_outside_the_policies(self):
        # mx-sts-other is named by no policy; the domains whose MX it is are enforce.
        for mid in [self.send("sts-nomatch"), self.send("sts-skip")]:
            self.wait_state(mid, {"delivered", "deferred"})
        self.assertEqual(self.other.events("connect"), [])
        self.assertEqual(sanitizer_reports(self.sp), [])


if __name__ == "__main__":
    unittest.main()

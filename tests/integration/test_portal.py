"""The staff portal's API against the real binary (issue 3): enrolment, sign-in with two
factors, sessions, CSRF, lockout, grants, ciphertext delivery audited before it leaves, and the
auditor's view. Staff keys are made by the real gpg; what the portal hands out is decrypted
by gpg with the staff member's key. (The browser side is tested in tests/browser.)"""

import base64
import json
import os
import re
import time
import unittest

from harness import Sealpost, valid_intake, location_reference, generous_rate_limits
from portal import (PASSWORD, Portal, StaffKey, add_user, audit_rows, fresh_totp, totp)


def start_portal():
    sp = Sealpost()
    generous_rate_limits(sp)
    sp.start()
    return sp


class EnrolmentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = start_portal()

    @classmethod
    def tearDownClass(cls):
        cls.sp.close()

    def test_whole_enrolment_with_every_bad_input(self):
        sp = self.sp
        link = add_user(sp, "Alice@Example.org", "admin")
        self.assertIn("/portal/enrol#t=", link)
        token = link.split("#t=")[1]
        p = Portal(sp)

        status, body, _ = p.call("POST", "/portal/api/enrol/start", {"token": "x" * 43})
        self.assertEqual(status, 400)
        self.assertIn("not valid", body["error"])

        status, body, headers = p.call("POST", "/portal/api/enrol/start", {"token": token})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["email"], "alice@example.org")
        self.assertEqual(body["stage"], "enrolling")
        cookie = headers["set-cookie"]
        for attr in ("__Host-sealpost-session=", "Secure", "HttpOnly", "SameSite=Strict",
                     "Path=/"):
            self.assertIn(attr, cookie)
        self.assertNotIn("Domain", cookie)

        # The link works once only.
        status, _, _ = Portal(sp).call("POST", "/portal/api/enrol/start", {"token": token})
        self.assertEqual(status, 400)

        # Steps out of order are refused.
        status, _, _ = p.call("POST", "/portal/api/enrol/totp")
        self.assertEqual(status, 409)
        for bad in ("short pass", "passwordpassword", "Password1234!", "alice@example.org"):
            status, body, _ = p.call("POST", "/portal/api/enrol/password", {"password": bad})
            self.assertEqual(status, 422, bad)
            self.assertNotIn(bad, json.dumps(body))
        status, _, _ = p.call("POST", "/portal/api/enrol/password", {"password": PASSWORD})
        self.assertEqual(status, 204)

        status, body, _ = p.call("POST", "/portal/api/enrol/totp")
        self.assertEqual(status, 200)
        secret = body["secret"]
        self.assertTrue(body["otpauth_uri"].startswith("otpauth://totp/"))
        self.assertIn("secret=" + secret, body["otpauth_uri"])
        status, svg, headers = p.call("GET", "/portal/api/enrol/totp.svg", csrf=False)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "image/svg+xml")
        self.assertTrue(svg.startswith(b"<svg") and b"<script" not in svg)

        used = set()
        right = totp(secret)
        wrong = "000000" if right != "000000" else "111111"
        status, _, _ = p.call("POST", "/portal/api/enrol/totp/confirm", {"code": wrong})
        self.assertEqual(status, 422)
        status, _, _ = p.call("POST", "/portal/api/enrol/key", {"public_key": "x"})
        self.assertEqual(status, 409, "key before the second factor is confirmed")
        status, body, _ = p.call("POST", "/portal/api/enrol/totp/confirm",
                                 {"code": fresh_totp(secret, used)})
        self.assertEqual(status, 200, body)
        codes = body["recovery_codes"]
        self.assertEqual(len(codes), 10)
        self.assertEqual(len(set(codes)), 10)
        for c in codes:
            self.assertRegex(c, r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")
        stored = [r[0] for r in sp.sql(
            "SELECT code_hash FROM recovery_codes WHERE user_id = "
            "(SELECT id FROM users WHERE email = 'alice@example.org')")]
        self.assertEqual(len(stored), 10)
        (sealed,), = sp.sql("SELECT totp_sealed FROM users WHERE email = ?", "alice@example.org")
        self.assertFalse(set(stored) & set(codes), "recovery codes are stored hashed")
        self.assertNotIn(base64.b32decode(secret + "=" * (-len(secret) % 8)), sealed)

        key = StaffKey(sp.root, "alice@example.org")
        sign_only_fpr = sp.gpg.new_key("Sign Only <so@example.org>", "ed25519", "sign")
        sign_only = sp.gpg.gpg("--armor", "--export", sign_only_fpr).stdout
        open_fpr = sp.gpg.new_key("Open <open@example.org>")
        open_public = sp.gpg.gpg("--armor", "--export", open_fpr).stdout
        open_secret = sp.gpg.gpg("--armor", "--export-secret-keys", open_fpr).stdout
        bad_uploads = [
            ({"public_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n"}, "not a key"),
            ({"public_key": sign_only}, "no encryption subkey"),
            ({"public_key": open_public, "private_key": open_secret}, "unprotected secret"),
            ({"public_key": key.public, "private_key": open_secret}, "someone else's secret"),
            ({"public_key": key.secret}, "a secret key as the public key"),
        ]
        for upload, why in bad_uploads:
            status, body, _ = p.call("POST", "/portal/api/enrol/key", upload)
            self.assertEqual(status, 422, why)
            self.assertIn("error", body)

        old_cookie = p.cookie
        status, body, _ = p.call("POST", "/portal/api/enrol/key",
                                 {"public_key": key.public, "private_key": key.secret})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["fingerprint"], key.fpr)
        self.assertEqual(body["stage"], "full")
        self.assertNotEqual(p.cookie, old_cookie, "the session id rotates")
        status, body, _ = p.call("GET", "/portal/api/me/key")
        self.assertEqual(status, 200)
        self.assertEqual(body["fingerprint"], key.fpr)
        self.assertIn("BEGIN PGP PRIVATE KEY BLOCK", body["private_key"])
        listed = sp.cli("user", "list", "--data", sp.data).stdout
        self.assertIn(f"alice@example.org active roles:admin forms: key:{key.fpr}", listed)
        actions = [r[2] for r in audit_rows(sp)]
        for a in ("user.add", "enrol.start", "enrol.password", "2fa.totp_enrolled",
                  "key.register", "enrol.complete"):
            self.assertIn(a, actions)
        key.close()

    def test_a_new_link_starts_the_account_afresh(self):
        sp = self.sp
        key = StaffKey(sp.root, "frank@example.org")
        used = set()
        secret, _ = Portal(sp).enrol(add_user(sp, "frank@example.org", "staff"), key,
                                     used_steps=used)
        signed_in = Portal(sp)
        signed_in.sign_in("frank@example.org", secret, used)
        out = sp.cli("user", "link", "--data", sp.data, "--email", "frank@example.org").stdout
        link = re.search(r"#t=([A-Za-z0-9_-]+)", out).group(1)
        p = Portal(sp)
        self.assertEqual(p.call("POST", "/portal/api/enrol/start", {"token": link})[0], 200)
        # Opening the link ended the old sessions and the old password...
        self.assertEqual(signed_in.call("GET", "/portal/api/forms")[0], 401)
        status, _, _ = Portal(sp).call("POST", "/portal/api/sign-in",
                                       {"email": "frank@example.org", "password": PASSWORD})
        self.assertEqual(status, 401)
        # ... and the key step needs this enrolment's password and authenticator first.
        status, _, _ = p.call("POST", "/portal/api/enrol/key",
                              {"public_key": key.public, "private_key": key.secret})
        self.assertEqual(status, 409)
        # Nobody can register a key that is already on the server as their own.
        p.call("POST", "/portal/api/enrol/password", {"password": PASSWORD})
        secret2 = p.call("POST", "/portal/api/enrol/totp")[1]["secret"]
        # (The account's last accepted time step carries over: a code is never accepted for a
        # step at or before it, whatever the secret.)
        used2 = set(used)
        self.assertEqual(p.call("POST", "/portal/api/enrol/totp/confirm",
                                {"code": fresh_totp(secret2, used2)})[0], 200)
        recipient = sp.gpg.gpg("--armor", "--export", sp.recipients[0]).stdout
        status, body, _ = p.call("POST", "/portal/api/enrol/key", {"public_key": recipient})
        self.assertEqual(status, 409, body)
        (armored,), = sp.sql("SELECT armored FROM keys WHERE fingerprint = ?", sp.recipients[0])
        self.assertNotIn("Staff <frank", armored)
        key.close()

    def test_expired_link_is_refused(self):
        link = add_user(self.sp, "late@example.org", "staff")
        self.sp.sql("UPDATE enrolments SET expires_at = 1")
        status, body, _ = Portal(self.sp).call("POST", "/portal/api/enrol/start",
                                               {"token": link.split("#t=")[1]})
        self.assertEqual(status, 400)
        self.assertIn("not valid", body["error"])

    def test_cli_refuses_bad_users(self):
        for args in (["--email", "not-an-address", "--role", "admin"],
                     ["--email", "x@example.org", "--role", "overlord"]):
            r = self.sp.cli("user", "add", "--data", self.sp.data, *args, check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertTrue(r.stderr.startswith("sealpost: "), r.stderr)
        add_user(self.sp, "twice@example.org", "staff")
        r = self.sp.cli("user", "add", "--data", self.sp.data, "--email", "twice@example.org",
                        "--role", "staff", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("exists", r.stderr)


class SignInTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = start_portal()
        cls.key = StaffKey(cls.sp.root, "bob@example.org")
        cls.used = set()
        cls.secret, cls.codes = Portal(cls.sp).enrol(add_user(cls.sp, "bob@example.org", "admin"),
                                                     cls.key, used_steps=cls.used)

    @classmethod
    def tearDownClass(cls):
        cls.key.close()
        cls.sp.close()

    # Each test signs in from a loopback address of its own: together they make more
    # credential checks than one address may (20 at once, 30 a minute).
    _sources = iter(range(1, 255))

    def setUp(self):
        self.source = f"127.0.2.{next(SignInTest._sources)}"

    def browser(self):
        return Portal(self.sp, self.source)

    def reset_steps(self):
        self.sp.sql("UPDATE users SET totp_last_step = 0 WHERE email = 'bob@example.org'")

    def signed_in(self):
        p = self.browser()
        p.sign_in("bob@example.org", self.secret, self.used, reset_steps=self.reset_steps)
        return p

    def test_wrong_password_and_unknown_account_look_the_same(self):
        answers = []
        for email, password in (("bob@example.org", "wrong password 123"),
                                ("nobody@example.org", "wrong password 123")):
            status, body, _ = self.browser().call("POST", "/portal/api/sign-in",
                                                   {"email": email, "password": password})
            answers.append((status, body))
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(answers[0][0], 401)

    def test_password_then_code_rotates_the_session(self):
        p = self.browser()
        status, body, _ = p.call("POST", "/portal/api/sign-in",
                                 {"email": "BOB@example.org", "password": PASSWORD})
        self.assertEqual(status, 200)
        self.assertEqual(body["stage"], "second_factor")
        half = p.cookie
        status, _, _ = p.call("GET", "/portal/api/forms")
        self.assertEqual(status, 401, "a password alone opens nothing")
        code = fresh_totp(self.secret, self.used, self.reset_steps)
        status, body, _ = p.call("POST", "/portal/api/sign-in/second-factor", {"code": code})
        self.assertEqual(status, 200)
        self.assertNotEqual(p.cookie, half)
        stale = self.browser()
        stale.cookie, stale.csrf = half, p.csrf
        self.assertEqual(stale.call("GET", "/portal/api/session")[0], 401)
        self.assertEqual(p.call("GET", "/portal/api/forms")[0], 200)

        # The same code again: refused (a code works once).
        q = self.browser()
        q.call("POST", "/portal/api/sign-in", {"email": "bob@example.org", "password": PASSWORD})
        status, body, _ = q.call("POST", "/portal/api/sign-in/second-factor", {"code": code})
        self.assertEqual(status, 401)

    def test_recovery_code_works_once(self):
        code = self.codes[0]
        p = self.browser()
        p.call("POST", "/portal/api/sign-in", {"email": "bob@example.org", "password": PASSWORD})
        status, _, _ = p.call("POST", "/portal/api/sign-in/second-factor",
                              {"recovery_code": code.lower().replace("-", " ")})
        self.assertEqual(status, 200)
        q = self.browser()
        q.call("POST", "/portal/api/sign-in", {"email": "bob@example.org", "password": PASSWORD})
        status, _, _ = q.call("POST", "/portal/api/sign-in/second-factor", {"recovery_code": code})
        self.assertEqual(status, 401)
        self.assertIn("2fa.recovery_code_used", [r[2] for r in audit_rows(self.sp)])

    def test_sign_out_and_sign_out_everywhere(self):
        a, b = self.signed_in(), self.signed_in()
        cookie = a.cookie
        status, _, headers = a.call("POST", "/portal/api/sign-out")
        self.assertEqual(status, 204)
        self.assertIn("Max-Age=0", headers["set-cookie"])
        a.cookie = cookie
        self.assertEqual(a.call("GET", "/portal/api/session")[0], 401)
        c = self.signed_in()
        self.assertEqual(b.call("POST", "/portal/api/sign-out-everywhere")[0], 204)
        self.assertEqual(c.call("GET", "/portal/api/forms")[0], 401)

    def test_idle_and_absolute_timeouts(self):
        p = self.signed_in()
        self.sp.sql("UPDATE sessions SET last_seen_at = last_seen_at - 901")
        self.assertEqual(p.call("GET", "/portal/api/forms")[0], 401)
        q = self.signed_in()
        self.sp.sql("UPDATE sessions SET created_at = created_at - 43201")
        self.assertEqual(q.call("GET", "/portal/api/forms")[0], 401)

    def test_csrf_token_and_origin_are_checked(self):
        p = self.signed_in()
        before = len(audit_rows(self.sp))
        good = p.csrf
        for csrf, origin, hdrs in ((None, True, {}), ("forged", True, {}),
                                   (good, False, {}), (good, True, {"Origin": "https://evil.example"})):
            p.csrf = csrf
            status, body, _ = p.call("POST", "/portal/api/users", {"email": "x@example.org",
                                                                   "roles": ["staff"]},
                                     csrf=csrf is not None, origin=origin, headers=hdrs)
            self.assertEqual(status, 403, (csrf, origin, hdrs))
        p.csrf = good
        # A GET without the token is refused too (the API never answers a bare cross-site GET).
        self.assertEqual(p.call("GET", "/portal/api/users", csrf=False)[0], 403)
        rejected = [r for r in audit_rows(self.sp)[before:] if r[2] == "csrf.rejected"]
        self.assertGreaterEqual(len(rejected), 4)
        self.assertEqual(self.sp.sql("SELECT 1 FROM users WHERE email='x@example.org'"), [])

    def test_lockout_delays_and_alerts_without_revealing_accounts(self):
        # Its own account, so the delays it builds up do not touch the other tests.
        key = StaffKey(self.sp.root, "locked@example.org")
        self.browser().enrol(add_user(self.sp, "locked@example.org", "staff"), key)
        key.close()
        for email in ("locked@example.org", "ghost@example.org"):
            p = self.browser()
            statuses = []
            alerts_before = sum(1 for r in audit_rows(self.sp)
                                if r[2] == "alert.failed_sign_in_burst")
            for _ in range(8):
                status, body, headers = p.call("POST", "/portal/api/sign-in",
                                               {"email": email, "password": "not the password!"})
                statuses.append(status)
                if status == 429:
                    self.assertGreater(int(headers["retry-after"]), 0)
                    self.assertEqual(body["retry_after_seconds"], int(headers["retry-after"]))
                    # Even the right password is refused while the delay runs.
                    if email == "locked@example.org":
                        s2, _, _ = p.call("POST", "/portal/api/sign-in",
                                          {"email": email, "password": PASSWORD})
                        self.assertEqual(s2, 429)
                    time.sleep(body["retry_after_seconds"] + 0.2)
            self.assertEqual(statuses[:3], [401, 401, 401], email)
            self.assertIn(429, statuses, email)
            alerts = sum(1 for r in audit_rows(self.sp) if r[2] == "alert.failed_sign_in_burst")
            self.assertGreater(alerts, alerts_before, email)
        self.assertIn("event=alert kind=failed_sign_in_burst", self.sp.log())


class CredentialRateLimitTest(unittest.TestCase):
    def test_a_flood_of_sign_ins_from_one_address_is_cut_off_early(self):
        # Distinct accounts, so the per-account lockout never starts: what stops the flood is
        # the per-address budget on credential endpoints (20 at once, 30 a minute), answered
        # before any Argon2id work is queued.
        with Sealpost() as sp:
            sp.start()
            statuses = []
            for i in range(30):
                status, body, headers = Portal(sp).call(
                    "POST", "/portal/api/sign-in",
                    {"email": f"user{i}@example.org", "password": "wrong password 123"})
                statuses.append(status)
            self.assertEqual(statuses[:15], [401] * 15)
            self.assertIn(429, statuses[20:])
            self.assertEqual(set(statuses), {401, 429})


class ReadingTest(unittest.TestCase):
    """Admin grants a form; a submission arrives; staff read it (ciphertext only, audited
    first) and gpg decrypts it with the staff key."""

    @classmethod
    def setUpClass(cls):
        cls.sp = sp = start_portal()
        cls.admin_key = StaffKey(sp.root, "admin@example.org")
        cls.admin_used = set()
        cls.admin = Portal(sp)
        cls.admin_secret, _ = cls.admin.enrol(add_user(sp, "admin@example.org", "admin"),
                                              cls.admin_key, used_steps=cls.admin_used)
        status, body, _ = cls.admin.call("POST", "/portal/api/users",
                                         {"email": "carol@example.org", "roles": ["staff"]})
        assert status == 200, body
        cls.carol_id = body["id"]
        cls.carol_key = StaffKey(sp.root, "carol@example.org")
        cls.carol = Portal(sp)
        cls.carol.enrol(body["enrolment_link"], cls.carol_key)
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                               "intake.toml")) as f:
            contact = f.read()
        contact = contact.replace("@DEMO_RECIPIENT_FINGERPRINT@", sp.recipients[0])
        contact = contact.replace('id = "intake"', 'id = "other"')
        sp.add_form(contact, "other.toml")

    @classmethod
    def tearDownClass(cls):
        cls.admin_key.close()
        cls.carol_key.close()
        cls.sp.close()

    def submit(self):
        status, headers, _ = self.sp.submit(valid_intake())
        self.assertEqual(status, 303)
        return location_reference(headers)

    def test_grant_read_export_revoke(self):
        sp, admin, carol = self.sp, self.admin, self.carol
        status, body, _ = carol.call("GET", "/portal/api/forms")
        self.assertEqual((status, body), (200, []))
        before = self.submit()  # encrypted before the grant: not to carol

        status, body, _ = admin.call("POST", f"/portal/api/users/{self.carol_id}/grants",
                                     {"form_id": "intake"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["form_version"], 2)
        self.assertIn("stay readable only by", body["note"])
        status, body, _ = carol.call("GET", "/portal/api/forms")
        self.assertEqual([f["id"] for f in body], ["intake"])
        self.assertTrue(body[0]["readable"])
        self.assertEqual(body[0]["recipients"], [self.carol_key.fpr])

        # No pause: the portal reloads its node's forms before it answers the grant, so
        # the very next submission is encrypted to carol's key too (refs[0] below).
        refs = [self.submit() for _ in range(3)]

        status, body, _ = carol.call("GET", "/portal/api/forms/intake/submissions")
        self.assertEqual(status, 200)
        listed = [i["reference"] for i in body["items"]]
        self.assertEqual(listed, [before] + refs)
        self.assertNotIn("ciphertext", json.dumps(body))
        self.assertEqual(body["items"][1]["form_version"], 2)
        status, body, _ = carol.call("GET", f"/portal/api/forms/intake/submissions?reference={refs[1]}")
        self.assertEqual([i["reference"] for i in body["items"]], [refs[1]])
        status, body, _ = carol.call("GET", "/portal/api/forms/intake/submissions?from=1&to=2")
        self.assertEqual(body["items"], [])
        status, body, _ = carol.call("GET", "/portal/api/forms/intake/submissions?limit=9999")
        self.assertEqual(status, 400)

        # Viewing: audited before the ciphertext is sent; gpg decrypts it with carol's key
        # and the server's signature inside verifies (S8).
        status, body, _ = carol.call("GET", f"/portal/api/forms/intake/submissions/{refs[0]}")
        self.assertEqual(status, 200)
        ciphertext = base64.b64decode(body["ciphertext"])
        self.carol_key.gpg("--import", os.path.join(sp.data, "server-signing-key.asc"))
        rc, plain, status_text = self.carol_key.decrypt(ciphertext)
        self.assertEqual(rc, 0, status_text)
        self.assertIn("Jürgen Doe", plain.decode())
        self.assertIn(refs[0], plain.decode())
        self.assertIn(f"VALIDSIG {sp.server_fpr}", status_text)
        rows = audit_rows(sp)
        self.assertIn(("carol@example.org", "submission.view",
                       f"form:intake reference:{refs[0]}", "ok"),
                      [r[1:] for r in rows])
        # The submission from before the grant reaches carol's browser but her key cannot
        # open it (what the grant note says).
        status, body, _ = carol.call("GET", f"/portal/api/forms/intake/submissions/{before}")
        rc, _, _ = self.carol_key.decrypt(base64.b64decode(body["ciphertext"]))
        self.assertNotEqual(rc, 0)

        # Export in batches.
        got = []
        after = 0
        batches = 0
        while after is not None:
            status, body, _ = carol.call("GET",
                                         f"/portal/api/forms/intake/export?limit=2&after={after}")
            self.assertEqual(status, 200)
            got += [i["reference"] for i in body["items"]]
            after = body["next_after"]
            batches += 1
        self.assertEqual(got, [before] + refs)
        self.assertEqual(batches, 2)
        exports = [r for r in audit_rows(sp) if r[2] == "submission.export"]
        self.assertEqual(len(exports), 2)
        self.assertIn("count:2", exports[0][3])

        # Another form: 403, audited; unknown form 404; unknown reference 404.
        status, _, _ = carol.call("GET", "/portal/api/forms/other/submissions")
        self.assertEqual(status, 403)
        self.assertEqual(audit_rows(sp)[-1][1:], ("carol@example.org", "access.denied",
                                                  "form:other", "denied"))
        self.assertEqual(carol.call("GET", "/portal/api/forms/nope/submissions")[0], 404)
        self.assertEqual(carol.call("GET",
                                    "/portal/api/forms/intake/submissions/AAAA-AAAA-AAAA")[0], 404)

        # Revoking makes a new version without carol's key and ends her access.
        status, body, _ = admin.call("POST",
                                     f"/portal/api/users/{self.carol_id}/grants/intake/revoke")
        self.assertEqual(status, 200)
        self.assertEqual(body["form_version"], 3)
        self.assertEqual(carol.call("GET", "/portal/api/forms/intake/submissions")[0], 403)

    def test_no_data_leaves_when_the_audit_cannot_be_written(self):
        sp, admin, carol = self.sp, self.admin, self.carol
        admin.call("POST", f"/portal/api/users/{self.carol_id}/grants", {"form_id": "other"})
        time.sleep(2.5)
        status, headers, _ = sp.submit(valid_intake(), form="other")
        self.assertEqual(status, 303)
        ref = location_reference(headers, form="other")
        sp.refuse_inserts("audit")
        try:
            status, body, _ = carol.call("GET", f"/portal/api/forms/other/submissions/{ref}")
            self.assertEqual(status, 503)
            self.assertNotIn("ciphertext", body)
            status, body, _ = carol.call("GET", "/portal/api/forms/other/export")
            self.assertEqual(status, 503)
            self.assertNotIn("items", body)
        finally:
            sp.allow_inserts("audit")
        status, body, _ = carol.call("GET", f"/portal/api/forms/other/submissions/{ref}")
        self.assertEqual(status, 200)

    def test_grant_needs_an_enrolled_user_and_a_real_form(self):
        admin = self.admin
        status, body, _ = admin.call("POST", "/portal/api/users",
                                     {"email": "dave@example.org", "roles": ["staff"]})
        self.assertEqual(status, 200)
        dave = body["id"]
        status, _, _ = admin.call("POST", f"/portal/api/users/{dave}/grants", {"form_id": "intake"})
        self.assertEqual(status, 409)
        status, _, _ = admin.call("POST", f"/portal/api/users/{self.carol_id}/grants",
                                  {"form_id": "no-such-form"})
        self.assertEqual(status, 404)
        status, _, _ = admin.call("POST", "/portal/api/users",
                                  {"email": "dave@example.org", "roles": ["staff"]})
        self.assertEqual(status, 409)
        status, body, _ = admin.call("POST", "/portal/api/users",
                                     {"email": "eve@example.org", "roles": ["root"]})
        self.assertEqual(status, 422)
        # An auditor reads the trail, not health data: it cannot be granted a form.
        status, body, _ = admin.call("POST", "/portal/api/users",
                                     {"email": "aud@example.org", "roles": ["auditor"]})
        key = StaffKey(self.sp.root, "aud@example.org")
        Portal(self.sp).enrol(body["enrolment_link"], key)
        key.close()
        status, body, _ = admin.call("POST", f"/portal/api/users/{body['id']}/grants",
                                     {"form_id": "intake"})
        self.assertEqual(status, 409)
        self.assertIn("staff role", body["error"])


# Every API route in docs/PORTAL.md, with a harmless request for each.
ROUTES = [
    ("GET", "/portal/api/session", None),
    ("POST", "/portal/api/enrol/start", {"token": "nope"}),
    ("POST", "/portal/api/enrol/password", {"password": "x"}),
    ("POST", "/portal/api/enrol/totp", None),
    ("GET", "/portal/api/enrol/totp.svg", None),
    ("POST", "/portal/api/enrol/totp/confirm", {"code": "x"}),
    ("POST", "/portal/api/enrol/key", {"public_key": "x"}),
    ("POST", "/portal/api/sign-in", {"email": "x@example.org", "password": "x"}),
    ("POST", "/portal/api/sign-in/second-factor", {"code": "x"}),
    ("GET", "/portal/api/me/key", None),
    ("GET", "/portal/api/server-key", None),
    ("GET", "/portal/api/forms", None),
    ("GET", "/portal/api/forms/intake/submissions", None),
    ("GET", "/portal/api/forms/intake/submissions/AAAA-AAAA-AAAA", None),
    ("GET", "/portal/api/forms/intake/export", None),
    ("GET", "/portal/api/users", None),
    ("POST", "/portal/api/users", {"email": "x", "roles": []}),
    ("POST", "/portal/api/users/999999/roles", {"roles": ["nonsense"]}),
    ("POST", "/portal/api/users/999999/disable", None),
    ("POST", "/portal/api/users/999999/enrolment-link", None),
    ("POST", "/portal/api/users/999999/grants", {"form_id": "intake"}),
    ("POST", "/portal/api/users/999999/grants/intake/revoke", None),
    ("GET", "/portal/api/audit", None),
    ("GET", "/portal/api/audit/export", None),
    ("GET", "/portal/api/audit/verify", None),
    ("GET", "/portal/api/campaigns", None),
    ("POST", "/portal/api/campaigns", {"name": "x"}),
    ("GET", "/portal/api/campaigns/999999", None),
    ("POST", "/portal/api/campaigns/999999", {"name": "x"}),
    ("GET", "/portal/api/campaigns/999999/audience", None),
    ("POST", "/portal/api/campaigns/999999/preview", {"email": "x@example.org"}),
    ("POST", "/portal/api/campaigns/999999/approve", {"content_hash": "x"}),
    ("POST", "/portal/api/campaigns/999999/state", {"state": "paused"}),
    ("POST", "/portal/api/sign-out-everywhere", None),
    ("POST", "/portal/api/sign-out", None),
]

ADMIN_ONLY = {"POST /portal/api/users", "POST /portal/api/users/999999/roles",
              "POST /portal/api/users/999999/disable",
              "POST /portal/api/users/999999/enrolment-link",
              "POST /portal/api/users/999999/grants",
              "POST /portal/api/users/999999/grants/intake/revoke"}
MANAGERS = {"GET /portal/api/users"}
AUDITORS = {"GET /portal/api/audit", "GET /portal/api/audit/export",
            "GET /portal/api/audit/verify"}
CAMPAIGN_MANAGERS = {"POST /portal/api/campaigns", "POST /portal/api/campaigns/999999",
                     "POST /portal/api/campaigns/999999/state"}
CAMPAIGN_READERS = {"GET /portal/api/campaigns", "GET /portal/api/campaigns/999999",
                    "GET /portal/api/campaigns/999999/audience"}
CAMPAIGN_REVIEWERS = {"POST /portal/api/campaigns/999999/preview"}
APPROVERS = {"POST /portal/api/campaigns/999999/approve"}
GRANTED = {"GET /portal/api/forms/intake/submissions",
           "GET /portal/api/forms/intake/submissions/AAAA-AAAA-AAAA",
           "GET /portal/api/forms/intake/export"}
ENROLMENT = {"POST /portal/api/enrol/password", "POST /portal/api/enrol/totp",
             "GET /portal/api/enrol/totp.svg", "POST /portal/api/enrol/totp/confirm",
             "POST /portal/api/enrol/key", "POST /portal/api/sign-in/second-factor"}
ANYONE = {"GET /portal/api/session", "POST /portal/api/enrol/start", "POST /portal/api/sign-in"}


def allowed(role, route):
    if route in ADMIN_ONLY:
        return role == "admin"
    if route in MANAGERS:
        return role in ("admin", "form_owner")
    if route in AUDITORS:
        return role in ("admin", "auditor")
    if route in CAMPAIGN_MANAGERS:
        return role in ("admin", "form_owner")
    if route in CAMPAIGN_READERS:
        return role in ("admin", "form_owner", "reviewer", "auditor")
    if route in CAMPAIGN_REVIEWERS:
        return role in ("admin", "form_owner", "reviewer")
    if route in APPROVERS:
        return role == "reviewer"
    return True


class RolesTest(unittest.TestCase):
    """Walks every route with every role (and with no session)."""

    def test_routes_match_the_documented_api(self):
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "PORTAL.md")) as f:
            doc = f.read()
        documented = set()
        for method, path in re.findall(r"^\| (GET|POST) `(/portal/api/[^`?]+)", doc, re.M):
            path = path.replace("{id}", "999999").replace("{ref}", "AAAA-AAAA-AAAA")
            path = path.replace("{form}", "intake").replace("{id}", "intake")
            documented.add(f"{method} {path}")
        walked = {f"{m} {p}" for m, p, _ in ROUTES}
        self.assertEqual(documented, walked)

    def test_every_route_with_every_role(self):
        with Sealpost() as sp:
            sp.start()
            sessions = {}
            for role in ("admin", "form_owner", "staff", "reviewer", "auditor"):
                key = StaffKey(sp.root, role + "@example.org")
                p = Portal(sp)
                p.enrol(add_user(sp, role + "@example.org", role), key)
                key.close()
                sessions[role] = p
            sessions[None] = Portal(sp)
            for role, p in sessions.items():
                for method, path, body in ROUTES:
                    route = f"{method} {path}"
                    if route == "POST /portal/api/sign-out" or \
                       route == "POST /portal/api/sign-out-everywhere":
                        continue  # walked last, below
                    status, answer, _ = p.call(method, path, body)
                    where = f"{role} {route} -> {status} {answer}"
                    if route in ANYONE:
                        self.assertNotIn(status, (403, 500), where)
                        continue
                    if role is None:
                        self.assertEqual(status, 401, where)
                        continue
                    if route in ENROLMENT:
                        # Signed-in sessions are past these steps.
                        self.assertEqual(status, 409, where)
                        continue
                    if route in GRANTED:
                        # Nobody was granted the form: every role is refused, audited.
                        self.assertEqual(status, 403, where)
                        continue
                    if allowed(role, route):
                        self.assertNotIn(status, (401, 403, 500), where)
                    else:
                        self.assertEqual(status, 403, where)
                        self.assertEqual(audit_rows(sp)[-1][2], "access.denied", where)
            for role, p in sessions.items():
                expected = 401 if role is None else 204
                self.assertEqual(p.call("POST", "/portal/api/sign-out-everywhere")[0], expected)
            self.assertEqual(sessions[None].call("POST", "/portal/api/sign-out")[0], 401)


class AuditApiTest(unittest.TestCase):
    def test_auditor_filters_exports_and_verifies(self):
        with Sealpost() as sp:
            sp.start()
            used = set()
            key = StaffKey(sp.root, "audrey@example.org")
            auditor = Portal(sp)
            auditor.enrol(add_user(sp, "audrey@example.org", "auditor"), key, used_steps=used)
            key.close()
            Portal(sp).call("POST", "/portal/api/sign-in",
                            {"email": "audrey@example.org", "password": "wrong password!!"})
            status, body, _ = auditor.call("GET", "/portal/api/audit?action=auth.")
            self.assertEqual(status, 200)
            self.assertTrue(body["items"])
            self.assertTrue(all(i["action"].startswith("auth.") for i in body["items"]))
            failure = [i for i in body["items"] if i["outcome"] == "failure"]
            self.assertEqual(failure[0]["actor"], "audrey@example.org")
            self.assertEqual(failure[0]["source"], "127.0.0.1")
            status, body, _ = auditor.call("GET", "/portal/api/audit?actor=audrey@example.org&limit=2")
            self.assertEqual(len(body["items"]), 2)
            self.assertIsNotNone(body["next_after"])
            status, body, _ = auditor.call("GET", f"/portal/api/audit?from={int(time.time()) + 3600}")
            self.assertEqual(body["items"], [])
            self.assertEqual(auditor.call("GET", "/portal/api/audit?from=soon")[0], 400)

            status, raw, headers = auditor.call("GET", "/portal/api/audit/export")
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-type"], "application/x-ndjson")
            lines = [json.loads(l) for l in raw.decode().splitlines()]
            self.assertGreater(len(lines), 5)
            self.assertEqual([l["seq"] for l in lines], list(range(1, len(lines) + 1)))
            self.assertTrue(all(len(l["hash"]) == 64 for l in lines))

            status, body, _ = auditor.call("GET", "/portal/api/audit/verify")
            self.assertEqual(status, 200)
            self.assertTrue(body["intact"], body)
            sp.sql("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
            status, body, _ = auditor.call("GET", "/portal/api/audit/verify")
            self.assertFalse(body["intact"])
            self.assertEqual(body["first_bad_entry"], 3)


if __name__ == "__main__":
    unittest.main()

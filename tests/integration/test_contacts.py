"""Contacts and authorisations (issue 11, C1) through the CLI and the HTTP API, on both engines:
`sealpost contact import` is all or nothing (every bad row reported by line and column,
never by value, and nothing stored), grants a purpose with its evidence, updates existing
addresses, streams a large file with progress; fields are sealed in the database; `contact
revoke` takes effect at once and is audited; purposes come from [contacts] purposes; the
trail never names an address."""
import base64
import hashlib
import hmac
import json
import os
import tempfile
import unittest

from harness import Sealpost, set_config_value

FIELD_MARK = "zq7-dob-1970"


class ContactsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="sealpost-contacts-")
        self.sp = Sealpost()

    def tearDown(self):
        self.sp.close()
        self.tmp.cleanup()

    def csv(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return path

    def cli(self, *args, check=True):
        return self.sp.cli("contact", *args[:1], "--data", self.sp.data, *args[1:], check=check)

    def audit(self):
        return [json.loads(l) for l in
                self.sp.cli("audit", "export", "--data", self.sp.data).stdout.splitlines()]

    def count(self, table):
        return int(self.sp.sql(f"SELECT count(*) FROM {table}")[0][0])

    def test_import_grant_show_revoke(self):
        path = self.csv("a.csv", "\ufeffEmail,Name,Date_of_birth\r\n"
                                 f"Ann@Example.org,Ann,{FIELD_MARK}\r\n"
                                 '"bob@example.org","Bob, Jr",=SUM(A1)\r\n'
                                 "cy@example.org,,\r\n")
        out = self.cli("import", path, "--purpose", "marketing", "--consent-version", "v3",
                       "--granted-on", "2026-01-15", "--evidence", "paper form").stdout
        self.assertIn("imported 3 rows: 3 added, 0 updated, 3 authorisations granted", out)
        self.assertIn("contacts 3", self.cli("list").stdout)
        self.assertIn("purpose marketing: 3 authorised, 0 revoked", self.cli("list").stdout)
        show = self.cli("show", "--email", "ann@EXAMPLE.org").stdout
        self.assertIn("fields date_of_birth, name", show)
        self.assertRegex(show, r"authorisation marketing: granted 2026-01-15T00:00:00Z, until "
                               r"revoked, scope email, consent v3, evidence import:[0-9a-f]{16} "
                               r"paper form")
        self.assertNotIn(FIELD_MARK, show)
        # An empty cell is no field.
        self.assertIn("fields -", self.cli("show", "--email", "cy@example.org").stdout)
        # Sealed at rest: no field value in clear.
        for (value,) in self.sp.sql("SELECT value FROM contact_fields"):
            raw = bytes(value) if not isinstance(value, bytes) else value
            self.assertNotIn(FIELD_MARK.encode(), raw)
            self.assertNotIn(b"=SUM", raw)
        self.assertEqual(self.count("contact_import_rows"), 0)
        self.assertEqual(self.count("contact_import_fields"), 0)

        out = self.cli("revoke", "--email", "bob@example.org", "--purpose", "marketing").stdout
        self.assertIn("revoked 1 marketing authorisation(s)", out)
        self.assertIn("purpose marketing: 2 authorised, 1 revoked", self.cli("list").stdout)
        self.assertRegex(self.cli("show", "--email", "bob@example.org").stdout,
                         r"revoked \d{4}-\d\d-\d\dT[\d:]+Z \(cli\)")
        entries = self.audit()
        imports = [e["object"] for e in entries if e["action"] == "contact.import"]
        self.assertEqual(len(imports), 1)
        self.assertRegex(imports[0], r"^file:sha256:[0-9a-f]{64} rows:3 added:3 updated:0 "
                                     r"granted:3 purpose:marketing$")
        revokes = [e["object"] for e in entries if e["action"] == "authorisation.revoke"]
        self.assertEqual(len(revokes), 1)
        self.assertRegex(revokes[0], r"^contact:[0-9a-f]{32} purpose:marketing via:cli revoked:1 withdrawn:0$")
        for e in entries:
            self.assertNotIn("example.org", json.dumps(e))
        self.assertIn("audit trail intact",
                      self.sp.cli("audit", "verify", "--data", self.sp.data).stdout)

        # A second import updates existing addresses (by address, whatever the case).
        again = self.csv("b.csv", "email,city\nANN@example.org,Paris\ndee@example.org,Rome\n")
        out = self.cli("import", again).stdout
        self.assertIn("imported 2 rows: 1 added, 1 updated, 0 authorisations granted", out)
        self.assertIn("fields city, date_of_birth, name",
                      self.cli("show", "--email", "ann@example.org").stdout)

    def test_bad_rows_change_nothing(self):
        path = self.csv("bad.csv", "email,name\n"
                                   "ann@example.org,A\n"
                                   f"not-an-address-{FIELD_MARK},B\n"
                                   "ann@example.org,C\n"
                                   "x@example.org\n"
                                   "y@example.org,Y\n")
        proc = self.cli("import", path, "--purpose", "marketing", "--consent-version", "v1",
                        check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("line 3, column email: not a valid e-mail address", proc.stderr)
        self.assertIn("line 4, column email: the same address as an earlier row", proc.stderr)
        self.assertIn("line 5: 1 columns, the header has 2", proc.stderr)
        self.assertIn("3 of 5 rows have problems; nothing was imported", proc.stderr)
        self.assertNotIn(FIELD_MARK, proc.stderr + proc.stdout)
        self.assertEqual(self.count("contacts"), 0)
        self.assertEqual(self.count("authorisations"), 0)
        self.assertEqual(self.count("contact_import_rows"), 0)
        self.assertFalse(any(e["action"] == "contact.import" for e in self.audit()))

    def test_malformed_files_are_refused(self):
        cases = {
            "unterminated quote": ('email,name\na@example.org,"Ann\n', "line 2: a quoted field is "
                                                                        "not closed"),
            "quote inside": ('email,name\na@example.org,An"n\n', "line 2: a quote inside an "
                                                                 "unquoted field"),
            "no email column": ("mail,name\na@example.org,A\n", 'no "email" column'),
            "duplicate column": ("email,name,Name\na@example.org,A,B\n", 'column "name" appears '
                                                                         "twice"),
            "bad column name": ("email,first name\na@example.org,A\n", "column 2 has no valid "
                                                                        "name"),
            "empty": ("", "the file is empty"),
        }
        for label, (text, message) in cases.items():
            with self.subTest(label):
                proc = self.cli("import", self.csv("m.csv", text), check=False)
                self.assertEqual(proc.returncode, 1)
                self.assertIn(message, proc.stderr)
        with open(os.path.join(self.tmp.name, "latin1.csv"), "wb") as f:
            f.write(b"email,name\na@example.org,Ren\xe9\n")
        proc = self.cli("import", os.path.join(self.tmp.name, "latin1.csv"), check=False)
        self.assertIn("line 2: the text is not UTF-8", proc.stderr)
        self.assertEqual(self.count("contacts"), 0)
        # Grant options are checked before the file is read.
        good = self.csv("g.csv", "email\na@example.org\n")
        for args, message in [
                (["--purpose", "marketting", "--consent-version", "v1"],
                 "not a purpose of [contacts] purposes"),
                (["--purpose", "marketing"], "--purpose needs --consent-version"),
                (["--consent-version", "v1"], "need --purpose"),
                (["--purpose", "marketing", "--consent-version", "v1", "--expires-on", "2020-01-01",
                  "--granted-on", "2021-01-01"], "--expires-on: after the grant")]:
            proc = self.cli("import", good, *args, check=False)
            self.assertEqual(proc.returncode, 1, args)
            self.assertIn(message, proc.stderr)
        self.assertEqual(self.count("contacts"), 0)

    def test_purposes_come_from_the_config(self):
        from harness import _TomlLiteral
        set_config_value(self.sp.data, "contacts", "purposes",
                         _TomlLiteral('["newsletter", "reminders"]'))
        path = self.csv("a.csv", "email\na@example.org\n")
        proc = self.cli("import", path, "--purpose", "marketing", "--consent-version", "v1",
                        check=False)
        self.assertIn("(newsletter, reminders)", proc.stderr)
        self.cli("import", path, "--purpose", "newsletter", "--consent-version", "v1")
        self.assertIn("purpose newsletter: 1 authorised", self.cli("list").stdout)

    def test_a_large_file_streams_with_progress(self):
        rows = 25000
        path = os.path.join(self.tmp.name, "big.csv")
        with open(path, "w") as f:
            f.write("email,name,segment\n")
            for i in range(rows):
                f.write(f"p{i}@example.org,Person {i},s{i % 7}\n")
        proc = self.cli("import", path, "--purpose", "reminders", "--consent-version", "v1")
        self.assertIn(f"imported {rows} rows: {rows} added, 0 updated, {rows} authorisations",
                      proc.stdout)
        for line in ("checked 10000 rows", "checked 20000 rows", "staged 10000 rows",
                     "staged 20000 rows"):
            self.assertIn(line, proc.stderr)
        self.assertEqual(self.count("contacts"), rows)
        self.assertEqual(self.count("contact_fields"), 2 * rows)
        self.assertEqual(self.count("contact_import_fields"), 0)


class ContactsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost()
        cls.writer = cls.add_key("crm", "contacts:write", "contacts:read")
        cls.reader = cls.add_key("dash", "contacts:read")
        cls.sender = cls.add_key("ehr", "messages:send")
        cls.sp.start()

    @classmethod
    def tearDownClass(cls):
        cls.sp.close()

    @classmethod
    def add_key(cls, name, *scopes):
        args = ["apikey", "add", "--data", cls.sp.data, "--name", name]
        for s in scopes:
            args += ["--scope", s]
        return cls.sp.cli(*args).stdout.strip()

    def call(self, method, path, key, body=None, content_type="application/json"):
        headers = {"Authorization": f"Bearer {key}"}
        if body is not None:
            headers["Content-Type"] = content_type
            body = json.dumps(body) if not isinstance(body, (bytes, str)) else body
        status, headers, data = self.sp.request(method, path, body=body, headers=headers)
        return status, json.loads(data) if data else None

    def audit(self):
        return [json.loads(l) for l in
                self.sp.cli("audit", "export", "--data", self.sp.data).stdout.splitlines()]

    def test_upsert_show_revoke(self):
        status, body = self.call("POST", "/api/v1/contacts", self.writer, {
            "email": "Pat@Example.org", "fields": {"name": "Pat", "dob": FIELD_MARK},
            "purpose": "reminders", "consent_version": "v2", "evidence": "front desk",
            "expires_on": "2030-01-31"})
        self.assertEqual(status, 201, body)
        self.assertTrue(body["created"])
        cid = body["id"]
        self.assertRegex(cid, r"^[0-9a-f]{32}$")
        # The same address again: the same contact, its field replaced.
        status, body = self.call("POST", "/api/v1/contacts", self.writer, {
            "email": "pat@example.org", "fields": {"dob": "other"}})
        self.assertEqual((status, body), (200, {"id": cid, "created": False}))
        status, body = self.call("GET", f"/api/v1/contacts/{cid}", self.reader)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["email"], "pat@example.org")
        self.assertEqual(body["fields"], ["dob", "name"])
        self.assertRegex(body["source"], r"^api:[0-9a-f]+$")
        [auth] = body["authorisations"]
        self.assertEqual(auth["purpose"], "reminders")
        self.assertEqual(auth["expires_at"], "2030-01-31T00:00:00Z")
        self.assertEqual(auth["consent_version"], "v2")
        self.assertTrue(auth["evidence"].endswith(" front desk"))
        self.assertIsNone(auth["revoked_at"])
        self.assertNotIn(FIELD_MARK, json.dumps(body))
        for (value,) in self.sp.sql("SELECT value FROM contact_fields"):
            self.assertNotIn(FIELD_MARK.encode(), bytes(value))

        status, body = self.call("POST", "/api/v1/contacts/revoke", self.writer,
                                 {"email": "PAT@example.org", "purpose": "reminders"})
        self.assertEqual((status, body), (200, {"revoked": 1}))
        status, body = self.call("GET", f"/api/v1/contacts/{cid}", self.reader)
        self.assertEqual(body["authorisations"][0]["revoked_via"], "api")
        status, body = self.call("POST", "/api/v1/contacts/revoke", self.writer,
                                 {"email": "pat@example.org", "purpose": "reminders"})
        self.assertEqual((status, body), (200, {"revoked": 0}))
        status, _ = self.call("POST", "/api/v1/contacts/revoke", self.writer,
                              {"email": "nobody@example.org", "purpose": "reminders"})
        self.assertEqual(status, 404)

        entries = self.audit()
        upserts = [e for e in entries if e["action"] == "contact.upsert"
                   and e["object"].startswith(f"contact:{cid} ")]
        self.assertEqual([e["object"] for e in upserts],
                         [f"contact:{cid} created:yes fields:2 granted:reminders",
                          f"contact:{cid} created:no fields:1"])
        self.assertTrue(all(e["actor"].startswith("api:") for e in upserts))
        self.assertIn(f"contact:{cid} purpose:reminders via:api revoked:1 withdrawn:0",
                      [e["object"] for e in entries if e["action"] == "authorisation.revoke"])
        for e in entries:
            self.assertNotIn("example.org", json.dumps(e))
        self.assertRegex(self.sp.cli("contact", "list", "--data", self.sp.data).stdout,
                         r"purpose reminders: \d+ authorised, [1-9]\d* revoked")

    def test_scopes_and_bad_bodies(self):
        body = {"email": "x@example.org"}
        self.assertEqual(self.call("POST", "/api/v1/contacts", self.reader, body)[0], 403)
        self.assertEqual(self.call("POST", "/api/v1/contacts", self.sender, body)[0], 403)
        self.assertEqual(self.call("GET", "/api/v1/contacts/" + "0" * 32, self.sender)[0], 403)
        self.assertEqual(self.call("GET", "/api/v1/contacts/" + "0" * 32, self.reader)[0], 404)
        self.assertEqual(self.call("GET", "/api/v1/contacts/nope", self.reader)[0], 404)
        self.assertEqual(self.call("POST", "/api/v1/contacts", "sp_bad", body)[0], 401)
        self.assertEqual(self.call("POST", "/api/v1/contacts", self.writer, body,
                                   content_type="text/plain")[0], 415)
        cases = [
            ({"email": "not an address"}, "email"),
            ({"email": "x@example.org", "fields": {"First Name": "A"}}, "fields"),
            ({"email": "x@example.org", "fields": {"email": "A"}}, "fields"),
            ({"email": "x@example.org", "fields": {"a": ""}}, "fields"),
            ({"email": "x@example.org", "fields": {"a": "x" * 4097}}, "fields"),
            ({"email": "x@example.org", "fields": ["a"]}, "fields"),
            ({"email": "x@example.org", "purpose": "marketting", "consent_version": "v1"},
             "purpose"),
            ({"email": "x@example.org", "purpose": "marketing"}, "consent_version"),
            ({"email": "x@example.org", "consent_version": "v1"}, "consent_version"),
            ({"email": "x@example.org", "purpose": "marketing", "consent_version": "v1",
              "expires_on": "31/12/2030"}, "expires_on"),
            ({"email": "x@example.org", "purpose": "marketing", "consent_version": "v1\n2"},
             "consent_version"),
            ({"email": "x@example.org", "nickname": "x"}, "nickname"),
        ]
        for request, field in cases:
            with self.subTest(field=field, request=request):
                status, answer = self.call("POST", "/api/v1/contacts", self.writer, request)
                self.assertEqual(status, 400, answer)
                self.assertEqual(answer.get("field"), field, answer)
        status, answer = self.call("POST", "/api/v1/contacts", self.writer, "{not json")
        self.assertEqual(status, 400)
        self.assertEqual(self.sp.sql("SELECT count(*) FROM contacts WHERE address = ?",
                                     "x@example.org")[0][0], 0)

    def token(self, contact_id, purpose):
        with open(os.path.join(self.sp.data, "secrets", "contacts.key"), "rb") as f:
            key = hmac.new(f.read(), b"sealpost-unsubscribe-v1", hashlib.sha256).digest()
        payload = b"\x01" + bytes.fromhex(contact_id) + purpose.encode()
        mac = hmac.new(key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def test_one_click_unsubscribe(self):
        status, body = self.call("POST", "/api/v1/contacts", self.writer, {
            "email": "unsub@example.org", "purpose": "marketing", "consent_version": "v1"})
        self.assertEqual(status, 201, body)
        cid = body["id"]
        token = self.token(cid, "marketing")
        # A GET (a link scanner, a person) only shows the page.
        status, headers, page = self.sp.request("GET", f"/u/{token}")
        self.assertEqual(status, 200)
        self.assertIn("default-src 'none'", headers["content-security-policy"])
        self.assertIn(f'action="/u/{token}"'.encode(), page)
        self.assertIn(b'name="List-Unsubscribe" value="One-Click"', page)
        self.assertIn(b"<button", page)
        self.assertIn(b"marketing", page)
        status, body = self.call("GET", f"/api/v1/contacts/{cid}", self.reader)
        self.assertIsNone(body["authorisations"][0]["revoked_at"])
        # The POST a mail client sends (RFC 8058 3.2).
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, page = self.sp.request("POST", f"/u/{token}",
                                          body="List-Unsubscribe=One-Click", headers=form)
        self.assertEqual(status, 200)
        self.assertIn(b"no more marketing e-mail", page)
        status, body = self.call("GET", f"/api/v1/contacts/{cid}", self.reader)
        self.assertEqual(body["authorisations"][0]["revoked_via"], "unsubscribe")
        # Replayed: the same answer, nothing more revoked.
        status, _, page = self.sp.request("POST", f"/u/{token}",
                                          body="List-Unsubscribe=One-Click", headers=form)
        self.assertEqual(status, 200)
        revokes = [e for e in self.audit() if e["action"] == "authorisation.revoke"
                   and e["object"].startswith(f"contact:{cid} ")]
        self.assertEqual([e["object"] for e in revokes],
                         [f"contact:{cid} purpose:marketing via:unsubscribe revoked:1 withdrawn:0",
                          f"contact:{cid} purpose:marketing via:unsubscribe revoked:0 withdrawn:0"])
        self.assertTrue(all(e["actor"] == "unsubscribe" for e in revokes))
        # Tampered, for another purpose, or another key's: 404, nothing changes.
        raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        raw[5] ^= 1
        bad = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
        other = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        for t in (bad, other, "x" * 300, "short"):
            status, _, _ = self.sp.request("POST", f"/u/{t}", body="List-Unsubscribe=One-Click",
                                           headers=form)
            self.assertEqual(status, 404, t)
            self.assertEqual(self.sp.request("GET", f"/u/{t}")[0], 404, t)
        self.assertEqual(len([e for e in self.audit() if e["action"] == "authorisation.revoke"
                              and e["object"].startswith(f"contact:{cid} ")]), 2)


if __name__ == "__main__":
    unittest.main()

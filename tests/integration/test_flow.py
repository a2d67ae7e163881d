"""The whole path of a submission: GET the form, POST it, 303 to the thank-you page,
export, and gpg decrypts the canonical JSON and verifies the server's signature. A marker
typed into every text field is nowhere at rest (on PostgreSQL: nor in the cluster)."""

import json
import os
import re
import unittest

from harness import Sealpost, valid_intake


class FlowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost().start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.sp.stop()
        cls.sp.close()
        assert rc == 0, f"serve exited {rc} on SIGTERM"

    def test_submit_export_decrypt(self):
        status, headers, _ = self.sp.submit(valid_intake())
        self.assertEqual(status, 303)
        m = re.fullmatch(r"/f/intake/thanks/([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})",
                         headers["location"])
        self.assertIsNotNone(m, headers["location"])
        ref = m.group(1)

        status, thanks_headers, body = self.sp.request("GET", headers["location"])
        self.assertEqual(status, 200)
        self.assertIn(ref.encode(), body)
        self.assertIn(b"Your information was received securely.", body)  # success_message
        nonce = re.search(r"'nonce-([A-Za-z0-9_-]+)'",
                          thanks_headers["content-security-policy"]).group(1)
        self.assertIn(f'<style nonce="{nonce}">'.encode(), body)
        self.assertNotRegex(body, rb"sealpost[A-Za-z0-9_-]{32}(token|nonce|reference)")

        out = os.path.join(self.sp.root, "export")
        self.sp.export(out)
        path = os.path.join(out, ref + ".pgp")
        self.assertTrue(os.path.exists(path), os.listdir(out))
        rc, plaintext, status_text = self.sp.gpg.decrypt(path)
        self.assertEqual(rc, 0, status_text)
        self.assertIn("DECRYPTION_OKAY", status_text)
        self.assertIn("GOODSIG", status_text)
        self.assertRegex(status_text, r"VALIDSIG " + self.sp.server_fpr)
        doc = json.loads(plaintext)
        self.assertEqual(doc["format"], "sealpost-submission/1")
        self.assertEqual(doc["attestation"]["reference"], ref)
        self.assertEqual(doc["attestation"]["form_id"], "intake")
        self.assertEqual(doc["fields"]["full_name"], "Jürgen Doe")
        self.assertEqual(doc["fields"]["phone"], "+12025550143")
        self.assertEqual(doc["fields"]["contact_methods"], ["email", "phone"])
        self.assertEqual(doc["fields"]["privacy_consent"], {"accepted": True, "version": "2026-01"})
        # Canonical: exactly what json.dumps with sorted keys and no spaces produces.
        self.assertEqual(plaintext.decode(),
                         json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                    ensure_ascii=False))

    def test_form_page_carries_fresh_token_and_matching_nonce(self):
        pages = []
        for _ in range(2):
            status, headers, body = self.sp.request("GET", "/f/intake")
            self.assertEqual(status, 200)
            nonce = re.search(r"style-src 'nonce-([A-Za-z0-9_-]+)'",
                              headers["content-security-policy"]).group(1)
            self.assertIn(f'<style nonce="{nonce}">'.encode(), body)
            token = re.search(rb'name="_token" value="([A-Za-z0-9_-]+)"', body).group(1)
            pages.append((nonce.encode(), token, body))
        (n1, t1, b1), (n2, t2, b2) = pages
        self.assertNotEqual(n1, n2)
        self.assertNotEqual(t1, t2)
        # Apart from the token and the nonce, the page is the same every time.
        self.assertEqual(b1.replace(n1, b"N").replace(t1, b"T"),
                         b2.replace(n2, b"N").replace(t2, b"T"))
        self.assertNotRegex(b1, rb"sealpost[A-Za-z0-9_-]{32}(token|nonce)")

    def test_a_marker_typed_into_every_field_is_nowhere_at_rest(self):
        marker = "Zqxflow" + os.urandom(5).hex()
        fields = dict(valid_intake(f"{marker} Doe"))
        fields.update(email=f"{marker}@example.org", allergies=f"{marker} in the notes")
        pairs = [(k, v) for k, v in fields.items() if k != "contact_methods"]
        pairs += [("contact_methods", "email"), ("contact_methods", "phone")]
        status, _, body = self.sp.submit(pairs)
        self.assertEqual(status, 303, body[:400])
        # The scan finds the marker where it is (a control, removed at once).
        control = os.path.join(self.sp.data, "control-marker")
        with open(control, "w") as f:
            f.write(marker)
        self.assertEqual(self.sp.files_containing(marker.encode()), [control])
        os.remove(control)
        # Nowhere: the data directory, the server's log (both under root) and, on
        # PostgreSQL, the cluster's data directory with its WAL, and its log.
        self.assertEqual(self.sp.files_containing(marker.encode(), under=self.sp.root), [])

    def test_thanks_for_unknown_reference_is_404(self):
        status, headers, _ = self.sp.request("GET", "/f/intake/thanks/0000-0000-0000")
        self.assertEqual(status, 404)
        self.assertIn("strict-transport-security", headers)


if __name__ == "__main__":
    unittest.main()

"""Interop with the real GnuPG: what `sealpost export` writes is exactly one OpenPGP file
per submission, named by its reference, that gpg decrypts to the canonical JSON and whose
signature gpg verifies as the server's (S8); a form with two recipients can be read by
each one alone; `--since` exports only what came later; a damaged file does not decrypt."""

import json
import os
import re
import unittest

from harness import Sealpost, location_reference, new_recipient_home, valid_intake

# Names of 200 code points (the form's max_length) and other non-ASCII text.
LONG_NAME = ("Żaneta Ólafsdóttir-Nguyễn " * 8)[:200]
NAMES = [
    "Jürgen Doe",
    "李小龍",
    "Zoë O'Brien-Łukasiewicz",
    "Ωμέγα Παπαδοπούλου 🙂",
    LONG_NAME,
]
# The textarea at its max_length (4000 code points), 1..4 UTF-8 bytes each.
LONG_TEXT = ("penicillin é 漢 🙂 " * 300)[:4000]

PAIR_FORM = """
id = "pair"
title = "Two readers"
recipients = ["{a}", "{b}"]
[[fields]]
name = "note"
type = "text"
label = "Note"
required = true
max_length = 200
"""


def canonical(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class GpgExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost()
        cls.homes = []
        a, fpr_a = new_recipient_home(cls.sp, "home-a", "Reader A <a@example.org>")
        b, fpr_b = new_recipient_home(cls.sp, "home-b", "Reader B <b@example.org>")
        cls.homes = [a, b]
        cls.pair_fprs = [fpr_a, fpr_b]
        cls.sp.add_form(PAIR_FORM.format(a=fpr_a, b=fpr_b), name="pair.toml")
        cls.sp.start()
        cls.sent = []  # (reference, name, allergies) of intake submissions, in order
        for i, name in enumerate(NAMES):
            fields = [(k, v) for k, v in valid_intake(name) if k != "allergies"]
            allergies = LONG_TEXT if i == len(NAMES) - 1 else f"none {i}"
            fields.append(("allergies", allergies))
            status, headers, body = cls.sp.submit(fields)
            assert status == 303, (status, body[:500])
            ref = location_reference(headers)
            assert ref, headers
            cls.sent.append((ref, name, allergies))
        status, headers, body = cls.sp.submit([("note", "für beide / for both")], form="pair")
        assert status == 303, (status, body[:500])
        cls.pair_ref = location_reference(headers, form="pair")
        assert cls.pair_ref, headers

    @classmethod
    def tearDownClass(cls):
        rc = cls.sp.stop()
        for h in cls.homes:
            h.close()
        cls.sp.close()
        assert rc == 0, f"serve exited {rc} on SIGTERM"

    def export(self, name, form="intake", since=None):
        out = os.path.join(self.sp.root, name)
        self.sp.export(out, form=form, since=since)
        return out

    def decrypt_ok(self, gpg, path):
        rc, plaintext, status = gpg.decrypt(path)
        self.assertEqual(rc, 0, status)
        self.assertIn("DECRYPTION_OKAY", status)
        self.assertIn("GOODSIG", status)
        self.assertRegex(status, r"\[GNUPG:\] VALIDSIG " + self.sp.server_fpr + r"\b", status)
        self.assertNotIn("BADSIG", status)
        self.assertNotIn("DECRYPTION_FAILED", status)
        text = plaintext.decode("utf-8")
        doc = json.loads(text)
        self.assertEqual(text, canonical(doc), "not canonical JSON")
        return doc, status

    # -- tests ----------------------------------------------------------------------

    def test_max_length_is_the_boundary(self):
        # Control for the long values above: one code point more is refused.
        fields = [(k, v) for k, v in valid_intake(LONG_NAME + "x") if k != "allergies"]
        status, _, _ = self.sp.submit(fields)
        self.assertEqual(status, 422)
        status, _, _ = self.sp.submit(valid_intake() + [("allergies", LONG_TEXT + "x")])
        self.assertIn(status, (400, 422))

    def test_every_file_decrypts_to_its_submission(self):
        out = self.export("all")
        refs = [r for r, _, _ in self.sent]
        self.assertEqual(len(set(refs)), len(refs))
        self.assertEqual(sorted(os.listdir(out)), sorted(r + ".pgp" for r in refs))
        for ref, name, allergies in self.sent:
            with self.subTest(ref=ref, name=name[:20]):
                path = os.path.join(out, ref + ".pgp")
                self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
                doc, _ = self.decrypt_ok(self.sp.gpg, path)
                self.assertEqual(doc["format"], "sealpost-submission/1")
                self.assertEqual(doc["attestation"]["reference"], ref)
                self.assertEqual(doc["attestation"]["form_id"], "intake")
                self.assertEqual(doc["fields"]["full_name"], name)
                self.assertEqual(doc["fields"]["signature"]["name"], name)
                self.assertRegex(doc["fields"]["signature"]["signed_at"],
                                 r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
                self.assertEqual(doc["fields"]["allergies"], allergies)
        print(f"\n  exported and decrypted {len(refs)}: {', '.join(refs)}", end=" ")

    def test_files_are_binary_openpgp_messages(self):
        out = self.export("kinds")
        ref = self.sent[0][0]
        listed = self.sp.gpg.gpg("--list-packets", os.path.join(out, ref + ".pgp"),
                                 check=False)
        # Encrypted to the recipient (pubkey enc packet), integrity-protected.
        self.assertRegex(listed.stdout + listed.stderr, r":pubkey enc packet:")
        self.assertRegex(listed.stdout + listed.stderr,
                         r":(encrypted data packet|aead encrypted packet):|mdc_method")
        with open(os.path.join(out, ref + ".pgp"), "rb") as f:
            self.assertNotIn("Jürgen".encode(), f.read())

    def test_two_recipients_each_decrypt_alone(self):
        ref = self.pair_ref
        out = self.export("pair", form="pair")
        self.assertEqual(os.listdir(out), [ref + ".pgp"])
        path = os.path.join(out, ref + ".pgp")
        for home, fpr in zip(self.homes, self.pair_fprs):
            with self.subTest(fpr=fpr):
                # Each home holds only its own secret key.
                secrets = home.gpg("--list-secret-keys", "--with-colons").stdout
                self.assertEqual(re.findall(r"^sec:", secrets, re.M), ["sec:"])
                doc, status_text = self.decrypt_ok(home, path)
                self.assertEqual(doc["attestation"]["reference"], ref)
                self.assertEqual(doc["fields"]["note"], "für beide / for both")
                # The message names two recipients; one of them is the key used here.
                self.assertEqual(len(re.findall(r"^\[GNUPG:\] ENC_TO ", status_text, re.M)), 2,
                                 status_text)
        # And the intake recipient (the harness's own home) cannot read it.
        rc, plaintext, status_text = self.sp.gpg.decrypt(path)
        self.assertNotEqual(rc, 0)
        self.assertEqual(plaintext, b"")

    def test_since(self):
        refs = [r for r, _, _ in self.sent]
        out = self.export("since1", since=refs[1])
        self.assertEqual(sorted(os.listdir(out)), sorted(r + ".pgp" for r in refs[2:]))
        out = self.export("since-last", since=refs[-1])
        self.assertEqual(os.listdir(out), [])
        # Unknown reference: an error, nothing written.
        out = os.path.join(self.sp.root, "since-bad")
        proc = self.sp.cli("export", "--data", self.sp.data, "--form", "intake", "--out", out,
                           "--since", "0000-0000-0000", check=False)
        self.assertNotEqual(proc.returncode, 0, proc.stdout)
        self.assertTrue(not os.path.exists(out) or os.listdir(out) == [])
        # A reference of another form is unknown for this one.
        pair_ref = self.pair_ref
        proc = self.sp.cli("export", "--data", self.sp.data, "--form", "intake", "--out",
                           os.path.join(self.sp.root, "since-other"), "--since", pair_ref,
                           check=False)
        self.assertNotEqual(proc.returncode, 0, proc.stdout)

    def test_tampered_file_does_not_decrypt(self):
        """gpg must report the damage. The files are SEIPD v1 + MDC (what gpg 2.2 reads),
        which gpg decrypts as a stream: damage after the session-key packet is detected
        only at the end, after gpg has already written the (partly garbled) plaintext to
        stdout. So for those offsets the guarantee is the exit status and the status
        lines, not an empty stdout; a reader of exports must check gpg's exit status."""
        out = self.export("tamper")
        ref, name, _ = self.sent[-1]  # the long one: the middle is ciphertext
        path = os.path.join(out, ref + ".pgp")
        with open(path, "rb") as f:
            original = f.read()
        rc, intact, _ = self.sp.gpg.decrypt(path)
        self.assertEqual(rc, 0)  # control: intact, it decrypts
        leaked = {}
        for where in (20, len(original) // 2, len(original) * 3 // 4, len(original) - 5):
            with self.subTest(offset=where, size=len(original)):
                damaged = bytearray(original)
                damaged[where] ^= 0x01
                bad = os.path.join(self.sp.root, f"tampered-{where}.pgp")
                with open(bad, "wb") as f:
                    f.write(damaged)
                rc, plaintext, status = self.sp.gpg.decrypt(bad)
                self.assertNotEqual(rc, 0, status)
                self.assertNotIn("DECRYPTION_OKAY", status)
                # Damaged plaintext shows as a bad signature (gpg stops there); damage to
                # the MDC alone leaves the signature good but fails the decryption.
                self.assertRegex(status, r"\[GNUPG:\] (DECRYPTION_FAILED|BADSIG)\b", status)
                if where < 40:
                    # Inside the recipient's session-key packet: nothing decrypts at all.
                    self.assertEqual(plaintext, b"", f"gpg printed {len(plaintext)} bytes")
                elif plaintext:
                    leaked[where] = (len(plaintext), plaintext == intact)
        if leaked:
            print(f"\n  note: gpg wrote unauthenticated plaintext before failing (offset: "
                  f"(bytes, identical to the original)): {leaked}", end=" ")


if __name__ == "__main__":
    unittest.main()

"""S4: with [store] file_drop_dir set, each stored submission is also written as REF.pgp
into that directory, named by its reference, and decrypts with gpg."""

import os
import re
import tempfile
import unittest

from harness import Sealpost, valid_intake


class FileDropTest(unittest.TestCase):
    def test_each_submission_lands_in_the_drop_directory(self):
        drop = tempfile.mkdtemp(prefix="sealpost-drop-")
        with Sealpost(config_extra=f'[store]\nfile_drop_dir = "{drop}"') as sp:
            sp.start()
            refs = []
            for i in range(3):
                status, headers, _ = sp.submit(valid_intake(f"Patient {i}"))
                self.assertEqual(status, 303)
                refs.append(headers["location"].rsplit("/", 1)[1])
            self.assertEqual(sorted(os.listdir(drop)), sorted(r + ".pgp" for r in refs))
            for ref in refs:
                path = os.path.join(drop, ref + ".pgp")
                self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
                rc, plaintext, status_text = sp.gpg.decrypt(path)
                self.assertEqual(rc, 0, status_text)
                self.assertIn(f'"reference":"{ref}"', plaintext.decode())
                self.assertRegex(status_text, "VALIDSIG " + sp.server_fpr)
            self.assertEqual(sp.stop(), 0)
        for name in os.listdir(drop):
            os.unlink(os.path.join(drop, name))
        os.rmdir(drop)

    def test_relative_or_missing_drop_directory_is_refused_at_start(self):
        with Sealpost(config_extra='[store]\nfile_drop_dir = "relative/dir"') as sp:
            proc = sp.cli("serve", "--data", sp.data, "--https-listen", "127.0.0.1:0",
                          check=False)
            self.assertNotEqual(proc.returncode, 0)
            lines = proc.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, proc.stderr)
            self.assertRegex(lines[0], r"^sealpost: .*file_drop_dir")


if __name__ == "__main__":
    unittest.main()

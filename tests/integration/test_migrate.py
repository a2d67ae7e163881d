"""`sealpost migrate --to postgresql://...` (O5): an SQLite installation with submissions,
a staff member, a grant and audit entries moves into an empty PostgreSQL database, the
command proves the copy (row counts, a SHA-256 per table, the audit chain) and switches the
configuration; afterwards the same exports decrypt, the staff member signs in, the chain
verifies, new submissions continue the sequence. A non-empty target is refused and the
configuration stays on SQLite. Needs the ctest fixture `postgres`."""

import os
import re
import unittest

from harness import PostgresDatabase, Sealpost, generous_rate_limits, valid_intake
from portal import Portal, StaffKey, add_user


class MigrateTest(unittest.TestCase):
    def test_sqlite_to_postgres_loses_nothing(self):
        db = PostgresDatabase()
        sp = Sealpost()
        try:
            generous_rate_limits(sp)
            sp.start()
            refs = []
            for i in range(12):
                status, headers, _ = sp.submit(valid_intake(f"Patient {i}"))
                self.assertEqual(status, 303)
                refs.append(headers["location"].rsplit("/", 1)[1])
            key = StaffKey(sp.root, "nina@example.org")
            used = set()
            secret, _ = Portal(sp).enrol(add_user(sp, "nina@example.org", "staff"), key,
                                         used_steps=used)
            sp.cli("user", "list", "--data", sp.data)
            self.assertEqual(sp.stop(), 0)
            before = os.path.join(sp.root, "before")
            sp.export(before)

            # A database that is not empty is refused, and nothing changes.
            db.query("CREATE TABLE unrelated (x int)")
            refused = sp.cli("migrate", "--data", sp.data, "--to", db.uri,
                             "--database-password-file", db.password_file(sp.root), check=False)
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("not empty", refused.stderr)
            with open(os.path.join(sp.data, "sealpost.toml")) as f:
                self.assertNotIn(db.uri, f.read())
            db.query("DROP TABLE unrelated")

            done = sp.cli("migrate", "--data", sp.data, "--to", db.uri,
                          "--database-password-file", db.password_file(sp.root))
            self.assertRegex(done.stdout, r"submissions\s+12 rows\s+sha256 [0-9a-f]{64}\s+identical")
            self.assertRegex(done.stdout, r"users\s+1 rows")
            self.assertIn("chain intact on PostgreSQL", done.stdout)
            self.assertIn("submissions", done.stderr)  # progress lines
            with open(os.path.join(sp.data, "sealpost.toml")) as f:
                self.assertIn(f'database = "{db.uri}"', f.read())
            self.assertEqual(db.query("SELECT count(*) FROM submissions").strip(), "12")

            # The SQLite file is kept but no longer used: make that visible.
            os.rename(os.path.join(sp.data, "sealpost.db"), os.path.join(sp.root, "old.db"))

            # The same exports, byte for byte, and they decrypt.
            after = os.path.join(sp.root, "after")
            sp.export(after)
            self.assertEqual(sorted(os.listdir(before)), sorted(os.listdir(after)))
            for name in os.listdir(before):
                with open(os.path.join(before, name), "rb") as a, \
                        open(os.path.join(after, name), "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)
                rc, _, status_text = sp.gpg.decrypt(os.path.join(after, name))
                self.assertEqual(rc, 0, status_text)
            self.assertIn("intact", sp.cli("audit", "verify", "--data", sp.data).stdout)

            # Serving from PostgreSQL: the staff member signs in, submissions continue.
            sp.start()
            Portal(sp).sign_in("nina@example.org", secret, used)
            status, headers, _ = sp.submit(valid_intake("After the move"))
            self.assertEqual(status, 303)
            self.assertEqual(sp.submission_count(), 13)
            self.assertEqual(db.query("SELECT count(DISTINCT seq) FROM submissions").strip(), "13")
            self.assertEqual(sp.stop(), 0)
            self.assertIn("intact", sp.cli("audit", "verify", "--data", sp.data).stdout)

            # A second migrate is refused: the directory is on PostgreSQL now.
            again = sp.cli("migrate", "--data", sp.data, "--to", db.uri, check=False)
            self.assertNotEqual(again.returncode, 0)
            self.assertIn("already uses", again.stderr)
        finally:
            sp.close()
            db.drop()


if __name__ == "__main__":
    unittest.main()

"""sealpost on PostgreSQL, end to end: `init --database`, two `serve` nodes sharing one
database, submissions through both, a token accepted once across nodes, export decrypted
by gpg, the audit chain intact, and the submitted values found nowhere on disk (the data
directory, the PostgreSQL cluster with its WAL). Needs the ctest fixture `postgres`."""

import os
import shutil
import stat
import unittest

from harness import (PostgresDatabase, Sealpost, files_containing, run, sealpost_binary,
                     valid_intake)

MARKER = "Zqxjv-Postgres-Marker-7731"


class PostgresTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = PostgresDatabase()
        cls.sp = Sealpost(database=cls.db)

    @classmethod
    def tearDownClass(cls):
        cls.sp.close()
        cls.db.drop()

    def test_init_writes_the_uri_and_keeps_the_password_secret(self):
        with open(os.path.join(self.sp.data, "sealpost.toml")) as f:
            config = f.read()
        self.assertIn(f'database = "{self.db.uri}"', config)
        self.assertNotIn(self.db.password, config)
        secret = os.path.join(self.sp.data, "secrets", "database-password")
        self.assertEqual(stat.S_IMODE(os.stat(secret).st_mode), 0o600)
        self.assertFalse(os.path.exists(os.path.join(self.sp.data, "sealpost.db")))
        # The tables are there, in PostgreSQL.
        self.assertEqual(self.db.query("SELECT value FROM meta WHERE key = 'schema_version'")
                         .strip(), "16")

    def test_two_nodes_share_one_database(self):
        # Node B: a copy of node A's configuration and secrets (OPERATIONS.md), its own ports.
        node_b_data = os.path.join(self.sp.root, "node-b")
        shutil.copytree(self.sp.data, node_b_data)
        a = self.sp
        a.start()
        b = Sealpost.__new__(Sealpost)
        node_b_root = os.path.join(self.sp.root, "node-b-run")
        os.makedirs(node_b_root)
        b.__dict__.update(dict(a.__dict__, data=node_b_data, proc=None, root=node_b_root))
        b.start()
        try:
            fields = [(k, MARKER if k == "full_name" else v) for k, v in valid_intake()]
            statuses = []
            for i in range(6):
                node = a if i % 2 == 0 else b
                status, headers, _ = node.submit(fields)
                statuses.append(status)
            self.assertEqual(statuses, [303] * 6)

            # A token issued by node A is accepted once: on B, then refused on A and B.
            token = a.get_token()
            self.assertEqual(b.submit(fields, token=token)[0], 303)
            self.assertNotEqual(a.submit(fields, token=token)[0], 303)
            self.assertNotEqual(b.submit(fields, token=token)[0], 303)
            self.assertEqual(a.submission_count(), 7)
        finally:
            self.assertEqual(b.stop(), 0)
            self.assertEqual(a.stop(), 0)

        # Every acknowledged submission decrypts with gpg.
        out = os.path.join(self.sp.root, "export")
        self.sp.export(out)
        exported = sorted(os.listdir(out))
        self.assertEqual(len(exported), 7)
        for name in exported:
            rc, plaintext, status_text = self.sp.gpg.decrypt(os.path.join(out, name))
            self.assertEqual(rc, 0, status_text)
            self.assertIn(MARKER.encode(), plaintext)
        shutil.rmtree(out)

        # One audit chain, written by both nodes and the CLI, verifies.
        verified = self.sp.cli("audit", "verify", "--data", self.sp.data)
        self.assertIn("intact", verified.stdout + verified.stderr)

        # The marker typed into the form is nowhere on disk: not in either data directory,
        # not in the PostgreSQL cluster (tables, WAL), not in the server logs.
        self.db.admin("CHECKPOINT")
        self.assertEqual(files_containing(self.sp.root, MARKER.encode()), [])
        self.assertEqual(files_containing(self.db.cluster, MARKER.encode()), [])

    def test_a_node_with_other_secrets_is_refused(self):
        # A first start records the fingerprints of the shared secrets.
        self.sp.start()
        self.assertEqual(self.sp.stop(), 0)
        stranger = os.path.join(self.sp.root, "stranger")
        shutil.copytree(self.sp.data, stranger)
        with open(os.path.join(stranger, "secrets", "form-token.key"), "wb") as f:
            f.write(os.urandom(32))
        proc = run([sealpost_binary(), "serve", "--data", stranger, "--https-listen",
                    "127.0.0.1:0", "--http-listen", "127.0.0.1:0"], check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("form-token.key is not the one the other nodes", proc.stderr)
        self.assertNotIn("listening https", proc.stdout)
        shutil.rmtree(stranger)

    def test_a_bad_database_uri_is_refused_and_leaves_nothing(self):
        target = os.path.join(self.sp.root, "bad")
        for uri, expect in [
            ("postgresql://sealpost:hunter2xyzzy@127.0.0.1/x", "must not contain a password"),
            ("mysql://x@y/z", "postgresql://"),
            ("postgresql://127.0.0.1/x?nosuchoption=1", "not valid"),
        ]:
            proc = run([sealpost_binary(), "init", "--data", target, "--database", uri],
                       check=False)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn(expect, proc.stderr)
            self.assertNotIn("hunter2xyzzy", proc.stderr)
            self.assertFalse(os.path.exists(target))
        # Unreachable: a clear error, and no half-made data directory.
        proc = run([sealpost_binary(), "init", "--data", target, "--database",
                    "postgresql://sealpost@127.0.0.1:1/x?connect_timeout=2"], check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("temporarily unavailable", proc.stderr)
        self.assertFalse(os.path.exists(target))


if __name__ == "__main__":
    unittest.main()

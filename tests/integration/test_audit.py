"""The audit trail (A1, A2): CLI and server events are recorded in a hash chain with
signed checkpoints; `sealpost audit verify` says it is intact, and finds (and names the
first bad entry of) each kind of tampering done directly in the store: an edited row, a
deleted middle row, deleted last rows (truncation under a checkpoint) and a forged
checkpoint signature. Each tamper case works on its own copy of the data directory and its
store (on PostgreSQL, a copy of the database), edited directly in SQL."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import Sealpost, valid_intake

SUMMARY = re.compile(r"^audit trail intact: (\d+) entries, (\d+) checkpoints, "
                     r"last checkpoint at (\d+)$")


def checkpoint_payload(count, head_hash, time):
    """The bytes a checkpoint signature covers (audit::checkpoint_payload)."""
    def field(name, value):
        value = str(value)
        return f"{name}:{len(value.encode())}:{value}\n"
    return ("sealpost-audit-checkpoint-v1\n" + field("count", count) +
            field("head_hash", head_hash) + field("time", time))


class AuditTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost()  # init, key import, form add
        cls.sp.start()
        status, headers, _ = cls.sp.submit(valid_intake())
        assert status == 303, status
        assert cls.sp.stop() == 0
        cls.out = os.path.join(cls.sp.root, "export")
        cls.sp.export(cls.out)
        cls.copies = tempfile.mkdtemp(prefix="sealpost-audit-copies-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.copies, ignore_errors=True)
        cls.sp.close()

    # -- helpers ----------------------------------------------------------------------

    def sealpost(self, *args):
        return subprocess.run([self.sp.bin, *args], capture_output=True, text=True, timeout=120)

    def verify(self, data):
        return self.sealpost("audit", "verify", "--data", data)

    def copy(self, name):
        return self.sp.copy_data(os.path.join(self.copies, name))

    def sql(self, data, *statements):
        """Runs each (statement, params) in the store of `data`; the last one's rows."""
        rows = None
        for s, params in statements:
            rows = self.sp.sql(s, *params, data=data)
        return rows

    def entries(self, data):
        proc = self.sealpost("audit", "export", "--data", data)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return [json.loads(line) for line in proc.stdout.splitlines()]

    def assertBrokenAt(self, proc, seq, *texts):
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        lines = proc.stderr.rstrip("\n").split("\n")
        self.assertEqual(len(lines), 1, f"stderr is not one line: {proc.stderr!r}")
        self.assertTrue(lines[0].startswith(f"sealpost: audit trail broken at entry {seq}: "),
                        lines[0])
        for t in texts:
            self.assertIn(t, lines[0])

    # -- the intact trail -------------------------------------------------------------

    def test_intact_trail_and_what_is_recorded(self):
        proc = self.verify(self.sp.data)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        m = SUMMARY.match(proc.stdout.strip())
        self.assertTrue(m, proc.stdout)
        n, checkpoints, last = map(int, m.groups())
        entries = self.entries(self.sp.data)
        self.assertEqual(n, len(entries))
        self.assertGreaterEqual(checkpoints, 1)
        # Each CLI command that recorded something ends with a checkpoint: all is covered.
        self.assertEqual(last, n)

        actions = [e["action"] for e in entries]
        self.assertEqual(actions, ["key.import", "form.add", "serve.start", "submission.receive",
                                   "serve.stop", "submission.export"])
        # The receipt: written in the submission's own transaction, references only.
        self.assertRegex(entries[3]["object"],
                         r"^submission:[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4} form:intake v 1 "
                         r"bytes:\d+$")
        self.assertEqual((entries[3]["actor"], entries[3]["source"]), ("system", "web"))
        self.assertEqual(entries[0]["object"], "key:" + self.sp.recipients[0])
        self.assertEqual(entries[1]["object"], "form:intake v 1")
        self.assertEqual(entries[5]["object"], "form:intake count=1")
        self.assertEqual(entries[2]["actor"], "system")
        self.assertTrue(entries[0]["actor"].startswith("cli:"), entries[0])
        for i, e in enumerate(entries):
            self.assertEqual(e["seq"], i + 1)
            self.assertEqual(e["outcome"], "ok")
            self.assertRegex(e["hash"], r"^[0-9a-f]{64}$")
            self.assertEqual(e["prev_hash"], "0" * 64 if i == 0 else entries[i - 1]["hash"])
        # No PHI: nothing the submitter typed is in the trail.
        text = self.sealpost("audit", "export", "--data", self.sp.data).stdout
        for value in ("Jürgen", "j@example.org", "555 0143", "1980-02-03"):
            self.assertNotIn(value, text)

    def test_export_to_file_is_json_lines(self):
        path = os.path.join(self.sp.root, "audit.jsonl")
        proc = self.sealpost("audit", "export", "--data", self.sp.data, "--out", path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(path) as f:
            lines = f.read().splitlines()
        n = int(SUMMARY.match(self.verify(self.sp.data).stdout.strip()).group(1))
        self.assertEqual(len(lines), n)
        for line in lines:
            self.assertEqual(sorted(json.loads(line)),
                             ["action", "actor", "hash", "object", "outcome", "prev_hash", "seq",
                              "source", "time"])

    def test_untouched_copy_verifies(self):
        # The control for the tamper cases below: copying alone breaks nothing.
        self.assertEqual(self.verify(self.copy("control")).returncode, 0)

    # -- tampering --------------------------------------------------------------------

    def test_edited_row_is_named(self):
        data = self.copy("edited")
        self.sql(data, ("UPDATE audit SET object = 'form:other v 1' WHERE seq = 2", ()))
        self.assertBrokenAt(self.verify(data), 2, "edited")

    def test_deleted_middle_row_is_named(self):
        data = self.copy("deleted")
        self.sql(data, ("DELETE FROM audit WHERE seq = 3", ()))
        self.assertBrokenAt(self.verify(data), 3, "missing")

    def test_truncation_under_a_checkpoint_is_found(self):
        data = self.copy("truncated")
        (n,), = self.sql(data, ("SELECT max(count) FROM audit_checkpoints", ()))
        self.assertGreaterEqual(n, 3)
        self.sql(data, ("DELETE FROM audit WHERE seq >= ?", (n - 1,)))
        self.assertBrokenAt(self.verify(data), n - 1, "truncated")

    def test_forged_checkpoint_signature_is_found(self):
        data = self.copy("forged")
        (count, head, time), = self.sql(
            data, ("SELECT count, head_hash, time FROM audit_checkpoints "
                   "ORDER BY count DESC LIMIT 1", ()))
        # A well-formed signature over the right payload, by a key that is not the server's.
        forged = self.sp.gpg.gpg("--armor", "--detach-sign", "--local-user",
                                 self.sp.recipients[0],
                                 input=checkpoint_payload(count, head, time)).stdout
        self.assertIn("BEGIN PGP SIGNATURE", forged)
        self.sql(data, ("UPDATE audit_checkpoints SET signature = ? WHERE count = ?",
                        (forged, count)))
        self.assertBrokenAt(self.verify(data), count, "bad signature")

        # A garbled signature: still one line, still the same entry.
        garbled = self.copy("garbled")
        (sig,), = self.sql(garbled, ("SELECT signature FROM audit_checkpoints WHERE count = ?",
                                     (count,)))
        body = sig.split("\n")
        i = next(k for k, line in enumerate(body) if len(line) > 20 and " " not in line)
        body[i] = body[i][:10] + ("A" if body[i][10] != "A" else "B") + body[i][11:]
        self.sql(garbled, ("UPDATE audit_checkpoints SET signature = ? WHERE count = ?",
                           ("\n".join(body), count)))
        self.assertBrokenAt(self.verify(garbled), count, "bad signature")

    def test_rewritten_tail_with_recomputed_hashes_is_found(self):
        # Without the signing key, editing a row and recomputing every later hash still
        # leaves the signed checkpoint pointing at the old head.
        data = self.copy("rewritten")
        rows = self.sql(data, ("SELECT seq, time, actor, action, object, source, outcome, "
                               "prev_hash FROM audit ORDER BY seq", ()))
        import hashlib

        def field(name, value):
            value = str(value)
            return f"{name}:{len(value.encode())}:{value}\n"

        prev = None
        for seq, time, actor, action, obj, source, outcome, prev_hash in rows:
            if seq == 2:
                obj = "form:other v 1"
            if prev is not None:
                prev_hash = prev
            canon = ("sealpost-audit-entry-v1\n" + field("seq", seq) + field("time", time) +
                     field("actor", actor) + field("action", action) + field("object", obj) +
                     field("source", source) + field("outcome", outcome) +
                     field("prev_hash", prev_hash))
            h = hashlib.sha256(canon.encode()).hexdigest()
            self.sql(data, ("UPDATE audit SET object = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                            (obj, prev_hash, h, seq)))
            prev = h
        (last,), = self.sql(data, ("SELECT min(count) FROM audit_checkpoints WHERE count >= 2",
                                   ()))
        self.assertBrokenAt(self.verify(data), last, "rewritten")

    # -- checkpoints outside the database (A8) ---------------------------------------

    def log_lines(self, data):
        with open(os.path.join(data, "audit-checkpoints.log")) as f:
            return [json.loads(line) for line in f.read().splitlines()]

    def test_every_checkpoint_is_also_in_the_nodes_log(self):
        logged = [(c["count"], c["head_hash"]) for c in self.log_lines(self.sp.data)]
        stored = self.sql(self.copy("log-control"),
                          ("SELECT count, head_hash FROM audit_checkpoints ORDER BY count", ()))
        self.assertEqual(logged, [tuple(r) for r in stored])

    def test_truncation_with_its_checkpoint_rows_is_found_by_the_log(self):
        data = self.copy("truncated-all")
        (n,), = self.sql(data, ("SELECT max(seq) FROM audit", ()))
        # Delete the tail and every checkpoint that covered it: the database alone looks fine.
        self.sql(data, ("DELETE FROM audit WHERE seq >= ?", (n - 2,)),
                 ("DELETE FROM audit_checkpoints WHERE count >= ?", (n - 2,)))
        self.assertBrokenAt(self.verify(data), n - 2, "checkpoint log", "truncated",
                            f"vouches for {n} entries")

    def test_a_saved_checkpoint_catches_what_the_log_no_longer_can(self):
        saved = os.path.join(self.copies, "saved-checkpoint.jsonl")
        with open(os.path.join(self.sp.data, "audit-checkpoints.log")) as f:
            last = f.read().splitlines()[-1]
        with open(saved, "w") as f:
            f.write(last + "\n")
        count = json.loads(last)["count"]
        data = self.copy("truncated-and-log-gone")
        self.sql(data, ("DELETE FROM audit WHERE seq >= ?", (count - 1,)),
                 ("DELETE FROM audit_checkpoints WHERE count >= ?", (count - 1,)))
        os.remove(os.path.join(data, "audit-checkpoints.log"))
        # With the node's log gone too, the database alone cannot tell (the documented limit)...
        self.assertEqual(self.verify(data).returncode, 0)
        # ...but the checkpoint the auditor kept can.
        proc = self.sealpost("audit", "verify", "--data", data, "--checkpoint", saved)
        self.assertBrokenAt(proc, count - 1, "saved checkpoint", "truncated")
        # A line that is not a checkpoint is refused, not ignored.
        bad = os.path.join(self.copies, "not-a-checkpoint")
        with open(bad, "w") as f:
            f.write("{}\n")
        proc = self.sealpost("audit", "verify", "--data", self.sp.data, "--checkpoint", bad)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("not a checkpoint line", proc.stderr)

    def test_deleted_submission_is_reported(self):
        data = self.copy("submission-deleted")
        (ref,), = self.sql(data, ("SELECT reference FROM submissions", ()))
        self.sql(data, ("DELETE FROM submissions", ()))
        receipt = [e for e in self.entries(data) if e["action"] == "submission.receive"][0]
        self.assertBrokenAt(self.verify(data), receipt["seq"], f"submission {ref}",
                            "missing from the store")

    # -- export is recorded first -----------------------------------------------------

    def test_export_that_cannot_be_recorded_writes_nothing(self):
        data = self.copy("unrecordable")
        self.sp.refuse_inserts("audit", data=data)
        out = os.path.join(self.copies, "unrecordable-out")
        proc = self.sealpost("export", "--data", data, "--form", "intake", "--out", out)
        self.assertNotEqual(proc.returncode, 0)
        lines = proc.stderr.rstrip("\n").split("\n")
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith("sealpost: export not recorded"), lines[0])
        self.assertFalse(os.path.exists(out) and os.listdir(out), "files were written")


if __name__ == "__main__":
    unittest.main()

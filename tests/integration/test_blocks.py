"""Blocking abusive clients (F10) and the lockout budget (P3) on two nodes sharing one
PostgreSQL database: `sealpost block add` on the CLI makes both running nodes refuse that
address within about a second and `block remove` lifts it; an address that keeps sending
forged form tokens is blocked automatically on both nodes (audited `block.auto`); sign-in
failures on node A and node B count toward one budget. Distinct client addresses come from
binding the client socket to 127.0.0.x. Needs the ctest fixture `postgres`."""

import os
import shutil
import time
import unittest
import urllib.parse

from harness import PostgresDatabase, Sealpost, request_from, set_config, wait_for_status
from portal import Portal

# Deadlines for what must happen "within a second": generous, so a loaded machine never
# fails the test; nothing asserts how fast it was.
DEADLINE = 20


class BlocksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = PostgresDatabase()
        cls.a = Sealpost(database=cls.db)
        # A small budget, so the test needs few forged posts.
        set_config(cls.a, "abuse", {"auto_block_events": "5", "auto_block_seconds": "3600"})
        # Node B: a copy of node A's configuration and secrets, its own ports.
        node_b_data = os.path.join(cls.a.root, "node-b")
        shutil.copytree(cls.a.data, node_b_data)
        node_b_root = os.path.join(cls.a.root, "node-b-run")
        os.makedirs(node_b_root)
        cls.a.start()
        cls.b = Sealpost.__new__(Sealpost)
        cls.b.__dict__.update(dict(cls.a.__dict__, data=node_b_data, proc=None, root=node_b_root))
        cls.b.start()

    @classmethod
    def tearDownClass(cls):
        b_rc = cls.b.stop()
        a_rc = cls.a.stop()
        logs = cls.a.log() + cls.b.log()
        cls.a.close()
        cls.db.drop()
        assert (a_rc, b_rc) == (0, 0), (a_rc, b_rc, logs[-6000:])

    def audit_actions(self):
        return self.db.query("SELECT action || ' ' || object FROM audit ORDER BY seq").split("\n")

    def test_cli_block_reaches_every_node_and_remove_lifts_it(self):
        source = "127.0.0.5"
        for node in (self.a, self.b):
            self.assertEqual(request_from(node, source, "GET", "/f/intake")[0], 200)

        added = self.a.cli("block", "add", "--data", self.a.data, source, "--until", "2h",
                           "--reason", "integration test")
        self.assertIn("blocked 127.0.0.5/32 until ", added.stdout)
        done, last = wait_for_status([self.a, self.b], source, 403, DEADLINE)
        self.assertTrue(done, f"still {last} after {DEADLINE} s")
        status, page = request_from(self.b, source, "GET", "/f/intake")
        self.assertEqual(status, 403)
        self.assertIn(b"not accepted", page)
        # The portal is refused too; another address is not.
        self.assertEqual(request_from(self.a, source, "GET", "/portal/")[0], 403)
        self.assertEqual(request_from(self.b, "127.0.0.6", "GET", "/f/intake")[0], 200)

        listed = self.a.cli("block", "list", "--data", self.a.data).stdout
        self.assertRegex(listed, r"127\.0\.0\.5/32 until:\S+ by:cli .*reason:integration test")
        self.assertIn("event=blocked source=127.0.0.5", self.a.log() + self.b.log())

        removed = self.b.cli("block", "remove", "--data", self.b.data, "127.0.0.5/32")
        self.assertIn("unblocked 127.0.0.5/32", removed.stdout)
        done, last = wait_for_status([self.a, self.b], source, 200, DEADLINE)
        self.assertTrue(done, f"still {last} after {DEADLINE} s")
        actions = self.audit_actions()
        self.assertIn("block.add network:127.0.0.5/32", actions)
        self.assertIn("block.remove network:127.0.0.5/32", actions)

    def test_bad_input_on_the_cli_is_one_clear_line(self):
        for args, text in [(["block", "add", "--data", self.a.data, "10.0.0.1/8"], "host bits"),
                           (["block", "add", "--data", self.a.data, "not-a-network"],
                            "is not a CIDR"),
                           (["block", "add", "--data", self.a.data, "10.0.0.0/8", "--until",
                             "soon"], "--until"),
                           (["block", "remove", "--data", self.a.data, "192.0.2.0/24"],
                            "is not blocked")]:
            proc = self.a.cli(*args, check=False)
            self.assertEqual(proc.returncode, 1, args)
            self.assertIn(text, proc.stderr)
            self.assertEqual(len(proc.stderr.strip().split("\n")), 1, proc.stderr)
        self.assertEqual(self.db.query("SELECT count(*) FROM blocks WHERE cidr = '10.0.0.0/8'")
                         .strip(), "0")

    def test_forged_tokens_block_the_address_automatically_on_every_node(self):
        source = "127.0.0.7"
        body = urllib.parse.urlencode([("_token", "forged"), ("_website", ""),
                                       ("full_name", "x")])
        statuses = [request_from(self.a, source, "POST", "/f/intake", body)[0]
                    for _ in range(5)]
        self.assertEqual(statuses, [400] * 5)
        # Blocked here at once, on node B within about a second.
        self.assertEqual(request_from(self.a, source, "GET", "/f/intake")[0], 403)
        done, last = wait_for_status([self.b], source, 403, DEADLINE)
        self.assertTrue(done, f"still {last} after {DEADLINE} s")
        self.assertEqual(request_from(self.b, "127.0.0.8", "GET", "/f/intake")[0], 200)
        listed = self.a.cli("block", "list", "--data", self.a.data).stdout
        self.assertRegex(listed, r"127\.0\.0\.7/32 until:\S+ by:auto ")
        deadline = time.time() + DEADLINE
        while "block.auto network:127.0.0.7/32" not in self.audit_actions():
            self.assertLess(time.time(), deadline, "no block.auto audit entry")
            time.sleep(0.1)
        self.a.cli("block", "remove", "--data", self.a.data, "127.0.0.7/32")
        done, last = wait_for_status([self.a, self.b], source, 200, DEADLINE)
        self.assertTrue(done, f"still {last} after {DEADLINE} s")

    def test_sign_in_failures_on_two_nodes_share_one_budget(self):
        # The account budget is 3 free failures (the default). Each node alone sees at most
        # half of the attempts: only counts shared through the database delay the 5th or
        # 6th attempt; per-node counts would first delay the 9th.
        email = "shared-budget@example.org"
        statuses = []
        for i in range(8):
            node = self.a if i % 2 == 0 else self.b
            status, _, _ = Portal(node).call("POST", "/portal/api/sign-in",
                                             {"email": email, "password": "wrong password"})
            statuses.append(status)
            if status == 429:
                break
        self.assertEqual(statuses[:4], [401] * 4, statuses)
        self.assertIn(429, statuses, statuses)
        self.assertLessEqual(statuses.index(429), 5, statuses)
        # Stored as hashes: neither the address nor the e-mail is in the table.
        rows = self.db.query("SELECT key FROM auth_failures")
        self.assertNotIn("example.org", rows)
        self.assertNotIn("127.0.0.1", rows)


if __name__ == "__main__":
    unittest.main()

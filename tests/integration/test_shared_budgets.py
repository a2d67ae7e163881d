"""Budgets shared by two `sealpost serve` nodes on one PostgreSQL database (issue 7): the
per-address form-post rate limit, the count of refusals behind an automatic block, and the
HTTP API's authentication lockout are each spent once by both nodes together, not once per
node. Requests alternate between node A and node B; each test uses its own client address
(the client socket bound to 127.0.0.x), so each has its own per-address budget.

Per-node budgets would let through twice as much: 40 posts instead of 20 before 429, no
block after 20 forged posts (10 per node), no 429 from the API before the 22nd failure.

Real peers: PostgreSQL (the tests' shared cluster, a database of this test's own); Python's
ssl as the client. Needs the ctest fixture `postgres`."""

import math
import os
import re
import shutil
import time
import unittest
import urllib.parse

from harness import (PostgresDatabase, Sealpost, request_from, sanitizer_reports, set_config,
                     set_config_value, valid_intake, wait_for_status)

# Deadlines for what must happen "within about a second": generous, so a loaded machine
# never fails the test; nothing asserts how fast it was.
DEADLINE = 20
# The portal's credential checks per client address (portal/limits.hpp): a burst of 20,
# refilled at 30 a minute.
CREDENTIAL_BURST = 20
CREDENTIAL_REFILL_PER_SECOND = 0.5
# [rate_limit] per_ip_burst and [abuse] auto_block_events of both nodes. The refill is one
# post a minute, so a test that takes seconds sees (almost) none of it.
BURST = 20
EVENTS = 20


def token_from(node, source):
    status, page = request_from(node, source, "GET", "/f/intake")
    assert status == 200, status
    return re.search(rb'name="_token" value="([^"]+)"', page).group(1).decode()


class SharedBudgetsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = PostgresDatabase()
        cls.a = Sealpost(database=cls.db)
        set_config(cls.a, "rate_limit", {"per_ip_per_minute": "1", "per_ip_burst": str(BURST)})
        set_config(cls.a, "abuse", {"auto_block_events": str(EVENTS),
                                    "auto_block_window_seconds": "600",
                                    "auto_block_seconds": "3600"})
        # The messages API answers 503 without outbound mail: set it up (a DKIM key, a
        # resolver that is never asked: nothing is sent).
        cls.a.cli("dkim", "init", "--data", cls.a.data, "--domain", "example.org",
                  "--selector", "s1")
        for key, value in [("hostname", "forms.example.org"),
                           ("default_sender", "forms@example.org"), ("dkim_selector", "s1"),
                           ("resolver", "127.0.0.1:9"), ("trust_anchor_file", "")]:
            set_config_value(cls.a.data, "mail", key, value)
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
        reports = sanitizer_reports(cls.a) + sanitizer_reports(cls.b)
        cls.a.close()
        cls.db.drop()
        assert (a_rc, b_rc) == (0, 0), (a_rc, b_rc, logs[-6000:])
        assert reports == [], reports

    def node(self, i):
        return self.a if i % 2 == 0 else self.b

    def test_both_nodes_keep_their_budgets_in_the_database(self):
        for node in (self.a, self.b):
            self.assertIn("event=budgets where=database", node.log())

    def test_form_posts_alternated_over_two_nodes_spend_one_budget(self):
        source = "127.0.0.11"
        statuses = []
        started = time.time()
        for i in range(2 * BURST):
            token = token_from(self.node(i), source)
            body = urllib.parse.urlencode([("_token", token), ("_website", "")]
                                          + valid_intake())
            statuses.append(request_from(self.node(i), source, "POST", "/f/intake", body)[0])
            if statuses[-1] == 429:
                break
        elapsed = time.time() - started
        self.assertIn(429, statuses, statuses)
        accepted = statuses.index(429)
        self.assertEqual(statuses[:accepted], [303] * accepted, statuses)
        # The one budget, and at most one more post per started minute of refill; per-node
        # budgets would have accepted 2 x BURST.
        self.assertGreaterEqual(accepted, BURST, statuses)
        self.assertLessEqual(accepted, BURST + math.ceil(elapsed / 60), (statuses, elapsed))
        self.assertLess(accepted, 2 * BURST, statuses)
        # Another address has its own budget.
        other = self.node(len(statuses))
        token = token_from(other, "127.0.0.14")
        body = urllib.parse.urlencode([("_token", token), ("_website", "")] + valid_intake())
        self.assertEqual(request_from(other, "127.0.0.14", "POST", "/f/intake", body)[0], 303)
        # The database keeps hashes of the keys, never the address.
        keys = self.db.query("SELECT key FROM rate_buckets")
        self.assertTrue(keys.strip())
        self.assertNotIn("127.0.0", keys)

    def test_forged_posts_spread_over_two_nodes_block_the_address(self):
        source = "127.0.0.12"
        body = urllib.parse.urlencode([("_token", "forged"), ("_website", ""),
                                       ("full_name", "x")])
        statuses = [request_from(self.node(i), source, "POST", "/f/intake", body)[0]
                    for i in range(EVENTS - 1)]
        self.assertEqual(statuses, [400] * (EVENTS - 1))
        # Each node has seen about half: no block yet (a block is enforced at once on the
        # node that makes it).
        for node in (self.a, self.b):
            self.assertEqual(request_from(node, source, "GET", "/f/intake")[0], 200)
        self.assertEqual(request_from(self.node(EVENTS - 1), source, "POST", "/f/intake",
                                      body)[0], 400)
        done, last = wait_for_status([self.a, self.b], source, 403, DEADLINE)
        self.assertTrue(done, f"still {last} after {DEADLINE} s")
        self.assertEqual(request_from(self.a, "127.0.0.15", "GET", "/f/intake")[0], 200)
        deadline = time.time() + DEADLINE
        while "block.auto network:127.0.0.12/32" not in self.db.query(
                "SELECT action || ' ' || object FROM audit"):
            self.assertLess(time.time(), deadline, "no block.auto audit entry")
            time.sleep(0.1)
        # One block for the burst, not one per node.
        self.assertEqual(self.db.query("SELECT count(*) FROM audit WHERE action = 'block.auto' "
                                       "AND object = 'network:127.0.0.12/32'").strip(), "1")
        self.assertNotIn("127.0.0", self.db.query("SELECT key FROM rate_events"))

    def test_api_key_failures_on_two_nodes_reach_one_lockout(self):
        source = "127.0.0.13"
        # A well-formed key that does not exist: 401 each time, until the lockout's 10 free
        # failures (mail/api/limits.hpp) are spent; then 429 while the delay (2 s, doubling)
        # runs.
        bad = "sp_" + "0" * 16 + "_" + "1" * 64
        statuses = []
        for i in range(16):
            status, _ = request_from(self.node(i), source, "GET", "/api/v1/messages/" + "a" * 32,
                                     headers={"Authorization": f"Bearer {bad}"})
            statuses.append(status)
            if status == 429:
                break
        self.assertEqual(statuses[:11], [401] * 11, statuses)
        self.assertIn(429, statuses, statuses)
        # Counted apart from the portal's sign-in failures, and as hashes.
        self.assertEqual(self.db.query("SELECT count(*) > 0 FROM auth_failures "
                                       "WHERE key LIKE 'api %'").strip(), "t")
        self.assertNotIn("127.0.0", self.db.query("SELECT key FROM auth_failures"))

    def test_portal_credential_checks_on_two_nodes_spend_one_budget(self):
        source = "127.0.0.16"
        # A sign-in without an e-mail address or password: refused at once (401), before the
        # lockout counts anything, so only the credential budget can answer 429 here.
        statuses = []
        started = time.time()
        for i in range(2 * CREDENTIAL_BURST):
            status, _ = self.sign_in_from(self.node(i), source)
            statuses.append(status)
            if status == 429:
                break
        elapsed = time.time() - started
        self.assertIn(429, statuses, statuses)
        accepted = statuses.index(429)
        self.assertEqual(statuses[:accepted], [401] * accepted, statuses)
        # One budget and its refill over the time taken; each node's own budget would have
        # let all 2 x 20 through.
        self.assertGreaterEqual(accepted, CREDENTIAL_BURST, statuses)
        self.assertLessEqual(accepted, CREDENTIAL_BURST
                             + math.ceil(elapsed * CREDENTIAL_REFILL_PER_SECOND), (statuses, elapsed))
        self.assertLess(accepted, 2 * CREDENTIAL_BURST, statuses)
        # Another address has its own budget.
        self.assertEqual(self.sign_in_from(self.node(accepted), "127.0.0.17")[0], 401)

    @staticmethod
    def sign_in_from(node, source):
        return request_from(node, source, "POST", "/portal/api/sign-in", "{}",
                            headers={"Origin": f"https://localhost:{node.https_port}"},
                            content_type="application/json")


if __name__ == "__main__":
    unittest.main()

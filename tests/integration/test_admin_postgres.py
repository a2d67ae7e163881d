"""/readyz follows the database (O3), on PostgreSQL: a node whose database refuses
connections answers 503 with a one-line reason, and 200 again once the database is back,
without a restart; submissions work again too. Uses its own database in the tests'
shared cluster (the ctest fixture `postgres`), never stops the cluster."""

import time
import unittest

from admin import admin_get, metric, parse_metrics
from harness import PostgresDatabase, Sealpost, valid_intake

# Long enough for a loaded CI machine; a bound on waiting, not a timing assertion.
PATIENCE_SECONDS = 120


class AdminPostgresTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = PostgresDatabase()
        cls.sp = Sealpost(database=cls.db).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.allow_connections(True)
            rc = cls.sp.stop()
            cls.sp.close()
            assert rc == 0, rc
        finally:
            cls.db.drop()

    @classmethod
    def allow_connections(cls, allowed):
        cls.db.admin(f"ALTER DATABASE {cls.db.name} ALLOW_CONNECTIONS "
                     f"{'true' if allowed else 'false'}")
        if not allowed:
            # The node's pooled connections and its group-commit writer's connection.
            cls.db.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         f"WHERE datname = '{cls.db.name}' AND pid <> pg_backend_pid()")

    def wait_for_readyz(self, want_status):
        deadline = time.monotonic() + PATIENCE_SECONDS
        while True:
            status, _, body = admin_get(self.sp.admin_port, "/readyz")
            if status == want_status or time.monotonic() > deadline:
                return status, body.decode()
            time.sleep(0.2)

    def test_readyz_follows_the_database(self):
        self.assertEqual(self.wait_for_readyz(200), (200, "ready\n"))
        self.assertEqual(self.sp.submit(valid_intake())[0], 303)

        self.allow_connections(False)
        try:
            status, body = self.wait_for_readyz(503)
            self.assertEqual(status, 503)
            self.assertEqual(body, "not ready: database unreachable\n")
            # One line, and nothing about the database beyond that it is unreachable.
            self.assertNotIn(self.db.password, body)
            self.assertNotIn(self.db.name, body)
            self.assertEqual(metric(parse_metrics(
                admin_get(self.sp.admin_port, "/metrics")[2].decode()), "sealpost_ready"), 0)
            self.assertEqual(admin_get(self.sp.admin_port, "/healthz")[0], 200)  # alive
            # A submission now is refused (503), never acknowledged.
            token = self.sp.get_token()
            self.assertEqual(self.sp.submit(valid_intake(), token=token)[0], 503)
        finally:
            self.allow_connections(True)

        self.assertEqual(self.wait_for_readyz(200), (200, "ready\n"))
        deadline = time.monotonic() + PATIENCE_SECONDS
        while True:  # the writer reconnects on its next batch
            status = self.sp.submit(valid_intake())[0]
            if status == 303 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(status, 303)
        samples = parse_metrics(admin_get(self.sp.admin_port, "/metrics")[2].decode())
        self.assertEqual(metric(samples, "sealpost_ready"), 1)
        self.assertGreaterEqual(metric(samples, "sealpost_submissions_total",
                                       outcome="unavailable", reason="not_stored"), 1)


if __name__ == "__main__":
    unittest.main()

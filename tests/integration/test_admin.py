"""The admin listener (O3) on the real binary: /healthz, /readyz and /metrics on their own
loopback port, printed as `listening admin ADDR:PORT`; metrics that move with what the
server does; refusals of a non-loopback admin address and of anything but GET.
The PostgreSQL half (readiness follows the database) is test_admin_postgres.py."""

import json
import os
import re
import signal
import socket
import subprocess
import unittest

from admin import admin_get, metric, parse_metrics
from harness import Sealpost, location_reference, run, valid_intake


class AdminTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost().start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.sp.stop()
        cls.sp.close()
        assert rc == 0, rc

    def get(self, path, **kw):
        return admin_get(self.sp.admin_port, path, **kw)

    def metrics(self):
        status, headers, body = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        return parse_metrics(body.decode("utf-8"))

    def test_healthz_answers_ok_with_the_security_headers(self):
        status, headers, body = self.get("/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        self.assertEqual(headers["cache-control"], "no-store")

    def test_readyz_is_ready(self):
        status, _, body = self.get("/readyz")
        self.assertEqual((status, body), (200, b"ready\n"))
        self.assertEqual(metric(self.metrics(), "sealpost_ready"), 1)

    def test_a_stored_submission_moves_the_counters_and_the_batch_histogram(self):
        before = self.metrics()
        status, headers, _ = self.sp.submit(valid_intake())
        self.assertEqual(status, 303)
        self.assertIsNotNone(location_reference(headers))
        # A replay of a used token is counted as such.
        token = self.sp.get_token()
        self.assertEqual(self.sp.submit(valid_intake(), token=token)[0], 303)
        self.assertEqual(self.sp.submit(valid_intake(), token=token)[0], 409)
        after = self.metrics()

        def delta(name, **labels):
            return metric(after, name, **labels) - metric(before, name, **labels)

        self.assertEqual(delta("sealpost_submissions_total", outcome="stored", reason="ok"), 2)
        self.assertEqual(delta("sealpost_submissions_total", outcome="replay",
                               reason="token_used"), 1)
        self.assertEqual(delta("sealpost_http_requests_total", route="submit", code="303"), 2)
        self.assertGreaterEqual(delta("sealpost_http_requests_total", route="form", code="200"), 2)
        # Two stored submissions: one or two group-commit transactions, two submissions.
        self.assertGreaterEqual(delta("sealpost_group_commit_batch_size_count"), 1)
        self.assertEqual(delta("sealpost_group_commit_batch_size_sum"), 2)
        self.assertGreaterEqual(delta("sealpost_group_commit_seconds_count"), 1)
        self.assertGreaterEqual(delta("sealpost_group_commit_batches_total",
                                      result="committed"), 1)
        self.assertGreaterEqual(delta("sealpost_http_request_duration_seconds_count",
                                      route="submit"), 3)
        # The start of `serve` was audited by this process.
        self.assertGreaterEqual(metric(after, "sealpost_audit_appends_total", result="ok"), 1)
        for gauge in ("sealpost_blocking_pool_queued", "sealpost_http_open_connections",
                      "sealpost_group_commit_pending", "sealpost_portal_sessions"):
            self.assertIn((gauge, frozenset()), after)

    def test_metrics_labels_never_carry_what_a_client_chose(self):
        self.sp.request("GET", "/probe-Zq7-secret-path")
        text = self.get("/metrics")[2].decode()
        self.assertNotIn("Zq7", text)
        self.assertGreaterEqual(metric(parse_metrics(text), "sealpost_http_requests_total",
                                       route="unmatched", code="404"), 1)

    def test_only_get_on_three_paths(self):
        self.assertEqual(self.get("/")[0], 404)
        self.assertEqual(self.get("/f/intake")[0], 404)  # nothing of the public site
        self.assertEqual(self.get("/metrics", method="POST", body=b"")[0], 405)
        self.assertEqual(self.get("/healthz", method="POST", body=b"x=1")[0], 413)


class SystemdNotifyTest(unittest.TestCase):
    """Type=notify: READY=1 once every listener is bound, STOPPING=1 when the drain starts,
    sent to $NOTIFY_SOCKET as systemd would receive them."""

    def test_ready_after_listening_and_stopping_on_drain(self):
        with Sealpost(form_text="") as sp:
            path = os.path.join(sp.root, "notify.sock")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            sock.settimeout(60)
            try:
                sp.start(extra_env={"NOTIFY_SOCKET": path})
                # start() returned: the listening lines were printed; READY=1 follows them.
                self.assertEqual(sock.recv(4096), b"READY=1")
                self.assertEqual(admin_get(sp.admin_port, "/healthz")[0], 200)
                sp.proc.send_signal(signal.SIGTERM)
                self.assertEqual(sock.recv(4096), b"STOPPING=1")
                self.assertEqual(sp.stop(), 0)
            finally:
                sock.close()


class AuditAlertTest(unittest.TestCase):
    def test_a_broken_audit_chain_at_start_is_shown_by_readyz_and_metrics(self):
        with Sealpost() as sp:
            sp.start()
            self.assertEqual(sp.submit(valid_intake())[0], 303)
            self.assertEqual(sp.stop(), 0)
            sp.sql("UPDATE audit SET object = 'form:other v 1' WHERE seq = 2")
            sp.start()
            # Still serving (the evidence stays; people are told), but never silently.
            status, _, body = admin_get(sp.admin_port, "/readyz")
            self.assertEqual((status, body), (200, b"ready\nalert: audit_chain_broken\n"))
            samples = parse_metrics(admin_get(sp.admin_port, "/metrics")[2].decode())
            self.assertEqual(metric(samples, "sealpost_alert", kind="audit_chain_broken"), 1)
            self.assertEqual(sp.stop(), 0)


class JsonLogTest(unittest.TestCase):
    def test_json_log_format_writes_one_object_per_line(self):
        with Sealpost(config_extra='[log]\nformat = "json"') as sp:
            sp.start()
            sp.request("GET", "/no-such-page")
            self.assertEqual(sp.stop(), 0)
            lines = sp.log().splitlines()
            self.assertTrue(lines)
            events = []
            for line in lines:
                entry = json.loads(line)
                self.assertTrue({"time", "level", "message"} <= set(entry), line)
                events.append(entry.get("event"))
            self.assertIn("started", events)
            self.assertIn("stopped", events)

    def test_an_unknown_log_format_is_refused(self):
        with Sealpost(form_text="") as sp:
            sp.set_config("log", "format", "xml")
            proc = sp.cli("serve", "--data", sp.data, check=False)
            self.assertNotEqual(proc.returncode, 0)
            self.assertRegex(proc.stderr, r"\[log\] format must be")


class AdminListenTest(unittest.TestCase):
    """The address checks happen before anything is bound."""

    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost(form_text="")

    @classmethod
    def tearDownClass(cls):
        cls.sp.close()

    def serve_refused(self, *args):
        proc = self.sp.cli("serve", "--data", self.sp.data, "--https-listen", "127.0.0.1:0",
                           "--http-listen", "127.0.0.1:0", *args, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertNotIn("listening", proc.stdout)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        return lines[0]

    def test_a_non_loopback_admin_address_is_refused_by_default(self):
        line = self.serve_refused("--admin-listen", "0.0.0.0:0")
        self.assertRegex(line, r"^sealpost: .*admin_listen.*admin_listen_public")

    def test_a_malformed_admin_address_is_refused(self):
        self.assertRegex(self.serve_refused("--admin-listen", "localhost:9090"),
                         r"^sealpost: .*admin_listen")

    def test_an_empty_admin_address_disables_the_listener(self):
        proc = subprocess.Popen(
            [self.sp.bin, "serve", "--data", self.sp.data, "--https-listen", "127.0.0.1:0",
             "--http-listen", "127.0.0.1:0", "--admin-listen", ""],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("portal at"):
                    break
            self.assertTrue(any(l.startswith("listening https") for l in lines), lines)
            self.assertFalse(any(l.startswith("listening admin") for l in lines), lines)
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=60), 0)
            proc.stdout.close()

    def test_admin_listen_public_allows_a_wildcard_address(self):
        with open(os.path.join(self.sp.data, "sealpost.toml")) as f:
            original = f.read()
        try:
            self.sp.set_config("server", "admin_listen", "0.0.0.0:0")
            self.sp.set_config("server", "admin_listen_public", True)
            proc = subprocess.Popen(
                [self.sp.bin, "serve", "--data", self.sp.data, "--https-listen", "127.0.0.1:0",
                 "--http-listen", "127.0.0.1:0"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                port = None
                for line in proc.stdout:
                    m = re.match(r"listening admin 0\.0\.0\.0:(\d+)$", line.strip())
                    if m:
                        port = int(m.group(1))
                    if line.startswith("portal at"):
                        break
                self.assertIsNotNone(port)
                self.assertEqual(admin_get(port, "/healthz")[0], 200)
            finally:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=60), 0)
                proc.stdout.close()
        finally:
            with open(os.path.join(self.sp.data, "sealpost.toml"), "w") as f:
                f.write(original)


if __name__ == "__main__":
    unittest.main()

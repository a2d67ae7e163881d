"""The queue backlog alert (A3), `mail cancel`, and the mail metrics, on the real binary.

No receiver is needed: sealpost's resolver points at a loopback port where nothing answers,
so every attempt ends deferred (DNS timeout, 4.4.3) and the messages wait. With
[mail] backlog_alert_recipients = 2, three waiting recipients raise the alert `mail_backlog`
(log, audit `alert.raise`, /readyz, sealpost_alert) while the node stays ready; cancelling
two of them (`mail cancel`, audited) brings the backlog under the limit and the alert
clears (audit `alert.clear`). The monitor checks every 10 s.
"""

import json
import os
import re
import socket
import tempfile
import time
import unittest

from admin import admin_get, parse_metrics
from harness import Sealpost, sanitizer_reports, set_config_value

ZONE = "sealpost.example"


def closed_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailBacklogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="sealpost-backlog-")
        cls.sp = sp = Sealpost(root=os.path.join(cls.tmp.name, "node"))
        sp.cli("dkim", "init", "--data", sp.data, "--domain", ZONE, "--selector", "s1")
        for key, value in [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                           ("dkim_selector", "s1"),
                           ("resolver", f"127.0.0.1:{closed_udp_port()}"),
                           ("trust_anchor_file", ""), ("dns_timeout_seconds", 1),
                           ("backlog_alert_recipients", 2)]:
            set_config_value(sp.data, "mail", key, value)
        sp.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.sp.stop()
        cls.sp.gpg.close()
        cls.tmp.cleanup()
        assert rc == 0, f"serve exited {rc}"

    def metrics(self):
        status, _, body = admin_get(self.sp.admin_port, "/metrics")
        self.assertEqual(status, 200)
        return parse_metrics(body.decode())

    def value(self, samples, name, **labels):
        return samples.get((name, frozenset(labels.items())))

    def readyz(self):
        return admin_get(self.sp.admin_port, "/readyz")

    def audit(self):
        out = self.sp.cli("audit", "export", "--data", self.sp.data).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def wait_for(self, what, predicate, timeout=40):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.5)
        self.fail(f"never: {what}\n{self.sp.log()[-3000:]}")

    def send(self, to):
        body = os.path.join(self.tmp.name, "body.txt")
        with open(body, "w") as f:
            f.write("Your appointment is confirmed.\n")
        return self.sp.cli("mail", "send", "--data", self.sp.data, "--to", to, "--subject",
                           "Appointment", "--body-file", body, "--security", "verify",
                           "--phi").stdout.strip()

    def deferred(self, mid):
        out = self.sp.cli("mail", "show", "--data", self.sp.data, mid).stdout
        return re.search(r"^recipient 0 \S+: deferred", out, re.M) is not None

    def test_backlog_alert_raised_then_cleared_by_cancel(self):
        self.assertEqual(self.readyz()[2], b"ready\n")  # mail configured and working: no alert
        ids = [self.send(f"patient{i}@unreachable.{ZONE}") for i in range(3)]
        self.wait_for("all three deferred", lambda: all(self.deferred(i) for i in ids))

        def raised():
            status, _, body = self.readyz()
            return status == 200 and b"alert: mail_backlog" in body
        self.wait_for("the backlog alert", raised)
        m = self.metrics()
        self.assertEqual(self.value(m, "sealpost_alert", kind="mail_backlog"), 1)
        self.assertEqual(self.value(m, "sealpost_ready"), 1)  # still serving
        self.assertEqual(self.value(m, "sealpost_mail_recipients", state="deferred"), 3)
        self.assertGreaterEqual(
            self.value(m, "sealpost_mail_attempts_total", result="deferred", verified="none"), 3)
        self.assertGreaterEqual(self.value(m, "sealpost_mail_oldest_waiting_seconds"), 0)
        raises = [e for e in self.audit() if e["action"] == "alert.raise"]
        self.assertEqual(len(raises), 1, raises)
        self.assertIn("mail_backlog waiting:3", raises[0]["object"])
        self.assertIn("event=alert kind=mail_backlog waiting=3", self.sp.log())

        # Cancel two: they become dropped, audited; the backlog (1) is under the limit.
        for mid in ids[:2]:
            proc = self.sp.cli("mail", "cancel", "--data", self.sp.data, mid, check=False)
            if proc.returncode == 1:  # being attempted at that moment: again
                time.sleep(1.5)
                proc = self.sp.cli("mail", "cancel", "--data", self.sp.data, mid)
            self.assertIn(f"cancelled 1 recipient(s) of {mid}", proc.stdout)
            shown = self.sp.cli("mail", "show", "--data", self.sp.data, mid).stdout
            self.assertRegex(shown, r"recipient 0 \S+: dropped")
            self.assertIn("cancelled by", shown)
        # A second cancel finds nothing waiting.
        again = self.sp.cli("mail", "cancel", "--data", self.sp.data, ids[0])
        self.assertIn("cancelled 0 recipient(s)", again.stdout)
        bad = self.sp.cli("mail", "cancel", "--data", self.sp.data, "f" * 32, check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("no message", bad.stderr)

        self.wait_for("the alert to clear", lambda: self.readyz()[2] == b"ready\n")
        m = self.metrics()
        self.assertEqual(self.value(m, "sealpost_alert", kind="mail_backlog"), 0)
        self.assertEqual(self.value(m, "sealpost_mail_recipients", state="dropped"), 2)
        trail = self.audit()
        self.assertEqual(len([e for e in trail if e["action"] == "mail.cancel"]), 2)
        clears = [e for e in trail if e["action"] == "alert.clear"]
        self.assertEqual(len(clears), 1, clears)
        self.assertIn("mail_backlog waiting:1", clears[0]["object"])
        self.assertIn("audit trail intact",
                      self.sp.cli("audit", "verify", "--data", self.sp.data).stdout)
        self.assertEqual(sanitizer_reports(self.sp), [])


if __name__ == "__main__":
    unittest.main()

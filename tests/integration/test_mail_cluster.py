"""Two `sealpost serve` nodes share one outbound queue on PostgreSQL (issue 8): every
message is delivered exactly once although both nodes claim from the same table at once
(leases, `FOR UPDATE SKIP LOCKED`), both take part, and when one node is killed with
SIGKILL mid-run the other takes over its leased recipients once their lease expires —
nothing accepted is lost, and only what the dead node had in flight may arrive twice.

The webhooks' queue is shared the same way: a webhook on `message.delivered` gets each
message's event, signed, although both nodes send from the same queue; only the one POST
the killed node had in flight may come twice.

Real peers: PostgreSQL (the tests' shared cluster, a database of this test's own), NSD with
the signed test zone, one aiosmtpd TLS receiver that answers the end of data slowly so
both nodes have sessions open together, an HTTPS webhook receiver that checks each
signature (tests/support/webhook_receiver.py). Connections are reused across messages: far fewer
connections than messages, each message still over verified TLS.
"""

import base64
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import test_mail_delivery as md
from test_webhooks import Receiver
from harness import PostgresDatabase, Sealpost, sanitizer_reports, set_config_value
from testca import TestCA

ZONE = md.ZONE
MESSAGES = 40


class MailClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        md.require(md.SYSTEM_PYTHON and os.path.exists(md.SYSTEM_PYTHON), "/usr/bin/python3")
        md.require(shutil.which("nsd") or os.path.exists("/usr/sbin/nsd"), "nsd")
        cls.root = tempfile.mkdtemp(prefix="sealpost-mailcluster-")
        os.chmod(cls.root, 0o755)
        cls.dns_dir = os.path.join(cls.root, "dns")
        cls.db = cls.a = cls.b = cls.sink = cls.hooks = None
        try:
            cls.set_up()
        except BaseException:
            cls.tear_down()
            raise

    @classmethod
    def set_up(cls):
        ca = TestCA(os.path.join(cls.root, "ca"))
        cert = ca.leaf("mxok", [f"mxok.{ZONE}"])
        cls.port = md.free_port_on(["127.0.0.31"])
        cls.sink = md.Sink(cls.root, "ok", "127.0.0.31", cls.port, "--cert", cert[2],
                           "--key", cert[1], "--sleep", "data_end=0.3")
        hooks_cert = ca.leaf("hooks", [f"hooks.{ZONE}"])
        cls.hooks = Receiver(cls.root, "cluster", "127.0.0.32", hooks_cert)
        cls.db = PostgresDatabase()
        cls.a = a = Sealpost(root=os.path.join(cls.root, "node-a"), database=cls.db)
        a.cli("dkim", "init", "--data", a.data, "--domain", ZONE, "--selector", "s1")
        extra = os.path.join(cls.root, "extra.zone")
        with open(extra, "w") as f:
            f.write("ok MX 10 mxok\nmxok A 127.0.0.31\nhooks A 127.0.0.32\n")
        with open(os.path.join(cls.root, "dns.log"), "w") as log:
            subprocess.run([md.DNS_SH, "start", cls.dns_dir, extra], check=True, stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with open(os.path.join(cls.dns_dir, "resolver")) as f:
            resolver = f.read().strip()
        for key, value in [("hostname", f"forms.{ZONE}"), ("default_sender", f"forms@{ZONE}"),
                           ("dkim_selector", "s1"), ("resolver", resolver),
                           ("trust_anchor_file", os.path.join(cls.dns_dir, "trust-anchor")),
                           ("remote_port", cls.port), ("ca_file", ca.ca),
                           ("lease_seconds", 30), ("max_connections", 2),
                           ("max_per_domain", 2)]:
            set_config_value(a.data, "mail", key, value)
        out = a.cli("webhook", "add", "--data", a.data, "--url",
                    f"https://hooks.{ZONE}:{cls.hooks.port}/hooks", "--events",
                    "message.delivered").stdout.split("\n")
        cls.hooks.secret(out[1])
        # Node B: a copy of A's configuration and secrets (queue key and DKIM key included).
        b_root = os.path.join(cls.root, "node-b")
        os.makedirs(b_root)
        shutil.copytree(a.data, os.path.join(b_root, "data"))
        cls.b = Sealpost.__new__(Sealpost)
        cls.b.__dict__.update(dict(a.__dict__, root=b_root, data=os.path.join(b_root, "data"),
                                   proc=None))

    @classmethod
    def tear_down(cls):
        for node in (cls.a, cls.b):
            if node is not None and node.proc is not None:
                node.stop()
        if cls.a is not None:
            cls.a.gpg.close()
        if cls.sink is not None:
            cls.sink.stop()
        if cls.hooks is not None:
            cls.hooks.stop()
        if os.path.exists(os.path.join(cls.dns_dir, "ready")):
            subprocess.run([md.DNS_SH, "stop", cls.dns_dir], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if cls.db is not None:
            cls.db.drop()
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.tear_down()

    def send(self, i):
        body = os.path.join(self.root, "body.txt")
        with open(body, "w") as f:
            f.write("Your appointment is confirmed.\n")
        return self.a.cli("mail", "send", "--data", self.a.data, "--to", f"p{i}@ok.{ZONE}",
                          "--subject", f"Appointment {i}", "--body-file", body,
                          "--security", "verify", "--phi").stdout.strip()

    def received(self):
        counts = {}
        for e in self.sink.events("message"):
            text = base64.b64decode(e["data_b64"]).decode(errors="replace")
            m = re.search(r"^Message-I[dD]: <([0-9a-f]{32})@", text, re.M)
            if m:
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts

    def state(self, mid):
        out = self.a.cli("mail", "show", "--data", self.a.data, mid).stdout
        m = re.search(r"^recipient 0 \S+: (\w+)", out, re.M)
        return m.group(1) if m else None

    def delivered_by(self, node):
        return len(re.findall(r"event=mail_attempt .*result=delivered", node.log()))

    def test_two_nodes_deliver_each_message_once_and_survive_a_kill(self):
        # Queued while no node runs, so both start with the whole queue before them.
        ids = [self.send(i) for i in range(MESSAGES)]
        self.a.start()
        self.b.start()
        deadline = time.time() + 60
        while time.time() < deadline and len(self.received()) < MESSAGES // 2:
            time.sleep(0.2)
        # Halfway: node A dies with sessions open; B finishes, A's leases expire first.
        self.a.kill9()
        at_kill = dict(self.received())
        deadline = time.time() + 180
        while time.time() < deadline and any(self.state(i) != "delivered" for i in ids):
            time.sleep(1)
        states = {i: self.state(i) for i in ids}
        self.assertTrue(all(s == "delivered" for s in states.values()),
                        f"{states}\n{self.b.log()[-3000:]}")
        counts = self.received()
        self.assertEqual(set(counts), set(ids))  # nothing lost
        duplicates = sum(c - 1 for c in counts.values())
        by_a, by_b = self.delivered_by(self.a), self.delivered_by(self.b)
        print(f"\n  delivered: node A {by_a} (before its kill), node B {by_b}; "
              f"{len(at_kill)} received at the kill; duplicates {duplicates}", end="")
        self.assertGreater(by_a, 0)
        self.assertGreater(by_b, 0)
        # Only what A had in flight (at most its max_connections = 2 sessions) came twice.
        self.assertLessEqual(duplicates, 2, counts)
        # Before the kill, while both ran, no message had arrived twice.
        self.assertTrue(all(c == 1 for c in at_kill.values()), at_kill)
        # Connections are reused between messages to the same MX (RSET, no new handshake):
        # far fewer connections than messages, and every message still went over verified
        # TLS 1.2+ (the sink records the TLS of the connection each message came on).
        connections = len(self.sink.events("connect"))
        print(f"; {connections} connections for {sum(counts.values())} messages", end="")
        self.assertLess(connections, MESSAGES // 2)
        self.assertTrue(all(e["tls"] for e in self.sink.events("message")))
        shown = self.b.cli("mail", "show", "--data", self.b.data, ids[-1]).stdout
        self.assertRegex(shown, r"TLSv1\.[23] \S+, certificate verified: ca")
        # The webhook: every message's delivered event, each signature valid; a duplicate
        # only for the POST the killed node had in flight (it sends one at a time).
        def hooked():
            out = {}
            for p in self.hooks.posts():
                self.assertTrue(p["verified"], p)
                m = re.search(r'"message":"([0-9a-f]{32})"', p["body"])
                if m:
                    out.setdefault(m.group(1), set()).add(p["id"])
                    out[m.group(1) + "#posts"] = out.get(m.group(1) + "#posts", 0) + 1
            return out
        deadline = time.time() + 150
        while time.time() < deadline and not all(i in hooked() for i in ids):
            time.sleep(1)
        events = hooked()
        self.assertEqual({k for k in events if "#" not in k}, set(ids), self.b.log()[-3000:])
        hook_duplicates = sum(v - 1 for k, v in events.items() if k.endswith("#posts"))
        print(f"; webhook duplicates {hook_duplicates}", end="")
        self.assertLessEqual(hook_duplicates, 1)
        self.assertIn("audit trail intact",
                      self.b.cli("audit", "verify", "--data", self.b.data).stdout)
        self.assertEqual(self.b.stop(), 0)
        self.assertEqual(sanitizer_reports(self.b), [])


if __name__ == "__main__":
    unittest.main()

"""The SMTP client session (src/mail/smtp) against a real receiver: aiosmtpd
(tests/support/smtp_sink.py, run by Debian's /usr/bin/python3) on 127.0.0.1, with
certificates from a CA this test makes with openssl. Each case starts a sink told how to
behave, sends with smtp_send_tool, and compares the session's report (outcome, codes,
TlsRecord) with what the sink recorded (commands, TLS version and cipher, envelope, bytes).

Needs SMTP_SEND_TOOL and SMTP_SINK (set by ctest). A missing tool is a failure, never a skip.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from testca import TestCA, spki_sha256

TOOL = os.environ.get("SMTP_SEND_TOOL", "")
SINK = os.environ.get("SMTP_SINK", "")
SYSTEM_PYTHON = "/usr/bin/python3"

# A message with the cases transparency must handle: a bare LF, lines starting with dots, no
# final line end. What the receiver must store, after its own un-stuffing, is EXPECTED.
MESSAGE = (b"From: sender@sealpost.test\r\nTo: rcpt@example.test\r\nSubject: interop\r\n\r\n"
           b"line one\n.leading dot\r\n..two dots\r\n.\r\nlast line")
EXPECTED = (b"From: sender@sealpost.test\r\nTo: rcpt@example.test\r\nSubject: interop\r\n\r\n"
            b"line one\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n")


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, **kwargs)


class Sink:
    def __init__(self, test, *args):
        self.record = os.path.join(test.tmp, f"record-{time.monotonic_ns()}.jsonl")
        self.proc = subprocess.Popen([SYSTEM_PYTHON, SINK, "--record", self.record] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError("smtp_sink did not start: " + repr(line))
        self.port = int(line.split()[1])
        test.addCleanup(self.stop)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def events(self, kind=None):
        # The sink writes each event as it happens; give the last one a moment to land.
        time.sleep(0.2)
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            events = [json.loads(line) for line in f if line.strip()]
        return [e for e in events if kind is None or e["event"] == kind]

    def verbs(self):
        return [e["verb"] for e in self.events("command")]


class SmtpClientInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for what, path in (("SMTP_SEND_TOOL", TOOL), ("SMTP_SINK", SINK)):
            if not path or not os.path.exists(path):
                raise RuntimeError(f"{what} not set or missing: {path!r}")
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd"], capture_output=True)
        if probe.returncode != 0:
            raise RuntimeError("python3-aiosmtpd is not installed for /usr/bin/python3")
        cls.cadir = tempfile.mkdtemp(prefix="smtp-ca-")
        ca = cls.ca = TestCA(cls.cadir)
        cls.valid = ca.leaf("valid", ["mx.sealpost.test"])
        cls.wrong = ca.leaf("wrong", ["other.example.net"])
        cls.expired = ca.leaf("expired", ["mx.sealpost.test"], "20200101000000Z",
                              "20200201000000Z")
        cls.selfsigned = ca.leaf("self", ["mx.sealpost.test"], self_signed=True)
        cls.one_label = ca.leaf("onelabel", ["mx1.sealpost.test"])
        cls.two_labels = ca.leaf("twolabels", ["a.mx1.sealpost.test"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.cadir, ignore_errors=True)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smtp-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.message = os.path.join(self.tmp, "message.eml")
        with open(self.message, "wb") as f:
            f.write(MESSAGE)

    # ---- helpers ----------------------------------------------------------------------

    def tls_sink(self, cert, *args):
        _, key, chain = cert
        return Sink(self, "--cert", chain, "--key", key, *args)

    def send(self, port, level, *extra, to=("rcpt@example.test",), message=None,
             timeout_ms=5000):
        cmd = [TOOL, "--ip", "127.0.0.1", "--port", str(port), "--mx", "mx.sealpost.test",
               "--ehlo", "client.sealpost.test", "--level", level, "--from",
               "sender@sealpost.test", "--message", message or self.message, "--timeout-ms",
               str(timeout_ms)]
        for r in to:
            cmd += ["--to", r]
        cmd += list(extra)
        out = subprocess.run(cmd, capture_output=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr.decode(errors="replace"))
        # The log must never carry the message: its marker lines are nowhere in stderr.
        self.assertNotIn(b"leading dot", out.stderr)
        result = json.loads(out.stdout)
        reports = result["transactions"]
        self.usable_after_wait = result["usable_after_wait"]
        self.last_log = out.stderr.decode(errors="replace")
        return reports

    def only(self, reports):
        self.assertEqual(len(reports), 1)
        return reports[0]

    def assert_delivered_over_tls(self, sink, report, verified):
        tls = report["tls"]
        self.assertTrue(tls["tls"], tls)
        self.assertEqual(tls["verified"], verified, tls)
        for r in report["recipients"]:
            self.assertEqual(r["outcome"], "delivered", r)
            self.assertEqual(r["code"], 250)
        msgs = sink.events("message")
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0]["tls"])
        # The real handshake: what the receiver negotiated is what the client reports.
        self.assertEqual(msgs[0]["version"], tls["version"])
        self.assertEqual(msgs[0]["cipher"], tls["cipher"])
        self.assertIn(tls["version"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(base64.b64decode(msgs[0]["data_b64"]), EXPECTED)
        # Nothing of the transaction went in clear.
        for c in sink.events("command"):
            if c["verb"] in ("MAIL", "RCPT", "DATA"):
                self.assertTrue(c["tls"], c)

    def assert_not_sent(self, sink, report, enhanced, stage):
        for r in report["recipients"]:
            self.assertEqual(r["outcome"], "temporary", r)
            self.assertEqual(r["enhanced"], enhanced, r)
            self.assertEqual(r["stage"], stage, r)
        self.assertEqual(sink.events("message"), [])
        for verb in ("MAIL", "RCPT", "DATA", "HELO"):
            self.assertNotIn(verb, sink.verbs())

    # ---- verify (CA + name) -----------------------------------------------------------

    def test_verify_valid_certificate_delivers_over_tls(self):
        sink = self.tls_sink(self.valid, "--pipelining", "--enhanced")
        report = self.only(self.send(sink.port, "verify", "--ca-file", self.ca.ca,
                                     to=("a@example.test", "b@example.test")))
        self.assert_delivered_over_tls(sink, report, "ca")
        self.assertEqual(report["tls"]["matched_name"], "mx.sealpost.test")
        self.assertIn("CN=mx.sealpost.test", report["tls"]["peer_subject"])
        self.assertEqual(report["recipients"][0]["enhanced"], "2.0.0")
        msg = sink.events("message")[0]
        self.assertEqual(msg["rcpt_tos"], ["a@example.test", "b@example.test"])
        self.assertEqual(msg["mail_from"], "sender@sealpost.test")
        self.assertIn(f"SIZE={len(EXPECTED)}", msg["mail_options"])
        # SNI is the MX host name.
        self.assertEqual([e["name"] for e in sink.events("sni")], ["mx.sealpost.test"])
        # EHLO again after STARTTLS (RFC 3207 §4.2), then the transaction.
        self.assertEqual(sink.verbs()[:3], ["EHLO", "STARTTLS", "EHLO"])
        self.assertIn("event=smtp_tls", self.last_log)
        self.assertIn("verified=ca", self.last_log)

    def test_verify_refuses_bad_certificates_and_sends_nothing(self):
        for name, cert in (("wrong name", self.wrong), ("expired", self.expired),
                           ("self-signed", self.selfsigned)):
            with self.subTest(name):
                sink = self.tls_sink(cert)
                report = self.only(self.send(sink.port, "verify", "--ca-file", self.ca.ca))
                self.assert_not_sent(sink, report, "4.7.5", "tls_handshake")
                self.assertTrue(report["tls"]["tls"])
                self.assertEqual(report["tls"]["verified"], "none")
                self.assertNotEqual(report["tls"]["failure"], "")
                self.assertFalse(report["tls"]["handshake_failed"])
                sink.stop()

    def test_verify_mta_sts_pattern_is_one_label(self):
        sink = self.tls_sink(self.one_label)
        report = self.only(self.send(sink.port, "verify", "--ca-file", self.ca.ca, "--name",
                                     "*.sealpost.test"))
        self.assert_delivered_over_tls(sink, report, "ca")
        self.assertEqual(report["tls"]["matched_name"], "mx1.sealpost.test")
        sink.stop()
        sink = self.tls_sink(self.two_labels)
        report = self.only(self.send(sink.port, "verify", "--ca-file", self.ca.ca, "--name",
                                     "*.sealpost.test"))
        self.assert_not_sent(sink, report, "4.7.5", "tls_handshake")

    # ---- may / encrypt ----------------------------------------------------------------

    def test_may_without_starttls_sends_in_clear_and_says_so(self):
        sink = Sink(self)
        report = self.only(self.send(sink.port, "may"))
        self.assertFalse(report["tls"]["tls"])
        self.assertEqual(report["tls"]["failure"], "STARTTLS not offered")
        self.assertEqual(report["recipients"][0]["outcome"], "delivered")
        msgs = sink.events("message")
        self.assertEqual(len(msgs), 1)
        self.assertFalse(msgs[0]["tls"])
        self.assertEqual(base64.b64decode(msgs[0]["data_b64"]), EXPECTED)

    def test_may_uses_tls_when_offered_without_checking_the_certificate(self):
        sink = self.tls_sink(self.selfsigned)
        report = self.only(self.send(sink.port, "may"))
        self.assert_delivered_over_tls(sink, report, "none")

    def test_encrypt_without_starttls_sends_nothing(self):
        sink = Sink(self)
        report = self.only(self.send(sink.port, "encrypt"))
        self.assert_not_sent(sink, report, "4.7.4", "starttls")
        self.assertFalse(report["tls"]["tls"])
        self.assertIn("QUIT", sink.verbs())

    def test_encrypt_accepts_any_certificate(self):
        sink = self.tls_sink(self.expired)
        report = self.only(self.send(sink.port, "encrypt"))
        self.assert_delivered_over_tls(sink, report, "none")

    def test_tls10_only_receiver_is_refused(self):
        sink = self.tls_sink(self.valid, "--tls-max", "1.0")
        # The receiver really speaks TLS 1.0 (so the refusal below is ours, not its failure).
        probe = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{sink.port}", "-starttls", "smtp",
             "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"],
            input=b"QUIT\r\n", capture_output=True, timeout=30)
        self.assertIn(b"Protocol  : TLSv1\n", probe.stdout, probe.stdout[-800:])
        report = self.only(self.send(sink.port, "may"))
        self.assertTrue(report["tls"]["handshake_failed"])
        self.assertFalse(report["tls"]["tls"])
        r = report["recipients"][0]
        self.assertEqual((r["outcome"], r["enhanced"], r["stage"]),
                         ("temporary", "4.7.5", "tls_handshake"))
        self.assertEqual(sink.events("message"), [])

    def test_injected_bytes_after_starttls_end_the_session(self):
        sink = self.tls_sink(self.valid, "--inject-after-starttls")
        report = self.only(self.send(sink.port, "may"))
        self.assert_not_sent(sink, report, "4.5.0", "starttls")
        self.assertIn("after the 220", report["tls"]["failure"])

    def test_helo_fallback_only_when_tls_is_not_required(self):
        sink = self.tls_sink(self.valid, "--ehlo-refused")
        report = self.only(self.send(sink.port, "may"))
        self.assertEqual(report["recipients"][0]["outcome"], "delivered")
        self.assertFalse(report["tls"]["tls"])
        self.assertIn("HELO", sink.verbs())
        sink.stop()
        sink = self.tls_sink(self.valid, "--ehlo-refused")
        report = self.only(self.send(sink.port, "encrypt"))
        r = report["recipients"][0]
        self.assertEqual((r["outcome"], r["code"], r["stage"]), ("temporary", 502, "ehlo"))
        self.assertEqual(r["enhanced"], "4.0.0")
        self.assertNotIn("HELO", sink.verbs())
        self.assertNotIn("MAIL", sink.verbs())

    # ---- DANE -------------------------------------------------------------------------

    def test_dane_ee_ignores_name_and_expiry(self):
        for name, cert in (("wrong name", self.wrong), ("expired", self.expired),
                           ("self-signed", self.selfsigned)):
            with self.subTest(name):
                sink = self.tls_sink(cert)
                tlsa = "3 1 1 " + spki_sha256(cert[0])
                report = self.only(self.send(sink.port, "dane", "--tlsa", tlsa))
                self.assert_delivered_over_tls(sink, report, "dane_ee")
                sink.stop()

    def test_dane_ee_not_matching_sends_nothing(self):
        sink = self.tls_sink(self.valid)
        tlsa = "3 1 1 " + spki_sha256(self.wrong[0])  # another key
        report = self.only(self.send(sink.port, "dane", "--tlsa", tlsa))
        self.assert_not_sent(sink, report, "4.7.5", "tls_handshake")
        self.assertIn("no TLSA record matches", report["tls"]["failure"])

    def test_dane_ta_checks_the_name(self):
        tlsa = "2 1 1 " + spki_sha256(self.ca.ca)
        sink = self.tls_sink(self.valid)
        report = self.only(self.send(sink.port, "dane", "--tlsa", tlsa))
        self.assert_delivered_over_tls(sink, report, "dane_ta")
        self.assertEqual(report["tls"]["matched_name"], "mx.sealpost.test")
        sink.stop()
        sink = self.tls_sink(self.wrong)
        report = self.only(self.send(sink.port, "dane", "--tlsa", tlsa))
        self.assert_not_sent(sink, report, "4.7.5", "tls_handshake")

    def test_dane_with_only_unusable_records_acts_as_encrypt(self):
        # PKIX-EE(1) is not used for SMTP (RFC 7672 §3.1.3): TLS is still mandatory.
        tlsa = "1 1 1 " + spki_sha256(self.valid[0])
        sink = self.tls_sink(self.selfsigned)
        report = self.only(self.send(sink.port, "dane", "--tlsa", tlsa))
        self.assert_delivered_over_tls(sink, report, "none")
        sink.stop()
        sink = Sink(self)
        report = self.only(self.send(sink.port, "dane", "--tlsa", tlsa))
        self.assert_not_sent(sink, report, "4.7.4", "starttls")

    # ---- replies, faults, timeouts ----------------------------------------------------

    def test_rcpt_replies_per_recipient(self):
        for pipelining in (True, False):
            with self.subTest(pipelining=pipelining):
                args = ["--enhanced", "--rcpt-reply", "bad@example.test=550 5.1.1 no such user",
                        "--rcpt-reply", "later@example.test=451 4.2.1 try later"]
                if pipelining:
                    args.append("--pipelining")
                sink = self.tls_sink(self.valid, *args)
                report = self.only(self.send(
                    sink.port, "verify", "--ca-file", self.ca.ca,
                    to=("ok@example.test", "bad@example.test", "later@example.test")))
                ok, bad, later = report["recipients"]
                self.assertEqual((ok["outcome"], ok["code"]), ("delivered", 250))
                self.assertEqual((bad["outcome"], bad["code"], bad["enhanced"], bad["stage"]),
                                 ("permanent", 550, "5.1.1", "rcpt"))
                self.assertEqual(bad["text"], "no such user")
                self.assertEqual((later["outcome"], later["code"], later["enhanced"]),
                                 ("temporary", 451, "4.2.1"))
                msgs = sink.events("message")
                self.assertEqual(len(msgs), 1)
                self.assertEqual(msgs[0]["rcpt_tos"], ["ok@example.test"])
                sink.stop()

    def test_all_recipients_refused_means_no_data(self):
        sink = Sink(self, "--rcpt-reply", "bad@example.test=550 no")
        report = self.only(self.send(sink.port, "may", to=("bad@example.test",)))
        self.assertEqual(report["recipients"][0]["outcome"], "permanent")
        self.assertNotIn("DATA", sink.verbs())

    def test_data_replies(self):
        for reply, outcome, enhanced in (("554 5.7.1 rejected by policy", "permanent", "5.7.1"),
                                         ("451 4.3.0 disk full", "temporary", "4.3.0")):
            with self.subTest(reply):
                sink = Sink(self, "--enhanced", "--pipelining", "--data-reply",
                            "b@example.test=" + reply)
                report = self.only(self.send(sink.port, "may",
                                             to=("a@example.test", "b@example.test")))
                for r in report["recipients"]:
                    self.assertEqual((r["outcome"], r["enhanced"], r["stage"]),
                                     (outcome, enhanced, "data_end"))
                sink.stop()

    def test_connection_dropped_in_data(self):
        sink = Sink(self, "--drop-in-data")
        report = self.only(self.send(sink.port, "may"))
        r = report["recipients"][0]
        self.assertEqual((r["outcome"], r["enhanced"]), ("temporary", "4.4.2"))
        self.assertIn(r["stage"], ("data", "data_end"))
        self.assertEqual(len(sink.events("dropped")), 1)
        self.assertFalse(report["usable"])

    def test_slow_receiver_times_out(self):
        for stage, expected_stage in (("greeting", "greeting"), ("data_end", "data_end"),
                                      ("rcpt", "rcpt")):
            with self.subTest(stage):
                sink = Sink(self, "--sleep", stage + "=3")
                started = time.monotonic()
                report = self.only(self.send(sink.port, "may", timeout_ms=800))
                self.assertLess(time.monotonic() - started, 3)
                r = report["recipients"][0]
                self.assertEqual((r["outcome"], r["enhanced"], r["stage"]),
                                 ("temporary", "4.4.2", expected_stage))
                self.assertIn("timed out", r["text"])
                sink.stop()

    def test_connection_refused(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        report = self.only(self.send(port, "may"))
        r = report["recipients"][0]
        self.assertEqual((r["outcome"], r["enhanced"], r["stage"]),
                         ("temporary", "4.4.1", "connect"))

    def test_size_limit_is_respected_before_mail(self):
        sink = Sink(self, "--size", "100")
        report = self.only(self.send(sink.port, "may"))
        r = report["recipients"][0]
        self.assertEqual((r["outcome"], r["enhanced"]), ("permanent", "5.3.4"))
        self.assertNotIn("MAIL", sink.verbs())

    def test_eight_bit_and_smtputf8_parameters(self):
        eight = os.path.join(self.tmp, "8bit.eml")
        with open(eight, "wb") as f:
            f.write(b"Subject: caf\xc3\xa9\r\n\r\nbody \xc3\xa9\r\n")
        sink = Sink(self)
        report = self.only(self.send(sink.port, "may", to=("j\u00f6rg@example.test",),
                                     message=eight))
        self.assertEqual(report["recipients"][0]["outcome"], "delivered")
        msg = sink.events("message")[0]
        self.assertIn("BODY=8BITMIME", msg["mail_options"])
        self.assertIn("SMTPUTF8", msg["mail_options"])
        self.assertEqual(msg["rcpt_tos"], ["j\u00f6rg@example.test"])

    def test_several_transactions_on_one_connection(self):
        sink = self.tls_sink(self.valid, "--pipelining")
        reports = self.send(sink.port, "verify", "--ca-file", self.ca.ca, "--transactions", "3",
                            "--idle-ms", "5000")
        self.assertEqual([r["reused"] for r in reports], [False, True, True])
        for r in reports:
            self.assertEqual(r["recipients"][0]["outcome"], "delivered")
            self.assertEqual(r["tls"]["verified"], "ca")
        msgs = sink.events("message")
        self.assertEqual(len(msgs), 3)
        self.assertEqual({m["conn"] for m in msgs}, {1})
        self.assertTrue(all(m["tls"] for m in msgs))
        verbs = sink.verbs()
        self.assertEqual(verbs.count("RSET"), 2)
        self.assertEqual(verbs.count("STARTTLS"), 1)
        self.assertEqual(verbs[-1], "QUIT")
        self.assertEqual(len(sink.events("connect")), 1)

    def test_idle_connection_is_closed_after_the_idle_limit(self):
        sink = Sink(self)
        reports = self.send(sink.port, "may", "--idle-ms", "300", "--wait-ms", "2000")
        self.assertTrue(self.only(reports)["usable"])
        self.assertFalse(self.usable_after_wait)  # it QUIT on its own within the wait
        message = sink.events("message")[0]
        quits = [e for e in sink.events("command") if e["verb"] == "QUIT"]
        self.assertEqual(len(quits), 1)
        self.assertLess(quits[0]["time"] - message["time"], 1.5)


if __name__ == "__main__":
    unittest.main()

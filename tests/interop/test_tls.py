"""TLS policy (F1) as a real client sees it: the openssl command-line client against the
real server. Old protocols, CBC suites, RSA key exchange and renegotiation are refused by
the *server* (each refusal is checked to be an alert from the peer, not the local openssl
declining to try); the modern suites work; the self-signed certificate is ECDSA P-256 with
SAN localhost and verifies as its own trust anchor."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import Sealpost, free_port

OPENSSL = "openssl"
TIMEOUT = 20

# What the local openssl says when *it* declines to send a ClientHello (for example the
# protocol or the cipher is disabled at its security level). Seeing any of these would
# mean the test proved nothing about the server.
LOCAL_REFUSALS = ("no protocols available", "no ciphers available", "no cipher match",
                  "unsupported protocol", "Error with command", "Call to SSL_CONF_cmd")


def s_client(port, *args, stdin_text="", servername=None):
    cmd = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}"]
    if servername:
        cmd += ["-servername", servername]
    cmd += list(args)
    proc = subprocess.run(cmd, input=stdin_text, capture_output=True, text=True,
                          timeout=TIMEOUT)
    return proc.returncode, proc.stdout, proc.stderr


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost().start()
        cls.port = cls.sp.https_port
        cls.cert = os.path.join(cls.sp.data, "tls", "cert.pem")
        cls.control = cls.start_control_server()

    @classmethod
    def start_control_server(cls):
        """An openssl s_server that accepts everything this client can speak (RSA and
        ECDSA certificates, every cipher, old protocols): each handshake the tests expect
        sealpost to refuse must succeed against it, so the client side is proven able."""
        cls.control_dir = tempfile.mkdtemp(prefix="tls-control-")
        d = cls.control_dir
        for kind, newkey in (("rsa", ["-newkey", "rsa:2048"]),
                             ("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])):
            subprocess.run([OPENSSL, "req", "-x509", *newkey, "-nodes", "-keyout",
                            os.path.join(d, f"{kind}-key.pem"), "-out",
                            os.path.join(d, f"{kind}-cert.pem"), "-subj", "/CN=localhost",
                            "-days", "1"], capture_output=True, check=True)
        port = free_port()
        proc = subprocess.Popen(
            [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}",
             "-cert", os.path.join(d, "rsa-cert.pem"), "-key", os.path.join(d, "rsa-key.pem"),
             "-dcert", os.path.join(d, "ec-cert.pem"), "-dkey", os.path.join(d, "ec-key.pem"),
             "-cipher", "ALL:eNULL:@SECLEVEL=0", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        return proc, port

    @classmethod
    def tearDownClass(cls):
        proc, _ = cls.control
        proc.kill()
        proc.wait()
        proc.stdin.close()
        shutil.rmtree(cls.control_dir, ignore_errors=True)
        rc = cls.sp.stop()
        cls.sp.close()
        assert rc == 0, f"serve exited {rc} on SIGTERM"

    # -- helpers ----------------------------------------------------------------------

    def assert_server_refused(self, args, alert):
        """The handshake fails, the client did send a ClientHello, and the failure is the
        given alert received from the server. Control: the same client command completes
        a handshake with a permissive openssl s_server."""
        rc, out, err = s_client(self.control[1], *args)
        self.assertEqual(rc, 0, f"control: {args} does not work even against a permissive "
                         f"server:\n{out}{err}")
        self.assertRegex(out, r"Cipher is (?!\(NONE\))", out)
        rc, out, err = s_client(self.port, *args, "-msg")
        text = out + err
        for local in LOCAL_REFUSALS:
            self.assertNotIn(local, text, f"local openssl refused {args}, not the server:\n{text}")
        self.assertNotEqual(rc, 0, f"{args} connected:\n{text}")
        self.assertIn(">>> ", out, f"{args}: no ClientHello was sent:\n{text}")
        self.assertRegex(out, r">>> .*ClientHello", f"{args}: no ClientHello:\n{text}")
        self.assertNotRegex(out, r"<<< .*ServerHello\b", f"{args}: server answered hello")
        # s_client reports an alert from the peer as "... alert <name>" with "SSL alert
        # number N"; -msg shows it as "<<< ... Alert ...".
        self.assertRegex(err, rf"alert {alert}", f"{args}: not a '{alert}' alert:\n{text}")
        self.assertRegex(out, r"<<< .*Alert", f"{args}: no alert from the server:\n{text}")
        self.assertNotIn("Cipher is", out.replace("Cipher is (NONE)", ""), text)
        return text

    def assert_connects(self, args):
        rc, out, err = s_client(self.port, *args)
        self.assertEqual(rc, 0, f"{args} failed:\n{out}\n{err}")
        return out, err

    # -- protocols ----------------------------------------------------------------------

    def test_tls1_refused_by_server(self):
        self.assert_server_refused(["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"],
                                   "protocol version")

    def test_tls1_1_refused_by_server(self):
        self.assert_server_refused(["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
                                   "protocol version")

    def test_tls1_3_works(self):
        out, err = self.assert_connects(["-tls1_3", "-brief"])
        text = out + err
        self.assertRegex(text, r"Protocol version: TLSv1\.3", text)
        m = re.search(r"Ciphersuite: (\S+)", text)
        self.assertIsNotNone(m, text)
        self.assertRegex(m.group(1), r"^TLS_AES_(128_GCM_SHA256|256_GCM_SHA384)$|"
                                     r"^TLS_CHACHA20_POLY1305_SHA256$")
        print(f"\n  TLS 1.3 negotiated {m.group(1)}", end=" ")

    # -- TLS 1.2 cipher suites --------------------------------------------------------

    def test_tls12_rsa_kx_cbc_refused(self):
        self.assert_server_refused(["-tls1_2", "-cipher", "AES128-SHA"], "handshake failure")

    def test_tls12_ecdhe_cbc_refused(self):
        # (The certificate is ECDSA, so ECDHE-RSA-* cannot be chosen whatever the cipher
        # policy; ECDHE-ECDSA-AES128-SHA is the one that shows CBC itself is refused.)
        self.assert_server_refused(["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"],
                                   "handshake failure")
        self.assert_server_refused(["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"],
                                   "handshake failure")

    def test_tls12_no_forward_secrecy_refused(self):
        self.assert_server_refused(["-tls1_2", "-cipher", "AES128-GCM-SHA256"],
                                   "handshake failure")

    def test_tls12_weak_and_legacy_suites_refused(self):
        # (3DES, RC4, EXPORT are not even in this openssl's default provider: testssl
        # covers them with its own sockets.)
        for suite in ("ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-CAMELLIA128-SHA256",
                      "ECDHE-ECDSA-NULL-SHA", "AECDH-AES128-SHA", "ECDHE-ECDSA-AES128-CCM8"):
            with self.subTest(suite=suite):
                self.assert_server_refused(
                    ["-tls1_2", "-cipher", f"{suite}:@SECLEVEL=0"], "handshake failure")

    def test_tls12_ecdhe_ecdsa_gcm_works(self):
        out, err = self.assert_connects(["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"])
        self.assertRegex(out, r"New, TLSv1\.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256", out)
        self.assertRegex(out, r"Protocol\s*: TLSv1\.2", out)

    def test_tls12_server_picks_aead_from_broad_offer(self):
        # Offer everything (CBC first): the server must still choose ECDHE + AEAD.
        out, _ = self.assert_connects(
            ["-tls1_2", "-cipher", "AES128-SHA:ECDHE-ECDSA-AES128-SHA:ALL:@SECLEVEL=0"])
        m = re.search(r"Cipher is (\S+)", out)
        self.assertIsNotNone(m, out)
        self.assertRegex(m.group(1), r"^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|"
                                     r"CHACHA20-POLY1305)$")

    # -- compression, renegotiation -------------------------------------------------

    def test_compression_off(self):
        for proto in ("-tls1_2", "-tls1_3"):
            with self.subTest(proto=proto):
                out, _ = self.assert_connects([proto])
                self.assertIn("Compression: NONE", out)
                self.assertNotRegex(out, r"Compression: (?!NONE)")

    def _renegotiate(self, port, extra=()):
        """Connects with TLS 1.2, asks for a renegotiation ('R'), waits, returns output
        and the number of ServerHello messages seen."""
        cmd = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2", "-msg",
               *extra]
        with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out_f, stderr=err_f,
                                    text=True)
            try:
                time.sleep(1.5)  # the first handshake
                proc.stdin.write("R\n")
                proc.stdin.flush()
                time.sleep(2.0)  # time for a second handshake, or the server's refusal
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
                proc.wait(timeout=TIMEOUT)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            out_f.seek(0)
            err_f.seek(0)
            out, err = out_f.read(), err_f.read()
        server_hellos = len(re.findall(r"<<< TLS 1\.2, Handshake \[[^\]]*\], ServerHello\b",
                                       out))
        return out, err, server_hellos

    def test_client_renegotiation_refused(self):
        out, err, hellos = self._renegotiate(self.port)
        text = out + err
        self.assertIn("RENEGOTIATING", text, "the client did not try to renegotiate:\n" + text)
        self.assertEqual(hellos, 1, "the server renegotiated:\n" + text)
        # The server answers the new ClientHello with an alert (no_renegotiation) or by
        # closing; either way, no second handshake completes.
        refused = ("no renegotiation" in text or re.search(r"<<< .*Alert", out)
                   or "closed" in text or "errno" in text)
        self.assertTrue(refused, text)

    def test_renegotiation_probe_detects_a_server_that_allows_it(self):
        """Control for the test above: the same probe against an openssl s_server that
        does renegotiate sees two ServerHellos, so a count of 1 means something."""
        port = free_port()
        key = os.path.join(self.sp.data, "tls", "key.pem")
        server = subprocess.Popen(
            [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", self.cert,
             "-key", key, "-client_renegotiation", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            out, err, hellos = self._renegotiate(port)
        finally:
            server.kill()
            server.wait()
            server.stdin.close()
        self.assertEqual(hellos, 2, "probe could not see a renegotiation:\n" + out + err)

    # -- certificate ----------------------------------------------------------------

    def served_certificate(self):
        rc, out, err = s_client(self.port, "-showcerts", servername="localhost")
        self.assertEqual(rc, 0, err)
        pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out,
                          re.S)
        self.assertEqual(len(pems), 1, out)
        return pems[0] + "\n"

    def test_certificate_is_ecdsa_p256_with_san_localhost(self):
        pem = self.served_certificate()
        with open(self.cert) as f:
            on_disk = f.read()
        self.assertIn(pem.strip(), on_disk, "served certificate is not DATA/tls/cert.pem")
        text = subprocess.run([OPENSSL, "x509", "-noout", "-text"], input=pem,
                              capture_output=True, text=True, check=True).stdout
        self.assertIn("Public Key Algorithm: id-ecPublicKey", text)
        self.assertRegex(text, r"NIST CURVE: P-256|ASN1 OID: prime256v1")
        self.assertRegex(text, r"Signature Algorithm: ecdsa-with-SHA(256|384|512)")
        m = re.search(r"X509v3 Subject Alternative Name:.*?\n\s*(.*)\n", text)
        self.assertIsNotNone(m, text)
        self.assertIn("DNS:localhost", [s.strip() for s in m.group(1).split(",")])

    def test_chain_verifies_against_its_own_certificate(self):
        rc, out, err = s_client(self.port, "-verify_return_error", "-CAfile", self.cert,
                                "-verify_hostname", "localhost", servername="localhost")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("Verify return code: 0 (ok)", out)
        self.assertRegex(out + err, r"Verification: OK")

    def test_chain_does_not_verify_against_another_anchor(self):
        # Control: a different self-signed CA must not verify, and a wrong name neither.
        with tempfile.TemporaryDirectory() as tmp:
            other = os.path.join(tmp, "other.pem")
            subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                            os.path.join(tmp, "k.pem"), "-out", other, "-subj",
                            "/CN=localhost", "-days", "1"], capture_output=True, check=True)
            rc, out, err = s_client(self.port, "-verify_return_error", "-CAfile", other,
                                    servername="localhost")
            self.assertNotEqual(rc, 0, out)
            self.assertNotIn("Verify return code: 0 (ok)", out)
        rc, out, err = s_client(self.port, "-verify_return_error", "-CAfile", self.cert,
                                "-verify_hostname", "not-localhost.example",
                                servername="localhost")
        self.assertNotEqual(rc, 0, out)
        self.assertIn("hostname mismatch", out + err)


if __name__ == "__main__":
    unittest.main()

"""testssl.sh, an independent scanner with its own sockets, against the real server:
no protocol below TLS 1.2, no cipher category weaker than "strong" (AEAD), forward
secrecy, and no vulnerability finding of severity HIGH or CRITICAL. One scan (about a
minute) feeds every test; the relevant findings are printed."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Sealpost

SCAN_TIMEOUT = 170  # seconds; a scan takes about 55 s on 2 cores


def testssl_binary():
    for name in ("testssl", "testssl.sh"):
        path = shutil.which(name)
        if path:
            return path
    return None


class TestsslTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = testssl_binary()
        if binary is None:
            raise unittest.SkipTest("testssl.sh is not installed")
        cls.sp = Sealpost().start()
        cls.tmp = tempfile.mkdtemp(prefix="testssl-")
        json_path = os.path.join(cls.tmp, "scan.json")
        cmd = [binary, "--quiet", "--color", "0", "--warnings", "off",
               "--protocols", "--std", "--fs", "--vulnerable",
               "--openssl", "/usr/bin/openssl", "--connect-timeout", "5",
               "--openssl-timeout", "5", "--jsonfile", json_path,
               f"127.0.0.1:{cls.sp.https_port}"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=SCAN_TIMEOUT,
                                  cwd=cls.tmp)
        except subprocess.TimeoutExpired:
            cls.tearDownClass()
            raise
        cls.output = proc.stdout + proc.stderr
        cls.returncode = proc.returncode
        with open(json_path) as f:
            cls.findings = json.load(f)
        cls.by_id = {f["id"]: f for f in cls.findings}
        print("\n" + "\n".join(f"  {f['id']:<22} {f['severity']:<8} {f['finding'][:100]}"
                               for f in cls.findings), end=" ")

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "sp", None) is not None:
            rc = cls.sp.stop()
            cls.sp.close()
            cls.sp = None
            shutil.rmtree(cls.tmp, ignore_errors=True)
            assert rc == 0, f"serve exited {rc} on SIGTERM"

    def finding(self, fid):
        self.assertIn(fid, self.by_id, f"testssl reported no '{fid}':\n{self.output[-3000:]}")
        return self.by_id[fid]

    def test_scan_ran(self):
        self.assertEqual(self.returncode, 0, self.output[-3000:])
        self.assertEqual(self.finding("service")["finding"], "HTTP")
        for f in self.findings:
            self.assertNotIn(f["severity"], ("FATAL",), f)
            self.assertNotIn(f["id"], ("scanProblem",), f)

    def test_old_protocols_not_offered(self):
        for fid in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            with self.subTest(protocol=fid):
                self.assertEqual(self.finding(fid)["finding"], "not offered")

    def test_modern_protocols_offered(self):
        self.assertEqual(self.finding("TLS1_2")["finding"], "offered")
        self.assertRegex(self.finding("TLS1_3")["finding"], r"^offered")

    def test_no_cipher_category_below_strong(self):
        for fid in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
                    "cipherlist_LOW", "cipherlist_3DES_IDEA"):
            with self.subTest(category=fid):
                self.assertEqual(self.finding(fid)["finding"], "not offered")
        # "Obsoleted CBC ciphers": cipherlist_AVERAGE in testssl 3.0, _OBSOLETED later.
        cbc = [fid for fid in ("cipherlist_AVERAGE", "cipherlist_OBSOLETED") if fid in self.by_id]
        self.assertTrue(cbc, "no CBC category in the scan")
        for fid in cbc:
            self.assertEqual(self.by_id[fid]["finding"], "not offered", fid)
        strong = [fid for fid in ("cipherlist_STRONG", "cipherlist_STRONG_FS") if fid in self.by_id]
        self.assertTrue(strong)
        self.assertTrue(any(self.by_id[f]["finding"] == "offered" for f in strong))
        if "cipherlist_STRONG_NOFS" in self.by_id:
            self.assertEqual(self.by_id["cipherlist_STRONG_NOFS"]["finding"], "not offered")

    def test_forward_secrecy(self):
        fs = self.by_id.get("PFS") or self.by_id.get("FS")
        self.assertIsNotNone(fs, "no forward-secrecy finding")
        self.assertEqual(fs["finding"], "offered")
        suites = (self.by_id.get("PFS_ciphers") or self.by_id.get("FS_ciphers"))["finding"]
        for suite in suites.split():
            self.assertRegex(suite, r"^(TLS_(AES_(128|256)_GCM_SHA(256|384)|"
                                    r"CHACHA20_POLY1305_SHA256)|ECDHE-(ECDSA|RSA)-"
                                    r"(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305))$")

    def test_no_high_or_critical_vulnerability(self):
        bad = [f for f in self.findings if f["severity"] in ("HIGH", "CRITICAL")]
        self.assertEqual(bad, [])
        # The checks did run, and each found the server not vulnerable.
        for fid in ("heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego",
                    "secure_client_renego", "CRIME_TLS", "BREACH", "POODLE_SSL",
                    "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST",
                    "LUCKY13", "RC4"):
            with self.subTest(check=fid):
                self.assertEqual(self.finding(fid)["severity"], "OK",
                                 self.finding(fid)["finding"])


if __name__ == "__main__":
    unittest.main()

"""Hardening found in review: connection budgets per address and per listener, the short
redirect deadline, no core dumps, and an export that refuses to let the database name
files."""

import os
import socket
import time
import unittest

from harness import Sealpost, valid_intake

CONFIG = """[limits]
max_connections_per_address = 8
redirect_max_connections = 16
"""


def idle_socket(port, source):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    s.sendall(b"GET / HTTP/1.1\r\n")  # a request that never finishes
    return s


def closed_by_server(sock, within=5.0):
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def https_status_from(sp, source):
    import http.client
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test data dir's self-signed certificate
    conn = http.client.HTTPSConnection("127.0.0.1", sp.https_port, context=ctx, timeout=10,
                                       source_address=(source, 0))
    try:
        conn.request("GET", "/f/intake")
        return conn.getresponse().status
    finally:
        conn.close()


class ConnectionBudgetTest(unittest.TestCase):
    def test_one_address_cannot_take_every_slot(self):
        with Sealpost(config_extra=CONFIG) as sp:
            sp.start()
            held = [idle_socket(sp.http_port, "127.0.0.1") for _ in range(8)]
            try:
                time.sleep(0.3)
                extra = idle_socket(sp.http_port, "127.0.0.1")
                self.assertTrue(closed_by_server(extra), "9th connection of one address kept")
                extra.close()
                # Another address is unaffected, on either listener.
                self.assertEqual(https_status_from(sp, "127.0.0.2"), 200)
                # Fill the redirect listener's own budget from two more addresses.
                held += [idle_socket(sp.http_port, "127.0.0.3") for _ in range(4)]
                held += [idle_socket(sp.http_port, "127.0.0.4") for _ in range(4)]
                time.sleep(0.3)
                extra = idle_socket(sp.http_port, "127.0.0.5")
                self.assertTrue(closed_by_server(extra), "redirect listener over its budget")
                extra.close()
                # HTTPS has its own budget: still served.
                self.assertEqual(https_status_from(sp, "127.0.0.5"), 200)
            finally:
                for s in held:
                    s.close()
            time.sleep(0.5)
            self.assertEqual(https_status_from(sp, "127.0.0.1"), 200)
            self.assertIn("event=connection_refused", sp.log())

    def test_idle_plain_http_is_cut_off_after_its_short_deadline(self):
        with Sealpost() as sp:
            sp.start()
            s = idle_socket(sp.http_port, "127.0.0.1")
            self.assertTrue(closed_by_server(s, within=30), "idle redirect socket kept open")
            s.close()


class NoCoreDumpTest(unittest.TestCase):
    def test_serve_disables_core_dumps(self):
        with Sealpost() as sp:
            sp.start()
            with open(f"/proc/{sp.proc.pid}/limits") as f:
                line = next(l for l in f if l.startswith("Max core file size"))
            self.assertEqual(line.split()[4:6], ["0", "0"], line)


class ExportNamesTest(unittest.TestCase):
    def test_export_refuses_a_reference_it_did_not_make(self):
        with Sealpost() as sp:
            sp.start()
            status, _, _ = sp.submit(valid_intake())
            self.assertEqual(status, 303)
            self.assertEqual(sp.stop(), 0)
            sp.sql("UPDATE submissions SET reference = '../escaped'")
            out = os.path.join(sp.root, "export")
            proc = sp.cli("export", "--data", sp.data, "--form", "intake", "--out", out,
                          check=False)
            self.assertNotEqual(proc.returncode, 0)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
            self.assertIn("malformed reference", proc.stderr)
            self.assertFalse(os.path.exists(os.path.join(sp.root, "escaped.pgp")))


if __name__ == "__main__":
    unittest.main()

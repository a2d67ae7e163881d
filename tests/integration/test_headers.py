"""Security headers on every response (F3), the redirect-only HTTP listener (F2), the
per-IP rate limit (F9), and a 500 that still carries the headers and stores nothing."""

import os
import re
import socket
import time
import unittest
import urllib.parse

from harness import EXAMPLE_FORM, Sealpost, read_response, valid_intake

MAX_BODY = 65536


class HeaderChecks:
    """Mixin: the F3 headers, checked one by one so a failure names the header."""

    def assertSecurityHeaders(self, headers, what=""):
        msg = f"{what}: {headers}"
        hsts = headers.get("strict-transport-security")
        self.assertIsNotNone(hsts, msg)
        m = re.search(r"(?i)\bmax-age=(\d+)", hsts)
        self.assertIsNotNone(m, msg)
        self.assertGreaterEqual(int(m.group(1)), 31536000, msg)
        self.assertRegex(hsts.lower(), r"(^|;)\s*includesubdomains\s*(;|$)", msg)

        csp = headers.get("content-security-policy")
        self.assertIsNotNone(csp, msg)
        directives = {}
        for part in csp.split(";"):
            words = part.split()
            if words:
                directives[words[0].lower()] = words[1:]
        self.assertEqual(directives.get("default-src"), ["'none'"], msg)
        self.assertIn("frame-ancestors", directives, msg)
        self.assertNotIn("'unsafe-inline'", csp, msg)
        self.assertNotIn("'unsafe-eval'", csp, msg)
        for name, sources in directives.items():
            for src in sources:
                # No third-party origins, no wildcards, no http:/data: schemes.
                self.assertFalse(src == "*" or "://" in src or src in ("http:", "https:", "data:"),
                                 f"{name} {src}: {msg}")

        self.assertEqual(headers.get("x-content-type-options"), "nosniff", msg)
        self.assertEqual(headers.get("referrer-policy"), "no-referrer", msg)
        self.assertIn("no-store", headers.get("cache-control", ""), msg)


def urlencoded(token, fields, honeypot=""):
    return urllib.parse.urlencode([("_token", token), ("_website", honeypot)] + list(fields))


class HeadersTest(unittest.TestCase, HeaderChecks):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost().start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.sp.stop()
        cls.sp.close()
        assert rc == 0, f"serve exited {rc} on SIGTERM"

    def test_200_form_page(self):
        status, headers, body = self.sp.request("GET", "/f/intake")
        self.assertEqual(status, 200)
        self.assertSecurityHeaders(headers, "200")
        self.assertIn("frame-ancestors 'none'", headers["content-security-policy"])
        self.assertEqual(headers.get("x-frame-options"), "DENY")
        # The page's only style block carries the CSP nonce; there is no script.
        m = re.search(r"style-src 'nonce-([^']+)'", headers["content-security-policy"])
        self.assertIsNotNone(m)
        self.assertIn(f'<style nonce="{m.group(1)}">'.encode(), body)
        self.assertNotIn(b"<script", body.lower())
        self.assertNotRegex(body, rb"(?i)\sstyle=")  # no inline style attributes

    def test_csp_nonce_is_fresh(self):
        nonces = set()
        for _ in range(3):
            _, headers, _ = self.sp.request("GET", "/f/intake")
            nonces.add(re.search(r"'nonce-([^']+)'", headers["content-security-policy"])[1])
        self.assertEqual(len(nonces), 3)

    def test_303_and_thanks(self):
        status, headers, _ = self.sp.submit(valid_intake())
        self.assertEqual(status, 303)
        self.assertSecurityHeaders(headers, "303")
        status, headers, _ = self.sp.request("GET", headers["location"])
        self.assertEqual(status, 200)
        self.assertSecurityHeaders(headers, "thanks 200")

    def test_404(self):
        status, headers, _ = self.sp.request("GET", "/no/such/page")
        self.assertEqual(status, 404)
        self.assertSecurityHeaders(headers, "404")

    def test_405(self):
        status, headers, _ = self.sp.request("DELETE", "/f/intake")
        self.assertEqual(status, 405)
        self.assertSecurityHeaders(headers, "405")

    def test_413(self):
        # Chunked, so the 413 comes from the body limit (test_bad_input covers the
        # Content-Length case).
        token = self.sp.get_token()
        body = (urlencoded(token, valid_intake()) + "&pad=" + "a" * MAX_BODY).encode()
        with self.sp.tls_socket() as s:
            s.sendall(b"POST /f/intake HTTP/1.1\r\nHost: localhost\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            try:
                for i in range(0, len(body), 8192):
                    piece = body[i:i + 8192]
                    s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                s.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # answered and closed before the end
            status, headers, _ = read_response(s)
        self.assertEqual(status, 413)
        self.assertSecurityHeaders(headers, "413")

    def test_415_and_431(self):
        status, headers, _ = self.sp.request("POST", "/f/intake", "{}",
                                             headers={"Content-Type": "application/json"})
        self.assertEqual(status, 415)
        self.assertSecurityHeaders(headers, "415")
        request = (f"GET /f/intake HTTP/1.1\r\nHost: localhost\r\nX-Pad: {'a' * 20000}"
                   f"\r\n\r\n").encode()
        status, headers, _ = self.sp.raw_request(request)
        self.assertEqual(status, 431)
        self.assertSecurityHeaders(headers, "431")

    def test_422(self):
        fields = [(n, "1980-02-31" if n == "date_of_birth" else v) for n, v in valid_intake()]
        status, headers, _ = self.sp.submit(fields)
        self.assertEqual(status, 422)
        self.assertSecurityHeaders(headers, "422")

    def test_400(self):
        status, headers, _ = self.sp.submit(valid_intake(), token="not-a-token")
        self.assertEqual(status, 400)
        self.assertSecurityHeaders(headers, "400 bad token")
        token = self.sp.get_token()
        status, headers, _ = self.sp.request("POST", "/f/intake",
                                             urlencoded(token, valid_intake()) + "&x=%zz")
        self.assertEqual(status, 400)
        self.assertSecurityHeaders(headers, "400 bad body")
        status, headers, _ = self.sp.raw_request(b"GET /f/intake HTTP/1.1\r\nHost: localhost\r\n"
                                                 b"Bad Header\r\n\r\n")
        self.assertEqual(status, 400)
        self.assertSecurityHeaders(headers, "400 unparseable request")

    def test_409(self):
        token = self.sp.get_token()
        status, _, _ = self.sp.submit(valid_intake(), token=token)
        self.assertEqual(status, 303)
        status, headers, _ = self.sp.submit(valid_intake(), token=token)
        self.assertEqual(status, 409)
        self.assertSecurityHeaders(headers, "409")

    # -- the plain-HTTP listener ------------------------------------------------------

    def http_get(self, target, host="evil.example", method="GET", body=b""):
        request = (f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        return self.sp.http_raw(request)

    def test_http_listener_redirects_every_path(self):
        origin = f"https://localhost:{self.sp.https_port}"
        cases = [
            ("/", "/"),
            ("/f/intake", "/f/intake"),
            ("/f/intake?x=1", "/f/intake?x=1"),
            ("/f/intake/thanks/0000-0000-0000", "/f/intake/thanks/0000-0000-0000"),
            ("/no/such/page", "/no/such/page"),
            ("http://evil.example/", "/"),
            ("http://evil.example/f/intake", "/"),
            ("//evil.example/x", "/"),
            ("*", "/"),
        ]
        for target, path in cases:
            with self.subTest(target=target):
                status, headers, body = self.http_get(target)
                self.assertEqual(status, 301)
                self.assertEqual(headers.get("location"), origin + path)
                self.assertNotIn("evil", headers.get("location", ""))
                self.assertSecurityHeaders(headers, "301")
                # The body is only a link to the same place: no form, no data.
                m = re.fullmatch(rb'\s*<a href="([^"]*)">[^<]*</a>\s*', body)
                self.assertIsNotNone(m, body)
                self.assertEqual(m.group(1).decode().replace("&amp;", "&"), origin + path)
                self.assertNotIn(b"<form", body)
                self.assertNotIn(b"evil", body)

    def test_http_listener_post_is_redirected_not_served(self):
        body = urlencoded("x", valid_intake()).encode()
        status, headers, page = self.http_get("/f/intake", method="POST", body=body)
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], f"https://localhost:{self.sp.https_port}/f/intake")
        self.assertNotIn(b"<form", page)
        self.assertNotIn(b"_token", page)
        self.assertSecurityHeaders(headers, "301 POST")


class RateLimitTest(unittest.TestCase, HeaderChecks):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost()
        cls.sp.set_config("rate_limit", "per_ip_per_minute", 1)
        cls.sp.set_config("rate_limit", "per_ip_burst", 2)
        cls.sp.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.sp.stop()
        cls.sp.close()
        assert rc == 0, f"serve exited {rc} on SIGTERM"

    def test_third_post_is_429(self):
        tokens = [self.sp.get_token() for _ in range(3)]
        statuses = [self.sp.submit(valid_intake(), token=t)[0] for t in tokens[:2]]
        self.assertEqual(statuses, [303, 303])
        status, headers, body = self.sp.submit(valid_intake(), token=tokens[2])
        self.assertEqual(status, 429)
        self.assertIn(b"Too many requests", body)
        self.assertSecurityHeaders(headers, "429")
        self.assertEqual(self.sp.submission_count(), 2)
        # Reading the form is not throttled: only posts count.
        status, _, _ = self.sp.request("GET", "/f/intake")
        self.assertEqual(status, 200)


class ExpiredKeyTest(unittest.TestCase, HeaderChecks):
    """A recipient key that expires while the server runs: the server notices within its
    2 s poll, the form says it is temporarily unavailable (503, with every header), a
    submission is refused and nothing is stored. (Before the poll notices, encryption itself
    refuses the expired key and the submitter gets a 500: also nothing stored.)"""

    LIFETIME = 20  # seconds the key is valid: room for form add, start and GET

    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost(form_text="", recipients=0)
        try:
            sp = cls.sp
            fpr = sp.gpg.new_key("Short Lived <short@example.org>",
                                 expire=f"seconds={cls.LIFETIME}")
            out = sp.gpg.gpg("--list-keys", "--with-colons", fpr).stdout
            cls.expires_at = int(re.search(r"^pub:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:(\d+):",
                                           out, re.M).group(1))
            key = sp.gpg.export_public(fpr, os.path.join(sp.root, "short.asc"))
            sp.cli("key", "import", "--data", sp.data, key)
            with open(EXAMPLE_FORM) as f:
                cls.form_text = f.read().replace("@DEMO_RECIPIENT_FINGERPRINT@", fpr)
            sp.add_form(cls.form_text)
            sp.start()
        except BaseException:
            cls.sp.close()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.sp.stop()
        cls.sp.close()
        assert rc == 0, f"serve exited {rc} on SIGTERM"

    def test_form_unavailable_once_recipient_key_expired(self):
        if time.time() >= self.expires_at - 1:
            self.skipTest("the key expired before the server was up (machine too slow)")
        token = self.sp.get_token()
        # Past the expiry and past the server's next 2 s poll.
        time.sleep(max(0, self.expires_at + 5 - time.time()))
        # sealpost itself now judges the key expired: a new form version is refused ...
        path = os.path.join(self.sp.root, "again.toml")
        with open(path, "w") as f:
            f.write(self.form_text)
        proc = self.sp.cli("form", "add", "--data", self.sp.data, path, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("expired", proc.stderr)
        # ... and the running server no longer offers the form nor encrypts to the key.
        status, headers, body = self.sp.request("GET", "/f/intake")
        self.assertEqual(status, 503, body[:300])
        self.assertIn(b"cannot take submissions", body)
        self.assertSecurityHeaders(headers, "503")
        status, headers, body = self.sp.submit(valid_intake(), token=token)
        self.assertEqual(status, 503, body[:300])
        self.assertSecurityHeaders(headers, "503")
        self.assertEqual(self.sp.submission_count(), 0)
        self.assertIn("event=form_unavailable", self.sp.log())


if __name__ == "__main__":
    unittest.main()

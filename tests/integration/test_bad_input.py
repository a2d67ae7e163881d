"""Bad input on the wire (F5, F7, F9, F10): every malformed, hostile or out-of-policy request
gets a clear HTML error page with the right status, and nothing is stored.

One server for the whole file. Its per-IP rate limit is raised so that the many posts made
here are judged on their content, not throttled; request_timeout is 5 s for the slow-client
tests."""

import html
import http.client
import re
import socket
import ssl
import time
import unittest
import urllib.parse

from harness import Sealpost, read_response, valid_intake

CONTACT_FORM = """
id = "{id}"
title = "Contact us"
recipients = ["{fpr}"]

[[fields]]
name = "message"
type = "textarea"
label = "Message"
required = true
max_length = 2000
"""

MAX_BODY = 65536  # max_body_bytes of examples/intake.toml

BIG_FORM = """
id = "big"
title = "Long letter"
recipients = ["{fpr}"]
max_body_bytes = 300000

[[fields]]
name = "message"
type = "textarea"
label = "Message"
required = true
max_length = 100000
"""


def without(fields, name):
    return [(n, v) for n, v in fields if n != name]


def replaced(fields, name, value):
    return [(n, value if n == name else v) for n, v in fields]


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost()
        try:
            cls.sp.set_config("limits", "request_timeout_seconds", 5)
            cls.sp.set_config("rate_limit", "per_ip_per_minute", 100000)
            cls.sp.set_config("rate_limit", "per_ip_burst", 100000)
            fpr = cls.sp.recipients[0]
            cls.sp.add_form(CONTACT_FORM.format(id="contact", fpr=fpr), name="contact.toml")
            cls.sp.add_form(CONTACT_FORM.format(id="closing", fpr=fpr), name="closing.toml")
            cls.sp.add_form(BIG_FORM.format(fpr=fpr), name="big.toml")
            cls.sp.start()
        except BaseException:
            cls.sp.close()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.sp.stop()
        with open(cls.sp.stderr_path, errors="replace") as f:
            log = f.read()
        cls.sp.close()
        assert rc == 0, f"serve exited {rc} on SIGTERM: {log[-3000:]}"

    # -- helpers ----------------------------------------------------------------------

    def count(self, form="intake"):
        n = self.sp.submission_count(form)
        self.assertIsNotNone(n, f"form {form} missing from `form list`")
        return n

    def setUp(self):
        self.before = self.count()

    def assertNothingStored(self):
        self.assertEqual(self.count(), self.before, "a refused request stored a submission")

    def body_with(self, fields, raw_tail="", token=None, honeypot=""):
        """urlencoded body: token, honeypot, fields, then `raw_tail` appended verbatim."""
        token = token if token is not None else self.sp.get_token()
        body = urllib.parse.urlencode([("_token", token), ("_website", honeypot)] + fields)
        return body + raw_tail

    def post(self, body, content_type="application/x-www-form-urlencoded", form="intake"):
        # content_type None: an empty Content-Type header.
        headers = {"Content-Type": content_type or ""}
        return self.sp.request("POST", f"/f/{form}", body, headers=headers)

    def assertErrorPage(self, status, headers, body, expected_status, *texts):
        self.assertEqual(status, expected_status, body[:500])
        self.assertTrue(headers.get("content-type", "").startswith("text/html"), headers)
        self.assertIn(b"<h1>", body)
        for t in texts:
            self.assertIn(t.encode(), body)

    def assertFieldError(self, body, field, message):
        m = re.search(rf'<p class="error-message" id="field-{field}-error">(.*?)</p>'.encode(),
                      body, re.S)
        self.assertIsNotNone(m, f"no error message for field {field}")
        self.assertIn(html.escape(message, quote=False).encode(), m.group(1))

    def input_value(self, body, field):
        m = re.search(rf'<input [^>]*\bname="{field}" value="([^"]*)"'.encode(), body)
        self.assertIsNotNone(m, f"no input for {field}")
        return html.unescape(m.group(1).decode())

    # -- malformed bodies: 400 --------------------------------------------------------

    def test_bad_percent_encoding(self):
        for tail in ["&full_name=%zz", "&full_name=%4", "&full_name=%4&allergies=x",
                     "&full_name=%", "&full%zzname=x", "&full_name=%G1"]:
            with self.subTest(tail=tail):
                body = self.body_with(without(valid_intake(), "full_name"), tail)
                self.assertErrorPage(*self.post(body), 400, "Bad request")
        self.assertNothingStored()

    def test_invalid_utf8(self):
        for raw in ["%C3%28", "%C0%AF", "%ED%A0%80", "%FF", "%E2%82"]:
            with self.subTest(raw=raw):
                body = self.body_with(without(valid_intake(), "full_name"),
                                      "&full_name=Jo" + raw)
                self.assertErrorPage(*self.post(body), 400, "Bad request")
        self.assertNothingStored()

    def test_nul(self):
        for tail in ["&full_name=Jo%00hn", "&full%00name=x"]:
            with self.subTest(tail=tail):
                body = self.body_with(without(valid_intake(), "full_name"), tail)
                self.assertErrorPage(*self.post(body), 400, "Bad request")
        self.assertNothingStored()

    # -- invalid fields: 422, the form comes back with the values -----------------------

    def test_duplicate_single_valued_field(self):
        body = self.body_with(valid_intake() + [("full_name", "Someone Else")])
        status, headers, page = self.post(body)
        self.assertErrorPage(status, headers, page, 422)
        self.assertFieldError(page, "full_name", "This field was sent more than once.")
        self.assertNothingStored()

    def test_unknown_field(self):
        body = self.body_with(valid_intake() + [("is_admin", "1")])
        status, headers, page = self.post(body)
        self.assertErrorPage(status, headers, page, 422, "unexpected field")
        self.assertNotIn(b"is_admin", page)
        self.assertNothingStored()

    def test_missing_required_field_keeps_values(self):
        fields = replaced(without(valid_intake(), "full_name"), "allergies", "Penicillin & <dust>")
        status, headers, page = self.post(self.body_with(fields))
        self.assertErrorPage(status, headers, page, 422, "There is a problem")
        self.assertFieldError(page, "full_name", "This field is required.")
        self.assertIn(b'aria-invalid="true"', page)
        # Exactly one field is in error.
        self.assertEqual(len(re.findall(rb'class="error-message"', page)), 1)
        # What the submitter typed comes back.
        self.assertEqual(self.input_value(page, "email"), "j@example.org")
        self.assertEqual(self.input_value(page, "date_of_birth"), "1980-02-03")
        self.assertEqual(self.input_value(page, "signature"), "Jürgen Doe")
        self.assertEqual(self.input_value(page, "pain_level"), "3")
        self.assertIn(b"Penicillin &amp; &lt;dust&gt;</textarea>", page)
        self.assertIn(b'<option value="new" selected>', page)
        self.assertRegex(page, rb'value="morning" checked')
        self.assertRegex(page, rb'name="contact_methods" value="email" checked')
        self.assertRegex(page, rb'name="contact_methods" value="phone" checked')
        self.assertNotRegex(page, rb'name="contact_methods" value="mail" checked')
        self.assertRegex(page, rb'name="privacy_consent" value="yes" checked')
        # A fresh token, so the corrected form can be sent.
        self.assertRegex(page, rb'name="_token" value="[^"]+"')
        self.assertNothingStored()

    def test_bad_date(self):
        for value in ["1980-02-31", "1980-13-01", "80-02-03", "1899-12-31", "2999-01-01"]:
            with self.subTest(value=value):
                body = self.body_with(replaced(valid_intake(), "date_of_birth", value))
                status, headers, page = self.post(body)
                self.assertErrorPage(status, headers, page, 422)
                self.assertFieldError(page, "date_of_birth", "Please enter")
                self.assertEqual(self.input_value(page, "date_of_birth"), value)
        self.assertNothingStored()

    def test_choice_not_offered(self):
        cases = [("visit_reason", "hack"), ("preferred_time", "midnight"),
                 ("privacy_consent", "no")]
        for name, value in cases:
            with self.subTest(name=name):
                body = self.body_with(replaced(valid_intake(), name, value))
                status, headers, page = self.post(body)
                self.assertErrorPage(status, headers, page, 422)
                self.assertIn(f'id="field-{name}-error"'.encode(), page)
        body = self.body_with(valid_intake() + [("contact_methods", "carrier-pigeon")])
        status, headers, page = self.post(body)
        self.assertErrorPage(status, headers, page, 422)
        self.assertFieldError(page, "contact_methods", "Please choose only from the options")
        self.assertNothingStored()

    def test_number_out_of_range_or_not_integer(self):
        for value, message in [("11", "between 0 and 10"), ("-1", "between 0 and 10"),
                               ("3.5", "whole number"), ("abc", "Please enter a number"),
                               ("1e1", "Please enter a number"), ("0x5", "Please enter a number"),
                               ("NaN", "Please enter a number")]:
            with self.subTest(value=value):
                body = self.body_with(replaced(valid_intake(), "pain_level", value))
                status, headers, page = self.post(body)
                self.assertErrorPage(status, headers, page, 422)
                self.assertFieldError(page, "pain_level", message)
        self.assertNothingStored()

    # -- size ---------------------------------------------------------------------------

    def test_oversize_body_content_length(self):
        # The 413 is decided on the header: the body is never read.
        for length in [MAX_BODY + 1, 70000, 10 ** 9]:
            with self.subTest(length=length):
                request = (f"POST /f/intake HTTP/1.1\r\nHost: localhost\r\n"
                           f"Content-Type: application/x-www-form-urlencoded\r\n"
                           f"Content-Length: {length}\r\n\r\n").encode()
                status, headers, body = self.sp.raw_request(request)
                self.assertErrorPage(status, headers, body, 413, "Too large")
        # (Only the header is sent: with the body in flight, whether the client can still
        # read the answer depends on how the server closes, which is not what this tests.)
        self.assertNothingStored()

    def test_body_at_the_limit_is_read(self):
        # Control for the 413 tests: exactly max_body_bytes is accepted for parsing (and
        # then refused for its unknown field, 422), so the limit is not lower than declared.
        body = self.body_with(valid_intake(), "&pad=")
        body += "a" * (MAX_BODY - len(body))
        self.assertEqual(len(body), MAX_BODY)
        status, headers, page = self.post(body)
        self.assertErrorPage(status, headers, page, 422, "unexpected field")
        self.assertNothingStored()

    def test_form_with_a_larger_limit_accepts_bodies_above_64k(self):
        # max_body_bytes is per form (up to 10 MiB): a 90 kB letter to a form that allows
        # 300 kB is stored, whether sent with Content-Length or chunked.
        for how in ["content-length", "chunked"]:
            with self.subTest(how=how):
                before = self.count("big")
                token = self.sp.get_token("big")
                body = urllib.parse.urlencode([("_token", token), ("_website", ""),
                                               ("message", "x" * 90000)])
                if how == "chunked":
                    status, _, page = self.chunked(body, form="big")
                else:
                    status, _, page = self.with_length(body, form="big")
                self.assertEqual(status, 303, page[:300])
                self.assertEqual(self.count("big"), before + 1)
                # ... and the form's own limit still holds above it.
                body = urllib.parse.urlencode([("_token", self.sp.get_token("big")),
                                               ("_website", ""), ("message", "x" * 300001)])
                if how == "chunked":
                    status, _, _ = self.chunked(body, form="big")
                else:
                    status, _, _ = self.with_length(body, form="big")
                self.assertEqual(status, 413)
                self.assertEqual(self.count("big"), before + 1)

    def with_length(self, body, form="intake"):
        """POSTs with Content-Length; reads the answer even if it comes before the body
        was all sent (a 413 or 400 decided on the header)."""
        data = body.encode()
        with self.sp.tls_socket() as s:
            s.sendall((f"POST /f/{form} HTTP/1.1\r\nHost: localhost\r\n"
                       f"Content-Type: application/x-www-form-urlencoded\r\n"
                       f"Content-Length: {len(data)}\r\n\r\n").encode())
            try:
                s.sendall(data)
            except (ConnectionError, ssl.SSLError):
                pass
            try:
                return read_response(s)
            except (ConnectionError, ssl.SSLError, http.client.HTTPException) as e:
                self.fail(f"no response to a {len(data)}-byte body: {e!r}")

    def chunked(self, body, chunk=8192, form="intake"):
        token_headers = (f"POST /f/{form} HTTP/1.1\r\nHost: localhost\r\n"
                         "Content-Type: application/x-www-form-urlencoded\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n").encode()
        data = body.encode()
        with self.sp.tls_socket() as s:
            s.sendall(token_headers)
            try:
                for i in range(0, len(data), chunk):
                    piece = data[i:i + chunk]
                    s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                s.sendall(b"0\r\n\r\n")
            except (ConnectionError, ssl.SSLError):
                pass  # the server answered and closed before the end: read its answer
            return read_response(s)

    def test_oversize_body_chunked(self):
        body = self.body_with(valid_intake(), "&pad=" + "a" * MAX_BODY)
        status, headers, page = self.chunked(body)
        self.assertErrorPage(status, headers, page, 413, "Too large")
        self.assertNothingStored()

    def test_chunked_small_body_is_accepted(self):
        # Control: chunked itself is fine; only the size gives the 413 above.
        status, headers, _ = self.chunked(self.body_with(valid_intake()), chunk=50)
        self.assertEqual(status, 303)
        self.assertEqual(self.count(), self.before + 1)

    # -- content type -------------------------------------------------------------------

    def test_wrong_content_type(self):
        body = self.body_with(valid_intake())
        for ctype in ["multipart/form-data; boundary=x", "text/plain", "application/json",
                      "application/x-www-form-urlencodedx", None]:
            with self.subTest(ctype=ctype):
                self.assertErrorPage(*self.post(body, content_type=ctype), 415, "Unsupported")
        self.assertNothingStored()

    # -- token, honeypot, replay --------------------------------------------------------

    def test_tampered_token(self):
        token = self.sp.get_token()
        for i in [5, len(token) // 2, len(token) - 5]:
            with self.subTest(position=i):
                c = token[i]
                forged = token[:i] + ("A" if c != "A" else "B") + token[i + 1:]
                status, headers, body = self.sp.submit(valid_intake(), token=forged)
                self.assertErrorPage(status, headers, body, 400, "could not be verified")
        for forged in ["x", token + "AAAA", "", token[:-10]]:
            with self.subTest(forged=forged[:12]):
                body = self.body_with(valid_intake(), token=forged)
                self.assertErrorPage(*self.post(body), 400)
        self.assertNothingStored()
        # The genuine token was never consumed by the failures: it still works.
        status, _, _ = self.sp.submit(valid_intake(), token=token)
        self.assertEqual(status, 303)
        self.assertEqual(self.count(), self.before + 1)

    def test_token_for_another_form(self):
        other = self.sp.get_token("contact")
        status, headers, body = self.sp.submit(valid_intake(), token=other)
        self.assertErrorPage(status, headers, body, 400, "could not be verified")
        self.assertNothingStored()
        self.assertEqual(self.count("contact"), 0)

    def test_missing_or_repeated_token(self):
        body = urllib.parse.urlencode([("_website", "")] + valid_intake())
        self.assertErrorPage(*self.post(body), 400)
        token = self.sp.get_token()
        body = urllib.parse.urlencode([("_token", token), ("_token", token), ("_website", "")]
                                      + valid_intake())
        self.assertErrorPage(*self.post(body), 400)
        self.assertNothingStored()

    def test_honeypot_filled(self):
        body = self.body_with(valid_intake(), honeypot="http://spam.example")
        self.assertErrorPage(*self.post(body), 400)
        self.assertNothingStored()

    def test_replayed_token(self):
        token = self.sp.get_token()
        status, _, _ = self.sp.submit(valid_intake(), token=token)
        self.assertEqual(status, 303)
        status, headers, body = self.sp.submit(valid_intake(), token=token)
        self.assertErrorPage(status, headers, body, 409, "already been sent")
        status, headers, body = self.sp.submit(valid_intake("Other Name"), token=token)
        self.assertErrorPage(status, headers, body, 409)
        self.assertEqual(self.count(), self.before + 1)

    # -- connection-level limits --------------------------------------------------------

    def wait_closed(self, sock, limit):
        """Seconds until the server closes `sock` (fails if not within `limit`)."""
        start = time.monotonic()
        sock.settimeout(limit)
        try:
            while True:
                data = sock.recv(4096)
                if not data:
                    break
                self.fail(f"the server answered instead of closing: {data[:200]!r}")
        except TimeoutError:
            self.fail(f"the connection was still open after {limit} s")
        except (ConnectionError, ssl.SSLError, OSError):
            pass  # closed without close_notify, or reset: closed all the same
        return time.monotonic() - start

    def test_slow_client_half_headers(self):
        with self.sp.tls_socket() as s:
            s.sendall(b"POST /f/intake HTTP/1.1\r\nHost: localhost\r\nContent-Ty")
            elapsed = self.wait_closed(s, 20)
        self.assertGreater(elapsed, 3, "closed long before request_timeout (5 s)")
        self.assertLess(elapsed, 12)
        self.assertNothingStored()

    def test_slow_client_trickling_headers(self):
        # Slowloris: a byte now and then must not keep extending the deadline.
        with self.sp.tls_socket() as s:
            start = time.monotonic()
            closed = False
            for b in b"GET /f/intake HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaa":
                try:
                    s.sendall(bytes([b]))
                except (ConnectionError, ssl.SSLError, OSError):
                    closed = True
                    break
                time.sleep(0.5)
                if time.monotonic() - start > 14:
                    break
            if not closed:
                self.wait_closed(s, max(1, 14 - (time.monotonic() - start)))
            self.assertLess(time.monotonic() - start, 14)

    def test_header_too_large(self):
        pad = "a" * (20 * 1024)
        request = (f"GET /f/intake HTTP/1.1\r\nHost: localhost\r\nX-Pad: {pad}\r\n\r\n").encode()
        status, headers, body = self.sp.raw_request(request)
        self.assertErrorPage(status, headers, body, 431, "Request headers too large")
        # Control: 15 KiB of headers is under the 16 KiB limit and gets the form.
        pad = "a" * (15 * 1024)
        request = (f"GET /f/intake HTTP/1.1\r\nHost: localhost\r\nX-Pad: {pad}\r\n"
                   f"Connection: close\r\n\r\n").encode()
        status, _, _ = self.sp.raw_request(request)
        self.assertEqual(status, 200)

    # -- routing ------------------------------------------------------------------------

    def test_unknown_path_404(self):
        for method, path in [("GET", "/"), ("GET", "/nope"), ("GET", "/f/nope"),
                             ("POST", "/f/nope"), ("GET", "/f/intake/extra/x/y"),
                             ("GET", "/f/intake/thanks/not-a-reference"),
                             ("GET", "/f/../etc/passwd")]:
            with self.subTest(method=method, path=path):
                body = self.body_with(valid_intake()) if method == "POST" else None
                status, headers, page = self.sp.request(method, path, body)
                self.assertErrorPage(status, headers, page, 404, "Not found")
        self.assertNothingStored()

    def test_wrong_method_405(self):
        for method in ["PUT", "DELETE", "PATCH"]:
            with self.subTest(method=method):
                status, headers, page = self.sp.request(method, "/f/intake",
                                                        self.body_with(valid_intake()))
                self.assertErrorPage(status, headers, page, 405, "Method not allowed")
        status, headers, page = self.sp.request("POST", "/f/intake/thanks/0000-0000-0000", "")
        self.assertErrorPage(status, headers, page, 405)
        self.assertNothingStored()

    def test_disabled_form_404(self):
        status, _, _ = self.sp.request("GET", "/f/closing")
        self.assertEqual(status, 200)
        token = self.sp.get_token("closing")
        self.sp.cli("form", "disable", "--data", self.sp.data, "closing")
        disabled_at = time.monotonic()
        while True:
            status, headers, page = self.sp.request("GET", "/f/closing")
            if status == 404 or time.monotonic() - disabled_at > 6:
                break
            time.sleep(0.2)
        self.assertErrorPage(status, headers, page, 404, "Not found")
        self.assertLess(time.monotonic() - disabled_at, 4.5, "took too long to disable")
        # A page still open in a browser cannot submit any more either.
        status, headers, page = self.sp.request(
            "POST", "/f/closing",
            urllib.parse.urlencode([("_token", token), ("_website", ""), ("message", "hi")]))
        self.assertErrorPage(status, headers, page, 404)
        self.assertEqual(self.count("closing"), 0)
        # Other forms are unaffected.
        status, _, _ = self.sp.request("GET", "/f/intake")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()

"""No XSS (F5, F6): hostile values sent in every field come back, on the 422 page that keeps
the submitter's input, escaped for their context and never as markup."""

import html
import html.parser
import re
import unittest
import urllib.parse

from harness import Sealpost, valid_intake

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'onmouseover=alert(1) x='",
    "</textarea><script>alert(2)</script>",
]
ALL = " ".join(PAYLOADS)

# What must never appear in the page: each payload's markup, raw.
RAW_MARKERS = [
    b"<script>alert",
    b"<img src=x",
    b"'onmouseover=alert(1) x='",
    b"</textarea><script>",
    b'"><img',
]

# Text fields echo the value into value="..." (or the textarea body); these are the only
# escaped spellings of ' that a correct escaper may use.
APOS = ["&#39;", "&apos;", "&#x27;", "&#X27;"]


def escaped_forms(payload):
    """Acceptable HTML-escaped spellings of `payload` (apostrophe spelled any valid way)."""
    base = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    base = base.replace('"', "&quot;")
    return [base.replace("'", a).encode() for a in APOS]


class Markup(html.parser.HTMLParser):
    """The elements and attribute names a browser would build from the page."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.attributes = []
        self.feed(page.decode())
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name) for name, _ in attrs]


class XssTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost()
        # Many posts from one address here: judge them on content, not rate.
        cls.sp.set_config("rate_limit", "per_ip_per_minute", 100000)
        cls.sp.set_config("rate_limit", "per_ip_burst", 100000)
        cls.sp.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.sp.stop()
        cls.sp.close()
        assert rc == 0, f"serve exited {rc} on SIGTERM"

    def assertSafe(self, page):
        for marker in RAW_MARKERS:
            self.assertNotIn(marker, page)
        self.assertIsNone(re.search(rb"<script", page, re.I), "the page has a <script")
        markup = Markup(page)
        for tag in ["script", "img", "iframe", "svg", "object", "embed"]:
            self.assertNotIn(tag, markup.tags)
        handlers = [(t, a) for t, a in markup.attributes if a.lower().startswith("on")]
        self.assertEqual(handlers, [], "event-handler attributes in the page")
        self.assertNotIn(("input", "x"), markup.attributes)

    def test_payload_in_every_field(self):
        names = [n for n, _ in valid_intake()]
        fields = [(n, ALL) for n in dict.fromkeys(names)]
        # A name nobody declared, hostile too: refused (422), never echoed.
        fields.append(("<script>alert(3)</script>", ALL))
        before = self.sp.submission_count()
        status, headers, page = self.sp.submit(fields)
        self.assertEqual(status, 422, page[:400])
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertSafe(page)
        for payload in PAYLOADS:
            with self.subTest(payload=payload):
                self.assertTrue(any(e in page for e in escaped_forms(payload)),
                                f"escaped form of {payload!r} not in the page")
        # The echoed values read back exactly as typed: escaped, not altered.
        for field in ["full_name", "email", "phone", "date_of_birth", "pain_level",
                      "signature"]:
            with self.subTest(field=field):
                m = re.search(rf'<input [^>]*\bname="{field}" value="([^"]*)"'.encode(), page)
                self.assertIsNotNone(m, field)
                self.assertEqual(html.unescape(m.group(1).decode()), ALL)
        m = re.search(rb'<textarea [^>]*name="allergies"[^>]*>\n?(.*?)</textarea>', page, re.S)
        self.assertIsNotNone(m)
        self.assertEqual(html.unescape(m.group(1).decode()), ALL)
        # Exactly one </textarea> per textarea: the payload did not close it early.
        self.assertEqual(page.count(b"</textarea>"), page.count(b"<textarea"))
        self.assertEqual(self.sp.submission_count(), before)

    def test_each_payload_alone(self):
        text_fields = {"full_name", "allergies", "signature", "email", "phone", "pain_level"}
        for payload in PAYLOADS:
            with self.subTest(payload=payload):
                fields = [(n, payload if n in text_fields else v) for n, v in valid_intake()]
                # One invalid field, so the page comes back even though free text alone
                # would be a valid value.
                fields = [(n, "1980-02-31" if n == "date_of_birth" else v) for n, v in fields]
                status, _, page = self.sp.submit(fields)
                self.assertEqual(status, 422)
                self.assertSafe(page)
                found = sum(page.count(e) for e in escaped_forms(payload))
                self.assertGreaterEqual(found, len(text_fields), "a value was not echoed")

    def test_error_pages_do_not_reflect_the_request(self):
        hostile = "<script>alert(1)</script>"
        quoted = urllib.parse.quote(hostile)
        for method, path in [("GET", f"/f/{quoted}"), ("GET", f"/f/intake?q={quoted}"),
                             ("GET", f"/f/intake/thanks/{quoted}"), ("PUT", f"/f/{quoted}"),
                             ("POST", f"/f/{quoted}")]:
            with self.subTest(method=method, path=path):
                status, _, page = self.sp.request(method, path, "" if method != "GET" else None)
                self.assertIn(status, (200, 404, 405))
                self.assertSafe(page)
                self.assertNotIn(b"alert", page)


if __name__ == "__main__":
    unittest.main()

"""Behind a load balancer: a real HAProxy (Debian `haproxy`, `mode tcp`, `send-proxy-v2`) in
front of the real binary, all on loopback.

The client connects from 127.0.0.5 (its socket bound to that source address), HAProxy from
127.0.0.1, so the address sealpost records tells which one it believed. What is observed is
the `source` of the audit entry a failed portal sign-in writes (no PHI involved).

- HAProxy in trusted_proxies: the source is the client's (127.0.0.5), on both listeners.
- HAProxy not in trusted_proxies: its PROXY header is not believed; the connection closes
  and a warning is logged. A forged PROXY header from any untrusted client: the same.
- A trusted address that sends no PROXY header is refused (it would be mistaken for the
  client otherwise).
- X-Forwarded-For counts only from a trusted peer (proxy_protocol = false here).
- A trusted_proxies entry that is not a CIDR: `serve` exits non-zero with one clear line.

In CI (CI=true) a missing haproxy is a failure, not a skip.
"""

import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import unittest
import uuid

from harness import Sealpost, read_response, set_config

CLIENT = "127.0.0.5"  # the real client, as HAProxy sees it
STRANGER = "127.0.0.7"  # a client that talks to sealpost directly


def haproxy_binary():
    path = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if path is None:
        message = "haproxy is not installed (scripts/install-deps.sh --with-tests installs it)"
        if os.environ.get("CI") == "true":
            raise AssertionError(message)
        raise unittest.SkipTest(message)
    return path


class HAProxy:
    """A throwaway HAProxy: one TCP frontend per backend port, each server sending PROXY v2
    (or v1, `send-proxy`, for a backend given as (port, "send-proxy"))."""

    def __init__(self, backends):
        self.dir = tempfile.mkdtemp(prefix="sealpost-haproxy-")
        self.ports = []
        sections = []
        for i, backend in enumerate(backends):
            port, send = backend if isinstance(backend, tuple) else (backend, "send-proxy-v2")
            front = self._free_port()
            self.ports.append(front)
            sections.append(f"""
frontend fe{i}
  bind 127.0.0.1:{front}
  default_backend be{i}

backend be{i}
  server s1 127.0.0.1:{port} {send}
""")
        config = os.path.join(self.dir, "haproxy.cfg")
        with open(config, "w") as f:
            f.write("""global
  maxconn 256

defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
""" + "".join(sections))
        self.log_path = os.path.join(self.dir, "haproxy.log")
        self.log_file = open(self.log_path, "wb")
        # -db: stay in the foreground, so the test owns the process and stops it.
        self.proc = subprocess.Popen([haproxy_binary(), "-db", "-f", config],
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        for port in self.ports:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError("haproxy exited: " + self.log())
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise AssertionError("haproxy is not listening: " + self.log())
                    time.sleep(0.05)

    @staticmethod
    def _free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def log(self):
        self.log_file.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def tls_client(port, source):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test data dir's self-signed certificate
    raw = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    try:
        return ctx.wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise


def failed_sign_in(sp, port, source, email, extra_headers=""):
    """A wrong password for `email`, sent over TLS to `port` from `source`. Returns the
    HTTP status."""
    body = json.dumps({"email": email, "password": "not the password 123"})
    request = (f"POST /portal/api/sign-in HTTP/1.1\r\nHost: localhost:{sp.https_port}\r\n"
               f"Origin: https://localhost:{sp.https_port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               f"{extra_headers}Connection: close\r\n\r\n{body}").encode()
    with tls_client(port, source) as s:
        s.sendall(request)
        return read_response(s)[0]


def audit_sources(sp, email):
    """The `source` of every audit entry whose actor is `email`."""
    out = sp.cli("audit", "export", "--data", sp.data).stdout
    return [e["source"] for e in map(json.loads, out.splitlines()) if e.get("actor") == email]


def unique_email():
    return f"nobody-{uuid.uuid4().hex[:10]}@example.org"


def proxy_v2_header(source, port=40000, dest="127.0.0.1", dest_port=443):
    """A PROXY protocol v2 header (TCP over IPv4) claiming the connection is from `source`."""
    block = (socket.inet_aton(source) + socket.inet_aton(dest) + struct.pack(">HH", port, dest_port))
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack(">H", len(block)) +
            block)


def closed_without_tls(port, source, first_bytes=b""):
    """True when the server closes a connection (from `source`, optionally after
    `first_bytes`) instead of completing a TLS handshake."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    try:
        if first_bytes:
            raw.sendall(first_bytes)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with ctx.wrap_socket(raw, server_hostname="localhost"):
                return False
        except (ssl.SSLError, ConnectionError, OSError):
            return True
    finally:
        raw.close()


def wait_for_log(sp, text, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in sp.log():
            return True
        time.sleep(0.1)
    return False


class TrustedHAProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        haproxy_binary()
        cls.sp = Sealpost()
        try:
            set_config(cls.sp, "server", {"trusted_proxies": '["127.0.0.1/32", "::1"]'})
            cls.sp.start()
            cls.haproxy = HAProxy([cls.sp.https_port, cls.sp.http_port,
                                   (cls.sp.https_port, "send-proxy")])
        except BaseException:
            cls.sp.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.haproxy.close()
        rc = cls.sp.stop()
        log = cls.sp.log()
        cls.sp.close()
        assert rc == 0, f"serve exited {rc} on SIGTERM: {log[-3000:]}"

    def test_source_is_the_real_client(self):
        email = unique_email()
        status = failed_sign_in(self.sp, self.haproxy.ports[0], CLIENT, email)
        self.assertEqual(status, 401)
        self.assertEqual(audit_sources(self.sp, email), [CLIENT])

    def test_source_is_the_real_client_with_proxy_v1(self):
        email = unique_email()
        self.assertEqual(failed_sign_in(self.sp, self.haproxy.ports[2], CLIENT, email), 401)
        self.assertEqual(audit_sources(self.sp, email), [CLIENT])

    def test_forwarded_for_from_the_client_is_not_believed(self):
        # The PROXY header says 127.0.0.5, which is not a trusted proxy: whatever that client
        # writes in X-Forwarded-For is its own claim.
        email = unique_email()
        status = failed_sign_in(self.sp, self.haproxy.ports[0], CLIENT, email,
                                "X-Forwarded-For: 203.0.113.9\r\n")
        self.assertEqual(status, 401)
        self.assertEqual(audit_sources(self.sp, email), [CLIENT])

    def test_redirect_listener_behind_haproxy(self):
        with socket.create_connection(("127.0.0.1", self.haproxy.ports[1]), timeout=15,
                                      source_address=(CLIENT, 0)) as s:
            s.sendall(b"GET /f/intake?x=1 HTTP/1.1\r\nHost: example.org\r\n\r\n")
            status, headers, _ = read_response(s)
        self.assertEqual(status, 301)
        self.assertTrue(headers["location"].endswith(f":{self.sp.https_port}/f/intake?x=1"))

    def test_trusted_address_without_proxy_header_is_refused(self):
        # 127.0.0.1 is trusted, so its connections must carry a PROXY header; served as a
        # client, it would put every real client behind the balancer's address.
        self.assertTrue(closed_without_tls(self.sp.https_port, "127.0.0.1"))
        self.assertTrue(wait_for_log(self.sp, "trusted proxy sent no PROXY header"))

    def test_untrusted_client_is_served_as_before(self):
        email = unique_email()
        self.assertEqual(failed_sign_in(self.sp, self.sp.https_port, STRANGER, email), 401)
        self.assertEqual(audit_sources(self.sp, email), [STRANGER])

    def test_forged_proxy_header_from_untrusted_client_is_ignored(self):
        self.assertTrue(closed_without_tls(self.sp.https_port, STRANGER,
                                           proxy_v2_header("203.0.113.9")))
        self.assertTrue(closed_without_tls(
            self.sp.https_port, STRANGER, b"PROXY TCP4 203.0.113.9 127.0.0.1 4000 443\r\n"))
        self.assertTrue(wait_for_log(
            self.sp, f"event=proxy_header_refused reason=untrusted_peer remote={STRANGER}"))
        self.assertNotIn("203.0.113.9", self.sp.log())
        # The same on the redirect listener: no answer at all.
        with socket.create_connection(("127.0.0.1", self.sp.http_port), timeout=15,
                                      source_address=(STRANGER, 0)) as s:
            s.sendall(proxy_v2_header("203.0.113.9") + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = s.recv(100)
            except ConnectionResetError:  # closed with bytes unread: a reset, still no answer
                answer = b""
            self.assertEqual(answer, b"")


class UntrustedHAProxyTest(unittest.TestCase):
    """HAProxy sends PROXY v2, but sealpost was not told to trust it."""

    def test_proxy_header_is_not_trusted(self):
        haproxy_binary()
        with Sealpost() as sp:
            set_config(sp, "server", {"trusted_proxies": '["10.0.0.0/8"]'})
            sp.start()
            haproxy = HAProxy([sp.https_port])
            try:
                email = unique_email()
                with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                    failed_sign_in(sp, haproxy.ports[0], CLIENT, email)
                self.assertTrue(wait_for_log(
                    sp, "event=proxy_header_refused reason=untrusted_peer remote=127.0.0.1"))
                self.assertEqual(audit_sources(sp, email), [])
                self.assertNotIn(CLIENT, sp.log())
            finally:
                haproxy.close()


class ForwardedForTest(unittest.TestCase):
    """A trusted peer without the PROXY protocol (an HTTPS load balancer): X-Forwarded-For."""

    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost()
        try:
            set_config(cls.sp, "server", {"trusted_proxies": '["127.0.0.1/32", "10.0.0.0/8"]',
                                          "proxy_protocol": "false"})
            cls.sp.start()
        except BaseException:
            cls.sp.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.sp.close()

    def source_for(self, source, forwarded_for):
        email = unique_email()
        status = failed_sign_in(self.sp, self.sp.https_port, source, email,
                                f"X-Forwarded-For: {forwarded_for}\r\n")
        self.assertEqual(status, 401)
        return audit_sources(self.sp, email)

    def test_right_most_untrusted_hop_from_a_trusted_peer(self):
        self.assertEqual(self.source_for("127.0.0.1", "192.0.2.1, 198.51.100.7, 10.1.2.3"),
                         ["198.51.100.7"])

    def test_ignored_from_an_untrusted_peer(self):
        self.assertEqual(self.source_for(STRANGER, "198.51.100.7"), [STRANGER])

    def test_malformed_is_ignored_and_logged(self):
        self.assertEqual(self.source_for("127.0.0.1", "198.51.100.7:4711"), ["127.0.0.1"])
        self.assertTrue(wait_for_log(self.sp, "event=forwarded_for_ignored reason=malformed"))
        self.assertNotIn("4711", self.sp.log())


class BadTrustedProxiesTest(unittest.TestCase):
    def test_entry_that_is_not_a_cidr_stops_serve(self):
        with Sealpost(form_text="") as sp:
            set_config(sp, "server", {"trusted_proxies": '["10.0.0.0/8", "10.0.0.300/8"]'})
            proc = sp.cli("serve", "--data", sp.data, "--https-listen", "127.0.0.1:0",
                          "--http-listen", "127.0.0.1:0", check=False)
            self.assertNotEqual(proc.returncode, 0)
            lines = proc.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, proc.stderr)
            self.assertIn('trusted_proxies entry "10.0.0.300/8" is not a CIDR', lines[0])
            self.assertNotIn("listening", proc.stdout)


if __name__ == "__main__":
    unittest.main()

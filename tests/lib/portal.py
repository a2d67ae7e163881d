"""Test helpers for the staff portal: a JSON client with a cookie and CSRF token, TOTP codes
computed here (RFC 6238), and staff key pairs made by the real gpg under a passphrase."""

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import subprocess
import time

from harness import run

PASSWORD = "correct horse battery staple 42"
PASSPHRASE = "a long passphrase for the staff key"


def totp(secret_b32, at=None, digits=6, step=30):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return str(code).zfill(digits)


def fresh_totp(secret_b32, used, reset=None):
    """A code for a time step not used yet (the server accepts a code once, and only steps
    after the last one used, within one step of now): the earliest such step. When all three
    acceptable steps are spent, `reset` (if given) clears the account's last step in the
    store, so that a test signing in more often than the clock gives steps need not wait
    for it; without `reset`, waits for the clock. The replay rule itself is tested without
    it (test_portal's test_password_then_code_rotates_the_session)."""
    while True:
        if time.time() % 30 > 28.5:  # about to change step: let it, then count
            time.sleep(1.6)
        now_step = int(time.time() // 30)
        last = max(used) if used else now_step - 1
        step = max(last + 1, now_step)
        if step <= now_step + 1:
            used.add(step)
            return totp(secret_b32, at=step * 30)
        if reset is not None:
            reset()
            used.clear()
            continue
        time.sleep(30 - time.time() % 30 + 0.2)


class StaffKey:
    """A staff member's OpenPGP key pair, made by gpg, protected by PASSPHRASE."""

    def __init__(self, root, email):
        self.home = os.path.join(root, "gnupg-" + re.sub(r"[^a-z0-9]", "_", email))
        os.makedirs(self.home, mode=0o700)
        self.env = dict(os.environ, GNUPGHOME=self.home)
        self.gpg("--quick-gen-key", f"Staff <{email}>", "future-default", "default", "never")
        out = self.gpg("--list-keys", "--with-colons").stdout
        self.fpr = re.findall(r"^fpr:+([0-9A-F]{40}):", out, re.M)[0]
        self.public = self.gpg("--armor", "--export", self.fpr).stdout
        self.secret = self.gpg("--armor", "--export-secret-keys", self.fpr).stdout

    def gpg(self, *args, check=True, input=None):
        return run(["gpg", "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase",
                    PASSPHRASE, *args], check=check, env=self.env, input=input)

    def decrypt(self, data):
        """Returns (returncode, plaintext bytes, status text)."""
        proc = subprocess.run(
            ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", PASSPHRASE,
             "--status-fd", "2", "--decrypt"],
            input=data, capture_output=True, env=self.env)
        return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")

    def close(self):
        subprocess.run(["gpgconf", "--kill", "all"], env=self.env, capture_output=True)


class Portal:
    """One browser's worth of state: the session cookie and the CSRF token. `source`: the
    loopback address it connects from (the server's credential budget is per address)."""

    def __init__(self, sp, source=None):
        self.sp = sp
        self.source = source
        self.cookie = None
        self.csrf = None
        self.origin = f"https://localhost:{sp.https_port}"

    def call(self, method, path, body=None, csrf=True, origin=True, headers=None, raw=None):
        hdrs = dict(headers or {})
        if self.cookie:
            hdrs["Cookie"] = "__Host-sealpost-session=" + self.cookie
        if csrf and self.csrf:
            hdrs["X-CSRF-Token"] = self.csrf
        if origin and method != "GET":
            hdrs.setdefault("Origin", self.origin)
        data = raw
        if body is not None:
            data = json.dumps(body)
        if data is not None or method != "GET":
            hdrs.setdefault("Content-Type", "application/json")
        if self.source is None:
            status, h, payload = self.sp.request(method, path, body=data, headers=hdrs)
        else:
            conn = self.sp.connection(source=self.source)
            try:
                status, h, payload = self.sp.request(method, path, body=data, headers=hdrs,
                                                     conn=conn)
            finally:
                conn.close()
        cookie = h.get("set-cookie")
        if cookie:
            m = re.match(r"__Host-sealpost-session=([^;]*)", cookie)
            self.cookie = m.group(1) if m and m.group(1) else None
            self.last_cookie_header = cookie
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload
        if isinstance(parsed, dict) and "csrf" in parsed:
            self.csrf = parsed["csrf"]
        return status, parsed, h

    # -- flows ----------------------------------------------------------------------------

    def enrol(self, link, key, password=PASSWORD, used_steps=None):
        """Walks the whole enrolment; returns (totp secret, recovery codes)."""
        used_steps = used_steps if used_steps is not None else set()
        token = re.search(r"#t=([A-Za-z0-9_-]+)", link).group(1)
        status, body, _ = self.call("POST", "/portal/api/enrol/start", {"token": token})
        assert status == 200, (status, body)
        status, body, _ = self.call("POST", "/portal/api/enrol/password", {"password": password})
        assert status == 204, (status, body)
        status, body, _ = self.call("POST", "/portal/api/enrol/totp")
        assert status == 200, (status, body)
        secret = body["secret"]
        status, body, _ = self.call("POST", "/portal/api/enrol/totp/confirm",
                                    {"code": fresh_totp(secret, used_steps)})
        assert status == 200, (status, body)
        codes = body["recovery_codes"]
        status, body, _ = self.call("POST", "/portal/api/enrol/key",
                                    {"public_key": key.public, "private_key": key.secret})
        assert status == 200, (status, body)
        return secret, codes

    def sign_in(self, email, secret, used_steps, password=PASSWORD, reset_steps=None):
        status, body, _ = self.call("POST", "/portal/api/sign-in",
                                    {"email": email, "password": password})
        assert status == 200, (status, body)
        status, body, _ = self.call("POST", "/portal/api/sign-in/second-factor",
                                    {"code": fresh_totp(secret, used_steps, reset_steps)})
        assert status == 200, (status, body)
        return body


def add_user(sp, email, *roles):
    args = ["user", "add", "--data", sp.data, "--email", email]
    for r in roles:
        args += ["--role", r]
    out = sp.cli(*args).stdout
    return re.search(r"https://\S+#t=[A-Za-z0-9_-]+", out).group(0)


def audit_rows(sp):
    return sp.sql("SELECT seq, actor, action, object, outcome FROM audit ORDER BY seq")

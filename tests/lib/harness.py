"""Test harness: a real sealpost data directory, real GnuPG keys, the real binary.

Everything runs on loopback with port 0 and in temporary directories, so tests are
hermetic and can run side by side. Used by tests/integration, tests/interop and bench/.

The engine: SQLite (DIR/sealpost.db) unless SEALPOST_TEST_ENGINE=postgres (the
`integration_postgres_*` ctest tests set it, with SEALPOST_TEST_POSTGRES); then every
Sealpost made without `database=` gets a new database of its own in the tests' PostgreSQL
cluster, dropped when it is closed. Tests stay engine-neutral through Sealpost.sql,
copy_data, refuse_inserts and files_containing.
"""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE_FORM = os.path.join(REPO, "examples", "intake.toml")


def test_engine():
    """"sqlite" or "postgres", from $SEALPOST_TEST_ENGINE (default sqlite)."""
    engine = os.environ.get("SEALPOST_TEST_ENGINE") or "sqlite"
    if engine not in ("sqlite", "postgres"):
        raise RuntimeError(f"SEALPOST_TEST_ENGINE={engine!r}: sqlite or postgres")
    return engine


def sealpost_binary():
    path = os.environ.get("SEALPOST_BIN")
    if not path or not os.path.exists(path):
        raise RuntimeError("set SEALPOST_BIN to the sealpost binary (ctest does)")
    return path


def run(cmd, check=True, env=None, input=None):
    """Runs a command, returns CompletedProcess with text output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


class Gpg:
    """A throwaway GnuPG home with keys made by the real gpg."""

    def __init__(self, root):
        self.home = os.path.join(root, "gnupg")
        os.makedirs(self.home, mode=0o700)
        self.env = dict(os.environ, GNUPGHOME=self.home)

    def gpg(self, *args, check=True, input=None):
        return run(["gpg", "--batch", "--yes", "--pinentry-mode", "loopback",
                    "--passphrase", "", *args], check=check, env=self.env, input=input)

    def new_key(self, uid, algo="future-default", usage="default", expire="never"):
        self.gpg("--quick-gen-key", uid, algo, usage, expire)
        out = self.gpg("--list-keys", "--with-colons", uid).stdout
        fprs = re.findall(r"^fpr:+([0-9A-F]{40}):", out, re.M)
        return fprs[0]

    def export_public(self, fpr, path):
        with open(path, "w") as f:
            f.write(self.gpg("--armor", "--export", fpr).stdout)
        return path

    def decrypt(self, path):
        """Returns (plaintext bytes, status text)."""
        proc = subprocess.run(
            ["gpg", "--batch", "--status-fd", "2", "--decrypt", path],
            capture_output=True, env=self.env)
        return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")

    def close(self):
        subprocess.run(["gpgconf", "--kill", "all"], env=self.env, capture_output=True)


class Sealpost:
    """A data directory plus, once started, a running server."""

    def __init__(self, root=None, form_text=None, recipients=1, config_extra="", database=None):
        """`database`: a PostgresDatabase (tests/lib/harness.py) instead of SQLite; without
        it, one of this instance's own when the tests run on PostgreSQL (test_engine())."""
        self.root = root or tempfile.mkdtemp(prefix="sealpost-test-")
        self.data = os.path.join(self.root, "data")
        self.proc = None
        self.bin = sealpost_binary()
        self._owned = []      # databases this instance made, dropped by close()
        self._copies = {}     # data directory of a copy_data() -> its PostgresDatabase
        if database is None and test_engine() == "postgres":
            database = PostgresDatabase()
            self._owned.append(database)
        self.database = database
        self.gpg = Gpg(self.root)
        init = ["init", "--data", self.data]
        if database is not None:
            init += ["--database", database.uri, "--database-password-file",
                     database.password_file(self.root)]
        self.cli(*init)
        if config_extra:
            # The file `init` writes is all comments and section headers, so a test's own
            # settings replace it rather than add a second [section] header.
            with open(os.path.join(self.data, "sealpost.toml"), "w") as f:
                f.write(config_extra + "\n")
            if database is not None:
                set_config_value(self.data, "store", "database", database.uri)
        self.recipients = []
        for i in range(recipients):
            fpr = self.gpg.new_key(f"Recipient {i} <r{i}@example.org>")
            key = self.gpg.export_public(fpr, os.path.join(self.root, f"r{i}.asc"))
            self.cli("key", "import", "--data", self.data, key)
            self.recipients.append(fpr)
        # The server's signing key, so gpg can verify what the server signed (S8).
        server_key = os.path.join(self.data, "server-signing-key.asc")
        self.gpg.gpg("--import", server_key)
        shown = self.gpg.gpg("--with-colons", "--show-keys", server_key).stdout
        self.server_fpr = re.findall(r"^fpr:+([0-9A-F]{40}):", shown, re.M)[0]
        if form_text is None:
            with open(EXAMPLE_FORM) as f:
                form_text = f.read().replace("@DEMO_RECIPIENT_FINGERPRINT@", self.recipients[0])
        if form_text:
            self.add_form(form_text)

    def cli(self, *args, check=True):
        return run([self.bin, *args], check=check)

    def add_form(self, text, name="form.toml"):
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            f.write(text)
        return self.cli("form", "add", "--data", self.data, path)

    # -- server lifecycle -------------------------------------------------------------

    def start(self, extra_env=None, preexec_fn=None, https_listen="127.0.0.1:0",
              extra_args=()):
        """`https_listen`: a fixed ADDR:PORT (a load balancer's server line) instead of
        port 0. `extra_args`: more `serve` options (e.g. --submission-listen 127.0.0.1:0,
        whose bound port lands in submission_port)."""
        env = dict(os.environ, **(extra_env or {}))
        self.stderr_path = os.path.join(self.root, "serve.err")
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--data", self.data, "--https-listen", https_listen,
             "--http-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", *extra_args],
            stdout=subprocess.PIPE, stderr=self.stderr_file, env=env, preexec_fn=preexec_fn)
        self.https_port = self.http_port = self.admin_port = None
        self.submission_port = self.submissions_port = None
        deadline = time.time() + 60
        # The submission lines come before "forms at", the last line printed.
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise AssertionError("server exited before listening: " + self.log())
            if line.startswith("forms at "):
                break
            m = re.match(r"listening (https|http|admin|submissions|submission) [^ ]+:(\d+)", line)
            if m:
                setattr(self, m.group(1) + "_port", int(m.group(2)))
        if self.https_port is None:
            raise AssertionError("server did not print its ports")
        return self

    def log(self):
        if not self.stderr_file.closed:
            self.stderr_file.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._release()
        return rc

    def _release(self):
        self.proc.stdout.close()
        self.stderr_file.close()
        self.proc = None
        self._check_engine()

    def _check_engine(self):
        """On PostgreSQL, nothing fell back to SQLite (a test that rewrote sealpost.toml
        without its `database` line would run there unnoticed)."""
        if self.database is not None and os.path.exists(os.path.join(self.data, "sealpost.db")):
            raise AssertionError("a SQLite store appeared in a PostgreSQL node's data directory")

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self._release()

    def close(self):
        if self.proc is not None:
            self.stop()
        self._check_engine()
        self.gpg.close()
        shutil.rmtree(self.root, ignore_errors=True)
        for db in self._owned:
            db.drop()
        self._owned = []

    # -- the store, whichever the engine ---------------------------------------------

    @property
    def engine(self):
        return "sqlite" if self.database is None else "postgres"

    def _database_of(self, data):
        data = os.path.realpath(data or self.data)
        if data == os.path.realpath(self.data):
            return self.database
        if self.database is None:
            return None
        if data not in self._copies:
            raise AssertionError(f"{data} is not a copy_data() of this instance")
        return self._copies[data]

    def sql(self, query, *params, data=None):
        """Runs one SQL statement in the store of `data` (default this instance's data
        directory; or a copy_data() of it) and commits; returns the rows (tuples) of a
        SELECT. Parameters are `?`; written in SQL both engines accept. On PostgreSQL it
        runs as the cluster's superuser through psql, BYTEA values come back as bytes."""
        db = self._database_of(data)
        if db is None:
            con = sqlite3.connect(os.path.join(data or self.data, "sealpost.db"), timeout=30)
            try:
                rows = con.execute(query, params).fetchall()
                con.commit()
                return rows
            finally:
                con.close()
        return db.rows(query, *params)

    def copy_data(self, dst):
        """Copies the data directory to `dst` together with its store: on PostgreSQL a new
        database made from this one (the server must be stopped), named in the copy's
        sealpost.toml, dropped by close(). Returns `dst`."""
        shutil.copytree(self.data, dst)
        if self.database is not None:
            copy = PostgresDatabase(template=self.database)
            self._owned.append(copy)
            self._copies[os.path.realpath(dst)] = copy
            path = os.path.join(dst, "sealpost.toml")
            with open(path) as f:
                text = f.read()
            line = f'database = "{self.database.uri}"'
            assert line in text, "the copy's sealpost.toml does not name the database"
            with open(path, "w") as f:
                f.write(text.replace(line, f'database = "{copy.uri}"'))
        return dst

    def refuse_inserts(self, table, data=None):
        """Makes every INSERT into `table` fail (a trigger) until allow_inserts(table)."""
        name = f"sealpost_test_refuse_{table}"
        if self._database_of(data) is None:
            self.sql(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END", data=data)
        else:
            self.sql("CREATE OR REPLACE FUNCTION sealpost_test_refuse() RETURNS trigger "
                     "LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'refused by the test'; "
                     "END$$", data=data)
            self.sql(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW "
                     "EXECUTE FUNCTION sealpost_test_refuse()", data=data)

    def allow_inserts(self, table, data=None):
        name = f"sealpost_test_refuse_{table}"
        if self._database_of(data) is None:
            self.sql(f"DROP TRIGGER {name}", data=data)
        else:
            self.sql(f"DROP TRIGGER {name} ON {table}", data=data)

    def files_containing(self, needle, under=None):
        """Every file holding the bytes `needle` at rest: under `under` (default the data
        directory) and, on PostgreSQL, in the cluster: its data directory with the WAL,
        and its log (after a CHECKPOINT, so what is only in shared buffers is on disk)."""
        hits = files_containing(under or self.data, needle)
        if self.database is not None:
            self.database.admin("CHECKPOINT")
            hits += files_containing(self.database.cluster, needle)
        return hits

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- HTTP -------------------------------------------------------------------------

    def connection(self, timeout=30, source=None):
        """`source`: the loopback address the client connects from (the server's limits per
        client address count it apart from 127.0.0.1)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the test data dir's self-signed certificate
        return http.client.HTTPSConnection("127.0.0.1", self.https_port, context=ctx,
                                           timeout=timeout,
                                           source_address=(source, 0) if source else None)

    def request(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        conn = conn or self.connection()
        hdrs = dict(headers or {})
        if body is not None and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        if own:
            conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def get_token(self, form="intake", conn=None):
        status, _, body = self.request("GET", f"/f/{form}", conn=conn)
        assert status == 200, status
        m = re.search(rb'name="_token" value="([^"]+)"', body)
        assert m, "no token in the form"
        return m.group(1).decode()

    def submit(self, fields, form="intake", token=None, conn=None):
        """POSTs a form (list of (name, value) pairs); returns (status, headers, body)."""
        token = token or self.get_token(form, conn=conn)
        pairs = [("_token", token), ("_website", "")] + list(fields)
        return self.request("POST", f"/f/{form}", urllib.parse.urlencode(pairs), conn=conn)

    def export(self, out, form="intake", since=None):
        args = ["export", "--data", self.data, "--form", form, "--out", out]
        if since:
            args += ["--since", since]
        return self.cli(*args)


class PostgresDatabase:
    """A new, empty database in the tests' PostgreSQL cluster (tests/support/postgres.sh,
    the ctest fixture `postgres`; its state directory is $SEALPOST_TEST_POSTGRES), or in
    the cluster whose state directory `state` is (a test's own `postgres.sh start`)."""

    def __init__(self, state=None, template=None):
        """`template`: another PostgresDatabase to copy (CREATE DATABASE ... TEMPLATE;
        nobody may be connected to it)."""
        if template is not None:
            state = template.state
        state = state or os.environ.get("SEALPOST_TEST_POSTGRES")
        if not state:
            raise AssertionError("SEALPOST_TEST_POSTGRES is not set (the ctest fixture "
                                 "`postgres` sets it)")
        def read(name):
            with open(os.path.join(state, name)) as f:
                return f.read().strip()
        self.state = state
        self.admin_uri = read("admin_uri")
        self.password = read("password")
        self.cluster = read("cluster")
        self.name = "it" + os.urandom(6).hex()
        self.uri = read("uri_base") + self.name
        create = f"CREATE DATABASE {self.name} OWNER sealpost"
        if template is None:
            self.admin(create)
        else:
            # A node that has just stopped may still be leaving: PostgreSQL waits up to 5 s
            # for the template's last sessions to end; this waits a little longer.
            for attempt in range(6):
                proc = run(self._psql(self.admin_uri, f"{create} TEMPLATE {template.name}"),
                           check=False)
                if proc.returncode == 0 or "being accessed by other users" not in proc.stderr:
                    break
            if proc.returncode != 0:
                raise AssertionError(f"copying {template.name} failed: {proc.stderr.strip()}")
        _databases.add(self)

    @staticmethod
    def _psql(uri, sql=None):
        cmd = ["psql", uri, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"]
        return cmd + (["-c", sql] if sql is not None else [])

    def admin(self, sql, db=None):
        uri = self.admin_uri if db is None else self.admin_uri.rsplit("/", 1)[0] + "/" + db
        return run(self._psql(uri, sql)).stdout

    def query(self, sql):
        """Runs SQL in this database as the superuser; returns psql's unaligned output."""
        return self.admin(sql, db=self.name)

    def rows(self, sql, *params):
        """Runs one statement with `?` parameters (bound as psql variables, quoted by psql)
        in this database as the superuser; returns the rows of a SELECT as tuples of
        Python values (through json_agg: numbers, text, booleans, None; BYTEA as bytes)."""
        counter = iter(range(1, len(params) + 1))
        text = re.sub(r"\?", lambda _: f":'p{next(counter)}'", sql)
        args = []
        for n, value in enumerate(params, 1):
            args += ["-v", f"p{n}={value}"]
        select = re.match(r"\s*(SELECT|WITH)\b", sql, re.I) is not None
        if select:
            text = f"SELECT coalesce(json_agg(t), '[]') FROM ({text}) t"
        uri = self.admin_uri.rsplit("/", 1)[0] + "/" + self.name
        out = run(self._psql(uri) + args, input=text + ";\n").stdout
        if not select:
            return []

        def value(v):
            if isinstance(v, str) and re.fullmatch(r"\\x(?:[0-9a-f]{2})*", v):
                return bytes.fromhex(v[2:])
            return v
        return json.loads(out, object_pairs_hook=lambda pairs: tuple(value(v) for _, v in pairs))

    def password_file(self, root):
        path = os.path.join(root, "db-password")
        with open(path, "w") as f:
            f.write(self.password)
        os.chmod(path, 0o600)
        return path

    def drop(self):
        self.admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        _databases.discard(self)


# Databases not dropped yet: a test that removes its directory without Sealpost.close()
# still leaves no database behind.
_databases = set()


@atexit.register
def _drop_leftover_databases():
    for db in list(_databases):
        try:
            db.drop()
        except (AssertionError, OSError):
            pass


def files_containing(root, needle):
    """Every file under `root` whose bytes contain `needle` (unreadable files skipped)."""
    hits = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    if needle in f.read():
                        hits.append(path)
            except OSError:
                pass
    return hits


def valid_intake(name="Jürgen Doe"):
    return [
        ("full_name", name), ("date_of_birth", "1980-02-03"), ("email", "j@example.org"),
        ("phone", "+1 202 555 0143"), ("visit_reason", "new"), ("allergies", "none"),
        ("pain_level", "3"), ("contact_methods", "email"), ("contact_methods", "phone"),
        ("preferred_time", "morning"), ("privacy_consent", "yes"), ("signature", name),
    ]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- helpers added for the bad-input / header / CLI tests (additive) ---------------------

def toml_value(value):
    """A Python scalar as TOML text."""
    if isinstance(value, _TomlLiteral):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class _TomlLiteral(str):
    """A value already written in TOML syntax (passed through toml_value unchanged)."""


def set_config_value(data_dir, section, key, value):
    """Sets [section] key = value in DATA/sealpost.toml, inside the existing [section] table.

    `sealpost init` writes every section header (with commented-out settings), so text
    appended with a second `[limits]` header would be a TOML table redefinition; this puts
    the line right under the existing header instead (or adds the section if missing)."""
    path = os.path.join(data_dir, "sealpost.toml")
    with open(path) as f:
        lines = f.read().split("\n")
    line = f"{key} = {toml_value(value)}"
    header = f"[{section}]"
    for i, text in enumerate(lines):
        if text.strip() == header:
            lines.insert(i + 1, line)
            break
    else:
        lines += [header, line]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _sealpost_set_config(self, section, key, value):
    set_config_value(self.data, section, key, value)


def _sealpost_submission_count(self, form="intake"):
    """The `submissions N` count `sealpost form list` prints for a form (None if absent)."""
    out = self.cli("form", "list", "--data", self.data).stdout
    m = re.search(rf"^{re.escape(form)} version \d+ \w+ submissions (\d+)$", out, re.M)
    return int(m.group(1)) if m else None


def _sealpost_tls_socket(self, timeout=30, source=None):
    """A raw TLS socket to the HTTPS listener (no HTTP framing: send bytes yourself)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", self.https_port), timeout=timeout,
                                   source_address=(source, 0) if source else None)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def read_response(sock):
    """Reads one HTTP/1.1 response from a socket; returns (status, headers, body)."""
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    body = resp.read()
    headers = {k.lower(): v for k, v in resp.getheaders()}
    return resp.status, headers, body


def _sealpost_raw_request(self, data, timeout=30):
    """Sends raw bytes over TLS and reads one response: (status, headers, body)."""
    with self.tls_socket(timeout=timeout) as s:
        s.sendall(data)
        return read_response(s)


def _sealpost_http_raw(self, data, timeout=30):
    """Sends raw bytes to the plain-HTTP listener and reads one response."""
    with socket.create_connection(("127.0.0.1", self.http_port), timeout=timeout) as s:
        s.sendall(data)
        return read_response(s)


def request_from(node, source, method, path, body=None, headers=None,
                 content_type="application/x-www-form-urlencoded"):
    """One request to `node` over its own TLS connection from the local address `source`
    (127.0.0.x: each test its own client address); returns (status, body)."""
    with node.tls_socket(source=source) as s:
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        data = b""
        if body is not None:
            data = body.encode()
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(data)}\r\n"
        s.sendall((head + "\r\n").encode() + data)
        status, _, payload = read_response(s)
        return status, payload


def wait_for_status(nodes, source, want, deadline_seconds):
    """Polls GET /f/intake from `source` on every node until each answers `want`; returns
    (all did, the last status seen)."""
    deadline = time.time() + deadline_seconds
    pending = list(nodes)
    last = None
    while pending and time.time() < deadline:
        last = request_from(pending[0], source, "GET", "/f/intake")[0]
        if last == want:
            pending.pop(0)
        else:
            time.sleep(0.1)
    return not pending, last


Sealpost.set_config = _sealpost_set_config
Sealpost.submission_count = _sealpost_submission_count
Sealpost.tls_socket = _sealpost_tls_socket
Sealpost.raw_request = _sealpost_raw_request
Sealpost.http_raw = _sealpost_http_raw


# -- helpers for tests/interop and tests/integration/test_durability.py ---------------


def set_config(sp, section, settings):
    """Sets several `key = value` pairs (values already in TOML syntax) under [section];
    see set_config_value."""
    for key, value in settings.items():
        set_config_value(sp.data, section, key, _TomlLiteral(value))


def generous_rate_limits(sp):
    """Rate limits high enough that a load test measures the store, not the limiter
    (the maxima sealpost.toml accepts)."""
    set_config(sp, "rate_limit", {"per_ip_per_minute": "100000", "per_ip_burst": "100000",
                                  "per_form_per_minute": "10000000",
                                  "per_form_burst": "1000000"})


def new_recipient_home(sp, name, uid):
    """A second, independent GnuPG home holding one new recipient key (imported into
    sealpost) and the server's public signing key. Returns (Gpg, fingerprint); call
    .close() on the Gpg when done (Sealpost.close only stops its own agent)."""
    home = Gpg(os.path.join(sp.root, name))
    fpr = home.new_key(uid)
    key = home.export_public(fpr, os.path.join(sp.root, f"{name}.asc"))
    sp.cli("key", "import", "--data", sp.data, key)
    home.gpg("--import", os.path.join(sp.data, "server-signing-key.asc"))
    return home, fpr


def location_reference(headers, form="intake"):
    """The reference from a 303's Location (/f/FORM/thanks/XXXX-XXXX-XXXX), or None."""
    m = re.fullmatch(rf"/f/{re.escape(form)}/thanks/([0-9A-Z]{{4}}-[0-9A-Z]{{4}}-[0-9A-Z]{{4}})",
                     headers.get("location", ""))
    return m.group(1) if m else None


def sanitizer_reports(sp):
    """Lines of the last server run's stderr that report an ASan/UBSan/LSan finding.
    Readable after stop() or kill9() too (until the next start())."""
    with open(sp.stderr_path, "rb") as f:
        text = f.read().decode(errors="replace")
    return [l for l in text.splitlines()
            if re.search(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|"
                         r"SUMMARY: \w+Sanitizer", l)]

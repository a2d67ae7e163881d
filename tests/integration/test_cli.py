"""The command line (O2): every subcommand has --help; every bad input gives one line on
stderr starting with `sealpost:` and a non-zero exit, and changes nothing; form versions,
form show, export --since; SIGTERM on an idle server exits 0."""

import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

from harness import Sealpost, run, set_config_value, valid_intake

FORM = """
id = "{id}"
title = "{title}"
recipients = ["{fpr}"]

[[fields]]
name = "message"
type = "{type}"
label = "Message"
required = true
"""


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sp = Sealpost()
        cls.bin = cls.sp.bin
        cls.data = cls.sp.data
        cls.fpr = cls.sp.recipients[0]

    @classmethod
    def tearDownClass(cls):
        cls.sp.close()

    # -- helpers ----------------------------------------------------------------------

    def sealpost(self, *args, timeout=60):
        return subprocess.run([self.bin, *args], capture_output=True, text=True, timeout=timeout)

    def assertOneLineError(self, proc, *texts):
        self.assertNotEqual(proc.returncode, 0, proc.stdout)
        lines = proc.stderr.rstrip("\n").split("\n")
        self.assertEqual(len(lines), 1, f"stderr is not one line: {proc.stderr!r}")
        self.assertTrue(lines[0].startswith("sealpost: "), lines[0])
        for t in texts:
            self.assertIn(t, lines[0])
        return lines[0]

    def write(self, name, text):
        path = os.path.join(self.sp.root, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def form_list(self):
        return self.sealpost("form", "list", "--data", self.data).stdout

    def key_list(self):
        return self.sealpost("key", "list", "--data", self.data).stdout

    def add_form_refused(self, text, *texts):
        before = self.form_list()
        path = self.write("refused.toml", text)
        line = self.assertOneLineError(self.sealpost("form", "add", "--data", self.data, path),
                                       *texts)
        self.assertEqual(self.form_list(), before, "a refused form was stored")
        return line

    def import_key(self, fpr, name):
        path = self.sp.gpg.export_public(fpr, os.path.join(self.sp.root, name))
        proc = self.sealpost("key", "import", "--data", self.data, path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc

    # -- help -------------------------------------------------------------------------

    def test_every_subcommand_has_help(self):
        commands = [[], ["init"], ["key"], ["key", "import"], ["key", "list"], ["form"],
                    ["form", "add"], ["form", "list"], ["form", "show"], ["form", "disable"],
                    ["serve"], ["export"]]
        for cmd in commands:
            with self.subTest(cmd=cmd):
                proc = self.sealpost(*cmd, "--help")
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn("Usage", proc.stdout)
                self.assertEqual(proc.stderr, "")
                if cmd and cmd not in (["key"], ["form"]):
                    self.assertIn("--data", proc.stdout)

    def test_usage_errors_are_one_line(self):
        for args in [[], ["nosuch"], ["form", "add"], ["export", "--data", self.data],
                     ["init", "--data"], ["serve", "--data", self.data, "--bogus"]]:
            with self.subTest(args=args):
                self.assertOneLineError(self.sealpost(*args))

    # -- init -------------------------------------------------------------------------

    def test_init_refuses_non_empty_dir(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "keep.txt"), "w") as f:
                f.write("precious")
            before = sorted(os.listdir(d))
            self.assertOneLineError(self.sealpost("init", "--data", d), "not empty")
            self.assertEqual(sorted(os.listdir(d)), before)
            with open(os.path.join(d, "keep.txt")) as f:
                self.assertEqual(f.read(), "precious")
        # An existing data directory is not overwritten either.
        with open(os.path.join(self.data, "sealpost.toml")) as f:
            config = f.read()
        self.assertOneLineError(self.sealpost("init", "--data", self.data))
        with open(os.path.join(self.data, "sealpost.toml")) as f:
            self.assertEqual(f.read(), config)

    # -- form add ---------------------------------------------------------------------

    def test_form_add_malformed_toml(self):
        line = self.add_form_refused('id = "broken"\ntitle = "unterminated\n', "line", "column")
        self.assertRegex(line, r"line 2\b")

    def test_form_add_unknown_field_type(self):
        line = self.add_form_refused(
            FORM.format(id="colours", title="T", fpr=self.fpr, type="colour"), "colour")
        self.assertIn("line", line)

    def test_form_add_duplicate_field_name(self):
        text = FORM.format(id="dupes", title="T", fpr=self.fpr, type="text") + \
            '\n[[fields]]\nname = "message"\ntype = "text"\nlabel = "Again"\n'
        self.add_form_refused(text, "message", "twice")

    def test_form_add_recipient_not_imported(self):
        missing = "0123456789ABCDEF0123456789ABCDEF01234567"
        self.add_form_refused(FORM.format(id="nokey", title="T", fpr=missing, type="text"),
                              missing, "not imported")

    def test_form_add_recipient_expired(self):
        fpr = self.sp.gpg.new_key("Expired <expired@example.org>", expire="seconds=2")
        time.sleep(3)
        self.import_key(fpr, "expired.asc")
        self.assertIn(fpr, self.key_list())
        self.add_form_refused(FORM.format(id="expired", title="T", fpr=fpr, type="text"),
                              fpr, "expired")

    def test_form_add_recipient_revoked(self):
        fpr = self.sp.gpg.new_key("Revoked <revoked@example.org>")
        rev = os.path.join(self.sp.gpg.home, "openpgp-revocs.d", fpr + ".rev")
        with open(rev) as f:
            cert = f.read().replace(":-----BEGIN", "-----BEGIN")
        self.sp.gpg.gpg("--import", input=cert)
        listing = self.sp.gpg.gpg("--list-keys", "--with-colons", fpr).stdout
        self.assertRegex(listing, r"(?m)^pub:r:", "gpg did not revoke the key")
        self.import_key(fpr, "revoked.asc")
        self.add_form_refused(FORM.format(id="revoked", title="T", fpr=fpr, type="text"),
                              fpr, "revoked")

    def test_form_add_sign_only_key(self):
        fpr = self.sp.gpg.new_key("Signer <signer@example.org>", algo="ed25519", usage="sign")
        self.import_key(fpr, "signonly.asc")
        self.add_form_refused(FORM.format(id="signonly", title="T", fpr=fpr, type="text"),
                              fpr, "encrypt")

    def test_key_import_refuses_secret_key(self):
        fpr = self.sp.gpg.new_key("Secret <secret@example.org>")
        path = os.path.join(self.sp.root, "secret.asc")
        with open(path, "w") as f:
            f.write(self.sp.gpg.gpg("--armor", "--export-secret-keys", fpr).stdout)
        with open(path) as f:
            self.assertIn("PRIVATE KEY BLOCK", f.read())
        self.assertOneLineError(self.sealpost("key", "import", "--data", self.data, path),
                                "secret")
        self.assertNotIn(fpr, self.key_list())

    def test_key_import_garbage(self):
        path = self.write("garbage.asc", "this is not a key\n")
        self.assertOneLineError(self.sealpost("key", "import", "--data", self.data, path))
        self.assertOneLineError(self.sealpost("key", "import", "--data", self.data,
                                              os.path.join(self.sp.root, "missing.asc")))

    def test_readd_form_creates_version_2(self):
        v1 = FORM.format(id="revisit", title="First", fpr=self.fpr, type="text")
        v2 = FORM.format(id="revisit", title="Second", fpr=self.fpr, type="textarea")
        out = run([self.bin, "form", "add", "--data", self.data, self.write("r1.toml", v1)]).stdout
        self.assertIn("version 1", out)
        self.assertRegex(self.form_list(), r"(?m)^revisit version 1 enabled submissions 0$")
        out = run([self.bin, "form", "add", "--data", self.data, self.write("r2.toml", v2)]).stdout
        self.assertIn("version 2", out)
        self.assertRegex(self.form_list(), r"(?m)^revisit version 2 enabled submissions 0$")
        self.assertNotRegex(self.form_list(), r"(?m)^revisit version 1")
        shown = self.sealpost("form", "show", "--data", self.data, "revisit")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertRegex(shown.stdout, r"^# form revisit version 2 ")
        self.assertEqual(shown.stdout.split("\n", 1)[1], v2)

    def test_form_show_prints_the_toml(self):
        text = FORM.format(id="shown", title='Shown \\"exactly\\" – ü', fpr=self.fpr, type="text")
        text += "# a comment the owner wrote, kept as written\n"
        run([self.bin, "form", "add", "--data", self.data, self.write("shown.toml", text)])
        shown = self.sealpost("form", "show", "--data", self.data, "shown")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        first, rest = shown.stdout.split("\n", 1)
        self.assertRegex(first, r"^# form shown version 1 \(enabled\), added \d{4}-\d\d-\d\d$")
        self.assertEqual(rest, text)
        self.assertOneLineError(self.sealpost("form", "show", "--data", self.data, "nosuch"),
                                "nosuch")

    def test_form_disable_unknown(self):
        self.assertOneLineError(self.sealpost("form", "disable", "--data", self.data, "nosuch"))

    def test_commands_on_a_missing_data_dir(self):
        missing = os.path.join(self.sp.root, "nowhere")
        for args in [["form", "list"], ["key", "list"], ["export", "--form", "intake", "--out",
                                                         os.path.join(self.sp.root, "o")]]:
            with self.subTest(args=args):
                self.assertOneLineError(self.sealpost(*args, "--data", missing))
        self.assertFalse(os.path.exists(missing))

    # -- serve: configuration ---------------------------------------------------------

    def serve_refused(self, section, key, value, *texts):
        config = os.path.join(self.data, "sealpost.toml")
        with open(config) as f:
            original = f.read()
        try:
            set_config_value(self.data, section, key, value)
            proc = subprocess.Popen([self.bin, "serve", "--data", self.data,
                                     "--https-listen", "127.0.0.1:0",
                                     "--http-listen", "127.0.0.1:0",
                                     "--admin-listen", "127.0.0.1:0"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                self.fail(f"serve started with [{section}] {key} = {value!r}: {out}")
            self.assertNotIn("listening", out)
            return self.assertOneLineError(
                subprocess.CompletedProcess(proc.args, proc.returncode, out, err), *texts)
        finally:
            with open(config, "w") as f:
                f.write(original)

    def test_serve_refuses_tls_1_1(self):
        self.serve_refused("tls", "min_version", "1.1", "1.2")

    def test_serve_refuses_cbc_cipher(self):
        self.serve_refused("tls", "ciphers_tls12", "AES128-SHA")
        self.serve_refused("tls", "ciphers_tls12", "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA")
        self.serve_refused("tls", "ciphers_tls12", "HIGH")

    def test_serve_refuses_unknown_setting(self):
        self.serve_refused("server", "colour", "red", "colour")
        self.serve_refused("limits", "request_timeout_seconds", 1, "request_timeout_seconds")
        self.serve_refused("nosuchsection", "x", 1, "nosuchsection")

    # -- export and the running server ------------------------------------------------

    def start(self):
        self.sp.start()
        self.addCleanup(lambda: self.sp.proc and self.sp.stop())

    def test_export_since(self):
        self.start()
        refs = []
        for i in range(3):
            status, headers, _ = self.sp.submit(valid_intake(f"Person {i}"))
            self.assertEqual(status, 303)
            refs.append(headers["location"].rsplit("/", 1)[1])
        self.assertEqual(self.sp.stop(), 0)

        def exported(since=None):
            out = tempfile.mkdtemp(dir=self.sp.root)
            self.sp.export(out, since=since)
            return sorted(f[:-4] for f in os.listdir(out) if f.endswith(".pgp"))

        self.assertEqual(exported(), sorted(refs))
        self.assertEqual(exported(refs[0]), sorted(refs[1:]))
        self.assertEqual(exported(refs[1]), [refs[2]])
        self.assertEqual(exported(refs[2]), [])

        out = os.path.join(self.sp.root, "bad-since")
        self.assertOneLineError(self.sealpost("export", "--data", self.data, "--form", "intake",
                                              "--out", out, "--since", "0000-0000-0000"))
        self.assertFalse(os.path.exists(out) and os.listdir(out))
        self.assertOneLineError(self.sealpost("export", "--data", self.data, "--form", "intake",
                                              "--out", out, "--since", "../../etc"))
        self.assertOneLineError(self.sealpost("export", "--data", self.data, "--form", "nosuch",
                                              "--out", out), "nosuch")

    def test_sigterm_while_idle_exits_0(self):
        self.start()
        time.sleep(1)
        start = time.monotonic()
        rc = self.sp.stop(sig=signal.SIGTERM, timeout=20)
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - start, 10)


if __name__ == "__main__":
    unittest.main()

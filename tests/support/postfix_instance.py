"""A private Postfix (Debian's postfix package) as a real TLS receiver for the SMTP client's
tests: its own config_directory, queue_directory and data_directory under a temp dir, smtpd
on 127.0.0.1:<port> only, STARTTLS with the test CA's certificate, and every recipient of
sealpost.test delivered by virtual(8) into one Maildir the test reads. No chroot, no system
instance touched (the package's own /etc/postfix is only read for postfix-files).

Postfix must be started by root (master(8) drops to mail_owner itself).
"""

import os
import pwd
import shutil
import socket
import subprocess
import time

SERVICES = """\
{listen} inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
virtual   unix - n n - - virtual
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class PostfixInstance:
    def __init__(self, root, port, cert_chain, key):
        self.root = root
        self.port = port
        self.config = os.path.join(root, "etc")
        self.maildir = os.path.join(root, "mail", "box")
        self.log = os.path.join(root, "postfix.log")
        nobody = pwd.getpwnam("nobody")
        for d in ("etc", "queue", "data", "mail"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        # virtual(8) delivers as nobody; the test reads as root.
        os.chown(os.path.join(root, "mail"), nobody.pw_uid, nobody.pw_gid)
        os.chmod(root, 0o755)
        # Postfix's own state (tlsmgr's PRNG file, caches) belongs to mail_owner.
        postfix_user = pwd.getpwnam("postfix")
        os.chown(os.path.join(root, "data"), postfix_user.pw_uid, postfix_user.pw_gid)
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": os.path.join(root, "queue"),
            "data_directory": os.path.join(root, "data"),
            "meta_directory": "/etc/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mx.sealpost.test",
            "mydomain": "sealpost.test",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            # Only sealpost.test is ours: any other domain is refused at RCPT (554 5.7.1).
            "smtpd_relay_restrictions": "reject_unauth_destination",
            "virtual_mailbox_domains": "sealpost.test",
            "virtual_mailbox_base": os.path.join(root, "mail"),
            "virtual_mailbox_maps": "static:box/",
            "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}",
            "smtpd_tls_security_level": "may",
            "smtpd_tls_cert_file": cert_chain,
            "smtpd_tls_key_file": key,
            # The Received: header says which TLS version and cipher the session used.
            "smtpd_tls_received_header": "yes",
            "smtpd_tls_loglevel": "1",
            "maillog_file": self.log,
            # Postfix writes its log only under these prefixes (default /var, /dev/stdout).
            "maillog_file_prefixes": root,
            "biff": "no",
            "smtputf8_enable": "yes",
        }
        with open(os.path.join(self.config, "main.cf"), "w") as f:
            for k, v in settings.items():
                f.write(f"{k} = {v}\n")
        with open(os.path.join(self.config, "master.cf"), "w") as f:
            f.write(SERVICES.format(listen=f"127.0.0.1:{port}"))

    def postfix(self, *args):
        return subprocess.run(["/usr/sbin/postfix", "-c", self.config] + list(args),
                              capture_output=True, text=True, timeout=60)

    def start(self):
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError("postfix start failed: " + r.stdout + r.stderr + self.log_text())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("postfix did not listen on port %d: %s" % (self.port, self.log_text()))

    def stop(self):
        self.postfix("stop")
        # master(8) exits once its children have; wait for the pid file to go.
        pid = os.path.join(self.root, "queue", "pid", "master.pid")
        deadline = time.monotonic() + 20
        while os.path.exists(pid) and time.monotonic() < deadline:
            time.sleep(0.2)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def wait_for_messages(self, count, timeout=30):
        new = os.path.join(self.maildir, "new")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.isdir(new) and len(os.listdir(new)) >= count:
                files = sorted(os.listdir(new))
                out = []
                for name in files:
                    with open(os.path.join(new, name), "rb") as f:
                        out.append(f.read())
                return out
            time.sleep(0.2)
        raise AssertionError("no delivery into the Maildir: " + self.log_text())

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)

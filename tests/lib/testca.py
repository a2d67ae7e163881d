"""A test certificate authority made with openssl, and the SHA-256 of a certificate's
SubjectPublicKeyInfo (a DANE-EE 3 1 1 record's data). Shared by the SMTP client's interop
tests and the mail delivery tests."""

import hashlib
import os
import subprocess


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, **kwargs)


class TestCA:
    """A CA and leaf certificates (valid, wrong name, expired, self-signed, one-label)."""

    def __init__(self, d):
        self.d = d
        os.makedirs(d, exist_ok=True)
        self.ca_key = os.path.join(d, "ca.key")
        self.ca = os.path.join(d, "ca.pem")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "30",
             "-subj", "/CN=sealpost test CA", "-addext", "basicConstraints=critical,CA:true",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        # `openssl ca` is the only OpenSSL 3.0 command that takes explicit validity dates.
        os.makedirs(os.path.join(d, "newcerts"))
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        self.conf = os.path.join(d, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write(f"""[ca]
default_ca = test
[test]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/newcerts
serial = {d}/serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
""")

    def leaf(self, name, sans, start=None, end=None, self_signed=False):
        key = os.path.join(self.d, name + ".key")
        cert = os.path.join(self.d, name + ".pem")
        san = ",".join("DNS:" + s for s in sans)
        if self_signed:
            run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "30",
                 "-subj", "/CN=" + sans[0], "-addext", "subjectAltName=" + san])
            return cert, key, cert
        csr = os.path.join(self.d, name + ".csr")
        run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + sans[0],
             "-addext", "subjectAltName=" + san])
        dates = ["-days", "30"]
        if start:
            dates = ["-startdate", start, "-enddate", end]
        run(["openssl", "ca", "-batch", "-config", self.conf, "-cert", self.ca, "-keyfile",
             self.ca_key, "-in", csr, "-out", cert, "-notext"] + dates)
        chain = os.path.join(self.d, name + ".chain.pem")
        with open(chain, "wb") as out:
            for part in (cert, self.ca):
                with open(part, "rb") as f:
                    out.write(f.read())
        return cert, key, chain


def spki_sha256(cert):
    pub = run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"]).stdout
    der = run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub).stdout
    return hashlib.sha256(der).hexdigest()



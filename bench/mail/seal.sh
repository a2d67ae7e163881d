#!/usr/bin/env bash
# Benchmark of message-level encryption (issue 9): bench/mail/seal.cpp's figures for PGP/MIME
# and S/MIME (CBC, GCM) of a 5 KB and a 1 MB message. Makes a throwaway server signing key
# (sealpost init), a recipient OpenPGP key (gpg's future-default: Ed25519 with a Curve25519
# encryption subkey) and RSA 2048 certificates (openssl) in a temporary directory, removed
# afterwards. Usage: bench/mail/seal.sh [BUILD_DIR] (default build/asan, configured with
# -DSEALPOST_BENCH=ON: the asan preset leaves the bench tools out; a release build gives the
# figures worth quoting).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/asan}
tmp=$(mktemp -d)
trap 'gpgconf --homedir "$tmp/gnupg" --kill all >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

"$build/src/app/sealpost" init --data "$tmp/data" >/dev/null
mkdir -m 700 "$tmp/gnupg"
gpg --homedir "$tmp/gnupg" --batch --pinentry-mode loopback --passphrase '' \
  --quick-gen-key 'Patient <patient@example.net>' future-default default never 2>/dev/null
gpg --homedir "$tmp/gnupg" --armor --export patient@example.net >"$tmp/recipient.asc"
for who in org recipient; do
  usage=keyEncipherment
  [[ $who == org ]] && usage=digitalSignature
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/$who.key" -out "$tmp/$who.pem" \
    -days 2 -subj "/CN=$who" -addext "keyUsage=$usage" \
    -addext "extendedKeyUsage=emailProtection" \
    -addext "subjectAltName=email:$who@example.net" 2>/dev/null
done
echo "## Message-level encryption ($(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg))"
"$build/bench/sealpost_mail_seal_bench" "$tmp/data/secrets/server-signing-key.sec.asc" \
  "$tmp/recipient.asc" "$tmp/org.pem" "$tmp/org.key" "$tmp/recipient.pem"

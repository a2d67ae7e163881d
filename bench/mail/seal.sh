#!/usr/bin/env bash
# Benchmark of message-level encryption (issue 9): bench/mail/seal.cpp's figures for PGP/MIME
# and S/MIME (CBC, GCM) of a 5 KB and a 1 MB message, msgs/s and p50/p99 per message, and in
# the same run a reference per message on the same body bytes: `gpg --sign --encrypt --armor`
# (same key types: Ed25519 signature, Curve25519 recipient; no compression, as sealpost) and
# `openssl cms -sign | openssl cms -encrypt` (same RSA-2048 certificates, same cipher). The
# references run one process per message (bench/mail/reftime.py), so process start-up is in
# their time: it is what a script around those tools pays.
# Makes a throwaway server signing key (sealpost init), OpenPGP keys (gpg's future-default)
# and RSA 2048 certificates (openssl) in a temporary directory, removed afterwards.
# Usage: bench/mail/seal.sh [BUILD_DIR] (default build/release; needs SEALPOST_BENCH on, as
# the release preset has it). Prints figures; asserts nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
for tool in gpg gpgconf openssl python3; do
  command -v "$tool" >/dev/null || { [[ $(id -u) == 0 ]] && apt-get install -y -qq gnupg openssl python3 >/dev/null; }
done
[[ -x "$build/bench/sealpost_mail_seal_bench" ]] ||
  { echo "seal.sh: no $build/bench/sealpost_mail_seal_bench (ninja -C $build sealpost sealpost_mail_seal_bench)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'gpgconf --homedir "$tmp/gnupg" --kill all >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

"$build/src/app/sealpost" init --data "$tmp/data" >/dev/null
mkdir -m 700 "$tmp/gnupg"
for who in patient@example.net clinic@example.net; do
  gpg --homedir "$tmp/gnupg" --batch --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "$who" future-default default never 2>/dev/null
done
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

# The references, on the same text body seal.cpp builds (lines of 76 characters).
gpg="gpg --homedir $tmp/gnupg --batch --yes --trust-model always --pinentry-mode loopback"
gpg="$gpg --passphrase '' -u clinic@example.net -r patient@example.net --compress-algo none --armor --sign --encrypt"
for bytes in 5120 1048576; do
  python3 - "$bytes" "$tmp/body.$bytes" <<'PYEOF'
import sys
n, line, out = int(sys.argv[1]), ("The results of your examination are attached below; call us "
                                   "with questions.\n"), ""
out = line * (n // len(line))
out += "x" * (n - len(out))
open(sys.argv[2], "w").write(out)
PYEOF
  python3 "$here/reftime.py" "ref gpg --sign --encrypt" "$tmp/body.$bytes" "$gpg"
  for cipher in cbc gcm; do
    python3 "$here/reftime.py" "ref openssl cms sign|enc ${cipher^^}" "$tmp/body.$bytes" \
      "openssl cms -sign -signer $tmp/org.pem -inkey $tmp/org.key | openssl cms -encrypt -aes-256-$cipher $tmp/recipient.pem"
  done
done

#!/usr/bin/env bash
# Installs what sealpost needs, builds it (release), creates a demo data directory and
# serves the example intake form on https://localhost:8443/f/intake.
# DEMO ONLY: the recipient's secret key is written next to the data so you can decrypt
# what you submit. A real installation never has a recipient secret key on the server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

./scripts/install-deps.sh

cmake --preset release >/dev/null
ninja -C build/release sealpost
BIN=$ROOT/build/release/src/app/sealpost

DEMO=$ROOT/demo
DATA=$DEMO/data
export GNUPGHOME=$DEMO/DEMO-ONLY-recipient-gnupg
if [ ! -d "$DATA" ]; then
  mkdir -p "$DEMO"
  mkdir -m 700 -p "$GNUPGHOME"
  gpg --batch --pinentry-mode loopback --passphrase '' \
      --quick-gen-key 'Demo Recipient (DEMO ONLY) <demo-recipient@localhost>' \
      future-default default never 2>/dev/null
  FPR=$(gpg --list-keys --with-colons | awk -F: '/^fpr/{print $10; exit}')
  gpg --armor --export "$FPR" > "$DEMO/demo-recipient.asc"
  gpg --armor --pinentry-mode loopback --passphrase '' --export-secret-keys "$FPR" \
      > "$DEMO/DEMO-ONLY-recipient-secret-key.asc"
  chmod 600 "$DEMO/DEMO-ONLY-recipient-secret-key.asc"
  "$BIN" init --data "$DATA" --hostname localhost
  "$BIN" key import --data "$DATA" "$DEMO/demo-recipient.asc"
  sed "s/@DEMO_RECIPIENT_FINGERPRINT@/$FPR/" examples/intake.toml > "$DEMO/intake.toml"
  "$BIN" form add --data "$DATA" "$DEMO/intake.toml"
  gpg --import "$DATA/server-signing-key.asc" 2>/dev/null
fi

cat <<EOT

sealpost demo
  Form:          https://localhost:8443/f/intake   (self-signed certificate: accept it)
  HTTP:          http://localhost:8080/f/intake    (redirects to HTTPS, nothing else)

After submitting, in another terminal:
  $BIN export --data $DATA --form intake --out $DEMO/export
  GNUPGHOME=$GNUPGHOME gpg --decrypt $DEMO/export/<REFERENCE>.pgp

The demo recipient's secret key (DEMO ONLY) is $DEMO/DEMO-ONLY-recipient-secret-key.asc;
the server's signature verifies with $DATA/server-signing-key.asc (already imported above).
Stop the server with Ctrl-C.

EOT
exec "$BIN" serve --data "$DATA"

#!/usr/bin/env bash
# Installs everything sealpost needs to build, run and test on Debian 12.
# Idempotent: a second run installs nothing new. Needs root or sudo for apt.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Build tools and libraries (see docs/ARCHITECTURE.md for why each is here).
BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system-dev
  libssl-dev openssl
  librnp-dev
  libsqlite3-dev sqlite3
  libpq-dev        # the PostgreSQL engine (src/store/engine/postgres)
  nlohmann-json3-dev
  libtomlplusplus-dev
  libkainjow-mustache-dev
  libutf8proc-dev
  libphonenumber-dev
  libre2-dev       # linear-time matching of declared field patterns
  libsodium-dev
  libqrencode-dev  # QR codes of the TOTP enrolment URI (src/auth/qr.cpp)
  libcli11-dev
  libspdlog-dev libfmt-dev
  prometheus-cpp-dev  # /metrics on the admin listener (core library only, no civetweb)
  libsystemd-dev   # sd_notify: READY=1 once every listener is bound, STOPPING=1 on drain
  libunbound-dev dns-root-data  # mail DNS with DNSSEC (src/mail/dns); the root trust anchor
  libgmime-3.0-dev libidn2-dev  # outbound MIME (src/mail/mime); IDNA for address domains
  gnupg            # the demo makes its recipient key with gpg; tests decrypt with it
)

# Tests: sanitizers and libFuzzer (clang), and the real peers we prove interop against.
TEST_PKGS=(
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format
  gnupg
  testssl.sh bsdextrautils
  curl
  python3
  nginx-light
  postgresql postgresql-client  # the tests' throw-away cluster (tests/support/postgres.sh)
  util-linux       # runuser: PostgreSQL will not run as root
  haproxy          # tests/integration/test_proxy.py, test_cluster.py: a real load balancer (PROXY v2)
  nsd ldnsutils    # tests/support/dns.sh: the DNSSEC-signed test zone (ldns-signzone), served by NSD
  procps psmisc
  systemd          # systemd-analyze verify packaging/sealpost.service
  python3-dkim python3-nacl  # tests/interop/test_dkim.py: dkimpy verifies our DKIM (nacl: Ed25519)
  python3-aiosmtpd # tests/support/smtp_sink.py: the real SMTP receiver of the SMTP client tests
  python3-cryptography  # tests/integration/test_mail_portal.py: an AES-GCM that is not ours opens the portal's ciphertext
  postfix          # tests/interop/test_smtp_postfix.py: private instances only (never the system one)
  sq rnp           # tests/integration/test_mail_secure.py: Sequoia and RNP's CLI decrypt and verify our PGP/MIME
  opendkim         # bench/mail/run.sh: Postfix's DKIM signer in the outbound mail benchmark (private instances)
  swaks            # tests/integration/test_submission.py: drives SMTP submission (STARTTLS, AUTH, pipelining)
  libnet-ssleay-perl libio-socket-ssl-perl  # swaks's TLS (only "recommended" by Debian's swaks)
  libsasl2-modules # tests/interop/test_submission_postfix.py: Postfix's SASL client (PLAIN, LOGIN)
)

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--with-tests" ]; then want+=("${TEST_PKGS[@]}"); fi
# The staff portal's front end pins openpgp.js from npm (web/portal/package-lock.json); the
# browser tests drive Debian's Chromium with playwright-core (tests/browser/). Machines that
# already have node and npm (for example from another Debian source) keep theirs.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  want+=(nodejs npm)
fi
if [ "${1:-}" = "--with-tests" ]; then want+=(chromium); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks how to configure the system instance; the tests run private instances only.
  if printf '%s\n' "${missing[@]}" | grep -qx 'postfix'; then
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # nginx is a benchmark reference only: never leave Debian's default site running.
  if printf '%s\n' "${missing[@]}" | grep -q '^nginx'; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true
  fi
  # NSD serves only the tests' own zone (tests/support/dns.sh): never Debian's default one.
  if printf '%s\n' "${missing[@]}" | grep -q '^nsd$'; then
    $SUDO systemctl disable --now nsd >/dev/null 2>&1 || $SUDO service nsd stop >/dev/null 2>&1 || true
  fi
  # Nor a system Postfix on port 25: tests start their own (tests/support/postfix_instance.py).
  if printf '%s\n' "${missing[@]}" | grep -qx 'postfix'; then
    $SUDO systemctl disable --now postfix >/dev/null 2>&1 || $SUDO service postfix stop >/dev/null 2>&1 || true
  fi
else
  echo "install-deps: everything already installed"
fi

# npm packages, exactly as locked. A stamp of the lock file's hash inside node_modules tells
# whether what is installed is what is locked; anything else is removed and installed anew.
npm_ci() {
  local dir=$1
  local lock_hash stamp
  lock_hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  stamp="$dir/node_modules/.sealpost-lock-sha256"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
    return 0
  fi
  echo "install-deps: npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >"$stamp"
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
npm_ci "$ROOT/web/portal"
if [ "${1:-}" = "--with-tests" ]; then npm_ci "$ROOT/tests/browser"; fi

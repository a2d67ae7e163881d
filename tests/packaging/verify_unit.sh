#!/usr/bin/env bash
# Checks packaging/sealpost.service with `systemd-analyze verify` (O3). The unit names
# /usr/bin/sealpost, which a build tree does not have, so a copy whose ExecStart points at
# the binary under test is verified instead; everything else is the file as shipped.
# Fails on an error, and on any warning systemd prints about this unit. Without
# systemd-analyze: skipped (ctest code 77) on a workstation, failed when CI=true.
set -euo pipefail

unit=${1:?usage: verify_unit.sh UNIT SEALPOST_BINARY}
binary=${2:?usage: verify_unit.sh UNIT SEALPOST_BINARY}

if ! command -v systemd-analyze >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "verify_unit: systemd-analyze not found (apt package systemd; scripts/install-deps.sh --with-tests)" >&2
    exit 1
  fi
  echo "verify_unit: systemd-analyze not found: skipped" >&2
  exit 77
fi

# The hardening the unit promises (docs/OPERATIONS.md): a directive removed or weakened
# fails here, not in production.
for want in 'Type=notify' 'User=sealpost' 'ProtectSystem=strict' 'ReadWritePaths=/var/lib/sealpost' \
  'NoNewPrivileges=yes' 'PrivateTmp=yes' 'MemoryDenyWriteExecute=yes' \
  'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' 'AmbientCapabilities=CAP_NET_BIND_SERVICE' \
  'ProtectHome=yes' 'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'SystemCallFilter=@system-service' \
  'LockPersonality=yes' 'RestrictNamespaces=yes'; do
  if ! grep -qxF "$want" "$unit"; then
    echo "verify_unit: $unit lacks the line '$want'" >&2
    exit 1
  fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -q '^ExecStart=/usr/bin/sealpost serve ' "$unit" || {
  echo "verify_unit: $unit has no 'ExecStart=/usr/bin/sealpost serve ...' line" >&2
  exit 1
}
sed "s|^ExecStart=/usr/bin/sealpost |ExecStart=$binary |" "$unit" >"$tmp/sealpost.service"

# --man=no: the Documentation= link is not a man page to look up.
if ! systemd-analyze verify --man=no "$tmp/sealpost.service" >"$tmp/out" 2>&1; then
  cat "$tmp/out" >&2
  echo "verify_unit: systemd-analyze verify failed" >&2
  exit 1
fi
# Warnings about other units on the machine are not ours; about this one they are.
if grep -i 'sealpost' "$tmp/out" >&2; then
  echo "verify_unit: systemd-analyze verify warned about the unit" >&2
  exit 1
fi
echo "verify_unit: $unit verified"

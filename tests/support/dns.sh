#!/usr/bin/env bash
# Starts (or stops) a throw-away authoritative DNS server for the tests: NSD serving the
# DNSSEC-signed zone sealpost.example. (signed here with ldns-signzone, fresh keys at every
# start) and its unsigned child unsigned.sealpost.example., on 127.0.0.1 at a free port.
# Used as the ctest fixture `dns` (tests/CMakeLists.txt). libunbound validates against it
# directly (the server is its forwarder; the trust anchor is the test zone's DS).
#
# Why sealpost.example. and not sealpost.test.: unbound (and so libunbound) serves `test.`
# itself as a locally served zone (RFC 6761), answering NXDOMAIN without asking anyone, so
# a resolver configured with nothing but `resolver = ADDR@PORT` could never reach a .test
# zone. `example.` is reserved too (RFC 2606) but not served locally.
#
#   dns.sh start DIR [EXTRA]  builds the zone from tests/support/dns/*.zone.in, appends the
#                             records of the file EXTRA (zone-file lines, relative to
#                             sealpost.example.) to the signed zone, signs, breaks the
#                             signatures of the `bogus` names, starts NSD. Writes
#                             DIR/address, DIR/port, DIR/resolver ("127.0.0.1@PORT", the
#                             form ResolverOptions takes), DIR/trust-anchor (DS of
#                             sealpost.example.), and DIR/ready last.
#   dns.sh stop DIR           stops NSD and removes DIR
#
# As root, NSD drops to the `nsd` user that Debian's package creates; it only needs to read
# the zone files, so DIR/server is made world-readable.
set -euo pipefail

cmd=${1:?usage: dns.sh start|stop DIR [EXTRA_RECORDS_FILE]}
dir=${2:?usage: dns.sh start|stop DIR [EXTRA_RECORDS_FILE]}
extra=${3:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
zone=sealpost.example
child=unsigned.sealpost.example
address=127.0.0.1

for tool in nsd ldns-keygen ldns-signzone ldns-key2ds drill; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    echo "dns.sh: $tool not found (apt packages nsd, ldnsutils; scripts/install-deps.sh --with-tests)" >&2
    exit 1
  fi
done
nsd_bin=$(command -v nsd || echo /usr/sbin/nsd)

case "$cmd" in
  start)
    "$0" stop "$dir" || true
    if [ -n "$extra" ] && [ ! -r "$extra" ]; then
      echo "dns.sh: cannot read extra records file $extra" >&2
      exit 1
    fi
    mkdir -p "$dir/server"
    dir=$(cd "$dir" && pwd)
    srv=$dir/server
    chmod 0755 "$dir" "$srv"

    # A free port for UDP and TCP alike (NSD binds both; a race with another process is
    # possible but unlikely on loopback, and the start then fails loudly).
    port=$(/usr/bin/python3 - "$address" <<'PY'
import socket, sys
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind((sys.argv[1], 0))
    p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind((sys.argv[1], p))
    except OSError:
        t.close()
        continue
    print(p)
    break
PY
)
    [ -n "$port" ] || { echo "dns.sh: no free port" >&2; exit 1; }

    sed "s/@NS_ADDR@/$address/g" "$here/dns/$zone.zone.in" >"$srv/$zone.zone"
    if [ -n "$extra" ]; then
      printf '\n; extra records from %s\n$ORIGIN %s.\n' "$extra" "$zone" >>"$srv/$zone.zone"
      cat "$extra" >>"$srv/$zone.zone"
    fi
    sed "s/@NS_ADDR@/$address/g" "$here/dns/$child.zone.in" >"$srv/$child.zone"

    # One ECDSA P-256 key with the SEP flag signs everything (a combined signing key).
    (cd "$srv" && ldns-keygen -a ECDSAP256SHA256 -k "$zone." >"$srv/keyname")
    key=$(cat "$srv/keyname")
    # Signatures valid from an hour ago (clock skew) for 30 days.
    inception=$(date -u -d '1 hour ago' +%Y%m%d%H%M%S)
    expiration=$(date -u -d '30 days' +%Y%m%d%H%M%S)
    (cd "$srv" && ldns-signzone -n -i "$inception" -e "$expiration" -f "$zone.zone.signed" \
      "$zone.zone" "$key")

    # Break three signatures: change the RDATA of signed records without signing again.
    # Each change is checked, so a new ldns output format cannot silently leave them valid.
    signed=$srv/$zone.zone.signed
    break_record() {
      local from=$1 to=$2
      if ! grep -qF -- "$from" "$signed"; then
        echo "dns.sh: cannot find '$from' in the signed zone to make it bogus" >&2
        exit 1
      fi
      sed -i "s|$from|$to|" "$signed"
    }
    break_record '127.0.0.66' '127.0.0.99'
    break_record 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' \
      'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbc'
    break_record '"v=spf1 -all"' '"v=spf1 +all"'

    ldns-key2ds -n -2 "$srv/$key.key" >"$srv/trust-anchor"

    cat >"$srv/nsd.conf" <<CONF
server:
  ip-address: $address@$port
  port: $port
  server-count: 1
  ip4-only: yes
  zonesdir: "$srv"
  zonelistfile: "$srv/zone.list"
  xfrdfile: "$srv/xfrd.state"
  xfrdir: "$srv"
  pidfile: "$srv/nsd.pid"
  logfile: "$srv/nsd.log"
  database: ""
  chroot: ""
  verbosity: 1
  hide-version: yes
remote-control:
  control-enable: no
zone:
  name: "$zone."
  zonefile: "$zone.zone.signed"
zone:
  name: "$child."
  zonefile: "$child.zone"
CONF
    # As root NSD drops to the `nsd` user after binding; it writes its xfrd state here.
    # As anyone else it runs as that user (no user switch).
    if [ "$(id -u)" -eq 0 ]; then
      chown nsd:nsd "$srv"
    else
      sed -i 's/^server:$/server:\n  username: ""/' "$srv/nsd.conf"
    fi
    chmod 0644 "$srv"/*
    /usr/sbin/nsd-checkconf "$srv/nsd.conf"
    "$nsd_bin" -c "$srv/nsd.conf"

    # Ready when it answers the signed zone's SOA over UDP.
    for _ in $(seq 1 100); do
      if drill -p "$port" "$zone." SOA @"$address" 2>/dev/null | grep -q 'rcode: NOERROR'; then
        break
      fi
      sleep 0.1
    done
    if ! drill -p "$port" "$zone." SOA @"$address" 2>/dev/null | grep -q 'rcode: NOERROR'; then
      echo "dns.sh: NSD did not answer on $address:$port" >&2
      cat "$srv/nsd.log" >&2 || true
      exit 1
    fi
    echo "$address" >"$dir/address"
    echo "$port" >"$dir/port"
    echo "$address@$port" >"$dir/resolver"
    cp "$srv/trust-anchor" "$dir/trust-anchor"
    chmod 0644 "$dir"/address "$dir"/port "$dir"/resolver "$dir"/trust-anchor
    touch "$dir/ready"
    echo "dns.sh: NSD serving $zone. (signed) and $child. on $address:$port ($dir)"
    ;;
  stop)
    if [ -f "$dir/server/nsd.pid" ]; then
      pid=$(cat "$dir/server/nsd.pid")
      if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 50); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 0.1
        done
      fi
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: dns.sh start|stop DIR [EXTRA_RECORDS_FILE]" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Checks what eventsys needs from the system and installs what is missing when it can.
#   ./bootstrap.sh run    serving the app: Python venv, Pango for WeasyPrint, Noto fonts (Hangul, Arabic, ...)
#   ./bootstrap.sh test   the above, plus what the test suite needs: Chromium, poppler-utils, and the local
#                         PostgreSQL (127.0.0.1:5432, user root, database test, trust auth) and Redis
#                         (127.0.0.1:6379) that the concurrency and shared-throttling tests use.
# As root on Debian it installs and starts them; otherwise it prints the exact commands and stops with an
# error. It never skips anything silently.
set -euo pipefail

purpose="${1:-run}"
run_packages=(libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-core fonts-noto-cjk)
test_packages=(chromium poppler-utils postgresql redis-server)

packages=("${run_packages[@]}")
if [[ "$purpose" == "test" ]]; then
  packages+=("${test_packages[@]}")
fi

say() { echo "bootstrap: $*" >&2; }
is_root() { [[ "$(id -u)" == "0" ]]; }

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  say "$python not found. Install Python 3.11: apt-get install -y python3 python3-venv"
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  say "eventsys needs Python 3.11 or newer; $python is $("$python" --version 2>&1)."
  exit 1
fi
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  packages+=(python3-venv)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  say "this is not a Debian-like system, so I cannot check system packages."
  say "install the equivalents of: ${packages[*]}"
  exit 1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# A service that already answers on its port counts as present, however it was installed.
service_answers() {
  case "$1" in
    postgresql) command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432 ;;
    redis-server) command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

missing=()
for pkg in "${packages[@]}"; do
  if ! installed "$pkg" && ! service_answers "$pkg"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  say "missing system packages: ${missing[*]}"
  if is_root && command -v apt-get >/dev/null 2>&1; then
    say "installing them with apt-get (root)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    say "installed ${missing[*]}."
  else
    say "run this as root, then try again:"
    say "    sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
fi

[[ "$purpose" == "test" ]] || exit 0

# --- services for the test suite ------------------------------------------------------------------------

if ! service_answers postgresql; then
  if ! is_root; then
    say "PostgreSQL is not answering on 127.0.0.1:5432. Start it as root:"
    say "    pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
    exit 1
  fi
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! psql -h 127.0.0.1 -p 5432 -U root -d test -Atc "select 1" >/dev/null 2>&1; then
  if ! is_root; then
    say "PostgreSQL answers, but user root cannot reach database test over 127.0.0.1 without a password."
    say "As root: create the role and database, and trust local TCP connections for it:"
    say "    su postgres -c \"createuser --superuser root\"; su postgres -c \"createdb --owner root test\""
    say "    and add 'host test,all root 127.0.0.1/32 trust' at the top of pg_hba.conf, then reload."
    exit 1
  fi
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  say "creating the test role and database (root, test) and trusting 127.0.0.1 for them in $hba"
  su postgres -c "psql -Atc \"select 1 from pg_roles where rolname = 'root'\"" | grep -q 1 \
    || su postgres -c "createuser --superuser root"
  su postgres -c "psql -Atc \"select 1 from pg_database where datname = 'test'\"" | grep -q 1 \
    || su postgres -c "createdb --owner root test"
  if ! grep -q "^host[[:space:]]\+all[[:space:]]\+root[[:space:]]\+127.0.0.1/32[[:space:]]\+trust" "$hba"; then
    sed -i "1i host all root 127.0.0.1/32 trust" "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
  psql -h 127.0.0.1 -p 5432 -U root -d test -Atc "select 1" >/dev/null
fi

if ! service_answers redis-server; then
  if ! is_root; then
    say "Redis is not answering on 127.0.0.1:6379. Start it:"
    say "    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"
    exit 1
  fi
  say "starting Redis on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do service_answers redis-server && break; sleep 1; done
fi
exit 0

#!/usr/bin/env bash
# Checks the Debian packages eventsys needs and installs the missing ones when it can.
#   ./bootstrap.sh run    what serving the app needs (Python venv, Pango for WeasyPrint, Noto fonts)
#   ./bootstrap.sh test   the above plus what the test suite needs (Chromium, poppler-utils)
# As root on Debian it runs apt-get; otherwise it prints the exact command and stops with an error.
# It never skips anything silently.
set -euo pipefail

purpose="${1:-run}"
run_packages=(libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-core fonts-noto-cjk)
test_packages=(chromium poppler-utils)

packages=("${run_packages[@]}")
if [[ "$purpose" == "test" ]]; then
  packages+=("${test_packages[@]}")
fi

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "bootstrap: $python not found. Install Python 3.11: apt-get install -y python3 python3-venv" >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "bootstrap: eventsys needs Python 3.11 or newer; $python is $("$python" --version 2>&1)." >&2
  exit 1
fi
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  packages+=(python3-venv)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "bootstrap: this is not a Debian-like system, so I cannot check system packages." >&2
  echo "bootstrap: install the equivalents of: ${packages[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "bootstrap: missing system packages: ${missing[*]}" >&2
if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: installing them with apt-get (root)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  echo "bootstrap: installed ${missing[*]}." >&2
  exit 0
fi
echo "bootstrap: run this as root, then try again:" >&2
echo "    sudo apt-get install -y ${missing[*]}" >&2
exit 1

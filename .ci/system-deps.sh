#!/usr/bin/env bash
# Debian packages the test suite drives as real parts (a browser, Prometheus, compose ...).
# Usage: .ci/system-deps.sh PACKAGE...   (the Makefile passes SYSTEM_PACKAGES)
# Installed packages are left alone. Missing ones are installed with apt-get when this runs
# as root (CI: a clean Debian bookworm machine); otherwise it stops with the one command to run.
set -euo pipefail
missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
command -v apt-get >/dev/null || {
  echo "system-deps: missing ${missing[*]} and no apt-get here; install them with your package manager" >&2
  exit 1
}
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing Debian packages: ${missing[*]}. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Installs those of the named Debian packages that are missing, saying which, and nothing else:
#   tests/debs.sh WHY PACKAGE...
# Another apt or dpkg at work (an unattended upgrade, a second install) is waited for — up to ten
# minutes, apt's DPkg::Lock::Timeout — instead of failing on its lock. Exit 1 naming what could not
# be installed.
set -uo pipefail
why=${1:?usage: tests/debs.sh WHY PACKAGE...}; shift
missing=()
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${#missing[@]} Debian package(s) for $why: ${missing[*]}" >&2
SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
apt=($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=2)
install() { "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The package lists may be missing or old on a fresh machine: update them once when the first try fails.
install || { "${apt[@]}" update -qq >"$log" 2>&1 && install; } || {
  echo "could not install ${missing[*]} for $why; apt-get said:" >&2; tail -5 "$log" >&2; exit 1; }

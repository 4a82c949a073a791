#!/usr/bin/env bash
# Installs the Debian packages named, as root or through sudo, saying what it installs on
# stderr (stdout stays the caller's). The scripts that need packages call it when something
# is missing.
set -euo pipefail
[ $# -gt 0 ] || exit 0
echo "Installing: $*" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install $*" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq "$@" >/dev/null

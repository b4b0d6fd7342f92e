#!/usr/bin/env bash
# Installs the Debian packages OneVoice needs when they are missing and apt-get is available;
# otherwise says what to install. `--optional` only warns when they cannot be installed.
set -euo pipefail

optional=0
if [ "${1:-}" = "--optional" ]; then optional=1; shift; fi

missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "Missing system packages: ${missing[*]}. Run as root: apt-get install -y ${missing[*]}" >&2
      [ $optional -eq 1 ] && exit 0 || exit 1
    fi
  fi
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    exit 0
  fi
  echo "apt-get could not install: ${missing[*]}" >&2
else
  echo "Missing system packages: ${missing[*]}. Install them with your package manager" \
       "(Debian/Ubuntu names; on macOS: brew install ffmpeg espeak-ng, apertium from its site)." >&2
fi
[ $optional -eq 1 ] && exit 0 || exit 1

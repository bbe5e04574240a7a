#!/usr/bin/env bash
# Makes sure the `janus` binary (Debian/Ubuntu package `janus`, with the AudioBridge) is present.
set -euo pipefail
if command -v janus >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "Janus is missing. Install it as root: apt-get install janus" >&2; exit 1
    fi
  fi
  echo "Installing Janus (Debian package 'janus')..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq janus >/dev/null
else
  echo "Janus is missing. Install Janus 1.1.x with the AudioBridge plugin (Debian/Ubuntu: apt-get install janus)." >&2
  exit 1
fi

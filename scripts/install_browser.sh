#!/usr/bin/env bash
# Chromium for the browser test (tests/test_steward_ui.py), from the Debian package:
# Playwright drives it through executable_path and never downloads a browser of its own.
# Skips the install when a chromium is already there; needs root (or sudo) otherwise.
set -euo pipefail

CHROMIUM="${LABELGATE_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  echo "chromium already installed: $CHROMIUM"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install_browser.sh: chromium is missing and installing it needs root (apt-get install -y chromium)" >&2
    exit 1
  fi
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
"$CHROMIUM" --version

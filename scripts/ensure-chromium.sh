#!/usr/bin/env bash
# Make sure a Chromium exists for kaleido's static figure export and the browser test.
# Installs Debian's `chromium` package when running as root with apt; never downloads a browser build.
set -u
for exe in chromium chromium-browser google-chrome; do
  if command -v "$exe" >/dev/null 2>&1; then exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "rnnlab: installing Debian's chromium (for PNG figure export and the browser test) ..."
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
    exit 0
  fi
  echo "rnnlab: could not install chromium with apt-get (no network to Debian's mirrors?)." >&2
fi
echo "rnnlab: no chromium found: PNG figures are skipped (HTML still written) and the browser test skips." \
     "Install it with 'sudo apt-get install chromium'." >&2
exit 0

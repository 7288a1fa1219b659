# Make sure Debian's Chromium is installed for the browser test (scripts/browser_test.py drives it
# with Playwright; Playwright's own browser download is never used). Run or source it; installs
# the apt package `chromium` when it is missing and apt-get can be used (as root, as in CI).
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "==> installing Chromium (apt package chromium) for the browser test"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "error: no Chromium at $CHROMIUM; install it (sudo apt-get install chromium) or set CHROMIUM" >&2
    exit 1
  fi
fi
export CHROMIUM

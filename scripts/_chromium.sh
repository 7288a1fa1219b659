# Make sure Debian's Chromium is installed for the browser test (scripts/browser_test.py drives it
# with Playwright; Playwright's own browser download is never used). Run or source it; installs
# the apt package `chromium` when it is missing and apt-get can be used (as root, as in CI).
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
source "$(dirname "${BASH_SOURCE[0]}")/_apt_install.sh"
if [ ! -x "$CHROMIUM" ]; then
  apt_install chromium "Chromium for the browser test (or set CHROMIUM)"
fi
export CHROMIUM

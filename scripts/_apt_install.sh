# apt_install PACKAGE WHY: install a Debian package when apt-get can be used (as root, as in CI);
# otherwise stop with a message saying what to install. Sourced by _chromium.sh and
# _bubblewrap.sh.
apt_install() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "==> installing $2 (apt package $1)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null
  else
    echo "error: $2 is missing; install it (sudo apt-get install $1)" >&2
    exit 1
  fi
}

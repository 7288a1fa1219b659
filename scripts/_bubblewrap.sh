# Make sure bubblewrap is installed: the grader runs every submission's kernel in a bubblewrap
# sandbox, and the grading tests run in it. Run or source it; installs the apt package
# `bubblewrap` when it is missing and apt-get can be used (as root, as in CI).
if ! command -v bwrap >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "==> installing bubblewrap (apt package bubblewrap) for the grading sandbox"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null
  else
    echo "error: bubblewrap is missing; install it (sudo apt-get install bubblewrap)" >&2
    exit 1
  fi
fi

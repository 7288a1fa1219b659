# Make sure bubblewrap is installed: the grader runs every submission's kernel in a bubblewrap
# sandbox, and the grading tests run in it. Run or source it; installs the apt package
# `bubblewrap` when it is missing and apt-get can be used (as root, as in CI).
source "$(dirname "${BASH_SOURCE[0]}")/_apt_install.sh"
if ! command -v bwrap >/dev/null 2>&1; then
  apt_install bubblewrap "bubblewrap for the grading sandbox"
fi

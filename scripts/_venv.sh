# Sourced by the other scripts: create (once) and activate the project's virtual environment in
# .venv and install what the course, its tests and the book need. Needs only Python >= 3.10 and pip.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtual environment $VENV"
  if ! "$PYTHON" -m venv "$VENV"; then
    # Debian's python3 ships venv separately.
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq python3-venv
      rm -rf "$VENV" && "$PYTHON" -m venv "$VENV"
    else
      echo "error: '$PYTHON -m venv' failed; install Python's venv module" >&2
      exit 1
    fi
  fi
fi
# Reinstall only when the requirement files change.
stamp="$VENV/.requirements.sha256"
want="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing requirements into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  (cd "$ROOT" && "$VENV/bin/python" -m pip install -q -r requirements-dev.txt)
  echo "$want" >"$stamp"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"

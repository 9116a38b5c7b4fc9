# Sourced by scripts/test, scripts/demo and scripts/bench: make .venv exist and be current.
# Needs only Python 3.11+ and the package registries. Reinstalls when pyproject.toml or
# requirements.lock change (a stamp file records their hash).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

pick_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "smvault needs Python 3.11 or newer on PATH (or set PYTHON=...)" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv ..." >&2
  "$(pick_python)" -m venv .venv
fi
VENV_PY="$ROOT/.venv/bin/python"
stamp=".venv/.smvault-installed"
want="$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing smvault and its pinned dependencies into .venv ..." >&2
  "$VENV_PY" -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[test]" 2>&1 \
    | { grep -v "^WARNING: Location" || true; } >&2
  echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"

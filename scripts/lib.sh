# Sourced by the scripts: finds the repo and keeps its Python environment in step with pyproject.toml.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

ensure_python_env() {
  local python stamp wanted
  python="$(command -v python3.11 || command -v python3 || true)"
  if [[ -z "$python" ]] || ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "Python 3.11 not found: install it (python3.11) and run again" >&2
    exit 1
  fi
  stamp="$VENV/.installed"
  wanted="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$PY" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    return
  fi
  echo "Setting up the Python environment in .venv ..." >&2
  "$python" -m venv "$VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check -c "$ROOT/constraints.txt" -e "$ROOT[dev]"
  echo "$wanted" > "$stamp"
}

# Sourced by the scripts: make .venv with the project and its test tools installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SHIPYARD_VENV:-$ROOT/.venv}"
STAMP="$VENV/.shipyard-installed"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade "pip>=25.1"
  "$VENV/bin/python" -m pip install -q -e "$ROOT[all]" --group "$ROOT/pyproject.toml:dev"
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"

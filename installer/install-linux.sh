#!/usr/bin/env bash
# Install PhotoCLIP for the current user on Linux: a menu launcher with icon that opens the app.
#
#   installer/install-linux.sh             # uses the project's .venv (run `make install` first)
#   installer/install-linux.sh --uninstall
#
# Nothing is written outside the user's home: ~/.local/share/applications and the user's icon
# theme. PHOTOCLIP_PYTHON overrides the interpreter the launcher runs.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PHOTOCLIP_PYTHON:-$here/.venv/bin/python}"
if [[ ! -x "$python" ]]; then
  echo "No PhotoCLIP environment at $python: run 'make install' in $here first." >&2
  exit 1
fi
if [[ "${1:-}" == "--uninstall" ]]; then
  "$python" -m photoclip.desktop uninstall
else
  "$python" -m photoclip.desktop install --python "$python"
fi
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q "${XDG_DATA_HOME:-$HOME/.local/share}/applications" || true
fi

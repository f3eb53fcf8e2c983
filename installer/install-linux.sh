#!/usr/bin/env bash
# Install PhotoCLIP for the current user on Linux: a menu launcher with icon that opens the app,
# and its AppStream metainfo (what software centres show).
#
#   installer/install-linux.sh                       # the project's .venv (run `make install`)
#   installer/install-linux.sh --app dist/PhotoCLIP  # a built app (`make frozen`), folder or exe
#   installer/install-linux.sh [--app DIR] --uninstall
#
# Nothing is written outside the user's home: ~/.local/share/applications, ~/.local/share/
# metainfo and the user's icon theme. PHOTOCLIP_PYTHON overrides the interpreter the launcher
# runs. The launcher starts whatever installed it: move a built app, and run this again.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
app="" action=install
while [[ $# -gt 0 ]]; do
  case "$1" in
    --app) app="${2:?--app needs the folder or executable of a built app}"; shift 2 ;;
    --app=*) app="${1#--app=}"; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-linux.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -n "$app" ]]; then
  [[ -d "$app" ]] && app="$app/PhotoCLIP"
  if [[ ! -x "$app" ]]; then
    echo "No built PhotoCLIP app at $app: build it with 'make frozen' (dist/PhotoCLIP)." >&2
    exit 1
  fi
  app="$(cd "$(dirname "$app")" && pwd)/$(basename "$app")"
  run=("$app" desktop)             # the built app writes a launcher that starts itself
else
  python="${PHOTOCLIP_PYTHON:-$here/.venv/bin/python}"
  if [[ ! -x "$python" ]]; then
    echo "No PhotoCLIP environment at $python: run 'make install' in $here first" \
         "(or pass --app for a built app)." >&2
    exit 1
  fi
  run=("$python" -m photoclip.desktop)
fi
if [[ $action == uninstall ]]; then
  "${run[@]}" uninstall
elif [[ -n "$app" ]]; then
  "${run[@]}" install
else
  "${run[@]}" install --python "$python"
fi
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q "${XDG_DATA_HOME:-$HOME/.local/share}/applications" || true
fi

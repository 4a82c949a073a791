#!/usr/bin/env bash
# Installs what the usage server's browser test needs when it is missing: Debian's
# chromium and chromium-driver, and selenium in a virtual environment under
# _build/browser-venv. Prints the path of that environment's python on stdout (everything
# else goes to stderr), so a caller can run:
#   PY=$(scripts/ensure-browser.sh) && "$PY" native/usage_server/tests/browser/dashboard_test.py
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/_build/browser-venv"

packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
[ -x /usr/bin/chromedriver ] || packages+=(chromium-driver)

"$root/scripts/install-packages.sh" ${packages[@]+"${packages[@]}"}

python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating a virtual environment in $venv" >&2
  mkdir -p "$root/_build"
  "$python" -m venv "$venv" >&2
fi

if ! "$venv/bin/python" -c 'import selenium' >/dev/null 2>&1; then
  echo "Installing: selenium (pip, into $venv)" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check selenium >&2
fi

echo "$venv/bin/python"

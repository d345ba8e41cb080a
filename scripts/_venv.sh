# Sourced by scripts/demo and scripts/test: make sure .venv exists and holds this project.
# Usage: ensure_venv [EXTRA]   (EXTRA = "test" installs the test extras too)
# Re-installs only when pyproject.toml changed since the last install (a stamp file).

find_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "venture needs Python 3.11 (python3.11 or python3 on PATH)" >&2
  return 1
}

ensure_venv() {
  local extra="${1:-}"
  local spec="."
  [ -n "$extra" ] && spec=".[$extra]"
  if [ ! -x .venv/bin/python ]; then
    local python
    python=$(find_python) || return 1
    echo "creating .venv with $python" >&2
    "$python" -m venv .venv
  fi
  local hash
  hash=$(sha256sum pyproject.toml | cut -c1-16)
  local stamp=".venv/.installed-${extra:-base}-$hash"
  # An install with the test extras holds everything the base install would.
  [ -z "$extra" ] && [ -f ".venv/.installed-test-$hash" ] && return 0
  if [ ! -f "$stamp" ]; then
    echo "installing venture${extra:+ with $extra extras} into .venv (first run takes a minute)" >&2
    local log=.venv/install.log
    if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
      .venv/bin/python -m pip install --disable-pip-version-check -e "$spec"; } >"$log" 2>&1; then
      tail -n 40 "$log" >&2
      echo "installing venture failed; the whole log is in $log" >&2
      return 1
    fi
    rm -f .venv/.installed-"${extra:-base}"-*
    touch "$stamp"
  fi
}

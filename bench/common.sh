# Shared by the bench scripts: the cargo target dir and a Python with the given packages
# (the machine's, or a venv under ~/.cache made once). Source it, then: python=$(bench_python duckdb pandas)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/adpool-target}"

bench_python() {
  local python="${PYTHON:-python3}"
  local imports
  imports=$(IFS=,; echo "$*")
  if ! "$python" -c "import $imports" 2>/dev/null; then
    python3 -m venv "$HOME/.cache/adpool-bench-venv" >&2
    "$HOME/.cache/adpool-bench-venv/bin/pip" install -q "$@" >&2
    python="$HOME/.cache/adpool-bench-venv/bin/python"
  fi
  echo "$python"
}

#!/usr/bin/env bash
# mohilbert: the two set-up-and-go commands.
#   bash run.sh demo   create .venv if missing, install, run the workflow on the bundled campaign
#   bash run.sh test   create .venv if missing, install, run the quality gates and the test suite
# Extra arguments after "demo" go to snakemake (e.g. bash run.sh demo --dry-run).
set -euo pipefail
cd "$(dirname "$0")"

find_python() {
  for c in "${PYTHON:-}" python3.13 python3.12 python3.11 python3 python; do
    [ -n "$c" ] || continue
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then echo "$c"; return; fi
  done
  echo "mohilbert needs Python >= 3.11 (none found on PATH; set PYTHON=/path/to/python3.11)" >&2
  exit 1
}

setup() {
  if [ ! -x .venv/bin/python ]; then
    echo "[run.sh] creating .venv"
    "$(find_python)" -m venv .venv
  fi
  local stamp=.venv/.mohilbert-install-stamp want
  want=$(cat pyproject.toml | .venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "[run.sh] installing mohilbert and its pinned dependencies into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,slurm]"
    echo "$want" > "$stamp"
  fi
}

browser() {
  # the report's browser test needs Debian's chromium + chromium-driver; installed when this
  # runs as root with apt-get (a CI machine), otherwise that test skips and says why
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${MOHILBERT_NO_BROWSER:-}" ]; then
    echo "[run.sh] installing chromium and chromium-driver (apt-get) for the report's browser test"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
      >/dev/null 2>&1 || echo "[run.sh] apt-get could not install chromium: the browser test will skip"
  fi
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  demo)
    setup
    # Snakemake's own report builder warns about an unawaited coroutine of its own, once per
    # file (snakemake 9.27); that is not the user's problem
    export PYTHONWARNINGS="ignore:coroutine 'InputFiles:RuntimeWarning"
    started=$(mktemp)
    rc=0
    .venv/bin/snakemake --workflow-profile workflow/profiles/default "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
      # the one-line reason of every job that failed in this run, last, where the eye lands
      failed=$(find results/logs -name '*.log' -newer "$started" -exec grep -h '^mohilbert: ' {} + 2>/dev/null | grep -v '^mohilbert: \(warning\|note\): ' || true)
      rm -f "$started"
      if [ -n "$failed" ]; then
        echo "[run.sh] $(printf '%s\n' "$failed" | wc -l) job(s) failed; the other runs went on (results/logs/ has each job's log):" >&2
        printf '%s\n' "$failed" >&2
      fi
      exit "$rc"
    fi
    rm -f "$started"
    case " $* " in
      *" --dry-run "*|*" -n "*) ;;
      *) echo "[run.sh] report: results/report.html (figures in results/figures/, table in results/summary.csv)" ;;
    esac
    ;;
  test)
    setup
    browser
    echo "[run.sh] ruff";      .venv/bin/ruff check . && .venv/bin/ruff format --check .
    echo "[run.sh] snakefmt";  .venv/bin/snakefmt --check Snakefile workflow
    echo "[run.sh] lint-imports"; .venv/bin/lint-imports --no-cache
    echo "[run.sh] snakemake --lint"
    lint=$(.venv/bin/snakemake --lint 2>&1) || { echo "$lint"; exit 1; }
    echo "$lint" | grep -q "Congratulations" || { echo "$lint"; exit 1; }
    echo "[run.sh] pytest";    .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: bash run.sh demo [snakemake args...] | bash run.sh test [pytest args...]" >&2
    exit 2
    ;;
esac

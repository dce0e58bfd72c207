#!/usr/bin/env bash
# Set up .venv on a fresh machine: the CPU build of torch (pinned: an unpinned torch pulls a
# multi-GB CUDA build), then tarjama and its dependencies at the versions in constraints.txt.
# On build machines of this project pip finds the CPU wheel of torch 2.13.0 on local disk. Elsewhere,
# point pip at a CPU build with TORCH_PIP_ARGS (for example "--index-url URL-of-PyTorch's-CPU-index").
set -euo pipefail
cd "$(dirname "$0")"
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip_install() {
  # This machine's pip configuration names local package folders that may be absent: not worth a warning.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" 2> >(grep -v '^WARNING: Location' >&2)
}
# shellcheck disable=SC2086 # TORCH_PIP_ARGS holds several pip options
pip_install torch==2.13.0 ${TORCH_PIP_ARGS:-}
pip_install -c constraints.txt -e '.[dev]'
# The HTML report's test renders it in headless Chromium: Debian's package, driven by Playwright
# (which downloads no browser of its own). Installed when missing and when this machine allows it.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
      echo "note: could not install Chromium; the report's browser test will fail" >&2
  else
    echo "note: install Chromium (Debian: apt-get install chromium) for the report's browser test" >&2
  fi
fi

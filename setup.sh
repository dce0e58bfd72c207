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

#!/usr/bin/env bash
# Regenerates constraints.txt: the exact version of every package that agent-tui needs to run,
# test and benchmark (pyproject's dependencies and all its extras), resolved once for every
# platform and Python >= 3.11 (uv's universal resolution, so a desk on Windows or macOS gets
# its keyring helpers pinned too).
#
#   bash scripts/lock.sh                      # keep the pins, add or fix what pyproject changed
#   bash scripts/lock.sh --upgrade            # move every pin to the newest allowed release
#   bash scripts/lock.sh --upgrade-package X  # move one package
#
# Why a constraints file and not hashes: pip refuses hash-checking mode for the checkout
# itself (a local project has no single file to hash), and the README's commands install the
# checkout. Exact pins still make every install the same set of releases, which PyPI never
# lets anyone replace.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install -q "uv==$UV_VERSION"

# uv keeps the versions already pinned in its output file unless told to upgrade.
[ -f constraints.txt ] && cp constraints.txt "$tools/out.txt"
"$tools/venv/bin/uv" pip compile pyproject.toml --all-extras --universal \
    --python-version 3.11 --no-header --quiet -o "$tools/out.txt" "$@"

{
    echo "# Exact versions of every dependency (runtime, test, bench) for all platforms, Python >= 3.11."
    echo "# Install with it: pip install -c constraints.txt -e \".[test]\"  (see README.md)."
    echo "# Made by: bash scripts/lock.sh   (uv $UV_VERSION, universal resolution); do not edit by hand."
    echo "# pyproject.toml keeps the compatible ranges; this file pins what CI tests."
    cat "$tools/out.txt"
} > constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) pins"

#!/usr/bin/env bash
# Re-measure every figure that README.md, BENCHMARKS.md and firmware/README.md quote
# (scripts/claims.toml lists them) and print claim / measured / tolerance / ok per line.
#
#   bash scripts/check-claims.sh              # the fast part (a few minutes; CI runs it)
#   bash scripts/check-claims.sh --slow       # also long runs: the frontier (every size preset
#                                             # and best, ~40 min), benches, first build
#   bash scripts/check-claims.sh --only toy   # one measurement group
#   bash scripts/check-claims.sh --slow --only frontier --dump v.json   # keep the measured values
#   bash scripts/check-claims.sh --values v.json   # check docs against them (no re-run)
#
# CLAIMS_FRONTIER_OUT=DIR (empty or new) keeps the frontier's runs and frontier.png there.
#
# Exits non-zero when a figure drifted beyond its tolerance or its text left the doc.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== claims: every figure the docs quote, re-measured"
exec python3 scripts/check_claims.py "$@"

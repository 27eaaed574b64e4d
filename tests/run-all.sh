#!/usr/bin/env bash
# Every test of the project, from a fresh clone on a fresh machine.
# Installs what the tests need: the exact toolchain and targets pinned in rust-toolchain.toml
# (checked after the install), and qemu-system-arm / qemu-system-riscv32 (Debian packages
# qemu-system-arm / qemu-system-misc, each in its own apt-get call) when missing.
# Also Node.js (the playground's WebAssembly test) and Debian's chromium (its browser test) when
# missing. Lints (rustfmt, clippy) are not tests: .ci/run runs them.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain (rust-toolchain.toml)"
rustup toolchain install --no-self-update >/dev/null
bash scripts/check-toolchain.sh

# binary:package. Separate apt-get calls: installing both in one call once failed.
for qemu in qemu-system-arm:qemu-system-arm qemu-system-riscv32:qemu-system-misc; do
    bin=${qemu%%:*} pkg=${qemu#*:}
    if ! command -v "$bin" >/dev/null 2>&1; then
        echo "== installing $pkg ($bin)"
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
        else
            echo "$bin is missing and this is not root: run 'sudo apt-get install -y $pkg'." >&2
            echo "(the QEMU tests will fail until it is installed)" >&2
        fi
    fi
    "$bin" --version | head -n 1 || true
done

# command:package(s). Node.js runs the WebAssembly module in `cargo test` (host/tests/
# playground_node.rs) and drives the browser test; chromium is that browser.
for tool in node:"nodejs npm" chromium:chromium; do
    bin=${tool%%:*} pkgs=${tool#*:}
    if ! command -v "$bin" >/dev/null 2>&1; then
        echo "== installing $pkgs ($bin)"
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq
            # shellcheck disable=SC2086 # two package names for node
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
        else
            echo "$bin is missing and this is not root: run 'sudo apt-get install -y $pkgs'." >&2
            echo "(the playground tests will fail until it is installed)" >&2
        fi
    fi
done

echo "== firmware builds for every board it claims"
bash firmware/build-all-targets.sh

echo "== tests (host, model-format, firmware logic, QEMU parity)"
cargo test -p firmware --lib
cargo test

echo "== the playground in a real browser (host serve --qemu, chromium, playwright-core)"
start=$SECONDS
(cd playground/e2e && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
# The host binary `cargo test` just built for its CLI tests (CARGO_BIN_EXE_host). A
# `cargo build -p host` here would compile it again (78 s in CI): one crate's feature set is not
# the workspace's.
host_bin=${CARGO_TARGET_DIR:-target}/debug/host
[ -x "$host_bin" ] || { echo "$host_bin is missing: cargo test should have built it" >&2; exit 1; }
node playground/e2e/browser-test.mjs "$host_bin"
echo "browser test: $((SECONDS - start)) s (npm ci included)"

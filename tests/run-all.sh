#!/usr/bin/env bash
# Every test of the project, from a fresh clone on a fresh machine.
# Installs what the tests need: the exact toolchain and targets pinned in rust-toolchain.toml
# (checked after the install), and qemu-system-arm (Debian package) when missing.
# Lints (rustfmt, clippy) are not tests: .ci/run runs them.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain (rust-toolchain.toml)"
rustup toolchain install --no-self-update >/dev/null
bash scripts/check-toolchain.sh

if ! command -v qemu-system-arm >/dev/null 2>&1; then
    echo "== installing qemu-system-arm"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm >/dev/null
    else
        echo "qemu-system-arm is missing and this is not root: run 'sudo apt-get install -y qemu-system-arm'." >&2
        echo "(the QEMU tests will fail until it is installed)" >&2
    fi
fi
qemu-system-arm --version | head -n 1 || true

echo "== firmware builds for every board it claims"
bash firmware/build-all-targets.sh

echo "== tests (host, model-format, firmware logic, QEMU parity)"
cargo test -p firmware --lib
cargo test

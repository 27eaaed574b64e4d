#!/usr/bin/env bash
# Build (and lint) the firmware for every board it supports, as CI does.
#
#   bash firmware/build-all-targets.sh          # from anywhere
#
# Boards: qemu-mps2-an386 (default feature) and nucleo-f411re, both thumbv7em-none-eabihf.
# The model is data/model.postcard, or $FIRMWARE_MODEL (absolute or relative to the workspace
# root). Each ELF is copied to <target dir>/firmware-<board>.elf and its section sizes printed.
# Also runs clippy (-D warnings) for each board (QEMU also with the test-only feature `parity`
# and the optional layout-2 kernel, feature `layout-smlad16`, which the kernel-parity test uses)
# and the library's host unit tests.
#
# The Cortex-M builds use <target dir>/firmware-build, the directory the QEMU tests (and
# `host qemu-eval`) build in, so running this first leaves the tests little to rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."

target=thumbv7em-none-eabihf
target_dir=${CARGO_TARGET_DIR:-target}
fw_dir="$target_dir/firmware-build"
boards=(qemu-mps2-an386 nucleo-f411re)

echo "== firmware: host unit tests and clippy of the application logic"
cargo test -p firmware --lib
cargo clippy -p firmware --all-targets -- -D warnings

for board in "${boards[@]}"; do
    features=(--no-default-features --features "$board")
    echo "== firmware: clippy for $board"
    cargo clippy -p firmware --target "$target" --target-dir "$fw_dir" "${features[@]}" -- -D warnings
    if [[ $board == qemu-mps2-an386 ]]; then
        # The test-only `parity` mode (feature `parity`, QEMU only) and the layout-2 kernel
        # (feature `layout-smlad16`) are not in the default build; lint them too (as the
        # kernel-parity test builds them) so that test never meets a broken build.
        echo "== firmware: clippy for $board + parity + layout-smlad16"
        cargo clippy -p firmware --target "$target" --target-dir "$fw_dir" \
            --no-default-features --features "$board,parity,layout-smlad16" -- -D warnings
    fi
    echo "== firmware: build for $board"
    cargo build -p firmware --profile firmware --target "$target" --target-dir "$fw_dir" "${features[@]}"
    elf="$target_dir/firmware-$board.elf"
    cp "$fw_dir/$target/firmware/firmware" "$elf"
    size -A "$elf" | grep -E '^\.(vector_table|text|rodata|data|bss|uninit) ' || true
    echo "   -> $elf"
done

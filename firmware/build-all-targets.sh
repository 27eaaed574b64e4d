#!/usr/bin/env bash
# Build the firmware for every board it supports (tests/run-all.sh), or lint it (.ci/run).
#
#   bash firmware/build-all-targets.sh          # build every board, print section sizes
#   bash firmware/build-all-targets.sh --lint   # clippy -D warnings: app logic + every QEMU board (.ci/run)
#   bash firmware/build-all-targets.sh --lint-all   # the same plus the three real boards
#
# Boards and their Rust targets: the table below (the host's copy is host/src/device/board.rs).
# The Pico's ELF is also converted to firmware-rp-pico.uf2 for the RPI-RP2 drive, with
# elf2uf2-rs (installed by `cargo install` when missing).
# The model is data/model.postcard, or $FIRMWARE_MODEL (absolute or relative to the workspace
# root). Each ELF is copied to <target dir>/firmware-<board>.elf and its section sizes printed.
# --lint runs clippy on the application logic (host build) and for each QEMU board, also with
# the test-only feature `parity` (and on mps2-an386 the optional layout-2 kernel, feature
# `layout-smlad16`), as the kernel-parity tests build them. --lint-all adds the real boards:
# checking their HALs (stm32f4xx-hal, rp2040-hal, nrf52833-hal) took 5 of CI's minutes, a
# second compile of crates the build below compiles anyway, so CI builds them but does not
# clippy them.
#
# The builds use <target dir>/firmware-build, the directory the QEMU tests (and
# `host qemu-eval`) build in, with the same FIRMWARE_MODEL value they set (the canonical path
# of the model), so running this first leaves the tests nothing to rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-target}
fw_dir="$target_dir/firmware-build"
# board feature : Rust target
boards=(
    qemu-mps2-an386:thumbv7em-none-eabihf
    qemu-mps2-an385:thumbv7m-none-eabi
    qemu-mps2-an500:thumbv7em-none-eabihf
    qemu-mps2-an505:thumbv8m.main-none-eabihf
    qemu-microbit:thumbv6m-none-eabi
    qemu-sifive-e:riscv32imac-unknown-none-elf
    nucleo-f411re:thumbv7em-none-eabihf
    rp-pico:thumbv6m-none-eabi
    microbit-v2:thumbv7em-none-eabihf
)
FIRMWARE_MODEL=$(realpath "${FIRMWARE_MODEL:-data/model.postcard}")
export FIRMWARE_MODEL

# The Pico's UF2 (drag-and-drop onto the RPI-RP2 drive) from its ELF. elf2uf2-rs without its
# default `serial` feature (no libudev); pinned and --locked so CI builds the same tool.
elf2uf2_version=2.2.0
make_uf2() {
    if ! command -v elf2uf2-rs >/dev/null; then
        echo "== installing elf2uf2-rs $elf2uf2_version (UF2 files for the Pico)"
        cargo install --quiet --locked --no-default-features "elf2uf2-rs@$elf2uf2_version"
    fi
    elf2uf2-rs "$1" "$2" >/dev/null
    echo "   -> $2 ($(stat -c %s "$2") bytes)"
}

if [[ ${1:-} == --lint || ${1:-} == --lint-all ]]; then
    echo "== firmware: clippy of the application logic (host build)"
    cargo clippy -p firmware --all-targets -- -D warnings
    for entry in "${boards[@]}"; do
        board=${entry%%:*} target=${entry#*:}
        [[ $board != qemu-* && $1 != --lint-all ]] && continue
        sets=("$board")
        [[ $board == qemu-* ]] && sets+=("$board,parity")
        [[ $board == qemu-mps2-an386 ]] && sets+=("$board,parity,layout-smlad16")
        for features in "${sets[@]}"; do
            echo "== firmware: clippy for $features ($target)"
            cargo clippy -p firmware --target "$target" --target-dir "$fw_dir" \
                --no-default-features --features "$features" -- -D warnings
        done
    done
    exit 0
elif [[ $# -gt 0 ]]; then
    echo "usage: bash firmware/build-all-targets.sh [--lint | --lint-all]" >&2
    exit 2
fi

for entry in "${boards[@]}"; do
    board=${entry%%:*} target=${entry#*:}
    echo "== firmware: build for $board ($target)"
    start=$SECONDS
    cargo build -p firmware --profile firmware --target "$target" --target-dir "$fw_dir" \
        --no-default-features --features "$board"
    elf="$target_dir/firmware-$board.elf"
    cp "$fw_dir/$target/firmware/firmware" "$elf"
    size -A "$elf" | grep -E '^\.(boot2|vector_table|text|rodata|data|bss|uninit) ' || true
    echo "   -> $elf ($((SECONDS - start)) s)"
    if [[ $board == rp-pico ]]; then
        make_uf2 "$elf" "$target_dir/firmware-$board.uf2"
    fi
done

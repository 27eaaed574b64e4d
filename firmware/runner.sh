#!/usr/bin/env bash
# Cargo runner for the firmware (see .cargo/config.toml): `cargo run [-- MODE ARGS...]`.
#
# * An ELF built for a real board (Nucleo-F411RE, Raspberry Pi Pico, micro:bit v2) is flashed
#   and run with probe-rs.
# * Otherwise the ELF boots in QEMU mps2-an386 with semihosting. The arguments after `--`
#   become the firmware's semihosting command line: `serve` (default: the protocol on UART0,
#   which -nographic puts on this terminal; quit with Ctrl-A x), `check`, or `batch IN OUT`.
#   Instructions are counted exactly (-icount shift=0). QEMU_EXTRA adds QEMU options, e.g.
#   QEMU_EXTRA="-serial tcp:127.0.0.1:4444,server=on,wait=on".
set -euo pipefail

elf=${1:?usage: runner.sh ELF [MODE ARGS...]}
shift

# The real boards: probe-rs flashes the chip the ELF was built for (its board name, lib.rs BOARD).
chip=""
grep -qa 'nucleo-f411re' "$elf" && chip=STM32F411RETx
grep -qa 'rp-pico' "$elf" && chip=RP2040               # needs an SWD probe; or drag the UF2 (firmware/README.md)
grep -qa 'microbit-v2' "$elf" && chip=nRF52833_xxAA    # the on-board interface chip is the probe
if [[ -n $chip ]]; then
    if ! command -v probe-rs >/dev/null; then
        echo "runner.sh: probe-rs not found; install it (https://probe.rs) to flash the $chip" >&2
        exit 127
    fi
    exec probe-rs run --chip "$chip" "$elf"
fi

if ! command -v qemu-system-arm >/dev/null; then
    echo "runner.sh: qemu-system-arm not found; install it with: apt-get install -y qemu-system-arm" >&2
    exit 127
fi

semi="enable=on,target=native,arg=firmware"
for a in "$@"; do
    semi+=",arg=${a//,/,,}" # QEMU option syntax: a literal comma is written twice
done
# shellcheck disable=SC2086 # QEMU_EXTRA is a list of options
exec qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
    -icount shift=0 -semihosting-config "$semi" ${QEMU_EXTRA:-} -kernel "$elf"

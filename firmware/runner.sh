#!/usr/bin/env bash
# Cargo runner for the firmware (see .cargo/config.toml): `cargo run [-- MODE ARGS...]`.
#
# * An ELF built for a real board (Nucleo-F411RE, Raspberry Pi Pico, micro:bit v2) is flashed
#   and run with probe-rs (the Pico also takes the UF2 file by drag-and-drop: firmware/README.md).
# * An ELF built for a QEMU board boots in that board's QEMU machine with semihosting. The
#   arguments after `--` become the firmware's semihosting command line: `serve` (default: the
#   protocol on UART0, which -nographic puts on this terminal; quit with Ctrl-A x), `check`,
#   or `batch IN OUT`. Instructions are counted exactly (-icount shift=0). QEMU_EXTRA adds
#   QEMU options, e.g. QEMU_EXTRA="-serial tcp:127.0.0.1:4444,server=on,wait=on".
#
# The board is the name the firmware reports (`BOARD`), found in the ELF's bytes.
set -euo pipefail

elf=${1:?usage: runner.sh ELF [MODE ARGS...]}
shift

boards=$(grep -aoE 'qemu-mps2-an38[56]|qemu-mps2-an50[05]|qemu-microbit|qemu-sifive-e|nucleo-f411re|rp-pico|microbit-v2' "$elf" | sort -u)
if [[ $(wc -l <<<"$boards") -ne 1 || -z $boards ]]; then
    echo "runner.sh: cannot tell which board $elf was built for (found: ${boards:-none})" >&2
    exit 2
fi

# board -> QEMU binary, machine, Debian package
case $boards in
    nucleo-f411re | rp-pico | microbit-v2)
        case $boards in
            nucleo-f411re) chip=STM32F411RETx ;;
            rp-pico) chip=RP2040 ;;           # needs an SWD probe; or drag the UF2 (firmware/README.md)
            microbit-v2) chip=nRF52833_xxAA ;; # the on-board interface chip is the probe
        esac
        if ! command -v probe-rs >/dev/null; then
            echo "runner.sh: probe-rs not found; install it (https://probe.rs) to flash the $chip" >&2
            exit 127
        fi
        exec probe-rs run --chip "$chip" "$elf"
        ;;
    qemu-sifive-e) qemu=qemu-system-riscv32 machine=sifive_e package=qemu-system-misc ;;
    qemu-*) qemu=qemu-system-arm machine=${boards#qemu-} package=qemu-system-arm ;;
esac

if ! command -v "$qemu" >/dev/null; then
    echo "runner.sh: $qemu not found; install it with: apt-get install -y $package" >&2
    exit 127
fi

semi="enable=on,target=native,arg=firmware"
for a in "$@"; do
    semi+=",arg=${a//,/,,}" # QEMU option syntax: a literal comma is written twice
done
# Never pass -cpu: each machine has its one CPU (the micro:bit locks up with another).
# shellcheck disable=SC2086 # QEMU_EXTRA is a list of options
exec "$qemu" -machine "$machine" -nographic \
    -icount shift=0 -semihosting-config "$semi" ${QEMU_EXTRA:-} -kernel "$elf"

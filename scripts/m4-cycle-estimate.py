#!/usr/bin/env python3
"""Estimate Cortex-M4 cycles per inference from the instruction mix QEMU executes.

QEMU's -icount counts instructions, not cycles. This script traces every instruction the
firmware executes on its inference path (`Model::infer` and the block store it calls; QEMU
-singlestep -d exec, filtered to those functions' address ranges) for the first N MNIST test images in batch mode, classifies each by
its mnemonic (llvm-objdump of the ELF), tells taken branches from the next traced address,
and costs them with the Cortex-M4 Technical Reference Manual's timings (r0p1, table 3-1),
zero-wait-state memory:

  ALU, SXTB16/UXTB16, SMLAD, MLA, MUL, SMULL, IT      1
  LDR/LDRB/LDRSB/LDRH/STR/STRB (single)               2
  LDRD/STRD                                           3
  LDM/STM/PUSH/POP of n registers                     1 + n
  branch (B, BNE, CBZ, BX, ...): not taken 1, taken   1 + 2 (pipeline refill)

The TRM lets a load that follows a load pipeline to 1 cycle; this estimate does not (an
upper bound in that respect). Real chips add flash wait states (hidden by ST's ART cache
at 84-100 MHz); none are counted.

usage: scripts/m4-cycle-estimate.py ELF [IMAGES]
  ELF: an mps2-an386 firmware (e.g. from `host qemu-eval`, which prints its path)
  needs qemu-system-arm, llvm-objdump and nm; writes its trace to a temporary file.
"""
import collections
import gzip
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUT = 784


def inference_path(elf: str) -> list[tuple[int, int]]:
    """Address ranges of `Model::infer` and the functions of its own it calls (the block
    store, `global_asm!` kernels named `model_format_*`), as check_claims.py counts them."""
    out = subprocess.run(["nm", "-S", "-C", elf], capture_output=True, text=True, check=True)
    ranges = []
    for line in out.stdout.splitlines():
        p = line.split()
        if len(p) >= 4 and ("Model>::infer" in line or "BlockIo>::store" in line
                            or p[3].startswith("model_format_")):
            start = int(p[0], 16) & ~1
            ranges.append((start, start + int(p[1], 16)))
    if not ranges:
        raise SystemExit(f"no Model::infer in {elf}")
    return sorted(ranges)


def disassemble(elf: str, lo: int, hi: int) -> dict[int, tuple[str, str, int]]:
    out = subprocess.run(
        ["llvm-objdump", "-d", "--no-show-raw-insn", "--triple=thumbv7em-none-eabihf",
         f"--start-address={lo:#x}", f"--stop-address={hi:#x}", elf],
        capture_output=True, text=True, check=True).stdout
    insns = {}
    rx = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
    for line in out.splitlines():
        m = rx.match(line)
        if m:
            insns[int(m.group(1), 16)] = (m.group(2), m.group(3))
    addrs = sorted(insns)
    sized = {}
    for a, b in zip(addrs, addrs[1:] + [hi]):
        mn, ops = insns[a]
        sized[a] = (mn, ops, b - a)
    return sized


def register_number(name: str) -> int:
    alias = {"sb": 9, "sl": 10, "fp": 11, "ip": 12, "sp": 13, "lr": 14, "pc": 15}
    return alias[name] if name in alias else int(name[1:])


def registers(ops: str) -> int:
    """Registers in an LDM/STM/PUSH/POP list such as `{r4, r5, r8-r11, lr}`."""
    inside = ops[ops.find("{") + 1:ops.find("}")]
    n = 0
    for item in (i.strip() for i in inside.split(",") if i.strip()):
        if "-" in item:
            a, b = item.split("-")
            n += register_number(b.strip()) - register_number(a.strip()) + 1
        else:
            n += 1
    return n


def cost(mn: str, ops: str, taken: bool) -> tuple[str, int]:
    base = mn.split(".")[0]
    if base in ("b", "bx", "cbz", "cbnz", "bl", "blx") or (
            base.startswith("b") and len(base) == 3 and base not in ("bic", "bfi", "bfc")):
        return ("branch taken" if taken else "branch not taken"), (3 if taken else 1)
    if base in ("ldm", "ldmia", "stm", "stmia", "stmdb", "push", "pop"):
        return "load/store multiple", 1 + registers(ops)
    if base in ("ldrd", "strd"):
        return "LDRD/STRD", 3
    if base.startswith("ldr") or base.startswith("str"):
        return "load/store single", 2
    if base in ("smlad", "smlabb", "mla", "mul", "muls", "smull", "umull"):
        return "multiply (1 cycle)", 1
    return "ALU and other (1 cycle)", 1


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    elf = sys.argv[1]
    images = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    ranges = inference_path(elf)
    insns = {}
    for lo, hi in ranges:
        insns.update(disassemble(elf, lo, hi))
    raw = gzip.open(ROOT / "data/mnist/t10k-images-idx3-ubyte.gz").read()[16:16 + images * INPUT]
    with tempfile.TemporaryDirectory() as d:
        src, out, log = Path(d) / "in.bin", Path(d) / "out.bin", Path(d) / "trace"
        src.write_bytes(raw)
        subprocess.run(
            ["qemu-system-arm", "-machine", "mps2-an386", "-display", "none", "-monitor", "none",
             "-icount", "shift=0", "-singlestep", "-d", "exec,nochain",
             "-dfilter", ",".join(f"{lo:#x}..{hi - 1:#x}" for lo, hi in ranges), "-D", str(log),
             "-semihosting-config",
             f"enable=on,target=native,arg=firmware,arg=batch,arg={src},arg={out}",
             "-kernel", elf], check=True, capture_output=True, timeout=1800)
        pcs = []
        rx = re.compile(r"\[[0-9a-f]+/([0-9a-f]+)/")
        with open(log) as f:
            for line in f:
                m = rx.search(line)
                if m:
                    pcs.append(int(m.group(1), 16))
    cycles = collections.Counter()
    count = collections.Counter()
    for pc, nxt in zip(pcs, pcs[1:] + [None]):
        mn, ops, size = insns.get(pc, ("?", "", 2))
        taken = nxt is not None and nxt != pc + size
        kind, c = cost(mn, ops, taken)
        cycles[kind] += c
        count[kind] += 1
    n_insn = sum(count.values())
    n_cyc = sum(cycles.values())
    print(f"{images} images, inference path " + ", ".join(f"{lo:#x}..{hi:#x}" for lo, hi in ranges))
    print(f"{'kind':28} {'instructions':>14} {'cycles':>12}")
    for kind in sorted(count, key=lambda k: -cycles[k]):
        print(f"{kind:28} {count[kind] / images:14,.0f} {cycles[kind] / images:12,.0f}")
    print(f"{'total per inference':28} {n_insn / images:14,.0f} {n_cyc / images:12,.0f}"
          f"  ({n_cyc / n_insn:.2f} cycles per instruction)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Re-measure every figure the docs quote and compare it with the doc.

Run through `bash scripts/check-claims.sh [--slow] [--only GROUP,...]`. The claims live in
`scripts/claims.toml`: each names a doc, the exact text that holds the figure there, the
measurement that checks it and a tolerance. A claim whose text is no longer in its doc fails
too, so a figure cannot be edited (or drift) without its check following.

Prints `claim / measured / tolerance / ok` per line; exits 1 on any drift.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MACS_H128 = 784 * 128 + 128 * 10
MACS_H200 = 784 * 200 + 200 * 10
# Measurement-group suffix -> `qemu-eval --board` name.
QEMU_BOARDS = {"an385": "mps2-an385", "an386": "mps2-an386", "an500": "mps2-an500",
               "an505": "mps2-an505", "microbit": "microbit", "sifive_e": "sifive-e"}

# Measurement groups that take minutes (checked with --slow only).
SLOW = {"best", "frontier", "bench_train", "bench_int8", "first_build"}


def run(cmd: list[str], **kw) -> str:
    """Run a command, echo it, return stdout; stop with its stderr on failure."""
    print(f"   $ {' '.join(str(c) for c in cmd)}", file=sys.stderr, flush=True)
    p = subprocess.run(cmd, cwd=kw.pop("cwd", ROOT), text=True, capture_output=True, **kw)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
        raise SystemExit(f"check-claims: command failed ({p.returncode}): {' '.join(map(str, cmd))}")
    return p.stdout


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


class Measure:
    """Each group is measured once, when a claim first asks for it."""

    def __init__(self, work: Path):
        self.work = work
        self.values: dict[str, float] = {}
        self.done: set[str] = set()
        self.host_bin: Path | None = None

    def host(self, *args: str) -> str:
        if self.host_bin is None:
            run(["cargo", "build", "-p", "host", "--release", "--quiet"])
            target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
            self.host_bin = (ROOT / target / "release" / "host").resolve()
        return run([str(self.host_bin), *args])

    def get(self, key: str) -> float:
        group = key.split(".")[0]
        if group not in self.done:
            self.done.add(group)
            getattr(self, f"m_{group}")()
        if key not in self.values:
            raise SystemExit(f"check-claims: no measurement named {key}")
        return self.values[key]

    def put(self, group: str, **kv: float) -> None:
        for k, v in kv.items():
            self.values[f"{group}.{k}"] = v

    # -- the committed model -------------------------------------------------------------
    def m_committed(self) -> None:
        j = last_json(self.host("eval", "--checkpoint", "data/model.ckpt",
                                "--model", "data/model.postcard", "--json"))
        self.put("committed", float_test_pct=100 * j["float_test_acc"],
                 int8_test_pct=100 * j["int8_test_acc"],
                 file_bytes=(ROOT / "data/model.postcard").stat().st_size)

    def m_chip_default(self) -> None:
        self._chip("chip_default", "data/model.postcard", MACS_H200)

    # -- the default run (the README's first command) ------------------------------------
    def m_default_run(self) -> None:
        out = self.work / "default"
        self.host("--version")  # built before the clock starts
        t0 = time.monotonic()
        j = last_json(self.host("train", "--out", str(out), "--json"))
        wall = time.monotonic() - t0
        self.put("default_run", test_pct=100 * j["test_acc"], int8_test_pct=100 * j["int8_test_acc"],
                 val_pct=100 * j["val_acc"], wall_s=wall)

    def m_toy(self) -> None:
        j = last_json(self.host("toy", "--json"))
        g = j["grad_rel_error"]
        self.put("toy", scores_diff=j["scores_diff"], loss=j["loss"], loss_diff=j["loss_diff"],
                 rel_w1=g["W1"], rel_b1=g["b1"], rel_w2=g["W2"], rel_b2=g["b2"],
                 final_loss=j["train_final_loss"])

    # -- the playground's WebAssembly module (built as `host serve` builds it) -------------
    def m_wasm(self) -> None:
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        out = (ROOT / target / "wasm-build").resolve()
        run(["cargo", "build", "-p", "tinynet-wasm", "--target", "wasm32-unknown-unknown",
             "--profile", "wasm", "--quiet", "--target-dir", str(out)])
        wasm = out / "wasm32-unknown-unknown" / "wasm" / "tinynet_wasm.wasm"
        self.put("wasm", bytes=wasm.stat().st_size)

    # -- a 784-128-10 model on the chip (the BENCHMARKS command) -------------------------
    def m_h128(self) -> None:
        out = self.work / "h128"
        self.host("train", "--hidden", "128", "--out", str(out), "--json")
        model = out / "model.postcard"
        self.put("h128", file_bytes=model.stat().st_size)
        self._chip("h128", str(model), MACS_H128)

    def m_h128_l2(self) -> None:
        self.get("h128.file_bytes")
        model = self.work / "h128-layout2.postcard"
        self.host("quantize", "--checkpoint", str(self.work / "h128" / "model.ckpt"),
                  "--layout", "smlad16", "--out", str(model))
        self.put("h128_l2", file_bytes=model.stat().st_size,
                 extra_file_bytes=model.stat().st_size - self.values["h128.file_bytes"])
        self._chip("h128_l2", str(model), MACS_H128)
        self.put("h128_l2", extra_text_bytes=self.values["h128_l2.text_bytes"]
                 - self.get("chip_default.text_bytes"))

    def _chip(self, group: str, model: str, macs: int) -> None:
        j = last_json(self.host("qemu-eval", "--model", model, "--json"))
        if j["identical"] != j["images"]:
            raise SystemExit(f"check-claims: {model}: only {j['identical']}/{j['images']} "
                             "images give the host's logits on the chip")
        if j["synthetic_identical"] != len(j["synthetic"]):
            raise SystemExit(f"check-claims: {model}: only {j['synthetic_identical']}/"
                             f"{len(j['synthetic'])} synthetic images give the host's logits")
        per = j["instructions_per_inference"]
        self.put(group, instructions=per, instructions_min=j["instructions_min"],
                 instructions_max=j["instructions_max"], per_mac=per / macs,
                 instructions_median=j["instructions_median"],
                 instructions_p99=j["instructions_p99"], all_255=j["all_255_instructions"],
                 synthetic_max=j["synthetic_max_instructions"],
                 nonzero_pixels=j["mean_nonzero_pixels"],
                 nonzero_groups=j["mean_nonzero_groups"],
                 max_nonzero_pixels=j["max_nonzero_pixels"],
                 identical=j["identical"], text_bytes=j["text_bytes"],
                 rodata_bytes=j["rodata_bytes"], bss_bytes=j["bss_bytes"],
                 data_bytes=j["data_bytes"], stack_bytes=j["stack_high_water_bytes"],
                 infer_text_bytes=inference_path_size(j["elf"]))

    # -- the QEMU board matrix (firmware/README.md): groups board_<b> (default model) and
    #    board128_<b> (784-128-10), b one of QEMU_BOARDS ------------------------------------
    def __getattr__(self, name: str):
        for prefix, model, macs in (("m_board128_", None, MACS_H128),
                                    ("m_board_", "data/model.postcard", MACS_H200)):
            board = name[len(prefix):] if name.startswith(prefix) else None
            if board in QEMU_BOARDS:
                group = name[2:]
                return lambda: self._board(group, QEMU_BOARDS[board], model, macs)
        raise AttributeError(name)

    def _board(self, group: str, board: str, model: str | None, macs: int) -> None:
        if model is None:
            self.get("h128.file_bytes")
            model = str(self.work / "h128" / "model.postcard")
        j = last_json(self.host("qemu-eval", "--board", board, "--model", model, "--json"))
        if j["identical"] != j["images"]:
            raise SystemExit(f"check-claims: {board}: only {j['identical']}/{j['images']} "
                             "images give the host's logits")
        if j["synthetic_identical"] != len(j["synthetic"]):
            raise SystemExit(f"check-claims: {board}: only {j['synthetic_identical']}/"
                             f"{len(j['synthetic'])} synthetic images give the host's logits")
        per = j["instructions_per_inference"]
        self.put(group, instructions=per, per_mac=per / macs, flash_bytes=j["flash_bytes"],
                 instructions_median=j["instructions_median"],
                 instructions_p99=j["instructions_p99"],
                 instructions_min=j["instructions_min"], instructions_max=j["instructions_max"],
                 all_255=j["all_255_instructions"],
                 synthetic_max=j["synthetic_max_instructions"],
                 ram_bytes=j["data_bytes"] + j["bss_bytes"],
                 stack_bytes=j["stack_high_water_bytes"],
                 infer_text_bytes=inference_path_size(j["elf"]))

    # -- the Nucleo build (section sizes; the board itself is measured by hand) ----------
    def m_nucleo(self) -> None:
        run(["bash", "firmware/build-all-targets.sh"])
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        sizes = section_sizes(ROOT / target / "firmware-nucleo-f411re.elf")
        self.put("nucleo", text_bytes=sizes[".text"], rodata_bytes=sizes[".rodata"],
                 bss_bytes=sizes.get(".bss", 0), data_bytes=sizes.get(".data", 0))

    # -- slow ------------------------------------------------------------------------------
    def m_frontier(self) -> None:
        """`host frontier` from nothing: every size preset trained, its int8 model run in QEMU
        on the M4 and the M0. Per preset P: P_chip_pct, P_float_pct, P_int8_pct, P_gap_abs_pp
        (|int8 - float|: figures are read unsigned), P_model_bytes, P_flash_bytes, P_m4, P_m0
        (when it fits), P_train_s, P_identical."""
        # CLAIMS_FRONTIER_OUT keeps the runs and frontier.{json,md,png} (docs' picture). It
        # must not hold runs already: `host frontier` would reuse them, not re-measure.
        out = Path(os.environ.get("CLAIMS_FRONTIER_OUT", self.work / "frontier")).resolve()
        if out.exists() and any(out.iterdir()):
            raise SystemExit(f"check-claims: {out} is not empty (the frontier must train anew)")
        self.host("--version")
        rows = json.loads(self.host("frontier", "--out", str(out),
                                    "--json").strip().splitlines()[-1])
        for r in rows:
            kv = dict(chip_pct=r["chip_test_pct"], float_pct=r["float_test_pct"],
                      int8_pct=r["int8_test_pct"],
                      gap_abs_pp=abs(r["int8_test_pct"] - r["float_test_pct"]),
                      model_bytes=r["model_bytes"], flash_bytes=r["flash_bytes"],
                      m4=r["m4_instructions"], train_s=r["train_seconds"],
                      identical=r["identical_m4"])
            if r["m0_instructions"] is not None:
                kv["m0"] = r["m0_instructions"]
            self.put("frontier", **{f"{r['preset']}_{k}": v for k, v in kv.items()})
        self.put("frontier", total_train_s=sum(r["train_seconds"] for r in rows))
        for r in rows:
            # Code = image - model, KB; and the smallest of the marked chips the image fits.
            fits = [k for k in (32, 64, 128, 256, 512) if r["flash_bytes"] <= k * 1024]
            self.put("frontier", **{f"{r['preset']}_code_kb":
                                    (r["flash_bytes"] - r["model_bytes"]) / 1000,
                                    f"{r['preset']}_fits_kib": fits[0] if fits else 0})

    def m_best(self) -> None:
        """The best preset is the frontier's last row (trained once for both)."""
        self.get("frontier.best_chip_pct")
        v = self.values
        self.put("best", test_pct=v["frontier.best_float_pct"],
                 int8_test_pct=v["frontier.best_int8_pct"], chip_pct=v["frontier.best_chip_pct"],
                 train_s=v["frontier.best_train_s"])

    def m_bench_train(self) -> None:
        out = run(["cargo", "bench", "-p", "host", "--bench", "train_step", "--",
                   "sparse", "--warm-up-time", "1", "--measurement-time", "3"])
        t = criterion_times(out)
        # Per step, in ms (criterion times one step).
        self.put("bench_train", step_1t_ms=t["train_step_h200_b200_f32/sparse/1_threads"] * 1e3,
                 step_2t_ms=t["train_step_h200_b200_f32/sparse/2_threads"] * 1e3)

    def m_bench_int8(self) -> None:
        out = run(["cargo", "bench", "-p", "host", "--bench", "int8_inference", "--",
                   "int8_engine_test_set|int8_single_image", "--warm-up-time", "1",
                   "--measurement-time", "3"])
        t = criterion_times(out)
        one = [v for k, v in t.items() if k.startswith("int8_engine_test_set/") and "1-thread" in k
               and "portable" not in k]
        two = [v for k, v in t.items() if k.startswith("int8_engine_test_set/") and "2-threads" in k]
        single = [v for k, v in t.items() if k.startswith("int8_single_image/") and k.endswith("engine")]
        self.put("bench_int8", test_set_1t_ms=one[0] * 1e3, test_set_2t_ms=two[0] * 1e3,
                 single_us=single[0] * 1e6)

    def m_first_build(self) -> None:
        """A fresh clone to a trained model: `cargo run -p host --release`, empty target dir.
        (Crates already in ~/.cargo are not downloaded again: a new machine adds that.)"""
        clone = self.work / "fresh-clone"
        run(["git", "clone", "-q", str(ROOT), str(clone)])
        env = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}
        t0 = time.monotonic()
        run(["cargo", "run", "-q", "-p", "host", "--release", "--", "train", "--out",
             str(self.work / "fresh-run")], cwd=clone, env=env)
        self.put("first_build", wall_s=time.monotonic() - t0)
        shutil.rmtree(clone, ignore_errors=True)


def inference_path_size(elf: str) -> int:
    """Bytes of the inference path: `Model::infer` with what it inlines, plus the functions
    it calls that are its own (the layer-1 block store, the `global_asm!` kernels named
    `model_format_*`)."""
    out = run(["nm", "-S", "-C", elf])
    total = 0
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 4 and ("Model>::infer" in line or "BlockIo>::store" in line
                            or p[3].startswith("model_format_")):
            total += int(p[1], 16)
    if not total:
        raise SystemExit(f"check-claims: no Model::infer in {elf}")
    return total


def section_sizes(elf: Path) -> dict[str, int]:
    out = run(["size", "-A", str(elf)])
    return {p[0]: int(p[1]) for p in (line.split() for line in out.splitlines())
            if len(p) >= 2 and p[0].startswith(".") and p[1].isdigit()}


UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def criterion_times(out: str) -> dict[str, float]:
    """Median (middle figure of `time: [lo mid hi]`) per benchmark id, in seconds."""
    times, name = {}, None
    for line in out.splitlines():
        m = re.match(r"^(\S.*?)\s+time:\s+\[(.*)\]", line)
        if m is None and line and not line.startswith(" "):
            name = line.strip()
            continue
        m = m or re.match(r"^\s+time:\s+\[(.*)\]", line)
        if m is None:
            continue
        if m.lastindex == 2:
            name, body = m.group(1).strip(), m.group(2)
        else:
            body = m.group(1)
        parts = body.split()
        if parts[0].endswith("%"):
            # criterion's `change:` block against a saved baseline: percentages, not times.
            continue
        times[name] = float(parts[2]) * UNITS[parts[3]]
    return times


# Figures as docs write them: 133,831 / 98.12 / 3.6e-09; never part of a name (W1, h128).
NUMBER = re.compile(r"(?<![\w])\d[\d,]*(?:\.\d+)?(?:e-?\d+)?")


def figure_of(claim: dict) -> tuple[float, float]:
    """The figure a claim quotes: `figure` (a piece of `text`, e.g. "133,912" or "1.7-2.1"),
    or else the first number of `text`. Returns (low, high), equal unless it is a range."""
    fig = claim.get("figure")
    if fig is not None and fig not in claim["text"]:
        raise SystemExit(f"check-claims: figure {fig!r} is not in its text {claim['text']!r}")
    nums = [float(n.replace(",", "")) for n in NUMBER.findall(fig if fig is not None else claim["text"])]
    if not nums:
        raise SystemExit(f"check-claims: no figure in claim text {claim['text']!r}")
    if claim.get("range"):
        return nums[0], nums[1]
    return nums[0], nums[0]


def fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) < 1e-3:
        return f"{x:.3g}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slow", action="store_true", help="also the figures of long runs")
    ap.add_argument("--only", help="comma-separated measurement groups (e.g. toy,committed)")
    ap.add_argument("--dump", metavar="FILE", help="also write every measured value as JSON")
    ap.add_argument("--values", metavar="FILE",
                    help="check against the values a --dump wrote instead of measuring the groups "
                         "it holds (docs edited after a long run)")
    args = ap.parse_args()

    claims = tomllib.loads((ROOT / "scripts/claims.toml").read_text())["claim"]
    only = set(args.only.split(",")) if args.only else None
    work = Path(tempfile.mkdtemp(prefix="check-claims-"))
    m = Measure(work)
    if args.values:
        m.values = json.loads(Path(args.values).read_text())
        m.done = {k.split(".")[0] for k in m.values}
    docs: dict[str, str] = {}
    rows, bad = [], 0
    try:
        for c in claims:
            doc = docs.setdefault(c["doc"], (ROOT / c["doc"]).read_text())
            quoted = c.get("figure") or " ".join(c["text"].split())[:48]
            where = f"{c['doc']}: {quoted} [{c['measure']}]"
            if c["text"] not in doc:
                rows.append((where, "text not in doc", "", "FAIL"))
                bad += 1
                continue
            key = c["measure"]
            group = key.split(".")[0]
            if key == "by-hand":
                rows.append((where, "by hand", c.get("note", ""), "by hand"))
                continue
            if only is not None and group not in only:
                continue
            if group in SLOW and not args.slow:
                rows.append((where, "", "", "--slow"))
                continue
            lo, hi = figure_of(c)
            got = m.get(key) * c.get("scale", 1)
            if "max" in c:  # an upper bound ("≤ 90 s")
                ok, tol = got <= c["max"], f"<= {fmt(c['max'])}"
            elif "rel" in c:
                r = c["rel"]
                ok, tol = lo * (1 - r) <= got <= hi * (1 + r), f"±{100 * r:g} %"
            else:
                a = c.get("abs", 0)
                ok, tol = lo - a - 1e-12 <= got <= hi + a + 1e-12, f"±{fmt(a)}"
            rows.append((where, fmt(got), tol, "ok" if ok else "DRIFT"))
            bad += not ok
            print(f"{rows[-1][3]:>7}  {where}  (measured {fmt(got)}, {tol})", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.dump:
            Path(args.dump).write_text(json.dumps(m.values, indent=1, sort_keys=True) + "\n")

    w = max(len(r[0]) for r in rows)
    print(f"\n{'claim [measurement]':<{w}}  {'measured':>14}  {'tolerance':>10}  ok")
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:>14}  {r[2]:>10}  {r[3]}")
    checked = sum(r[3] in ("ok", "DRIFT", "FAIL") for r in rows)
    print(f"\n{checked - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

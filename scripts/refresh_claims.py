#!/usr/bin/env python3
"""Rewrite the docs' figures from a check-claims run: the other half of "change a figure only
with the run that produced it".

    bash scripts/check-claims.sh --dump /tmp/values.json     # measure (failures expected)
    python3 scripts/refresh_claims.py /tmp/values.json        # rewrite what is out of tolerance
    bash scripts/check-claims.sh                              # check the result

Every claim of scripts/claims.toml with a `measure` that the dump holds, a single figure
(no range, no `max` bound) and a figure out of its tolerance gets the measured value, written
the way the old figure was (same decimals, thousands commas when it had them); the doc's text
and every claim quoting that text change together. A figure that occurs twice in its text is
left alone and reported, as is a text whose doc no longer holds it.
"""
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = ROOT / "scripts" / "claims.toml"
NUMBER = re.compile(r"(?<![\w])\d[\d,]*(?:\.\d+)?(?:e-?\d+)?")


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def written_like(old: str, value: float) -> str:
    decimals = len(old.split(".", 1)[1]) if "." in old else 0
    if "," in old or (decimals == 0 and abs(value) >= 10_000 and len(old.replace(",", "")) >= 5):
        return f"{value:,.{decimals}f}"
    return f"{value:.{decimals}f}"


def within(claim: dict, old: float, new: float) -> bool:
    if "abs" in claim:
        return abs(new - old) <= claim["abs"]
    if "rel" in claim:
        return abs(new - old) <= claim["rel"] * max(abs(old), 1e-12)
    return new == old


def main() -> int:
    values = json.loads(Path(sys.argv[1]).read_text())
    source = CLAIMS.read_text()
    head, *blocks = source.split("[[claim]]")
    claims = [tomllib.loads(b) for b in blocks]
    # (doc, text) -> list of (old figure, new figure)
    edits: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for c in claims:
        m = c.get("measure")
        if m not in values or c.get("range") or "max" in c:
            continue
        fig = c.get("figure") or (NUMBER.findall(c["text"]) or [None])[0]
        if fig is None:
            continue
        nums = NUMBER.findall(fig)
        if not nums:
            continue
        new = values[m] * c.get("scale", 1.0)
        if within(c, float(nums[0].replace(",", "")), new):
            continue
        new_fig = fig.replace(nums[0], written_like(nums[0], new), 1)
        edits.setdefault((c["doc"], c["text"]), []).append((fig, new_fig))

    renamed: dict[tuple[str, str], str] = {}
    for (doc, text), figs in edits.items():
        new_text = text
        for old, new in figs:
            if text.count(old) != 1:
                print(f"skipped: {old!r} occurs {text.count(old)} times in {text!r}")
                continue
            new_text = new_text.replace(old, new, 1)
        path = ROOT / doc
        body = path.read_text()
        if text not in body:
            print(f"skipped: {doc} no longer holds {text!r}")
            continue
        path.write_text(body.replace(text, new_text))
        renamed[(doc, text)] = new_text
        print(f"{doc}: {text!r}\n  -> {new_text!r}")

    out = [head]
    for raw, c in zip(blocks, claims):
        key = (c["doc"], c["text"])
        if key in renamed:
            raw = raw.replace(f"text = {toml_str(c['text'])}", f"text = {toml_str(renamed[key])}")
            fig = c.get("figure")
            for old, new in edits.get(key, []):
                if fig == old and c.get("measure") in values:
                    raw = raw.replace(f"figure = {toml_str(old)}", f"figure = {toml_str(new)}")
        out.append(raw)
    CLAIMS.write_text("[[claim]]".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

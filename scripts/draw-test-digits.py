#!/usr/bin/env python3
"""Draw the hand-drawn-style test digits of `host/tests/image_cli.rs` (host/tests/data/drawn/).

Each digit is a few pen strokes (smoothed polylines) drawn with a round pen whose width varies
along the stroke, as a pen's pressure does, on canvases unlike MNIST's: dark on light and light
on dark, off-centre, larger than 28x28, grey paper, coloured ink, a transparent background, and
one PGM. Drawn at 4x and downsampled, so edges are anti-aliased as a drawing tool's are.

    pip install pillow numpy && python3 scripts/draw-test-digits.py

The images are committed; this script is how they were made (re-running it rewrites them).
"""

import math
import os

import numpy as np
from PIL import Image, ImageDraw

OUT = os.path.join(os.path.dirname(__file__), "..", "host", "tests", "data", "drawn")
SUPER = 4


def catmull_rom(points, steps=16):
    """A smooth curve through `points` (at least two)."""
    if len(points) < 3:
        return points
    pts = [points[0]] + points + [points[-1]]
    out = []
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for s in range(steps):
            t = s / steps
            out.append(
                tuple(
                    0.5
                    * (
                        2 * p1[k]
                        + (-p0[k] + p2[k]) * t
                        + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t * t
                        + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t * t * t
                    )
                    for k in range(2)
                )
            )
    out.append(points[-1])
    return out


def ellipse(cx, cy, rx, ry, start=0.0, turns=1.0, n=48):
    return [
        (cx + rx * math.sin(start + 2 * math.pi * turns * i / n), cy - ry * math.cos(start + 2 * math.pi * turns * i / n))
        for i in range(n + 1)
    ]


# Strokes of each digit in a unit box (x right, y down); `smooth` strokes go through
# Catmull-Rom, the others are straight segments (corners).
DIGITS = {
    0: [ellipse(0.5, 0.5, 0.36, 0.46, start=-0.3, turns=1.05)],
    1: [[(0.58, 0.03), (0.52, 0.5), (0.45, 0.97)]],
    2: [
        catmull_rom([(0.12, 0.3), (0.3, 0.07), (0.62, 0.05), (0.85, 0.25), (0.7, 0.5), (0.35, 0.78), (0.1, 0.95)])
        + [(0.5, 0.93), (0.92, 0.92)]
    ],
    3: [catmull_rom([(0.15, 0.12), (0.5, 0.02), (0.82, 0.2), (0.45, 0.47), (0.85, 0.7), (0.55, 0.97), (0.12, 0.86)])],
    4: [[(0.22, 0.03), (0.12, 0.6), (0.9, 0.6)], [(0.7, 0.1), (0.68, 0.98)]],
    5: [
        [(0.85, 0.05), (0.28, 0.05), (0.22, 0.45)]
        + catmull_rom([(0.22, 0.45), (0.6, 0.38), (0.87, 0.64), (0.62, 0.94), (0.15, 0.88)])
    ],
    6: [catmull_rom([(0.72, 0.03), (0.38, 0.3), (0.18, 0.68), (0.4, 0.96), (0.78, 0.8), (0.7, 0.52), (0.3, 0.58)])],
    7: [[(0.1, 0.07), (0.9, 0.07), (0.42, 0.97)]],
    8: [
        [
            (0.5 + 0.3 * math.sin(2 * t), 0.5 - 0.47 * math.cos(t))
            for t in (2 * math.pi * i / 96 for i in range(97))
        ]
    ],
    9: [ellipse(0.45, 0.3, 0.3, 0.26, start=1.6, turns=1.05), [(0.75, 0.3), (0.74, 0.62), (0.68, 0.98)]],
}


def draw(digit, size, box, paper, ink, pen, mode="L"):
    """Digit `digit` in the box (x, y, w, h) of a `size` canvas; pen width `pen` x box height,
    varying by +-30 % along each stroke."""
    w, h = size
    img = Image.new(mode, (w * SUPER, h * SUPER), paper)
    d = ImageDraw.Draw(img)
    bx, by, bw, bh = box
    for stroke in DIGITS[digit]:
        pts = [((bx + x * bw) * SUPER, (by + y * bh) * SUPER) for x, y in stroke]
        # Dense points: stamp the round pen along every segment.
        dense = []
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            n = max(1, int(math.hypot(x1 - x0, y1 - y0) / 2))
            dense += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(n)]
        dense.append(pts[-1])
        for i, (x, y) in enumerate(dense):
            r = 0.5 * pen * bh * SUPER * (1 + 0.3 * math.sin(math.pi * i / len(dense) * 2.5))
            d.ellipse([x - r, y - r, x + r, y + r], fill=ink)
    return img.resize((w, h), Image.LANCZOS)


def main():
    os.makedirs(OUT, exist_ok=True)
    images = {
        # name: (digit, canvas size, digit box, paper, ink, pen width, mode, format)
        "zero-dark-on-light.png": (0, (300, 200), (40, 20, 110, 160), 255, 0, 0.09, "L"),
        "one-light-on-dark.png": (1, (120, 160), (30, 20, 40, 120), 0, 255, 0.1, "L"),
        "two-off-centre.png": (2, (300, 200), (200, 100, 70, 90), 250, 20, 0.1, "L"),
        "three-grey-paper.pgm": (3, (200, 260), (50, 40, 100, 180), 190, 70, 0.1, "L"),
        "four-blue-ink.png": (4, (240, 240), (60, 30, 120, 180), (250, 240, 200), (20, 40, 160), 0.1, "RGB"),
        "five-transparent.png": (5, (256, 256), (70, 30, 110, 190), (0, 0, 0, 0), (0, 0, 0, 255), 0.1, "RGBA"),
        "six-large.png": (6, (1200, 900), (450, 150, 400, 600), 255, 30, 0.08, "L"),
        "seven-small-corner.png": (7, (64, 48), (2, 2, 18, 22), 230, 10, 0.12, "L"),
        "eight-chalkboard.png": (8, (300, 300), (90, 40, 130, 220), (30, 60, 40), (235, 235, 225), 0.1, "RGB"),
        # A fine pen on a large sheet: a hairline after the fit, thickened back to MNIST's width.
        "eight-thin-pen.png": (8, (800, 800), (200, 100, 300, 600), 255, 0, 0.015, "L"),
        "nine-red-ink.png": (9, (200, 300), (40, 50, 110, 200), (255, 255, 255), (200, 20, 20), 0.1, "RGB"),
    }
    for name, (digit, size, box, paper, ink, pen, mode) in images.items():
        img = draw(digit, size, box, paper, ink, pen, mode)
        path = os.path.join(OUT, name)
        img.save(path, format="PPM" if name.endswith(".pgm") else "PNG")
        print(path)
    # Like a phone photo of pencil on paper: light falling off to one corner (paper from 150
    # to 240), grey ink, sensor noise (seeded, so the file is reproducible).
    w, h = 640, 480
    coverage = np.asarray(draw(5, (w, h), (260, 90, 180, 300), 255, 0, 0.04)).astype(float) / 255
    yy, xx = np.mgrid[0:h, 0:w]
    paper = 150 + 70 * xx / w + 20 * yy / h
    noise = np.random.default_rng(1).normal(0, 6, (h, w))
    photo = paper * coverage + 60 * (1 - coverage) + noise
    path = os.path.join(OUT, "five-photo-uneven-light.png")
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(path)
    print(path)


if __name__ == "__main__":
    main()

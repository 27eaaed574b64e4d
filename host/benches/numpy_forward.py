#!/usr/bin/env python3
"""numpy's batched float32 forward pass of a 784-H-10 net over the 10,000 MNIST test images:
the reference figure for `cargo bench -p host --bench int8_inference` (group
int8_engine_test_set). Random float32 weights (time does not depend on the values), the real
test images scaled to [0, 1]; one pass = relu(X @ W1 + b1) @ W2 + b2 and the argmax.

Run (numpy only; the BLAS thread count is set before numpy loads):
    python3 host/benches/numpy_forward.py --threads 1
    python3 host/benches/numpy_forward.py --threads 2
"""
import argparse
import gzip
import os
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
parser.add_argument("--hidden", type=int, default=200)
parser.add_argument("--repeat", type=int, default=50, help="timed passes (median reported)")
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402  (after the thread variables)

data = Path(__file__).resolve().parents[2] / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"
raw = np.frombuffer(gzip.open(data).read()[16:], dtype=np.uint8).reshape(-1, 784)
x = raw.astype(np.float32) / 255.0
rng = np.random.default_rng(0)
w1 = rng.standard_normal((784, args.hidden), dtype=np.float32) * 0.05
b1 = np.zeros(args.hidden, dtype=np.float32)
w2 = rng.standard_normal((args.hidden, 10), dtype=np.float32) * 0.1
b2 = np.zeros(10, dtype=np.float32)


def forward():
    h = np.maximum(x @ w1 + b1, 0.0)
    return np.argmax(h @ w2 + b2, axis=1)


forward()  # warm-up
times, cpu = [], []
for _ in range(args.repeat):
    t, c = time.perf_counter(), time.process_time()
    forward()
    times.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
times.sort()
cpu.sort()
median = times[len(times) // 2]
# CPU time (all threads) is the fairer figure on a machine shared with other work.
print(
    f"numpy {np.__version__} float32 forward, 10,000 images, 784-{args.hidden}-10, "
    f"{args.threads} thread(s): median {median * 1e3:.1f} ms, min {times[0] * 1e3:.1f} ms "
    f"({len(raw) / median:,.0f} images/s); CPU time median {cpu[len(cpu) // 2] * 1e3:.1f} ms",
    file=sys.stdout,
)

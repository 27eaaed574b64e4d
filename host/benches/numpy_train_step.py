#!/usr/bin/env python3
"""numpy's float32 training step of the 784-200-10 net, batch 200: the reference figure for
`cargo bench -p host --bench train_step`. The homework's step (affine - ReLU - affine - softmax,
L2 0.5*reg*sum(W^2), SGD with momentum) on random batches of the real, mean-subtracted MNIST
training images, as the homework's solver runs it.

Run (numpy only; the BLAS thread count is set before numpy loads):
    python3 host/benches/numpy_train_step.py --threads 1
    python3 host/benches/numpy_train_step.py --threads 2
"""
import argparse
import gzip
import os
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
parser.add_argument("--iters", type=int, default=200, help="steps per timed run")
parser.add_argument("--repeat", type=int, default=7, help="timed runs (median reported)")
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402  (after the thread variables)

mnist = Path(__file__).resolve().parents[2] / "data" / "mnist"
raw = np.frombuffer(gzip.open(mnist / "train-images-idx3-ubyte.gz").read()[16:], np.uint8)
labels = np.frombuffer(gzip.open(mnist / "train-labels-idx1-ubyte.gz").read()[8:], np.uint8)
x = raw.reshape(-1, 784)[:55000].astype(np.float32) / np.float32(255.0)
x -= x.mean(axis=0)
y = labels[:55000].astype(np.int64)

rng = np.random.default_rng(0)
hidden, batch, reg, lr, mu = 200, 200, np.float32(1e-4), np.float32(0.3), np.float32(0.9)
params = {
    "W1": (rng.standard_normal((784, hidden)) * 1e-4).astype(np.float32),
    "b1": np.zeros(hidden, np.float32),
    "W2": (rng.standard_normal((hidden, 10)) * 1e-4).astype(np.float32),
    "b2": np.zeros(10, np.float32),
}
velocity = {k: np.zeros_like(v) for k, v in params.items()}


def step():
    idx = rng.choice(len(x), batch)
    xb, yb = x[idx], y[idx]
    w1, b1, w2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h = np.maximum(xb @ w1 + b1, 0.0)
    s = h @ w2 + b2
    s -= s.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(batch), yb]).mean() + 0.5 * reg * ((w1 * w1).sum() + (w2 * w2).sum())
    ds = p
    ds[np.arange(batch), yb] -= 1.0
    ds /= batch
    dh = ds @ w2.T
    dh[h <= 0] = 0.0
    grads = {
        "W1": xb.T @ dh + reg * w1,
        "b1": dh.sum(axis=0),
        "W2": h.T @ ds + reg * w2,
        "b2": ds.sum(axis=0),
    }
    for k, g in grads.items():
        v = velocity[k]
        v *= mu
        v -= lr * g
        params[k] += v
    return loss


for _ in range(20):  # warm-up
    step()
times = []
for _ in range(args.repeat):
    t = time.perf_counter()
    for _ in range(args.iters):
        step()
    times.append((time.perf_counter() - t) / args.iters)
times.sort()
print(
    f"numpy {np.__version__} float32 training step, 784-{hidden}-10, batch {batch}, "
    f"{args.threads} thread(s): median {times[len(times) // 2] * 1e3:.3f} ms per step "
    f"(min {times[0] * 1e3:.3f}, max {times[-1] * 1e3:.3f}), i.e. "
    f"{times[len(times) // 2] * 1e3:.2f} s per 1,000 iterations",
    file=sys.stdout,
)

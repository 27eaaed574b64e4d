#!/usr/bin/env python3
"""numpy's float32 training step of the 784-200-10 net, batch 200: the reference figure for
`cargo bench -p host --bench train_step`. The homework's step (affine - ReLU - affine - softmax,
L2 0.5*reg*sum(W^2), SGD with momentum) on random batches of the real, mean-subtracted MNIST
training images, as the homework's solver runs it.

Run (numpy only; the BLAS thread count is set before numpy loads):
    python3 host/benches/numpy_train_step.py --threads 1
    python3 host/benches/numpy_train_step.py --threads 2
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from train_step_common import BATCH, HIDDEN, LR, MU, REG, arguments, report, training_set  # noqa: E402

args = arguments(__doc__.splitlines()[0])
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402  (after the thread variables)

x, y = training_set()

rng = np.random.default_rng(0)
hidden, batch, reg, lr, mu = HIDDEN, BATCH, np.float32(REG), np.float32(LR), np.float32(MU)
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


report(step, args, f"numpy {np.__version__}")

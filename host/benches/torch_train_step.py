#!/usr/bin/env python3
"""PyTorch's float32 training step of the 784-200-10 net, batch 200, on the CPU: the second
reference figure for `cargo bench -p host --bench train_step`: the same net, batch, loss (softmax
cross-entropy + 0.5*reg*sum(W^2)) and sampling as numpy_train_step.py, written the way PyTorch is
used: autograd and torch.optim.SGD with momentum 0.9 (its momentum form v = mu*v + g, w -= lr*v
costs the same as the homework's).

Run (needs torch; not part of the test suite):
    python3 host/benches/torch_train_step.py --threads 1
    python3 host/benches/torch_train_step.py --threads 2
"""
import argparse
import gzip
import sys
import time
from pathlib import Path

import numpy as np
import torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
parser.add_argument("--iters", type=int, default=200, help="steps per timed run")
parser.add_argument("--repeat", type=int, default=7, help="timed runs (median reported)")
args = parser.parse_args()
torch.set_num_threads(args.threads)

mnist = Path(__file__).resolve().parents[2] / "data" / "mnist"
raw = np.frombuffer(gzip.open(mnist / "train-images-idx3-ubyte.gz").read()[16:], np.uint8)
labels = np.frombuffer(gzip.open(mnist / "train-labels-idx1-ubyte.gz").read()[8:], np.uint8)
x = torch.from_numpy(raw.reshape(-1, 784)[:55000].astype(np.float32) / np.float32(255.0))
x -= x.mean(dim=0)
y = torch.from_numpy(labels[:55000].astype(np.int64))

gen = torch.Generator().manual_seed(0)
hidden, batch, reg, lr, mu = 200, 200, 1e-4, 0.3, 0.9
w1 = torch.randn(784, hidden, generator=gen) * 1e-4
b1 = torch.zeros(hidden)
w2 = torch.randn(hidden, 10, generator=gen) * 1e-4
b2 = torch.zeros(10)
params = [w1, b1, w2, b2]
for p in params:
    p.requires_grad_(True)
opt = torch.optim.SGD(params, lr=lr, momentum=mu)


def step():
    idx = torch.randint(len(x), (batch,), generator=gen)
    xb, yb = x[idx], y[idx]
    scores = torch.relu(xb @ w1 + b1) @ w2 + b2
    loss = torch.nn.functional.cross_entropy(scores, yb)
    loss = loss + 0.5 * reg * ((w1 * w1).sum() + (w2 * w2).sum())
    opt.zero_grad(set_to_none=False)
    loss.backward()
    opt.step()
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
    f"torch {torch.__version__} float32 training step, 784-{hidden}-10, batch {batch}, "
    f"{args.threads} thread(s): median {times[len(times) // 2] * 1e3:.3f} ms per step "
    f"(min {times[0] * 1e3:.3f}, max {times[-1] * 1e3:.3f}), i.e. "
    f"{times[len(times) // 2] * 1e3:.2f} s per 1,000 iterations",
    file=sys.stdout,
)

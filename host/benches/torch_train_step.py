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
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from train_step_common import BATCH, HIDDEN, LR, MU, REG, arguments, report, training_set  # noqa: E402

args = arguments(__doc__.splitlines()[0])
torch.set_num_threads(args.threads)
x, y = (torch.from_numpy(a) for a in training_set())

gen = torch.Generator().manual_seed(0)
hidden, batch, reg, lr, mu = HIDDEN, BATCH, REG, LR, MU
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


report(step, args, f"torch {torch.__version__}")

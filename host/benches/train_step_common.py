"""What numpy_train_step.py and torch_train_step.py share: the command line, the MNIST training
images as the homework prepares them, and the timing. numpy is loaded only by `training_set`, so
a caller can set the BLAS thread variables after `arguments`."""
import argparse
import gzip
import sys
import time
from pathlib import Path

HIDDEN, BATCH, REG, LR, MU = 200, 200, 1e-4, 0.3, 0.9


def arguments(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=1, help="threads (default 1)")
    parser.add_argument("--iters", type=int, default=200, help="steps per timed run")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs (median reported)")
    return parser.parse_args()


def training_set():
    """The first 55,000 training images as float32 pixel/255 minus their mean, and labels."""
    import numpy as np

    mnist = Path(__file__).resolve().parents[2] / "data" / "mnist"
    raw = np.frombuffer(gzip.open(mnist / "train-images-idx3-ubyte.gz").read()[16:], np.uint8)
    labels = np.frombuffer(gzip.open(mnist / "train-labels-idx1-ubyte.gz").read()[8:], np.uint8)
    x = raw.reshape(-1, 784)[:55000].astype(np.float32) / np.float32(255.0)
    x -= x.mean(axis=0)
    return x, labels[:55000].astype(np.int64)


def report(step, args, library):
    """Times `step` (after 20 warm-up steps) and prints the median per step."""
    for _ in range(20):
        step()
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        for _ in range(args.iters):
            step()
        times.append((time.perf_counter() - t) / args.iters)
    times.sort()
    median = times[len(times) // 2]
    print(
        f"{library} float32 training step, 784-{HIDDEN}-10, batch {BATCH}, "
        f"{args.threads} thread(s): median {median * 1e3:.3f} ms per step "
        f"(min {times[0] * 1e3:.3f}, max {times[-1] * 1e3:.3f}), i.e. "
        f"{median * 1e3:.2f} s per 1,000 iterations",
        file=sys.stdout,
    )

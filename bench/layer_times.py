"""Where a CNN training batch spends its time, layer by layer (docs/BENCHMARKS.md).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OCRKIT_DATA=../shared/data \\
        .venv/bin/python bench/layer_times.py [ARCH]

Trains the architecture (default: the shipped model's) for two passes over 25,600 EMNIST
training samples, batch 64, Adam, and prints each layer's forward and backward time per
batch, and the loss and optimiser steps, from wall-clock timers around each call. With
PyTorch installed, its twin of the network (bench.py's) then trains on the same batches
under `torch.profiler`, which prints PyTorch's operators by their own time per batch.
"""
from __future__ import annotations

import sys
import time
from collections import defaultdict

import numpy as np

from ocrkit.data import load_dataset
from ocrkit.engine import Adam, Network, SoftmaxCrossEntropy
from ocrkit.engine.specs import arch_specs

ARCH = "conv32-pool-conv64-pool-fc256-drop0.3"
BATCH, BATCHES, PASSES = 64, 400, 2


def timed(times: dict, key: str, fn):
    def run(*args, **kwargs):
        t = time.perf_counter()
        result = fn(*args, **kwargs)
        times[key] += time.perf_counter() - t
        return result
    return run


def main(arch: str = ARCH):
    ds = load_dataset("emnist", "train")
    x, y = ds.x[:BATCH * BATCHES], ds.y[:BATCH * BATCHES]
    net = Network(arch_specs(arch, len(ds.classes)), (32, 32), np.random.default_rng(0))
    loss, opt, pairs = SoftmaxCrossEntropy(), Adam(1e-3), net.param_grad_pairs()
    times = defaultdict(float)
    for i, layer in enumerate(net.layers):
        for step in ("forward", "backward"):
            key = f"{i:2d} {type(layer).__name__} {step}"
            setattr(layer, step, timed(times, key, getattr(layer, step)))
    loss_step = timed(times, "loss", lambda out, t: (loss.forward(out, t), loss.backward()))
    opt_step = timed(times, "optimiser", opt.step)
    rng, start = np.random.default_rng(0), time.perf_counter()
    for _ in range(PASSES):
        order = rng.permutation(len(x))
        for b in range(BATCHES):
            idx = order[b * BATCH:(b + 1) * BATCH]
            out = net.forward(x[idx], train=True, logits=True)
            _, grad = loss_step(out, y[idx])
            net.backward(grad, input_grad=False)
            opt_step(pairs)
    n = PASSES * BATCHES
    print(f"{arch}, batch {BATCH}: ms per batch")
    for key, seconds in times.items():
        print(f"  {key:30s} {1000 * seconds / n:7.3f}")
    print(f"  {'total (wall clock)':30s} {1000 * (time.perf_counter() - start) / n:7.3f}")
    try:
        torch_profile(arch, net, x, y, n)
    except ImportError:
        print("PyTorch not installed: no side-by-side profile")


def torch_profile(arch: str, init: Network, x, y, n: int):
    import torch
    from torch.profiler import ProfilerActivity, profile

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from bench import torch_cnn
    model = torch_cnn(arch_specs(arch, init.output_shape[0]), init)
    opt, loss = torch.optim.Adam(model.parameters(), lr=1e-3), torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x[:, None]), torch.from_numpy(y.astype(np.int64))
    rng, start = np.random.default_rng(0), time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(PASSES):
            order = torch.from_numpy(rng.permutation(len(x)))
            for b in range(BATCHES):
                idx = order[b * BATCH:(b + 1) * BATCH]
                opt.zero_grad(set_to_none=True)
                loss(model(xt[idx]), yt[idx]).backward()
                opt.step()
    wall = time.perf_counter() - start
    print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads), ms per batch "
          "(self time of its busiest operators)")
    for event in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:12]:
        print(f"  {event.key:40s} {event.self_cpu_time_total / 1000 / n:7.3f}")
    print(f"  {'total (wall clock, profiler on)':40s} {1000 * wall / n:7.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])

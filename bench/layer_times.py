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
from pathlib import Path

import numpy as np

from ocrkit.data import load_dataset
from ocrkit.engine import Adam, Network, SoftmaxCrossEntropy
from ocrkit.engine.specs import arch_specs
from ocrkit.train import Trainer

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
    specs = arch_specs(arch, len(ds.classes))
    net = Network(specs, (32, 32), np.random.default_rng(0))
    loss, opt = SoftmaxCrossEntropy(), Adam(1e-3)
    times = defaultdict(float)
    for i, layer in enumerate(net.layers):
        for step in ("forward", "backward"):
            key = f"{i:2d} {type(layer).__name__} {step}"
            setattr(layer, step, timed(times, key, getattr(layer, step)))
    loss.forward = timed(times, "loss", loss.forward)
    loss.backward = timed(times, "loss", loss.backward)
    opt.step = timed(times, "optimiser", opt.step)
    trainer = Trainer(net, loss, opt, epochs=PASSES, batch_size=BATCH, progress=False)
    start = time.perf_counter()
    trainer.fit(x, y)           # the one training loop, as `ocrkit train` runs it
    n = PASSES * BATCHES
    print(f"{arch}, batch {BATCH}: ms per batch")
    for key, seconds in times.items():
        print(f"  {key:30s} {1000 * seconds / n:7.3f}")
    print(f"  {'total (wall clock)':30s} {1000 * (time.perf_counter() - start) / n:7.3f}")
    try:
        torch_profile(specs, Network(specs, (32, 32), np.random.default_rng(0)), x, y, n)
    except ImportError:
        print("PyTorch not installed: no side-by-side profile")


def torch_profile(specs, init: Network, x, y, n: int):
    """bench.py's PyTorch twin and epoch, PASSES epochs over x under torch.profiler."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    sys.path.insert(0, str(Path(__file__).parent))
    from bench import torch_cnn_epoch
    epoch, _, _ = torch_cnn_epoch(x, y, specs, init, batch=BATCH)
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(PASSES):
            epoch()
    wall = time.perf_counter() - start
    print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads), ms per batch "
          "(self time of its busiest operators)")
    for event in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:12]:
        print(f"  {event.key:40s} {event.self_cpu_time_total / 1000 / n:7.3f}")
    print(f"  {'total (wall clock, profiler on)':40s} {1000 * wall / n:7.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])

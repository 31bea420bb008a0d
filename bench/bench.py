"""`make bench`: ocrkit side by side with its peers, in one run, reported as ratios.

- MLP training epoch: the HW5 network (1024-64-36 sigmoid, softmax cross-entropy, SGD,
  batch 32, float32) for one epoch of the EMNIST train split, in ocrkit and in PyTorch CPU
  with the same data, batch order and initial weights. Median of several epochs each.

- CNN training epoch: the shipped default model's architecture (models/default.pkl), batch 64,
  Adam, float32, no augmentation (the engine is timed, not the data pipeline), on the same
  data in ocrkit and in PyTorch with the same initial weights. Median of CNN_ROUNDS epochs.
- Inference: the default model classifying a page's worth (100) of characters.

The three run at one thread and then at two (THREADS): ocrkit's engine threads
(ocrkit.engine.threads, its BLAS held to one thread inside them), PyTorch's
torch.set_num_threads; at one thread numpy's BLAS is held to one too. Each ratio compares
the two sides at the same thread count in the same run.

BENCH_TRAINING_ONLY=1 runs these three alone (about half an hour on 2 cores) and updates
their entries in bench/results.json. PyTorch is only a yardstick here (`pip install torch==2.13.0`), never an ocrkit dependency;
its side is skipped when it is not installed. Results go to stdout and bench/results.json.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

from ocrkit.data import load_dataset
from ocrkit.engine import SGD, Network, SoftmaxCrossEntropy
from ocrkit.errors import OcrkitError
from ocrkit.train import Trainer, mlp_specs

ROUNDS = 5          # timed epochs per side, alternating sides (after one warm-up each)
CNN_ROUNDS = 3
THREADS = (1, 2)    # the thread counts the training and inference benches run at
FALLBACK_ARCH = "conv32-pool-conv64-pool-fc256-drop0.3"
RESULTS = Path(__file__).with_name("results.json")


def mlp_data():
    try:
        ds = load_dataset("emnist", "train")
        return ds.x, ds.y, "EMNIST train split"
    except OcrkitError:
        rng = np.random.default_rng(0)
        n = 71411
        return (rng.uniform(size=(n, 32, 32)).astype(np.float32), rng.integers(0, 36, n),
                "random 32x32 (EMNIST not found)")


def ocrkit_mlp_epoch(x, y, lr=0.1, batch=32):
    """A function running one training epoch in ocrkit, and the network it trains."""
    net = Network(mlp_specs([64], "sigmoid", 36), (32, 32), np.random.default_rng(0))
    trainer = Trainer(net, SoftmaxCrossEntropy(), SGD(lr), epochs=1, batch_size=batch,
                      progress=False)
    return (lambda: trainer.fit(x, y)), net


def torch_mlp_epoch(x, y, init: Network, lr=0.1, batch=32):
    """The same epoch in PyTorch: same data, same initial weights, idiomatic loop."""
    import torch
    from torch import nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(1024, 64), nn.Sigmoid(), nn.Linear(64, 36))
    params = init.get_params()
    with torch.no_grad():
        model[1].weight.copy_(torch.from_numpy(params["1.W"].T.copy()))
        model[1].bias.copy_(torch.from_numpy(params["1.b"]))
        model[3].weight.copy_(torch.from_numpy(params["2.W"].T.copy()))
        model[3].bias.copy_(torch.from_numpy(params["2.b"]))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    rng = np.random.default_rng(0)

    def epoch():
        order = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    return epoch, f"torch {torch.__version__}, {torch.get_num_threads()} threads"


def interleaved(runs: dict, rounds: int = ROUNDS, warmups: dict | None = None) -> dict:
    """Median seconds of each run over `rounds`, alternating runs so that a slow spell of the
    machine hits every side alike; one untimed warm-up each first (`warmups[name]` instead
    of the run itself when given)."""
    for name, fn in runs.items():
        (warmups or {}).get(name, fn)()
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def epoch_ratio(t: dict, about: str, aim: float, digits: int, **entry) -> dict:
    """Print ocrkit's and (when it ran) PyTorch's seconds per epoch and their ratio; return
    them with `entry` for results.json."""
    entry["ocrkit_s"] = round(t["ocrkit"], digits)
    print(f"  ocrkit   {t['ocrkit']:7.{digits}f} s/epoch")
    if "pytorch" in t:
        ratio = t["ocrkit"] / t["pytorch"]
        print(f"  pytorch  {t['pytorch']:7.{digits}f} s/epoch  ({about})")
        print(f"  ratio    ocrkit / pytorch = {ratio:.2f}x  (aim: <= {aim}x)")
        entry.update(pytorch_s=round(t["pytorch"], digits), pytorch=about, ratio=round(ratio, 3))
    else:
        print("  pytorch  not installed (pip install torch==2.13.0): comparison skipped")
    return entry


def default_specs() -> tuple[list, str]:
    from ocrkit import modelfile
    from ocrkit.engine.specs import arch_specs
    try:
        model = modelfile.load(modelfile.default_model_path())
        if any(s["type"] == "conv2d" for s in model.network.specs):
            return model.network.specs, "models/default.pkl"
    except OcrkitError:
        pass
    return arch_specs(FALLBACK_ARCH, 36), FALLBACK_ARCH


def ocrkit_cnn_epoch(x, y, specs, batch=64):
    from ocrkit.engine import Adam
    net = Network(specs, (32, 32), np.random.default_rng(0))
    trainer = Trainer(net, SoftmaxCrossEntropy(), Adam(1e-3), epochs=1, batch_size=batch,
                      progress=False)
    return (lambda: trainer.fit(x, y)), (lambda: trainer.fit(x[:2000], y[:2000])), net


def torch_cnn(specs, init: Network):
    """The same network in PyTorch (channels first), with init's weights."""
    import torch
    from torch import nn
    params, layers, shape = init.get_params(), [], (32, 32, 1)
    with torch.no_grad():
        for i, s in enumerate(specs):
            if s["type"] == "conv2d":
                k = s.get("kernel", 3)
                conv = nn.Conv2d(shape[2], s["filters"], k, s.get("stride", 1),
                                 padding="same" if s.get("padding", "same") == "same" else 0)
                conv.weight.copy_(torch.from_numpy(params[f"{i}.W"].transpose(3, 2, 0, 1).copy()))
                conv.bias.copy_(torch.from_numpy(params[f"{i}.b"]))
                layers += [conv, nn.ReLU()]
                shape = (shape[0], shape[1], s["filters"])
            elif s["type"] == "maxpool2d":
                layers.append(nn.MaxPool2d(s.get("size", 2)))
                shape = (shape[0] // s.get("size", 2), shape[1] // s.get("size", 2), shape[2])
            elif s["type"] == "flatten":
                layers.append(nn.Flatten())
            elif s["type"] == "dropout":
                layers.append(nn.Dropout(s["rate"]))
            elif s["type"] == "dense":
                w = params[f"{i}.W"]
                if len(shape) == 3:     # ours flattens (H, W, C), torch (C, H, W)
                    w = w.reshape(*shape, -1).transpose(2, 0, 1, 3).reshape(w.shape)
                dense = nn.Linear(w.shape[0], w.shape[1])
                dense.weight.copy_(torch.from_numpy(w.T.copy()))
                dense.bias.copy_(torch.from_numpy(params[f"{i}.b"]))
                layers.append(dense)
                if s.get("activation") == "relu":
                    layers.append(nn.ReLU())
                shape = (w.shape[1],)
            else:
                raise ValueError(f"bench: no PyTorch twin for {s}")
    return nn.Sequential(*layers)


def torch_cnn_epoch(x, y, specs, init: Network, batch=64):
    import torch
    from torch import nn
    model = torch_cnn(specs, init)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x[:, None]), torch.from_numpy(y.astype(np.int64))
    rng = np.random.default_rng(0)

    def epoch(n=len(x)):
        model.train()
        order = torch.from_numpy(rng.permutation(n))
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    return epoch, (lambda: epoch(2000)), model


@contextmanager
def on_threads(n: int):
    """ocrkit's engine and PyTorch on n threads; at one thread numpy's BLAS too (with more,
    the engine holds BLAS to one thread itself while it splits the work)."""
    from threadpoolctl import threadpool_limits
    from ocrkit.engine import threads
    before = threads.get_threads()
    threads.set_threads(n)
    try:
        import torch
        torch_before = torch.get_num_threads()
        torch.set_num_threads(n)
    except ImportError:
        torch = None
    try:
        with threadpool_limits(1, "blas") if n == 1 else nullcontext():
            yield
    finally:
        threads.set_threads(before)
        if torch is not None:
            torch.set_num_threads(torch_before)


def mlp_bench(results: dict, x, y, source) -> None:
    print(f"MLP 1024-64-36 sigmoid, SGD, batch 32, float32, one epoch of {len(x)} samples "
          f"({source}); median of {ROUNDS} epochs each, alternating")
    ours_fn, net = ocrkit_mlp_epoch(x, y)
    runs, about = {"ocrkit": ours_fn}, ""
    try:
        runs["pytorch"], about = torch_mlp_epoch(x, y, net)
    except ImportError:
        pass
    t = interleaved(runs)
    results["mlp_epoch"] = epoch_ratio(t, about, aim=0.4, digits=3, samples=len(x), data=source)


def cnn_bench(results: dict, x, y, source) -> None:
    specs, arch = default_specs()
    print(f"CNN ({arch}), Adam, batch 64, float32, no augmentation, one epoch of {len(x)} "
          f"samples ({source}); median of {CNN_ROUNDS} epochs each, alternating")
    ours, ours_warm, net = ocrkit_cnn_epoch(x, y, specs)
    runs, warm, about = {"ocrkit": ours}, {"ocrkit": ours_warm}, ""
    try:
        import torch
        runs["pytorch"], warm["pytorch"], tmodel = torch_cnn_epoch(x, y, specs, net)
        about = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
        with torch.no_grad():       # the twin computes what ocrkit computes
            probe = x[:8]
            ours_out = net.forward(probe, logits=True)
            tmodel.eval()
            theirs = tmodel(torch.from_numpy(probe[:, None])).numpy()
        assert np.allclose(ours_out, theirs, atol=1e-3), "bench: PyTorch twin differs"
    except ImportError:
        pass
    t = interleaved(runs, CNN_ROUNDS, warm)
    results["cnn_epoch"] = epoch_ratio(t, about, aim=1.0, digits=2,
                                       architecture=arch, samples=len(x))
    page = x[:100]
    net.predict(page)
    t_page = interleaved({"page": lambda: net.predict(page)}, rounds=20)["page"]
    print(f"  inference: 100 characters in {1000 * t_page:.1f} ms (aim: <= 5 ms)")
    results["cnn_100_chars_ms"] = round(1000 * t_page, 2)


def layout_bench(results: dict) -> None:
    """Why channels last: one 3x3 convolution (32 -> 32 channels, 32x32, batch 64), forward and
    input gradient as im2col + GEMM, in each layout. Channels first needs its windows gathered
    across planes and the GEMM output (N*H*W, F) transposed back to (N, F, H, W)."""
    from numpy.lib.stride_tricks import sliding_window_view as windows
    rng = np.random.default_rng(0)
    n, h, c, f, k = 64, 32, 32, 32, 3
    w = rng.standard_normal((k * k * c, f)).astype(np.float32)
    x_last = rng.random((n, h + 2, h + 2, c), dtype=np.float32)
    x_first = np.ascontiguousarray(x_last.transpose(0, 3, 1, 2))

    def last():             # (N, H, W, C) in, (N, H, W, F) out
        cols = np.ascontiguousarray(windows(x_last, (k, k), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3))
        y = (cols.reshape(-1, k * k * c) @ w).reshape(n, h, h, f)
        dcols = np.ascontiguousarray(windows(np.pad(y, ((0, 0), (1, 1), (1, 1), (0, 0))), (k, k),
                                             axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3))
        return dcols.reshape(-1, k * k * f) @ w.reshape(k * k, c, f).transpose(0, 2, 1).reshape(-1, c)

    def first():            # (N, C, H, W) in, (N, F, H, W) out
        cols = np.ascontiguousarray(windows(x_first, (k, k), axis=(2, 3)).transpose(0, 2, 3, 4, 5, 1))
        y = np.ascontiguousarray((cols.reshape(-1, k * k * c) @ w).reshape(n, h, h, f)
                                 .transpose(0, 3, 1, 2))
        dcols = np.ascontiguousarray(windows(np.pad(y, ((0, 0), (0, 0), (1, 1), (1, 1))), (k, k),
                                             axis=(2, 3)).transpose(0, 2, 3, 4, 5, 1))
        dx = dcols.reshape(-1, k * k * f) @ w.reshape(k * k, c, f).transpose(0, 2, 1).reshape(-1, c)
        return np.ascontiguousarray(dx.reshape(n, h, h, c).transpose(0, 3, 1, 2))

    t = interleaved({"channels last": last, "channels first": first}, rounds=10)
    print(f"conv layout (3x3, 32->32, 32x32, batch 64, forward + input gradient): channels last "
          f"{1000 * t['channels last']:.1f} ms, channels first {1000 * t['channels first']:.1f} ms")
    results["conv_layout_ms"] = {k: round(1000 * v, 1) for k, v in t.items()}


def clean(text: str) -> str:
    """Keep what the ground truth keeps: A-Z, 0-9, spaces and line breaks."""
    import re
    return "\n".join(re.sub(r"[^A-Z0-9 ]", "", line.upper()) for line in text.splitlines())


def ocr_bench(results: dict) -> None:
    """ocrkit ocr and Tesseract on the same real photos: CER of each and the time ratio."""
    import shutil
    import subprocess
    from ocrkit import modelfile
    from ocrkit.metrics import error_rates
    from ocrkit.page import read_page
    data = Path(os.environ.get("OCRKIT_DATA", "../shared/data")) / "images"
    photos = sorted(data.glob("*.jpg"))
    if not photos:
        print("OCR: no photos found under", data, "- skipped")
        return
    model = modelfile.load(modelfile.default_model_path())
    tesseract = shutil.which("tesseract")
    print(f"OCR of {len(photos)} real photos ({data}), median of {ROUNDS} runs each")
    rows = []
    for photo in photos:
        truth = photo.with_suffix(".gt.txt").read_text()
        runs = {"ocrkit": lambda: read_page(photo, model).text}
        if tesseract:
            runs["tesseract"] = lambda: subprocess.run(
                [tesseract, str(photo), "stdout"], capture_output=True, text=True,
                check=True).stdout
        texts = {name: fn() for name, fn in runs.items()}
        t = interleaved(runs)
        row = {"photo": photo.name}
        for name in runs:
            cer = error_rates(clean(texts[name]), truth)["cer"]
            row[name] = {"seconds": round(t[name], 3), "cer": round(cer, 4)}
        line = f"  {photo.name:16s} ocrkit {t['ocrkit']:.2f} s CER {100 * row['ocrkit']['cer']:.1f}%"
        if tesseract:
            row["ratio"] = round(t["ocrkit"] / t["tesseract"], 3)
            line += (f" | tesseract {t['tesseract']:.2f} s CER "
                     f"{100 * row['tesseract']['cer']:.1f}% | time ratio {row['ratio']:.2f}x")
        print(line)
        rows.append(row)
    if not tesseract:
        print("  tesseract not installed (apt-get install tesseract-ocr): comparison skipped")
    results["ocr"] = rows


def synth_bench(results: dict) -> None:
    """Characters rendered per second by the synth generator (aim: >= 5,000 on one core)."""
    from ocrkit.data.synth import render_characters
    labels = np.arange(20000) % 36
    rng = np.random.default_rng(0)
    render_characters(labels[:2000], rng)
    t = interleaved({"synth": lambda: render_characters(labels, rng)}, rounds=3)["synth"]
    print(f"synth: {len(labels) / t:,.0f} characters/s ({len(labels)} in {t:.2f} s; "
          "aim >= 5,000 on one core)")
    results["synth_chars_per_s"] = round(len(labels) / t)


def blas_kernels() -> str:
    """Which BLAS numpy runs, with which kernels and threads (OPENBLAS_CORETYPE can force old
    ones: `make bench` unsets it for its own run)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to see)"
    blas = [d for d in threadpool_info() if d["user_api"] == "blas"]
    blas = [d for d in blas if "numpy" in d["filepath"]] or blas     # not scipy's copy
    libs = [f"{d['internal_api']} {d['version']}, {d.get('architecture', '?')} kernels, "
            f"{d['num_threads']} threads" for d in blas]
    forced = os.environ.get("OPENBLAS_CORETYPE")
    return "; ".join(libs) + (f" (forced by OPENBLAS_CORETYPE={forced})" if forced else "")


def main():
    results = {"machine": f"{platform.machine()}, {platform.python_version()}, "
                          f"numpy {np.__version__}", "blas": blas_kernels()}
    print(f"numpy BLAS: {results['blas']}")
    print(f"load average before: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    x, y, source = mlp_data()
    for n in THREADS:
        print(f"--- {n} thread{'s' if n > 1 else ''}")
        with on_threads(n):
            results[f"threads_{n}"] = at_n = {}
            mlp_bench(at_n, x, y, source)
            cnn_bench(at_n, x, y, source)
        at_n["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
        print(f"  load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if os.environ.get("BENCH_TRAINING_ONLY"):      # the engine's figures alone, merged in
        merged = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        for old in ("mlp_epoch", "cnn_epoch", "cnn_100_chars_ms"):   # before THREADS
            merged.pop(old, None)
        RESULTS.write_text(json.dumps(merged | results, indent=2) + "\n")
        print(f"written {RESULTS} (training and inference only)")
        return
    layout_bench(results)
    ocr_bench(results)
    synth_bench(results)
    import batch                    # bench/batch.py: batch OCR, jobs, Dask, Tesseract, start-up
    batch.main(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()

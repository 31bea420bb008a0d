"""`make bench`: ocrkit side by side with its peers, in one run, reported as ratios.

- MLP training epoch: the HW5 network (1024-64-36 sigmoid, softmax cross-entropy, SGD,
  batch 32, float32) for one epoch of the EMNIST train split, in ocrkit and in PyTorch CPU
  with the same data, batch order and initial weights. Median of several epochs each.

PyTorch is only a yardstick here (`pip install torch==2.13.0`), never an ocrkit dependency;
its side is skipped when it is not installed. Results go to stdout and bench/results.json.
"""
from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from ocrkit.data import load_dataset
from ocrkit.engine import SGD, Network, SoftmaxCrossEntropy
from ocrkit.errors import OcrkitError
from ocrkit.train import Trainer, mlp_specs

ROUNDS = 5          # timed epochs per side, alternating sides (after one warm-up each)
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


def interleaved(runs: dict, rounds: int = ROUNDS) -> dict:
    """Median seconds of each run over `rounds`, alternating runs so that a slow spell of the
    machine hits every side alike; one untimed warm-up each first."""
    for fn in runs.values():
        fn()
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def clean(text: str) -> str:
    """Keep what the ground truth keeps: A-Z, 0-9, spaces and line breaks."""
    import re
    return "\n".join(re.sub(r"[^A-Z0-9 ]", "", line.upper()) for line in text.splitlines())


def ocr_bench(results: dict) -> None:
    """ocrkit ocr and Tesseract on the same real photos: CER of each and the time ratio."""
    import os
    import shutil
    import subprocess
    from ocrkit import modelfile
    from ocrkit.metrics import error_rates
    from ocrkit.recognize import read_page
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


def main():
    results = {"machine": f"{platform.machine()}, {platform.python_version()}, "
                          f"numpy {np.__version__}"}
    x, y, source = mlp_data()
    print(f"MLP 1024-64-36 sigmoid, SGD, batch 32, float32, one epoch of {len(x)} samples "
          f"({source}); median of {ROUNDS} epochs each, alternating")
    ours_fn, net = ocrkit_mlp_epoch(x, y)
    runs, about = {"ocrkit": ours_fn}, ""
    try:
        runs["pytorch"], about = torch_mlp_epoch(x, y, net)
    except ImportError:
        pass
    t = interleaved(runs)
    print(f"  ocrkit   {t['ocrkit']:7.3f} s/epoch")
    entry = {"samples": len(x), "data": source, "ocrkit_s": round(t["ocrkit"], 3)}
    if "pytorch" in t:
        ratio = t["ocrkit"] / t["pytorch"]
        print(f"  pytorch  {t['pytorch']:7.3f} s/epoch  ({about})")
        print(f"  ratio    ocrkit / pytorch = {ratio:.2f}x  (aim: <= 0.4x)")
        entry.update(pytorch_s=round(t["pytorch"], 3), pytorch=about, ratio=round(ratio, 3))
    else:
        print("  pytorch  not installed (pip install torch==2.13.0): comparison skipped")
    results["mlp_epoch"] = entry
    ocr_bench(results)
    synth_bench(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()

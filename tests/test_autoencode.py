"""Autoencoders: the squared-error gradient path, PSNR, the PCA baseline, denoising, the
`ocrkit autoencode` command, `evaluate` on autoencoders, and bad input."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from ocrkit import modelfile
from ocrkit.autoencode import autoencoder_specs, bottleneck, pick_classes, sample_indices
from ocrkit.cli import main
from ocrkit.data import Dataset, load_dataset
from ocrkit.data.augment import SaltAndPepper
from ocrkit.engine import Adam, Network, ReLU, SquaredError, check_gradients
from ocrkit.errors import OcrkitError
from ocrkit.metrics import (pca_baseline, pca_fit, pca_reconstruct, psnr_per_image,
                            reconstruction_scores)
from ocrkit.config import AutoencodeConfig
from ocrkit.train import Trainer, mlp_specs, train_model

SIZE = ["--size", "3000"]       # synth: 2400 train, 300 valid, 300 test characters


def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:   # click >= 8.2 always keeps stderr apart
        return CliRunner()


def run(*args, ok=True):
    result = runner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output + result.stderr + repr(result.exception)
    return result


def error_line(result) -> str:
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    return lines[0]


# -- engine and metrics -------------------------------------------------------------------------
@pytest.mark.parametrize("activations", [["relu"], ["relu", "tanh", "sigmoid"]])
def test_gradients_of_the_autoencoder_squared_error_path(activations, rng):
    specs = autoencoder_specs([5, 3, 5], activations, n_pixels=9)
    net = Network(specs, (3, 3), rng, np.float64)
    for _ in range(100):        # inputs whose ReLU inputs all keep clear of the kink at 0
        x = rng.uniform(size=(6, 3, 3))
        h, near_kink = x, False
        for layer in net.layers:
            if isinstance(layer, ReLU):
                near_kink |= bool(np.min(np.abs(h)) < 1e-4)
            h = layer.forward(h)
        if not near_kink:
            break
    errors = check_gradients(net, SquaredError(), x, x)        # target = the input, (N, 3, 3)
    assert set(errors) == {"input", "1.W", "1.b", "2.W", "2.b", "3.W", "3.b", "4.W", "4.b"}
    assert max(errors.values()) < 1e-6, errors


def test_squared_error_is_summed_over_pixels_and_averaged_over_the_batch(rng):
    out, x = rng.uniform(size=(4, 9)), rng.uniform(size=(4, 3, 3))
    loss = SquaredError()
    assert loss.forward(out, x) == pytest.approx(np.sum((out - x.reshape(4, 9)) ** 2) / 4)
    assert np.allclose(loss.backward(), 2 * (out - x.reshape(4, 9)) / 4)


def test_psnr_against_a_hand_computation_and_skimage(rng):
    ref = np.zeros((2, 2, 2))
    est = np.zeros((2, 2, 2))
    est[0, 0, 0] = 0.5          # image 0: MSE 0.25 / 4 = 1/16 -> 10 log10(16) = 12.041 dB
    est[1] = 0.1                # image 1: MSE 0.01 -> 20 dB
    assert np.allclose(psnr_per_image(ref, est), [12.0411998, 20.0])
    scores = reconstruction_scores(ref, est)
    assert scores["psnr"] == pytest.approx((12.0411998 + 20.0) / 2)    # mean over images
    assert scores["mse"] == pytest.approx((0.25 + 4 * 0.01) / 8) and scores["n"] == 2
    a, b = rng.uniform(size=(5, 32, 32)), rng.uniform(size=(5, 32, 32)).astype(np.float32)
    expected = [peak_signal_noise_ratio(a[i], b[i].astype(np.float64), data_range=1)
                for i in range(5)]
    assert np.allclose(psnr_per_image(a, b), expected)
    assert np.isinf(psnr_per_image(a, a)).all()


def test_pca_baseline_on_a_plane_with_a_known_answer(rng):
    """Images 0.5 + a u + b v, with (a, b) every pair of a in {+-0.3, +-0.1} and b in
    {+-0.05}: zero mean, uncorrelated, var(a) > var(b). One component keeps a u and loses
    exactly b v (MSE 0.05^2 / D per image); two reconstruct exactly."""
    d = 16
    u, v = np.linalg.qr(rng.normal(size=(d, 2)))[0].T
    pairs = [(a, b) for a in (-0.3, -0.1, 0.1, 0.3) for b in (-0.05, 0.05)]
    x = np.array([0.5 + a * u + b * v for a, b in pairs]).reshape(-1, 4, 4)
    assert 0 <= x.min() and x.max() <= 1            # nothing for the clipping to change
    mean, comps = pca_fit(x, 1)
    assert np.allclose(mean, 0.5) and abs(abs(comps[0] @ u) - 1) < 1e-9
    one = pca_baseline(x, x, 1)
    assert one["mse"] == pytest.approx(0.05 ** 2 / d, rel=1e-5)
    assert one["psnr"] == pytest.approx(10 * np.log10(d / 0.05 ** 2), rel=1e-5)
    assert one["reconstructions"].shape == x.shape
    two = pca_baseline(x, x, 2)
    assert two["mse"] < 1e-12
    # fitted on the train set only: a held-out image off the plane keeps its off-plane part
    w = np.linalg.qr(np.column_stack([u, v, rng.normal(size=d)]))[0][:, 2]
    held = (0.5 + 0.2 * u + 0.1 * w).reshape(1, 4, 4)
    rec = pca_reconstruct(held, *pca_fit(x, 2))
    assert np.allclose(rec, (0.5 + 0.2 * u).reshape(1, 4, 4), atol=1e-6)


def test_salt_and_pepper_hits_its_share_with_zeros_and_ones(rng):
    x = np.full((50, 32, 32), 0.5, np.float32)
    noisy = SaltAndPepper(0.2)(x, rng)
    assert (x == 0.5).all()                          # the input is not changed
    hit = noisy != 0.5
    assert hit.mean() == pytest.approx(0.2, abs=0.01)
    assert set(np.unique(noisy[hit])) == {0.0, 1.0}
    assert (noisy[hit] == 1).mean() == pytest.approx(0.5, abs=0.02)


def test_trainer_corrupts_inputs_only_the_target_stays_clean(rng):
    """With a corruption that blanks every input, the best the network can do is output the
    mean target image: it does, so the targets reached the loss uncorrupted."""
    x = rng.uniform(0.2, 0.8, size=(256, 4, 4)).astype(np.float32)
    x[:, :2] *= 0.3                                  # a mean image that is not flat
    net = Network(autoencoder_specs([8], "relu", 16), (4, 4), rng)
    Trainer(net, SquaredError(), Adam(0.01), epochs=40, progress=False, schedule="constant",
            augment=lambda xb, r: np.zeros_like(xb)).fit(x, x)
    out = net.predict(np.zeros((1, 4, 4), np.float32)).reshape(4, 4)
    assert np.abs(out - x.mean(axis=0)).max() < 0.05


def test_paired_batches_change_the_target_with_the_input(rng):
    """With a transform that turns every image upside down (Paired, as --reframe is), the
    network learns to output the turned image: the transformed targets reached the loss."""
    from ocrkit.data.augment import Paired
    x = rng.uniform(0.2, 0.8, size=(256, 4, 4)).astype(np.float32)
    x[:, :2] *= 0.3                                  # top rows darker: turned, the bottom ones
    net = Network(autoencoder_specs([8], "relu", 16), (4, 4), rng)
    Trainer(net, SquaredError(), Adam(0.01), epochs=40, progress=False, schedule="constant",
            augment=Paired(lambda xb, r: xb[:, ::-1].copy())).fit(x, x)
    out = net.predict(x).reshape(-1, 4, 4)
    assert np.abs(out - x[:, ::-1]).mean() < 0.5 * np.abs(out - x).mean()


def test_reframe_enlarges_a_share_of_the_characters_within_the_frame(rng):
    from ocrkit.data.augment import Reframe
    x = np.zeros((200, 32, 32), np.float32)
    x[:, 10:22, 12:20] = 0.7                         # a 12x8 block, grey like EMNIST's edges
    out = Reframe(share=0.5)(x, rng)
    assert np.array_equal(x[:, 10:22, 12:20], np.full((200, 12, 8), 0.7, np.float32))
    changed = (out != x).any(axis=(1, 2))
    assert 0.35 < changed.mean() < 0.65
    rows = (out[changed] > 0.25).any(2)
    tall = rows.sum(1)
    assert tall.min() >= 20 and tall.max() <= 31                  # 22-30 px, within the frame
    assert out[changed].max(axis=(1, 2)).mean() > 0.8             # harder strokes (0.7 before)
    assert np.array_equal(out[~changed], x[~changed])
    assert np.array_equal(Reframe(share=0.0)(x, rng), x)


def test_train_model_autoencoder_kind_round_trips_through_a_model_file(tmp_path, rng):
    x = rng.uniform(size=(300, 32, 32)).astype(np.float32) ** 3
    y = np.arange(300) % 3
    train, valid = Dataset(x[:240], y[:240], "ABC"), Dataset(x[240:], y[240:], "ABC")
    model, result = train_model(autoencoder_specs([6]), train, valid,
                                AutoencodeConfig(epochs=3, lr=0.01), progress=False)
    assert model.kind == "autoencoder" and model.classes == ("A", "B", "C")
    assert result.history["valid_acc"] == [None] * 3           # no accuracy for autoencoders
    assert model.training["run"] == "autoencode" and model.training["config"]["noise"] == 0
    # valid loss = squared error of the reconstruction against the input, as train_model saw it
    rec = model.reconstruct(valid.x)
    assert rec.shape == valid.x.shape
    assert result.history["valid_loss"][result.best_epoch - 1] == pytest.approx(
        np.sum((rec - valid.x) ** 2) / len(valid), rel=1e-4)
    modelfile.save(model, tmp_path / "ae.pkl")
    back = modelfile.load(tmp_path / "ae.pkl")
    assert back.kind == "autoencoder" and back.classes == model.classes
    assert np.array_equal(back.reconstruct(valid.x), rec)
    with pytest.raises(OcrkitError, match="not a classifier"):
        back.predict(valid.x)                   # no classes to predict from pixels
    with pytest.raises(TypeError, match="augment"):     # the target is the input: no such field
        AutoencodeConfig(augment=True)


def test_architecture_helpers():
    specs = autoencoder_specs((32, 32, 32))
    assert [s.get("units") for s in specs] == [None, 32, 32, 32, 1024]
    assert [s.get("activation") for s in specs[1:]] == ["relu"] * 3 + ["sigmoid"]
    assert bottleneck(autoencoder_specs((64, 16, 64))) == 16
    classes = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    assert [classes[i] for i in pick_classes(classes)] == list("AHOV2")
    assert pick_classes(classes, "B1") == [1, 27]
    assert list(sample_indices(np.array([1, 0, 1, 2, 1]), [1, 2], 2)) == [0, 2, 3]


# -- the command ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small HW5-shaped autoencoder trained on synth through the CLI."""
    tmp = tmp_path_factory.mktemp("ae")
    out, plots = tmp / "ae.pkl", tmp / "plots"
    result = run("autoencode", "synth", *SIZE, "--epochs", "4", "--lr", "0.003",
                 "-o", out, "--plots", plots, "-q")
    return out, plots, result


def test_autoencode_prints_psnr_beside_pca_and_writes_model_and_figures(trained):
    out, plots, result = trained
    m = re.search(r"valid PSNR ([\d.]+) dB \(epoch (\d+)\) vs PCA with 32 components "
                  r"([\d.]+) dB", result.output)
    assert m, result.output
    model = modelfile.load(out)
    assert model.kind == "autoencoder" and model.network.specs == autoencoder_specs([32] * 3)
    valid = load_dataset("synth", "valid", size=3000)
    train = load_dataset("synth", "train", size=3000)
    net = reconstruction_scores(valid.x, model.reconstruct(valid.x))
    assert float(m.group(1)) == pytest.approx(net["psnr"], abs=0.006)
    assert float(m.group(3)) == pytest.approx(pca_baseline(train.x, valid.x, 32)["psnr"],
                                              abs=0.006)
    assert model.scores["valid_psnr"] == pytest.approx(net["psnr"])
    blank = reconstruction_scores(valid.x, np.zeros_like(valid.x))["psnr"]     # about 9 dB
    assert float(m.group(1)) > blank + 3    # it learnt something in 4 short epochs
    assert not out.with_name("ae.pkl.ckpt").exists()
    for name in ("ae-curves.png", "ae-reconstructions.png"):
        assert (plots / name).stat().st_size > 5000, name


def test_evaluate_reports_psnr_for_autoencoders(trained):
    out, _, _ = trained
    result = run("evaluate", out, "synth", *SIZE, "--split", "valid", "--format", "json")
    report = json.loads(result.stdout)
    model = modelfile.load(out)
    assert report["psnr"] == pytest.approx(model.scores["valid_psnr"])
    assert report["mse"] == pytest.approx(model.scores["valid_mse"])
    assert report["n"] == 300 and "accuracy" not in report
    text = run("evaluate", out, "synth", *SIZE, "--split", "valid").output
    assert text.startswith(f"psnr {report['psnr']:.2f} dB")


def test_reconstruct_an_image_file_and_a_dataset(trained, tmp_path):
    out, _, _ = trained
    char = load_dataset("synth", "test", size=3000).x[0]
    page = np.full((60, 50), 255, np.uint8)                     # dark ink on white paper
    page[14:46, 9:41] = (255 * (1 - char)).astype(np.uint8)
    Image.fromarray(page).save(tmp_path / "char.png")
    fig = tmp_path / "rec.png"
    result = run("autoencode", "--model", out, "--reconstruct", tmp_path / "char.png", "-o", fig,
                 "--format", "json")
    report = json.loads(result.stdout)
    assert report["n"] == 1 and report["psnr"] > 8 and fig.stat().st_size > 2000
    # a dataset: its test split, scored as evaluate scores it
    fig2 = tmp_path / "rec2.png"
    result = run("autoencode", "--model", out, "--reconstruct", "synth", *SIZE, "-o", fig2,
                 "--classes", "AB")
    ev = json.loads(run("evaluate", out, "synth", *SIZE, "--format", "json").stdout)
    assert ev["split"] == "test"
    assert f"PSNR {ev['psnr']:.2f} dB" in result.output and fig2.stat().st_size > 2000


def test_denoising_autoencoder(tmp_path):
    out = tmp_path / "dae.pkl"
    result = run("autoencode", "synth", *SIZE, "--epochs", "3", "--lr", "0.003", "--noise",
                 "0.2", "-o", out,
                 "--plots", tmp_path, "--format", "json", "-q")
    report = json.loads(result.stdout)
    model = modelfile.load(out)
    assert model.training["config"]["noise"] == 0.2
    # scored on clean targets: the noisy input itself is much worse than its reconstruction
    assert report["denoised_valid_psnr"] > report["noisy_input_psnr"] + 2
    assert report["denoised_valid_psnr"] == pytest.approx(model.scores["denoised_valid_psnr"])


# -- bad input -----------------------------------------------------------------------------------
def test_classifier_model_given_to_reconstruct_and_autoencoder_to_confusion(trained, tmp_path):
    out, _, _ = trained
    net = Network(mlp_specs([8], "relu", 36), (32, 32))
    modelfile.save(modelfile.Model(net), tmp_path / "clf.pkl")
    line = error_line(run("autoencode", "--model", tmp_path / "clf.pkl", "--reconstruct",
                          "synth", *SIZE, ok=False))
    assert "is a classifier, not an autoencoder" in line
    line = error_line(run("confusion", out, "synth", *SIZE, "--out", tmp_path / "c.png",
                          ok=False))
    assert "is an autoencoder, not a classifier" in line


def test_wrong_input_size_is_one_clear_line(trained, tmp_path, rng):
    out, _, _ = trained
    # a model file for another input size, or whose output is not the size of its input
    small = Network(autoencoder_specs([4], "relu", 16), (4, 4), rng)
    modelfile.save(modelfile.Model(small, kind="autoencoder"), tmp_path / "small.pkl")
    odd = Network(autoencoder_specs([4], "relu", 100), (32, 32), rng)
    modelfile.save(modelfile.Model(odd, kind="autoencoder"), tmp_path / "odd.pkl")
    for bad in ("small.pkl", "odd.pkl"):
        for args in (["evaluate", tmp_path / bad, "synth"],
                     ["autoencode", "--model", tmp_path / bad, "--reconstruct", "synth"]):
            line = error_line(run(*args, *SIZE, ok=False))
            assert f"{bad}: not a usable ocrkit model file" in line, line
    # characters of another size than the model's, from Python
    model = modelfile.load(out)
    with pytest.raises(OcrkitError, match="takes 32x32 inputs, not 28x28"):
        model.reconstruct(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(OcrkitError, match="not an autoencoder"):
        modelfile.Model(odd, kind="autoencoder").reconstruct(np.zeros((1, 32, 32), np.float32))
    # an image too small to hold a character
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "tiny.png")
    line = error_line(run("autoencode", "--model", out, "--reconstruct", tmp_path / "tiny.png",
                          ok=False))
    assert "too small" in line


def test_usage_mistakes(tmp_path):
    assert run("autoencode", ok=False).exit_code == 2
    assert run("autoencode", "--reconstruct", "synth", ok=False).exit_code == 2
    line = error_line(run("autoencode", "synth", *SIZE, "--classes", "a!", "-o",
                          tmp_path / "x.pkl", ok=False))
    assert "--classes" in line and not (tmp_path / "x.pkl").exists()

"""Fine-tuning: carrying weights over, replacing the output layer, freezing, per-part rates,
and the command with its from-scratch comparison."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from ocrkit import modelfile
from ocrkit.cli import main
from ocrkit.config import FinetuneConfig, TrainConfig
from ocrkit.data import load_dataset
from ocrkit.data.dataset import Dataset, per_class_split
from ocrkit.finetune import adapted, finetune
from ocrkit.train import arch_specs, train_model

# what these tests were written for: no augmentation, a constant learning rate
PLAIN = {"augment": False, "schedule": "constant"}


@pytest.fixture(scope="module")
def base():
    """A small CNN trained briefly on synth: the 'pretrained' model."""
    train = load_dataset("synth", "train", size=2500)
    valid = load_dataset("synth", "valid", size=2500)
    model, _ = train_model(arch_specs("conv6-pool-conv8-pool-fc32", 36), train, valid,
                           TrainConfig(epochs=3, batch_size=32, lr=3e-3, **PLAIN),
                           progress=False)
    model.source = "base.pkl"
    return model


def three_classes(names=("alpha", "beta", "gamma"), letters="OXL", n=40):
    """A dataset of new class names drawn as the synth letters O, X, L."""
    ds = load_dataset("synth", "all", size=3000)
    keep = [np.flatnonzero(ds.y == ds.classes.index(c))[:n] for c in letters]
    x = np.concatenate([ds.x[k] for k in keep])
    y = np.repeat(np.arange(3), [len(k) for k in keep])
    return Dataset(x, y, names, "three")


def test_known_classes_keep_the_whole_network(base):
    specs, params, classes = adapted(base, ("A", "Q", "7"))
    assert classes == base.classes and specs == base.network.specs
    assert set(params) == set(base.network.get_params())


def test_new_classes_replace_only_the_output_layer(base):
    specs, params, classes = adapted(base, ("alpha", "beta", "gamma"))
    last = len(specs) - 1
    assert classes == ("alpha", "beta", "gamma") and specs[last]["units"] == 3
    assert specs[:last] == base.network.specs[:last]
    assert not any(k.startswith(f"{last}.") for k in params)
    assert np.array_equal(params["0.W"], base.network.get_params()["0.W"])


def test_frozen_fine_tuning_changes_only_the_output_layer(base):
    data = three_classes()
    model, result = finetune(base, data, data.subset(np.arange(0)), FinetuneConfig(
        freeze=True, lr=1e-2, epochs=10, batch_size=16, **PLAIN), progress=False)
    before, after = base.network.get_params(), model.network.get_params()
    last = str(len(model.network.specs) - 1)
    for key, value in after.items():
        if not key.startswith(last + "."):
            assert np.array_equal(value, before[key]), key       # features untouched
    assert model.classes == ("alpha", "beta", "gamma")
    assert model.predict(data.x).tolist().count(0) < len(data)   # not one class for all
    assert result.history["train_acc"][-1] > 0.6


def test_head_learning_rate_is_separate(base):
    data = three_classes()
    model, _ = finetune(base, data, data.subset(np.arange(0)), FinetuneConfig(
        lr=1e-7, head_lr=1e-2, epochs=1, **PLAIN), progress=False)
    before, after = base.network.get_params(), model.network.get_params()
    feature_change = np.abs(after["0.W"] - before["0.W"]).max()
    assert 0 < feature_change < 1e-5                             # trained, but at 1e-7
    assert model.training["run"] == "finetune" and model.training["config"]["head_lr"] == 1e-2


def test_classifier_needed(base):
    from ocrkit.errors import OcrkitError
    ae = modelfile.Model(base.network, base.classes, "autoencoder")
    with pytest.raises(OcrkitError, match="classifier"):
        adapted(ae, ("A",))


def test_per_class_split_takes_n_of_each_and_leaves_the_rest():
    y = np.repeat(np.arange(3), [5, 30, 2])
    first, rest = per_class_split(y, 4, seed=1)
    assert np.bincount(y[first]).tolist() == [4, 4, 2]
    assert np.bincount(y[rest], minlength=3).tolist() == [1, 26, 0]
    assert not set(first) & set(rest) and len(first) + len(rest) == len(y)
    assert np.array_equal(per_class_split(y, 4, seed=1)[0], first)


def test_finetune_command_with_scratch_comparison(base, tmp_path):
    path = tmp_path / "base.pkl"
    modelfile.save(base, path)
    data = three_classes(n=30)
    root = tmp_path / "mine"
    for i, (img, label) in enumerate(zip(data.x, data.y)):
        folder = root / data.classes[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(((1 - img) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "tuned.pkl"
    result = CliRunner().invoke(main, [
        "finetune", str(path), str(root), "--train-per-class", "10", "--epochs", "8", "--batch-size", "8",
        "--lr", "3e-3", "--compare-scratch", "-o", str(out), "--plots", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    assert "fine-tuned: test accuracy" in result.stdout and "from scratch" in result.stdout
    tuned, scratch = modelfile.load(out), modelfile.load(tmp_path / "tuned-scratch.pkl")
    assert tuned.classes == scratch.classes == ("alpha", "beta", "gamma")
    assert tuned.training["finetuned_from"] == str(path)
    assert tuned.training["train_samples"] == 30                  # 10 of each class
    runs = json.loads((tmp_path / "tuned-runs.json").read_text())
    assert set(runs) == {"fine-tuned", "from scratch"}
    assert runs["fine-tuned"]["test_accuracy"] > 0.6              # chance is 1/3
    # few-shot: the curves watch the test set, the weights are the last epoch's
    assert tuned.history["valid_acc"][-1] == pytest.approx(runs["fine-tuned"]["test_accuracy"])
    assert runs["fine-tuned"]["best_epoch"] == 8
    assert (tmp_path / "tuned-curves.png").stat().st_size > 0


def test_finetune_on_an_unknown_dataset_is_one_line(tmp_path, base):
    path = tmp_path / "m.pkl"
    modelfile.save(base, path)
    result = CliRunner().invoke(main, ["finetune", str(path), "nonexistent-dataset",
                                       "-o", str(tmp_path / "o.pkl")])
    assert result.exit_code == 1 and "unknown dataset" in result.output
    assert not (tmp_path / "o.pkl").exists()


def test_freeze_finds_the_output_layer_when_a_bare_activation_ends_the_network(base):
    """specs ending dense(identity) + activation(softmax): --freeze trains that dense layer."""
    specs = [dict(s) for s in base.network.specs]
    specs[-1]["activation"] = "identity"
    specs.append({"type": "activation", "name": "softmax"})
    from ocrkit.engine import Network
    net = Network(specs, (32, 32))
    net.set_params(base.network.get_params())
    odd = modelfile.Model(net, base.classes, source="odd.pkl")
    data = three_classes(names=("O", "X", "L"))
    model, _ = finetune(odd, data, data.subset(np.arange(0)),
                        FinetuneConfig(freeze=True, epochs=2, **PLAIN), progress=False)
    before, after = base.network.get_params(), model.network.get_params()
    last_dense = str(len(specs) - 2)
    assert not np.array_equal(after[f"{last_dense}.W"], before[f"{last_dense}.W"])
    assert np.array_equal(after["0.W"], before["0.W"])

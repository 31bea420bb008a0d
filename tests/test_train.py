"""The Trainer: learning, determinism, early stopping, checkpoints, resume, Ctrl-C, divergence."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ocrkit.config import TrainConfig
from ocrkit.data import Dataset
from ocrkit.engine import Adam, Network, SGD, SoftmaxCrossEntropy, SquaredError
from ocrkit.train import (Trainer, TrainingDiverged, balancing_weights, epoch_order, mlp_specs,
                          train_model)


def blobs(n=600, classes=3, seed=0):
    """Three separable clusters of 4x4 'images'."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.normal(0, 1, size=(classes, 4, 4)).astype(np.float32)
    x = centres[y] + rng.normal(0, 0.3, size=(n, 4, 4)).astype(np.float32)
    return x, y


def net(seed=0, outputs=3, dtype=np.float32):
    return Network(mlp_specs([16], "tanh", outputs), (4, 4), np.random.default_rng(seed), dtype)


def test_trainer_learns_a_separable_problem():
    x, y = blobs()
    n = net()
    result = Trainer(n, SoftmaxCrossEntropy(), Adam(0.01), epochs=5, batch_size=32,
                     progress=False).fit(x[:500], y[:500], valid=(x[500:], y[500:]))
    assert result.history["valid_acc"][-1] > 0.95
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    assert len(result.history["lr"]) == 5 and result.stopped == "completed"
    assert np.mean(np.argmax(n.predict(x[500:]), 1) == y[500:]) == result.best_score


def test_same_seed_same_run_and_another_seed_differs():
    x, y = blobs()

    def run(seed):
        n = net()
        Trainer(n, SoftmaxCrossEntropy(), SGD(0.1), epochs=2, seed=seed,
                progress=False).fit(x, y)
        return n.get_params()["2.W"]

    assert np.array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_autoencoder_target_is_the_input():
    x, _ = blobs()
    x = (x - x.min()) / (x.max() - x.min())
    n = Network(mlp_specs([8], "relu", 16, output="sigmoid"), (4, 4), np.random.default_rng(0))
    t = Trainer(n, SquaredError(), Adam(0.01), epochs=8, progress=False)
    result = t.fit(x, x.reshape(len(x), -1))
    assert result.history["valid_acc"][-1] is None
    assert result.history["train_loss"][-1] < 0.5 * result.history["train_loss"][0]


def test_early_stopping_keeps_the_best_weights():
    x, y = blobs()
    bad_valid = (x[:100], np.random.default_rng(1).integers(0, 3, 100))   # labels are noise
    states = []
    n = net()
    result = Trainer(n, SoftmaxCrossEntropy(), Adam(0.01), epochs=30, patience=2,
                     progress=False, checkpoint=states.append).fit(x, y, valid=bad_valid)
    assert result.stopped == "early-stopping"
    assert len(result.history["valid_acc"]) < 30
    accs = result.history["valid_acc"]
    assert result.best_epoch == int(np.argmax(accs)) + 1
    best = states[result.best_epoch - 1]["params"]
    assert all(np.array_equal(v, n.get_params()[k]) for k, v in best.items())


def test_resume_continues_exactly_where_the_checkpoint_left_off():
    x, y = blobs()
    valid = (x[:100], y[:100])

    straight = net()
    Trainer(straight, SoftmaxCrossEntropy(), Adam(0.01), epochs=4, schedule="cosine",
            progress=False).fit(x, y, valid)

    states = []
    first = net()
    Trainer(first, SoftmaxCrossEntropy(), Adam(0.01), epochs=4, schedule="cosine",
            progress=False, checkpoint=states.append).fit(x, y, valid)
    resumed = net(seed=7)       # different start: everything must come from the checkpoint
    result = Trainer(resumed, SoftmaxCrossEntropy(), Adam(0.01), epochs=4, schedule="cosine",
                     progress=False).fit(x, y, valid, resume=states[1])
    assert len(result.history["train_loss"]) == 4
    for k, v in straight.get_params().items():
        assert np.array_equal(v, resumed.get_params()[k]), k


def test_ctrl_c_stops_cleanly_with_best_weights():
    x, y = blobs()
    seen = []

    def interrupt_at_epoch_3(state):
        seen.append(state)
        if state["epoch"] == 3:
            raise KeyboardInterrupt

    n = net()
    result = Trainer(n, SoftmaxCrossEntropy(), Adam(0.01), epochs=10, progress=False,
                     checkpoint=interrupt_at_epoch_3).fit(x, y, (x[:100], y[:100]))
    assert result.stopped == "interrupted"
    assert len(result.history["train_loss"]) == 3
    best = seen[result.best_epoch - 1]["params"]
    assert all(np.array_equal(v, n.get_params()[k]) for k, v in best.items())


def test_nan_loss_stops_with_a_clear_error():
    x, y = blobs()
    n = net()
    n.layers[1].params["W"][...] = np.inf
    with pytest.raises(TrainingDiverged, match="diverged.*learning rate"):
        Trainer(n, SoftmaxCrossEntropy(), SGD(0.1), epochs=3, progress=False).fit(x, y)


def test_balancing_draws_every_class_about_equally():
    y = np.array([0] * 900 + [1] * 90 + [2] * 10)
    order = epoch_order(np.random.default_rng(0), len(y), balancing_weights(y))
    drawn = np.bincount(y[order], minlength=3) / len(y)
    assert np.allclose(drawn, 1 / 3, atol=0.05)
    plain = epoch_order(np.random.default_rng(0), len(y))
    assert np.array_equal(np.sort(plain), np.arange(len(y)))


def test_train_model_records_configuration_and_history():
    x, y = blobs()
    train = Dataset(x[:500], y[:500], ("A", "B", "C"))
    valid = Dataset(x[500:], y[500:], ("A", "B", "C"))
    config = TrainConfig(epochs=2, lr=0.01, augment=False)    # 4x4 blobs: not characters
    model, result = train_model(mlp_specs([8], "relu", 3), train, valid, config,
                                progress=False, record={"dataset": "blobs"})
    assert model.classes == ("A", "B", "C")
    assert model.training["run"] == "train" and model.training["dataset"] == "blobs"
    assert model.training["config"] == dataclasses.asdict(config)
    assert model.training["config"]["epochs"] == 2
    assert model.training["best_epoch"] == result.best_epoch >= 1
    assert len(model.history["valid_acc"]) == 2


def test_resume_is_exact_with_dropout_and_batchnorm():
    """Dropout masks and batch-norm statistics come back from the checkpoint too."""
    from ocrkit.engine.specs import arch_specs
    x, y = blobs()
    specs = arch_specs("conv4bn-pool-fc16-drop0.5", 3)

    def cnn(seed):
        return Network(specs, (4, 4), np.random.default_rng(seed))

    def trainer(network, **kw):
        return Trainer(network, SoftmaxCrossEntropy(), Adam(0.01), epochs=3, progress=False,
                       keep_best=False, **kw)      # the last weights: nothing hides a drift

    straight = cnn(0)
    trainer(straight).fit(x, y, (x[:100], y[:100]))
    states = []
    trainer(cnn(0), checkpoint=states.append).fit(x, y, (x[:100], y[:100]))
    resumed = cnn(7)
    trainer(resumed).fit(x, y, (x[:100], y[:100]), resume=states[0])
    for k, v in straight.get_params().items():
        assert np.array_equal(v, resumed.get_params()[k]), k


def test_resume_puts_the_optimizer_state_back_by_parameter_name():
    """A checkpoint whose arrays and optimiser moments are listed in another order (reversed)
    resumes exactly: state follows the name ("2.W"), not the position. By position, the 16x3
    output layer's Adam moments would have gone to the first layer's 16x16 weights."""
    x, y = blobs()
    valid = (x[:100], y[:100])

    def trainer(network, **kw):
        return Trainer(network, SoftmaxCrossEntropy(), Adam(0.01), epochs=3, progress=False,
                       keep_best=False, **kw)

    straight = net()
    trainer(straight).fit(x, y, valid)
    states = []
    trainer(net(), checkpoint=states.append).fit(x, y, valid)
    state = dict(states[0])
    moments = state["optimizer"]["state"]
    assert set(moments) == {"1.W", "1.b", "2.W", "2.b"}
    state["optimizer"] = {**state["optimizer"], "state": dict(reversed(list(moments.items())))}
    state["params"] = dict(reversed(list(state["params"].items())))
    resumed = net(seed=7)
    trainer(resumed).fit(x, y, valid, resume=state)
    for k, v in straight.get_params().items():
        assert np.array_equal(v, resumed.get_params()[k]), k


def test_resume_refuses_optimizer_state_for_another_parameter():
    x, y = blobs()
    states = []
    Trainer(net(), SoftmaxCrossEntropy(), Adam(0.01), epochs=1, progress=False,
            checkpoint=states.append).fit(x, y)
    state = dict(states[0])
    moments = dict(state["optimizer"]["state"])
    moments["9.W"] = moments.pop("2.W")
    state["optimizer"] = {**state["optimizer"], "state": moments}
    from ocrkit.errors import OcrkitError
    with pytest.raises(OcrkitError, match="damaged.*9.W"):
        Trainer(net(), SoftmaxCrossEntropy(), Adam(0.01), epochs=2,
                progress=False).fit(x, y, resume=state)

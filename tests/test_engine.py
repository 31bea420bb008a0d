"""Engine: gradients against finite differences, stability, optimisers, schedules, specs."""
from __future__ import annotations

import numpy as np
import pytest

from ocrkit.engine import (ACTIVATIONS, Adam, Momentum, Network, SGD, SoftmaxCrossEntropy,
                           SquaredError, check_gradients, schedule_lr, softmax)
from ocrkit.engine.gradcheck import numeric_gradient, relative_error
from ocrkit.engine.init import he, xavier
from ocrkit.engine.layers import Softmax

TOL = 1e-6


def small_net(hidden_activation, output_activation, rng, outputs=4, hidden=5):
    specs = [{"type": "flatten"},
             {"type": "dense", "units": hidden, "activation": hidden_activation},
             {"type": "dense", "units": outputs, "activation": output_activation}]
    return Network(specs, (3, 3), rng, np.float64)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_gradients_of_each_activation_through_dense_and_cross_entropy(activation, rng):
    net = small_net(activation, "softmax", rng)
    x = rng.normal(size=(6, 3, 3))
    y = rng.integers(0, 4, 6)
    errors = check_gradients(net, SoftmaxCrossEntropy(), x, y)
    assert set(errors) == {"input", "1.W", "1.b", "2.W", "2.b"}
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("output", ["sigmoid", "identity", "tanh"])
def test_gradients_of_squared_error(output, rng):
    net = small_net("relu", output, rng, outputs=9)
    x = rng.uniform(size=(5, 3, 3))
    errors = check_gradients(net, SquaredError(), x, x)
    assert max(errors.values()) < TOL, errors


def test_softmax_layer_backward_matches_finite_differences(rng):
    layer = Softmax()
    x = rng.normal(size=(4, 5))
    w = rng.normal(size=(4, 5))          # loss = sum(w * softmax(x))
    layer.forward(x)
    analytic = layer.backward(w)
    numeric = numeric_gradient(lambda: float(np.sum(w * softmax(x))), x, 1e-5)
    assert relative_error(analytic, numeric) < TOL


def test_gradient_check_catches_a_wrong_gradient(rng):
    net = small_net("sigmoid", "softmax", rng)
    dense = net.layers[1]
    original = dense.backward

    def broken(dout, need_dx=True):
        dx = original(dout, need_dx)
        dense.grads["W"] *= 1.01
        return dx

    dense.backward = broken
    errors = check_gradients(net, SoftmaxCrossEntropy(), rng.normal(size=(4, 3, 3)),
                             rng.integers(0, 4, 4))
    assert errors["1.W"] > 1e-3


def test_cross_entropy_is_stable_for_huge_logits():
    loss = SoftmaxCrossEntropy()
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss.forward(logits, np.array([0, 0]))
        grad = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx(1e4, rel=1e-6)          # sample 2 is off by 2e4 / 2
    assert np.allclose(grad.sum(axis=1), 0, atol=1e-6)


def test_cross_entropy_value_matches_definition(rng):
    logits = rng.normal(size=(5, 7))
    y = rng.integers(0, 7, 5)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert SoftmaxCrossEntropy().forward(logits, y) == pytest.approx(
        -np.mean(np.log(p[np.arange(5), y])))


def test_networks_run_in_float32_by_default_and_float64_on_request(rng):
    specs = [{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"},
             {"type": "dense", "units": 3, "activation": "softmax"}]
    x = rng.uniform(size=(4, 32, 32))
    assert Network(specs).forward(x).dtype == np.float32
    assert Network(specs, dtype=np.float64).forward(x).dtype == np.float64
    for layer in Network(specs).layers:
        for p in layer.params.values():
            assert p.dtype == np.float32


def test_probabilities_sum_to_one_and_logits_skip_softmax(rng):
    net = small_net("tanh", "softmax", rng)
    x = rng.normal(size=(3, 3, 3))
    p = net.forward(x)
    z = net.forward(x, logits=True)
    assert np.allclose(p.sum(1), 1)
    assert np.allclose(softmax(z), p)


def test_initialisers_have_the_documented_spread():
    rng = np.random.default_rng(0)
    w = xavier(400, 100, rng)
    a = np.sqrt(6 / 500)
    assert w.min() >= -a and w.max() <= a and w.std() == pytest.approx(a / np.sqrt(3), rel=0.02)
    assert he(400, 100, rng).std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)


def test_momentum_follows_hw5_rule():
    p, g = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    opt = Momentum(lr=0.1, momentum=0.9)
    opt.step([(p, g)])
    assert np.allclose(p, [1 - 0.05, 2 + 0.1])           # M = -lr g
    opt.step([(p, g)])
    assert np.allclose(p, [0.95 - 0.05 * 1.9, 2.1 + 0.1 * 1.9])   # M = 0.9 M - lr g


def test_sgd_and_adam_minimise_a_quadratic():
    for opt in (SGD(0.1), Adam(0.1)):
        p = np.array([3.0, -2.0])
        for _ in range(300):
            opt.step([(p, 2 * p)])                         # d/dp |p|^2
        assert np.abs(p).max() < 1e-2, type(opt).__name__


def test_adam_first_step_has_size_lr():
    p = np.array([1.0, -1.0])
    Adam(0.01).step([(p, np.array([123.0, -0.001]))])
    assert np.allclose(p, [0.99, -0.99], atol=1e-5)


def test_optimizer_state_round_trips():
    p, g = np.ones(3), np.full(3, 0.5)
    a = Adam(0.01)
    a.step([(p, g)])
    b = Adam(0.01)
    b.load_state_dict(a.state_dict())
    pa, pb = p.copy(), p.copy()
    a.step([(pa, g)])
    b.step([(pb, g)])
    assert np.array_equal(pa, pb)


def test_optimizer_state_follows_the_parameter_name_not_its_position():
    """The state saved for "w" goes back to "w" when the parameters come in another order."""
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(3, 2)), rng.normal(size=2)
    gw, gb = rng.normal(size=(3, 2)), rng.normal(size=2)
    for cls in (SGD, Momentum, Adam):
        a = cls(0.01)
        a.step([("w", w.copy(), gw), ("b", b.copy(), gb)])
        saved = a.state_dict()
        assert list(saved["state"]) == ["w", "b"]
        straight, swapped = cls(0.01), cls(0.01)
        straight.load_state_dict(saved)
        swapped.load_state_dict(saved)
        w1, b1, w2, b2 = w.copy(), b.copy(), w.copy(), b.copy()
        straight.step([("w", w1, gw), ("b", b1, gb)])
        swapped.step([("b", b2, gb), ("w", w2, gw)])
        assert np.array_equal(w1, w2) and np.array_equal(b1, b2), cls.__name__


def test_optimizer_state_is_checked_against_the_parameters_and_old_states_are_named():
    p, g = np.ones(3), np.full(3, 0.5)
    a = Adam(0.01)
    a.step([("1.W", p.copy(), g)])
    with pytest.raises(ValueError, match="'1.W'.*shape"):
        Adam(0.01).load_state_dict(a.state_dict(), [("1.W", np.ones(4), np.ones(4))])
    with pytest.raises(ValueError, match="'1.W'.*not a parameter"):
        Adam(0.01).load_state_dict(a.state_dict(), [("2.W", p, g)])
    # a checkpoint of an older version: a list by position, without the scratch buffer
    old = {"t": a.t, "state": [[m.copy(), v.copy()] for m, v, _ in a.state.values()]}
    b = Adam(0.01)
    b.load_state_dict(old, [("1.W", p, g)])
    assert list(b.state) == ["1.W"] and len(b.state["1.W"]) == 3
    pa, pb = p.copy(), p.copy()
    a.step([("1.W", pa, g)])
    b.step([("1.W", pb, g)])
    assert np.array_equal(pa, pb)


def test_schedules():
    assert schedule_lr("constant", 0.1, 7, 10) == 0.1
    assert schedule_lr("step", 0.1, 25, 50, step_size=10, gamma=0.5) == pytest.approx(0.025)
    assert schedule_lr("cosine", 0.1, 0, 10) == pytest.approx(0.1)
    assert schedule_lr("cosine", 0.1, 5, 10) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        schedule_lr("warp", 0.1, 0, 10)


def test_bad_specs_are_rejected_with_reasons():
    with pytest.raises(ValueError, match="flatten"):
        Network([{"type": "dense", "units": 3}], (32, 32))
    with pytest.raises(ValueError, match="unknown layer type"):
        Network([{"type": "lstm"}], (32, 32))
    with pytest.raises(ValueError, match="unknown activation"):
        Network([{"type": "flatten"}, {"type": "dense", "units": 3, "activation": "swish"}])


def test_training_backward_skips_only_the_unneeded_input_gradient(rng):
    net = small_net("sigmoid", "softmax", rng)
    loss = SoftmaxCrossEntropy()
    x, y = rng.normal(size=(4, 3, 3)), rng.integers(0, 4, 4)
    loss.forward(net.forward(x, train=True, logits=True), y)
    full = net.backward(loss.backward())
    grads = {k: g.copy() for k, g in zip(net.get_params(), (g for _, g in net.param_grad_pairs()))}
    loss.forward(net.forward(x, train=True, logits=True), y)
    assert net.backward(loss.backward(), input_grad=False) is None
    assert full.shape == x.shape
    for k, (_, g) in zip(grads, net.param_grad_pairs()):
        assert np.array_equal(grads[k], g), k


def test_params_round_trip_by_name(rng):
    a = small_net("relu", "softmax", rng)
    b = small_net("relu", "softmax", np.random.default_rng(99))
    b.set_params(a.get_params())
    x = rng.normal(size=(2, 3, 3))
    assert np.array_equal(a.forward(x), b.forward(x))
    with pytest.raises(ValueError, match="shape"):
        b.set_params({**a.get_params(), "1.W": np.zeros((2, 2))})


def test_a_network_built_for_a_model_files_arrays_draws_no_weights():
    specs = [{"type": "conv2d", "filters": 4}, {"type": "flatten"},
             {"type": "dense", "units": 3, "activation": "softmax"}]
    drawn = Network(specs, (8, 8), np.random.default_rng(0))
    blank = Network(specs, (8, 8), np.random.default_rng(0), init=False)
    assert all(np.any(v) for k, v in drawn.get_params().items() if k.endswith(".W"))
    assert not any(np.any(v) for v in blank.get_params().values())
    blank.set_params(drawn.get_params())
    x = np.random.default_rng(1).random((2, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(blank.predict(x), drawn.predict(x))

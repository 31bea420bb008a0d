"""Convolutional layers, dropout, batch norm and architecture strings: gradients against finite
differences, forward results against scipy, and the spec language."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from ocrkit.engine import Network, SoftmaxCrossEntropy, SquaredError, check_gradients
from ocrkit.engine.conv import Conv2D, MaxPool2D
from ocrkit.engine.gradcheck import numeric_gradient, relative_error
from ocrkit.engine.layers import BatchNorm, Dropout, ReLU
from ocrkit.engine.specs import arch_specs

TOL = 1e-6


def conv(filters, **kw):
    return {"type": "conv2d", "filters": filters, **kw}


HEAD = [{"type": "flatten"}, {"type": "dense", "units": 4, "activation": "softmax"}]


@pytest.mark.parametrize("specs", [
    [conv(3, activation="tanh"), {"type": "maxpool2d"}],                # 3x3 same, pool
    [conv(3, kernel=5, activation="tanh")],                             # 5x5 same
    [conv(2, kernel=4, activation="tanh")],                             # even kernel, same
    [conv(3, stride=2, activation="tanh")],                             # stride 2, same
    [conv(3, kernel=3, stride=2, padding="valid", activation="sigmoid")],
    [conv(2, kernel=2, padding="valid", activation="identity"), conv(3, activation="tanh")],
    [conv(3, batchnorm=True, activation="tanh"), {"type": "maxpool2d", "size": 3}],
], ids=["3x3-pool", "5x5", "4x4-same", "stride2", "stride2-valid", "two-convs", "batchnorm-pool3"])
def test_conv_network_gradients_match_finite_differences(specs, rng):
    net = Network(specs + HEAD, (7, 6), rng, np.float64)
    x = rng.normal(size=(5, 7, 6))
    errors = check_gradients(net, SoftmaxCrossEntropy(), x, rng.integers(0, 4, 5))
    assert "input" in errors and any(k.endswith(".W") for k in errors)
    assert max(errors.values()) < TOL, errors


def test_dense_batchnorm_and_multichannel_input_gradients(rng):
    specs = [conv(2, kernel=3, activation="tanh"), {"type": "flatten"},
             {"type": "dense", "units": 5, "activation": "tanh", "batchnorm": True},
             {"type": "dense", "units": 12, "activation": "sigmoid"}]
    net = Network(specs, (4, 3, 2), rng, np.float64)       # (H, W, C) input, 2 channels
    x = rng.normal(size=(6, 4, 3, 2))
    errors = check_gradients(net, SquaredError(), x, rng.uniform(size=(6, 12)))
    assert {"2.gamma", "2.beta"} <= set(errors)
    assert max(errors.values()) < TOL, errors


def test_conv_forward_is_the_cross_correlation_scipy_computes(rng):
    x = rng.normal(size=(3, 9, 8, 2)).astype(np.float32)
    layer = Conv2D((9, 8, 2), 4, rng, kernel=3, padding="valid")
    layer.params["b"][:] = rng.normal(size=4)
    w, b = layer.params["W"], layer.params["b"]
    out = layer.forward(x)
    expected = np.zeros((3, 7, 6, 4))
    for n in range(3):
        for f in range(4):
            expected[n, :, :, f] = b[f] + sum(
                signal.correlate2d(x[n, :, :, c], w[:, :, c, f], mode="valid") for c in range(2))
    assert out.shape == (3, 7, 6, 4)
    assert np.allclose(out, expected, atol=1e-4)
    same = Conv2D((9, 8), 1, rng, kernel=3, stride=2, padding="same")
    assert same.output_shape((9, 8)) == (5, 4, 1)            # ceil(9 / 2), ceil(8 / 2)
    out = same.forward(x[..., 0])                            # one channel: its own copy path
    assert out.shape == (3, 5, 4, 1)
    for n in range(3):          # TensorFlow's same: rows padded 1 + 1, columns 0 + 1
        padded = np.pad(x[n, :, :, 0], ((1, 1), (0, 1)))
        full = signal.correlate2d(padded, same.params["W"][:, :, 0, 0], mode="valid")
        assert np.allclose(out[n, :, :, 0], full[::2, ::2] + same.params["b"][0], atol=1e-4)


def test_maxpool_takes_window_maxima_and_routes_the_gradient_to_the_first_one():
    x = np.array([[1, 5, 2, 2],
                  [3, 4, 2, 0],
                  [0, 0, 9, 1],
                  [0, 0, 1, 1],
                  [7, 7, 7, 7]], dtype=np.float32)[None, :, :, None]   # last row: dropped
    pool = MaxPool2D((5, 4, 1))
    out = pool.forward(x, train=True)
    assert out[0, :, :, 0].tolist() == [[5, 2], [0, 9]]
    dx = pool.backward(np.ones_like(out))[0, :, :, 0]
    assert dx.tolist() == [[0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]


def test_relu_then_pool_runs_as_pool_then_relu_with_the_same_values_and_gradients(rng):
    net = Network([conv(4), {"type": "maxpool2d"}], (8, 8), rng)
    assert [type(layer) for layer in net.layers] == [Conv2D, MaxPool2D, ReLU]
    x = rng.uniform(size=(6, 8, 8)).astype(np.float32)
    x[:, :, :3] = 1.0               # flat background: tied and all-negative windows
    dout = rng.normal(size=(6, 4, 4, 4)).astype(np.float32)
    out = net.forward(x, train=True)
    dx = net.backward(dout)
    conv_layer = net.layers[0]
    grads = {k: v.copy() for k, v in conv_layer.grads.items()}
    textbook = [conv_layer, ReLU(), MaxPool2D((8, 8, 4))]
    y = x
    for layer in textbook:
        y = layer.forward(y, train=True)
    d = dout
    for layer in reversed(textbook):
        d = layer.backward(d)
    assert np.any(out == 0) and np.any(y > 0)
    assert np.array_equal(out, y) and np.array_equal(dx, d)
    assert all(np.array_equal(conv_layer.grads[k], grads[k]) for k in grads)


def test_a_copied_conv_network_still_trains_its_own_weights(rng):
    import copy
    from ocrkit.engine import Adam
    net = Network([conv(3), {"type": "maxpool2d"}] + HEAD, (8, 8), rng)
    twin = copy.deepcopy(net)
    x, y = rng.uniform(size=(5, 8, 8)).astype(np.float32), rng.integers(0, 4, 5)
    before, loss, opt = net.predict(x), SoftmaxCrossEntropy(), Adam(0.05)
    for _ in range(3):
        loss.forward(twin.forward(x, train=True, logits=True), y)
        twin.backward(loss.backward())
        opt.step(twin.param_grad_pairs())
    assert np.array_equal(net.predict(x), before)           # the original is untouched
    assert not np.allclose(twin.predict(x), before)         # the copy's updates reach forward
    conv_layer = twin.layers[0]
    assert np.shares_memory(conv_layer.params["W"], conv_layer._wb)


def test_dropout_is_identity_at_inference_and_keeps_the_expectation_in_training(rng):
    layer = Dropout(0.25, rng)
    x = np.ones((200, 50), np.float32)
    assert layer.forward(x) is x
    y = layer.forward(x, train=True)
    assert 0.7 < np.mean(y > 0) < 0.8 and y.mean() == pytest.approx(1.0, abs=0.03)
    dout = rng.normal(size=x.shape).astype(np.float32)
    assert np.allclose(layer.backward(dout), dout * (y > 0) / 0.75)


def test_dropout_gradient_with_a_fixed_mask(rng):
    layer = Dropout(0.5, rng)
    x = rng.normal(size=(4, 6))
    w = rng.normal(size=(4, 6))

    def value():
        layer.rng = np.random.default_rng(7)          # the same mask on every call
        return float(np.sum(w * layer.forward(x, train=True)))

    value()
    assert relative_error(layer.backward(w), numeric_gradient(value, x)) < TOL


def test_batchnorm_normalises_in_training_and_uses_running_statistics_after(rng):
    bn = BatchNorm(3, dtype=np.float64)
    x = rng.normal(loc=[5, -2, 0], scale=[3, 0.5, 1], size=(4000, 3))
    for _ in range(60):
        y = bn.forward(x, train=True)
    assert np.allclose(y.mean(axis=0), 0, atol=1e-6) and np.allclose(y.std(axis=0), 1, atol=1e-3)
    assert np.allclose(bn.buffers["mean"], x.mean(axis=0), atol=0.02)   # 1 - 0.9^60 of it
    assert np.allclose(bn.forward(x).std(axis=0), 1, atol=1e-2)      # inference, same data
    single = bn.forward(x[:1])                  # one sample at inference is not normalised away
    assert not np.allclose(single, 0)


def test_batchnorm_statistics_are_saved_with_the_parameters(rng):
    net = Network(arch_specs("conv4bn-pool-fc8bn", 3), (8, 8), rng)
    x = rng.random((16, 8, 8)).astype(np.float32)
    net.forward(x, train=True)
    params = net.get_params()
    assert {"0.mean", "0.var", "3.mean", "3.var"} <= set(params)
    other = Network(net.specs, (8, 8), np.random.default_rng(99))
    other.set_params(params)
    assert np.array_equal(other.predict(x), net.predict(x))


def test_architecture_strings_expand_to_layer_specs():
    specs = arch_specs("conv32-conv32k5s2-pool-conv64bn-pool3-fc128-drop0.25", 36)
    assert specs[0] == {"type": "conv2d", "filters": 32, "kernel": 3, "stride": 1,
                        "padding": "same", "activation": "relu"}
    assert specs[1]["kernel"] == 5 and specs[1]["stride"] == 2
    assert specs[2] == {"type": "maxpool2d", "size": 2} and specs[4]["size"] == 3
    assert specs[3]["batchnorm"] is True
    assert [s["type"] for s in specs[5:]] == ["flatten", "dense", "dropout", "dense"]
    assert specs[-1] == {"type": "dense", "units": 36, "activation": "softmax"}
    assert specs[-2]["rate"] == 0.25
    net = Network(specs, (32, 32))
    assert net.output_shape == (36,)
    assert arch_specs("conv8v", 2)[0]["padding"] == "valid"


@pytest.mark.parametrize("bad", ["", "conv", "conv32-fc", "fc10-conv8", "fc10-pool",
                                 "conv0", "dense64", "conv32--pool"])
def test_bad_architecture_strings_are_refused(bad):
    with pytest.raises(ValueError):
        arch_specs(bad, 10)


def test_valid_convolution_too_big_for_its_input_is_refused():
    with pytest.raises(ValueError, match="at least"):
        Network(arch_specs("conv4k5v-conv4k5v", 2), (6, 6))

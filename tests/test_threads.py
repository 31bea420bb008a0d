"""The engine's threads: parts cover the work, and two threads compute what one does."""
from __future__ import annotations

import numpy as np
import pytest

from ocrkit.engine import SGD, Adam, Momentum, threads
from ocrkit.engine.conv import Conv2D, MaxPool2D
from ocrkit.engine.layers import Dense

BIG = 3 * threads.GRAIN          # values enough to be split in two


@pytest.fixture
def two_threads():
    """Run the test's work in two threads; the count before it comes back after."""
    before = threads.get_threads()
    threads.set_threads(2)
    yield
    threads.set_threads(before)


def one_and_two(fn):
    """fn() with the engine on one thread, then on two (each with BLAS held to one)."""
    results = []
    for n in (1, 2):
        threads.set_threads(n)
        with threads.blas_limited():
            results.append(fn())
    return results


def test_parts_cover_the_range_once_and_small_work_stays_whole(two_threads):
    covered = [i for part in threads.parts(1001, size=BIG // 1000) for i in range(1001)[part]]
    assert covered == list(range(1001))
    assert len(threads.parts(1001, size=BIG // 1000)) == 2
    assert threads.parts(10, size=100) == [slice(0, 10)]        # under GRAIN: one part


def test_run_does_every_part_and_raises_a_parts_error(two_threads):
    seen = np.zeros(BIG, np.int64)

    def mark(part):
        seen[part] += 1
    threads.run(mark, BIG)
    assert (seen == 1).all()

    def fail(part):
        if part.start:
            raise RuntimeError("second part")
    with pytest.raises(RuntimeError, match="second part"):
        threads.run(fail, BIG)


def test_set_threads_refuses_zero():
    with pytest.raises(ValueError):
        threads.set_threads(0)


def test_blas_is_held_to_one_thread_only_while_the_engine_splits(two_threads):
    from threadpoolctl import threadpool_info

    def blas_threads():
        return {d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"}
    before = blas_threads()
    with threads.blas_limited():
        assert blas_threads() <= {1}
    assert blas_threads() == before


def test_default_count_follows_the_blas_variables(monkeypatch):
    for name in threads._VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert threads._default() == 1
    monkeypatch.setenv("OCRKIT_THREADS", "3")
    assert threads._default() == 3


def adam_reference(p, g_steps, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Adam as the paper writes it (its section 2's faster order, the one ocrkit has), in
    float64."""
    p, m, v = p.astype(np.float64), 0.0, 0.0
    for t, g in enumerate(g_steps, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return p


@pytest.mark.parametrize("make", [lambda: Adam(1e-3), lambda: SGD(0.1),
                                  lambda: Momentum(0.1)])
def test_optimisers_on_two_threads_give_the_one_thread_update_bit_for_bit(make):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((BIG // 64, 64)).astype(np.float32)
    grads = [rng.standard_normal(p0.shape).astype(np.float32) for _ in range(4)]

    def train():
        p, opt = p0.copy(), make()
        for g in grads:
            opt.step([("W", p, g)])
        return p
    one, two = one_and_two(train)
    assert not np.array_equal(one, p0)
    assert np.array_equal(one, two)


def test_threaded_adam_follows_the_paper(two_threads):
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(BIG).astype(np.float32)
    grads = [rng.standard_normal(BIG).astype(np.float32) for _ in range(5)]
    p, opt = p0.copy(), Adam(1e-3)
    for g in grads:
        opt.step([("W", p, g)])
    assert np.abs(p - adam_reference(p0, grads)).max() < 1e-6


def test_max_pooling_on_two_threads_is_bit_for_bit_the_one_thread_pooling():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 17, 16, 8)).astype(np.float32)
    x[:, :4] = 0.25                          # ties: the first maximum takes the gradient
    dout = rng.standard_normal((64, 8, 8, 8)).astype(np.float32)

    def run():
        pool = MaxPool2D(x.shape[1:])
        return pool.forward(x, train=True), pool.backward(dout)
    (y1, dx1), (y2, dx2) = one_and_two(run)
    assert np.array_equal(y1, y2) and np.array_equal(dx1, dx2)


@pytest.mark.parametrize("shape,filters,stride", [((16, 16, 8), 16, 1), ((32, 32, 1), 8, 1),
                                                   ((15, 15, 4), 8, 2)])
def test_convolution_on_two_threads_matches_one_thread(shape, filters, stride):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, *shape)).astype(np.float32)

    def run():
        conv = Conv2D(shape, filters, np.random.default_rng(0), stride=stride)
        y = conv.forward(x, train=True)
        dx = conv.backward(np.random.default_rng(4).standard_normal(y.shape).astype(np.float32))
        return y, dx, conv.grads["W"].copy(), conv.grads["b"].copy()
    for a, b in zip(*one_and_two(run)):
        assert np.allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(a).max())


def test_dense_on_two_threads_matches_one_thread():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 4096)).astype(np.float32)
    dout = rng.standard_normal((64, 32)).astype(np.float32)

    def run():
        dense = Dense(4096, 32, np.random.default_rng(0))
        y = dense.forward(x)
        return y, dense.backward(dout), dense.grads["W"].copy(), dense.grads["b"].copy()
    for a, b in zip(*one_and_two(run)):
        assert np.allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(a).max())


@pytest.mark.parametrize("rows", [10, 300])      # split by K (then summed), split by rows
def test_matmul_tn_gives_the_product_either_way_it_splits(two_threads, rows):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((BIG // 64, rows)).astype(np.float32)
    b = rng.standard_normal((BIG // 64, 32)).astype(np.float32)
    out = np.empty((rows, 32), np.float32)
    threads.matmul_tn(a, b, out)
    expected = a.astype(np.float64).T @ b
    assert np.abs(out - expected).max() < 1e-4 * np.abs(expected).max()


def test_relu_on_two_threads_is_bit_for_bit_the_one_thread_relu():
    from ocrkit.engine.layers import ReLU
    x = np.random.default_rng(7).standard_normal((64, 16, 16, 32)).astype(np.float32)

    def run():
        relu = ReLU()
        return relu.forward(x, train=True), relu.backward(x)
    (y1, d1), (y2, d2) = one_and_two(run)
    assert np.array_equal(y1, y2) and np.array_equal(d1, d2)
    assert np.array_equal(y1, np.maximum(x, 0))

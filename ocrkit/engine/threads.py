"""The engine's threads: a layer splits its batch (or an optimiser its arrays) into a few
contiguous parts and runs them at once in a small thread pool.

Left to BLAS, only the matrix products used the second core, and Adam's update, max pooling
and the im2col copies ran on one (a CNN epoch gained 1.3x from two cores where PyTorch gains
1.9x). numpy releases the GIL in ufuncs, copies and matmul, so parts of whole-batch numpy run
side by side: each part is the same code on a slice of the batch, its GEMM included, with
BLAS held to one thread meanwhile (`blas_limited`, around training and prediction) so that
the two pools never fight over the cores. BLAS's own threads wait on each other by spinning:
on a busy machine the same epoch took 10x as long with them (docs/BENCHMARKS.md).

Elementwise work (the optimisers, pooling, copies) gives bit for bit the one-thread result;
a GEMM split by rows can round differently in the last bit (tests/test_engine.py).

The count follows the BLAS's: OCRKIT_THREADS when set, else the first of OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS / MKL_NUM_THREADS set (a process-pool worker sets them to 1), else the
CPUs this process may run on, at most MAX_THREADS. It is read at first use; `set_threads`
changes it.
"""
from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MAX_THREADS = 4
GRAIN = 1 << 16             # values below which a part is not worth a thread's hand-off
SHORT = 64                  # rows of a product under which matmul_tn splits its inner axis
_VARIABLES = ("OCRKIT_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_threads: int | None = None
_pool: ThreadPoolExecutor | None = None


def _default() -> int:
    for name in _VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return min(int(value), MAX_THREADS)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:      # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_THREADS))


def _forget_pool() -> None:
    global _pool
    _pool = None            # a forked child has none of its parent's threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def get_threads() -> int:
    """How many threads the engine splits its work into."""
    global _threads
    if _threads is None:
        _threads = _default()
    return _threads


def set_threads(n: int) -> None:
    """Split the engine's work into `n` threads from now on (1: everything on the caller's)."""
    global _threads, _pool
    if int(n) < 1:
        raise ValueError(f"threads must be at least 1, got {n}")
    _threads = int(n)
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None


def parts(n: int, size: int = 1) -> list[slice]:
    """Contiguous slices covering range(n), one per thread, none under GRAIN values when an
    item holds `size` values (a batch of n samples of `size` values each)."""
    k = max(1, min(get_threads(), n * size // GRAIN, n))
    step = -(-n // k)
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def run(fn, n: int, size: int = 1) -> None:
    """fn(part) for the slices `parts(n, size)`: the first part on the calling thread, the
    rest in the pool; returns when all are done (the first exception raised again)."""
    if n * size < 2 * GRAIN or get_threads() == 1:      # the common small case, at once
        fn(slice(0, n))
        return
    _all([lambda part=part: fn(part) for part in parts(n, size)])


def _all(calls: list) -> None:
    """Every call at once: the first on the calling thread, the rest in the pool."""
    global _pool
    if len(calls) > 1 and _pool is None:
        _pool = ThreadPoolExecutor(get_threads() - 1, thread_name_prefix="ocrkit-engine")
    futures = [_pool.submit(call) for call in calls[1:]]
    try:
        calls[0]()
    finally:
        for f in futures:
            f.result()


def matmul_tn(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = a.T @ b for a: (K, M), b: (K, N), as a weight gradient is (K the batch's rows),
    in the engine's threads. An out of many rows is split by them (each part sums over all
    of K); a short one (the first convolution's: 10 rows) by K, each part's product over its
    rows of a and b, then their sum: split by out's rows, every part would read all of b."""
    if len(out) >= SHORT:
        run(lambda rows: np.matmul(a[:, rows].T, b, out=out[rows]), len(out), len(a))
        return
    by_k = parts(len(a), a.shape[1] + b.shape[1])
    if len(by_k) == 1:
        np.matmul(a.T, b, out=out)
        return
    partial = np.empty((len(by_k), *out.shape), dtype=out.dtype)
    _all([lambda i=i, k=k: np.matmul(a[k].T, b[k], out=partial[i]) for i, k in enumerate(by_k)])
    np.sum(partial, axis=0, out=out)


_controller = None


def blas_limited():
    """A context in which BLAS runs each product on one thread, when the engine splits its
    work itself (more than one thread): each part's GEMM then takes one core, rather than two
    thread pools fighting over them. Otherwise a context that changes nothing."""
    global _controller
    if get_threads() == 1:
        return contextlib.nullcontext()
    if _controller is None:
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")

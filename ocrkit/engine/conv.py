"""Spatial layers, channels last: Conv2D (one GEMM over im2col windows), MaxPool2D and
Columns (an image's height folded into channels, for line models).

Images flow as x: (N, H, W, C). A layer given (N, H, W) treats it as one channel, so a
network can start from the canonical (N, 32, 32) characters. Channels last makes the GEMM's
output (N*Ho*Wo, F) already the next layer's layout, with no transpose; measured against
channels first in docs/BENCHMARKS.md.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ocrkit.engine import init as initialisers
from ocrkit.engine import threads
from ocrkit.engine.layers import Layer


def _hwc(shape) -> tuple[int, int, int]:
    """(H, W, C) of an image input shape; (H, W) is one channel."""
    if len(shape) not in (2, 3):
        raise ValueError(f"convolution and pooling need image inputs (H, W[, C]), got shape "
                         f"{tuple(shape)}; they cannot follow a flatten or dense layer")
    return (*shape, 1) if len(shape) == 2 else tuple(shape)


def _padding(size: int, kernel: int, stride: int, mode: str) -> tuple[int, int, int]:
    """(output size, pad before, pad after) along one axis; "same" pads as TensorFlow does
    (output ceil(size / stride), the odd pixel after)."""
    if mode == "same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2, total - total // 2
    if mode == "valid":
        if size < kernel:
            raise ValueError(f"a {kernel}x{kernel} valid convolution needs inputs of at least "
                             f"{kernel} pixels, got {size}")
        return (size - kernel) // stride + 1, 0, 0
    raise ValueError(f"unknown padding {mode!r}; choose same or valid")


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as every framework computes it).

    x: (N, H, W, C) -> y: (N, Ho, Wo, F); W: (k, k, C, F), b: (F,).
    Forward copies the k*k shifted windows into cols (N*Ho*Wo, k*k*C + 1, the last column
    ones) and makes one GEMM with [W reshaped to (k*k*C, F); b], so the bias is added inside
    it; the weight and bias gradients are one GEMM cols.T @ dout. W and b are views into
    that one matrix (and their gradients into another), changed in place by every update.

    The input gradient is col2im done tap by tap, one GEMM dout @ W[i, j].T per kernel
    position. At stride 1 each tap's share is a shift by whole rows of the flattened padded
    input, so its result is added onto one contiguous slice; at stride 2 that would compute
    on 4x as many (mostly zero) rows, so the result is added onto a strided 4-D view instead.
    Measured at batch 64, stride 1: the default CNN's second layer backward 6.3 -> 5.9 ms a
    training step (bench/layer_times.py); for 32 -> 32 channels at 32x32 the input gradient
    alone about 12 -> 8-9.5 ms against strided views, which in turn beat one big GEMM with
    k*k strided adds and a correlation with the flipped kernel. (An accumulating BLAS call,
    beta=1, would save the adds, but only scipy exposes one, and its second OpenBLAS thread
    pool fights numpy's for the cores: the epoch took 3x as long.)
    """

    def __init__(self, input_shape, filters: int, rng: np.random.Generator, kernel: int = 3,
                 stride: int = 1, padding: str = "same", init: str = "he", bias: bool = True,
                 dtype=np.float32):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if int(filters) < 1 or int(kernel) < 1:
            raise ValueError(f"a convolution needs at least 1 filter of at least 1x1, got "
                             f"{filters} filters of {kernel}x{kernel}")
        self.input_shape = tuple(input_shape)
        h, w, c = _hwc(input_shape)
        self.k, self.stride, self.c, self.f = int(kernel), int(stride), c, int(filters)
        self.ho, self.pt, self.pb = _padding(h, self.k, self.stride, padding)
        self.wo, self.pl, self.pr = _padding(w, self.k, self.stride, padding)
        fan_in, fan_out = self.k * self.k * c, self.k * self.k * self.f
        # W's rows and then b as one (k*k*C [+ 1], F) matrix (and its gradient's twin)
        self._wb = np.zeros((fan_in + bool(bias), self.f), dtype=dtype)
        self._wb[:fan_in] = initialisers.weights(init, fan_in, fan_out, rng,
                                                 shape=(fan_in, self.f))
        self._gwb = np.zeros_like(self._wb)
        self._link()

    def _link(self) -> None:
        """Point params and grads at views of the two matrices; forget the cols buffer."""
        fan_in = self.k * self.k * self.c
        for store, matrix in ((self.params, self._wb), (self.grads, self._gwb)):
            store["W"] = matrix[:fan_in].reshape(self.k, self.k, self.c, self.f)
            if len(matrix) > fan_in:
                store["b"] = matrix[fan_in]
        self._cols = self._windows = None       # reused between batches of the same size

    def __setstate__(self, state):
        """A copy (copy.deepcopy, pickle) gets equal arrays but not their sharing: relink."""
        self.__dict__.update(state)
        self._link()

    def output_shape(self, input_shape):
        return (self.ho, self.wo, self.f)

    def _padded(self, x: np.ndarray) -> np.ndarray:
        if not (self.pt or self.pb or self.pl or self.pr):
            return x
        n, h, w, c = x.shape
        xp = np.zeros((n, h + self.pt + self.pb, w + self.pl + self.pr, c), dtype=x.dtype)
        xp[:, self.pt:self.pt + h, self.pl:self.pl + w] = x
        return xp

    def _tap(self, padded: np.ndarray, i: int, j: int) -> np.ndarray:
        """The (N, Ho, Wo, C) view of a padded batch that kernel tap (i, j) reads."""
        s = self.stride
        return padded[:, i:i + s * (self.ho - 1) + 1:s, j:j + s * (self.wo - 1) + 1:s]

    def _buffers(self, n: int, dtype) -> tuple[np.ndarray, np.ndarray]:
        """cols (n*Ho*Wo, k*k*C [+ 1 of ones]) and the (n, Ho, Wo, k, k, C) view of its
        window part, made once per batch size."""
        rows, width = n * self.ho * self.wo, len(self._wb)
        if self._cols is None or self._cols.shape != (rows, width) or self._cols.dtype != dtype:
            fan_in = self.k * self.k * self.c
            self._cols = np.empty((rows, width), dtype=dtype)
            self._cols[:, fan_in:] = 1
            self._windows = self._cols[:, :fan_in].reshape(n, self.ho, self.wo, self.k, self.k,
                                                          self.c)
            assert np.shares_memory(self._windows, self._cols)
        return self._cols, self._windows

    def forward(self, x, train=False):
        n = x.shape[0]
        x = x.reshape(n, *_hwc(x.shape[1:]))
        cols, windows = self._buffers(n, x.dtype)
        out = np.empty((len(cols), self.f), dtype=np.result_type(x, self._wb))
        pixels = self.ho * self.wo
        threads.run(lambda part: self._forward_part(x[part], windows[part],
                                                    cols[_rows(part, pixels)],
                                                    out[_rows(part, pixels)]),
                    n, pixels * cols.shape[1])
        self.cache = (cols, x.shape)
        return out.reshape(n, self.ho, self.wo, self.f)

    def _forward_part(self, x, windows, cols, out) -> None:
        """Forward of a part of the batch: its windows copied into its rows of cols, and
        their GEMM into its rows of out."""
        k, s = self.k, self.stride
        xp = self._padded(x)
        if self.c == 1:             # one channel: a strided copy per tap, 3x faster here
            for i in range(k):
                for j in range(k):
                    windows[..., i, j, :] = self._tap(xp, i, j)
        else:                   # windows (N, Ho, Wo, C, k, k) as a view, one copy in GEMM order
            win = sliding_window_view(xp, (k, k), axis=(1, 2))[:, ::s, ::s]
            np.copyto(windows, win.transpose(0, 1, 2, 4, 5, 3))
        np.matmul(cols, self._wb, out=out)

    def backward(self, dout, need_dx=True):
        cols, x_shape = self.cache
        g = dout.reshape(-1, self.f)
        threads.matmul_tn(cols, g, out=self._gwb)          # the weight gradient cols.T @ g
        if not need_dx:
            return None
        n = x_shape[0]
        padded_shape = (n, x_shape[1] + self.pt + self.pb, x_shape[2] + self.pl + self.pr,
                        self.c)
        dout = dout.reshape(n, self.ho, self.wo, self.f)
        dxp = np.empty(padded_shape, dtype=dout.dtype)
        threads.run(lambda part: self._input_grad(dout[part], dxp[part]), n,
                    self.ho * self.wo * self.f)
        dx = dxp[:, self.pt:self.pt + x_shape[1], self.pl:self.pl + x_shape[2]]
        return dx.reshape((n,) + self.input_shape)

    def _input_grad(self, dout, dxp) -> None:
        """The gradient of a part of the batch's padded input, dout: (n, Ho, Wo, F) ->
        dxp: (n, Hp, Wp, C), tap by tap (see the class docstring)."""
        n, hp, wp, c = dxp.shape
        k, s, ho, wo = self.k, self.stride, self.ho, self.wo
        w_taps = self.params["W"]
        if s == 1:
            # Output (r, q) read the padded input from (r, q) on: put its gradient there on a
            # grid of the padded input's height and width, so that tap (i, j)'s share of the
            # input gradient is that grid shifted by i*wp + j rows once both are flattened to
            # (pixels, channels): its GEMM result is added onto one contiguous slice.
            grid = np.zeros((n, hp, wp, self.f), dtype=dout.dtype)
            grid[:, :ho, :wo] = dout
            rows = n * hp * wp - (k - 1) * (wp + 1)      # the last tap's slice ends at the end
            g = grid.reshape(-1, self.f)[:rows]
            dflat = dxp.reshape(-1, c)
            np.matmul(g, w_taps[0, 0].T, out=dflat[:rows])     # tap (0, 0) is not shifted
            dflat[rows:] = 0
            targets = [(i, j, dflat[i * wp + j:i * wp + j + rows])
                       for i in range(k) for j in range(k) if i or j]
        else:                       # each tap's block onto the strided view it was read from
            g = dout.reshape(-1, self.f)
            dxp[...] = 0
            targets = [(i, j, self._tap(dxp, i, j)) for i in range(k) for j in range(k)]
        tap = np.empty((len(g), c), dtype=dout.dtype)
        for i, j, target in targets:
            np.matmul(g, w_taps[i, j].T, out=tap)
            target += tap.reshape(target.shape)


def _rows(part: slice, per: int) -> slice:
    """The rows of a (batch * per, ...) matrix that samples `part` of the batch own."""
    return slice(part.start * per, part.stop * per)


class MaxPool2D(Layer):
    """Non-overlapping max pooling over size x size windows (rows/columns that do not fill a
    window are dropped, as in PyTorch).

    x: (N, H, W, C) -> (N, H // size, W // size, C), reduced in place of a copy of x over the
    window's rows, then its columns. The gradient goes to one maximum of each window.
    """

    def __init__(self, input_shape, size: int = 2):
        super().__init__()
        self.size = int(size)
        if self.size < 1:
            raise ValueError(f"pooling size must be at least 1, got {size}")
        self.input_shape = tuple(input_shape)
        h, w, c = _hwc(input_shape)
        if h < self.size or w < self.size:
            raise ValueError(f"a {self.size}x{self.size} pooling needs inputs of at least "
                             f"{self.size} pixels, got {h}x{w}")
        self.ho, self.wo, self.c = h // self.size, w // self.size, c

    def output_shape(self, input_shape):
        return (self.ho, self.wo, self.c)

    def forward(self, x, train=False):
        n, p = x.shape[0], self.size
        x = x.reshape(n, *_hwc(x.shape[1:]))
        out = np.empty((n, self.ho, self.wo, self.c), dtype=x.dtype)
        row_of = np.zeros((n, self.ho, self.wo, p, self.c), np.uint8) if train else None
        col_of = np.zeros(out.shape, np.uint8) if train else None
        threads.run(lambda part: self._pool(x[part], out[part],
                                            *((row_of[part], col_of[part]) if train else ())),
                    n, x[:1].size)
        self.cache = (row_of, col_of, x.shape) if train else None
        return out

    def _pool(self, x, out, row_of=None, col_of=None) -> None:
        """The maxima of a part of the batch into out; in training, which row of its window
        won in each column into row_of, and which column into col_of (all zeros given)."""
        n, p = x.shape[0], self.size
        a = x[:, :self.ho * p, :self.wo * p].reshape(n, self.ho, p, self.wo, p, self.c)
        # max over the window's rows (whole contiguous rows at once), then over its columns,
        # remembering which row and column won (strictly greater: the first one on ties)
        rows = a[:, :, 0].copy()                            # (N, Ho, Wo, p, C)
        for i in range(1, p):
            if row_of is not None:
                _set_where_greater(row_of, i, a[:, :, i], rows)
            np.maximum(rows, a[:, :, i], out=rows)
        out[...] = rows[:, :, :, 0]                         # (N, Ho, Wo, C)
        for j in range(1, p):
            if col_of is not None:
                _set_where_greater(col_of, j, rows[:, :, :, j], out)
            np.maximum(out, rows[:, :, :, j], out=out)

    def backward(self, dout, need_dx=True):
        row_of, col_of, x_shape = self.cache
        n, p = dout.shape[0], self.size
        d6 = np.empty((n, self.ho, p, self.wo, p, self.c), dtype=dout.dtype)
        threads.run(lambda part: self._unpool(dout[part], row_of[part], col_of[part],
                                              d6[part]), n, d6[:1].size)
        covered = d6.reshape(n, self.ho * p, self.wo * p, self.c)
        if covered.shape == tuple(x_shape):
            dx = covered
        else:                       # rows/columns left over by the windows get no gradient
            dx = np.zeros(x_shape, dtype=dout.dtype)
            dx[:, :self.ho * p, :self.wo * p] = covered
        return dx.reshape((dout.shape[0],) + self.input_shape)

    def _unpool(self, dout, row_of, col_of, d6) -> None:
        """A part of the batch's gradient onto its windows' winners: d6 (n, Ho, p, Wo, p, C)."""
        p = self.size
        if p == 2:                  # winners are 0/1: split dout by products, no comparisons
            right = dout * col_of
            for j, in_col in ((0, dout - right), (1, right)):
                lower = np.multiply(in_col, row_of[:, :, :, j], out=d6[:, :, 1, :, j])
                np.subtract(in_col, lower, out=d6[:, :, 0, :, j])
        else:
            for j in range(p):
                in_col = dout * (col_of == j)
                for i in range(p):
                    np.multiply(in_col, row_of[:, :, :, j] == i, out=d6[:, :, i, :, j])


def _set_where_greater(index: np.ndarray, value: int, candidate, best) -> None:
    """index[candidate > best] = value, as branch-free arithmetic: on random data a masked
    assignment mispredicts half its branches and measured 25x slower than this."""
    greater = np.greater(candidate, best).view(np.uint8)
    if value == 1:              # index is still all 0 (the first candidate)
        index[...] = greater
    else:
        index += (np.uint8(value) - index) * greater


class Columns(Layer):
    """The height of an image folded into its channels: one feature vector per column.

    x: (N, H, W, C) -> (N, 1, W, H*C), feature (h, c) at index h*C + c. A line model's
    convolutions keep a time axis along the width; after this layer, 1x1 convolutions are
    per-column dense layers and a last one gives each column's class scores.
    """

    def __init__(self, input_shape):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.h, self.w, self.c = _hwc(input_shape)

    def output_shape(self, input_shape):
        return (1, self.w, self.h * self.c)

    def forward(self, x, train=False):
        n = x.shape[0]
        x = x.reshape(n, self.h, self.w, self.c)
        return x.transpose(0, 2, 1, 3).reshape(n, 1, self.w, self.h * self.c)

    def backward(self, dout, need_dx=True):
        n = dout.shape[0]
        dx = dout.reshape(n, self.w, self.h, self.c).transpose(0, 2, 1, 3)
        return dx.reshape((n,) + self.input_shape)

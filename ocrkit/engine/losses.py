"""Losses: `forward(output, target) -> float` (mean over the batch), `backward() -> d output`.

`takes_logits` tells the network whether the loss wants the output before the final softmax.
A loss with an accuracy has `hits(output, target) -> (right, count)`: the Trainer's accuracy
is the sum of right over the sum of count (samples for a classifier, characters for CTC,
ocrkit.engine.ctc).
"""
from __future__ import annotations

import numpy as np


class SoftmaxCrossEntropy:
    """Softmax and cross-entropy fused: logits (N, C), integer labels y (N,).

    Uses log-sum-exp with the row maximum subtracted, so logits of 1e4 neither overflow nor give
    NaN. Gradient: (softmax(logits) - onehot(y)) / N.
    """

    takes_logits = True

    def forward(self, logits: np.ndarray, y: np.ndarray) -> float:
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        n = len(y)
        rows = np.arange(n)
        loss = float(np.mean(np.log(s[:, 0]) - z[rows, y]))
        p = e / s
        self.cache = (p, y)
        return loss

    def backward(self) -> np.ndarray:
        p, y = self.cache
        d = p.copy()
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        return d

    def hits(self, logits: np.ndarray, y: np.ndarray) -> tuple[int, int]:
        """(samples whose best class is their label, samples)."""
        return int(np.count_nonzero(np.argmax(logits, axis=1) == y)), len(y)


class SquaredError:
    """Squared error summed over features and averaged over the batch: mean_n sum_d (o - t)^2.

    output and target: (N, ...) of the same shape. Summing over features keeps the gradient
    per pixel the size HW5's total squared error had, whatever the batch size.
    """

    takes_logits = False

    def forward(self, output: np.ndarray, target: np.ndarray) -> float:
        diff = output - target.reshape(output.shape)
        self.cache = diff
        return float(np.sum(diff * diff) / len(output))

    def backward(self) -> np.ndarray:
        diff = self.cache
        return diff * (2.0 / len(diff))


LOSSES = {"cross_entropy": SoftmaxCrossEntropy, "squared_error": SquaredError}

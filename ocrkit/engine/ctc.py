"""Connectionist temporal classification (Graves et al. 2006): a loss over whole label
sequences for outputs that come one per time step (a line image's columns), and its decoding.

    loss = CTCLoss()                               # blank = class 0
    value = loss.forward(logits, labels)           # logits (N, T, C); labels (N, L), -1 padded
    dlogits = loss.backward()
    texts = greedy_decode(softmax_probs)           # best path: repeats merged, blanks dropped

The blank is class 0 (as in PyTorch's `ctc_loss` and warp-ctc by default). A label sequence
l of length L becomes the extended sequence l' = (blank, l1, blank, l2, ..., lL, blank) of
S = 2L + 1 states. In log space, with lp[t, k] the log-softmax of the logits,

    alpha[t, s] = lp[t, l'_s] + logsumexp(alpha[t-1, s], alpha[t-1, s-1], alpha[t-1, s-2])
    beta[t, s]  = lp[t, l'_s] + logsumexp(beta[t+1, s], beta[t+1, s+1], beta[t+1, s+2])

where the jump over two states is allowed only onto (or from) a label that differs from the
one two states before (a blank must separate repeats), alpha starts in the first blank or the
first label and beta ends in the last label or the final blank at each sample's own last time
step. The loss is -log p(l | x) = -logsumexp(alpha[T-1, S-1], alpha[T-1, S-2]); the gradient
with respect to the logits is softmax(logits)[t, k] minus the posterior of being in a state
labelled k at time t, exp(alpha + beta - lp + loss) summed over those states (Graves 2006,
eq. 16), and zero past a sample's input length. Both recurrences run over the whole batch and
every state at once; only the time steps are a Python loop.
"""
from __future__ import annotations

import numpy as np

BLANK = 0
_NEG = -np.inf


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _logsumexp3(a, b, c):
    return np.logaddexp(np.logaddexp(a, b), c)


def _forward(lp, labels, inside, label_lengths, input_lengths, blank):
    """The alpha recurrence over a batch of log-probabilities lp (N, T, C): (ext (N, S), the
    extended label sequences; skip (N, S), where s-2 -> s is allowed; lpe (N, T, S), lp at
    each state; alpha (T, N, S + 2), with two always-empty states in front so s-1 and s-2
    need no special case; losses (N,), -log p(labels | lp))."""
    n, t_max, _ = lp.shape
    s_max = 2 * labels.shape[1] + 1
    ext = np.full((n, s_max), blank, np.int64)                 # l': blank, l1, blank, l2, ...
    ext[:, 1::2] = np.where(inside, labels, blank)
    skip = np.zeros((n, s_max), bool)                          # s-2 -> s allowed
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    lpe = np.take_along_axis(lp, ext[:, None, :], axis=2)      # (N, T, S): lp at each state
    alpha = np.full((t_max, n, s_max + 2), _NEG, dtype=lp.dtype)
    alpha[0, :, 2] = lpe[:, 0, 0]
    alpha[0, :, 3] = np.where(label_lengths > 0, lpe[:, 0, 1], _NEG)
    for t in range(1, t_max):
        a = alpha[t - 1]
        alpha[t, :, 2:] = lpe[:, t] + _logsumexp3(a[:, 2:], a[:, 1:-1],
                                                  np.where(skip, a[:, :-2], _NEG))
    rows = np.arange(n)
    end = alpha[input_lengths - 1, rows]                       # (N, S + 2) at each last step
    last = 2 * label_lengths
    losses = -np.logaddexp(end[rows, last + 2], end[rows, last + 1])
    return ext, skip, lpe, alpha, losses


def sequence_log_likelihood(lp: np.ndarray, labels: np.ndarray, blank: int = BLANK
                            ) -> np.ndarray:
    """log p(labels[n] | lp[n]) for each of N label sequences (N, L), -1 padded, under
    log-probabilities lp (N, T, C) (all paths summed, as the loss; no gradient): how well
    each candidate reading explains the same columns, e.g. the words of a lexicon."""
    lp = np.asarray(lp)
    labels = np.asarray(labels, np.int64).reshape(len(lp), -1)
    lengths = (labels >= 0).sum(1)
    inside = np.arange(labels.shape[1]) < lengths[:, None]
    return -_forward(lp, labels, inside, lengths, np.full(len(lp), lp.shape[1], np.int64),
                     blank)[4]


def ctc_loss(logits: np.ndarray, labels: np.ndarray, label_lengths=None, input_lengths=None,
             blank: int = BLANK) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample CTC losses and the gradient of their sum with respect to the logits.

    logits: (N, T, C) unnormalised scores (log-softmax is taken here); labels: (N, L) ints in
    1..C-1 (class indices, never the blank), entries past a sample's length ignored;
    label_lengths: (N,), default the count of entries >= 0 (labels padded with -1);
    input_lengths: (N,) time steps of each sample, default T. Returns (losses (N,), dlogits
    (N, T, C)); a sample whose labels cannot fit its input length has loss inf.
    """
    logits = np.asarray(logits)
    n, t_max, c = logits.shape
    labels = np.asarray(labels, dtype=np.int64).reshape(n, -1)
    if label_lengths is None:
        label_lengths = (labels >= 0).sum(1)
    label_lengths = np.asarray(label_lengths, dtype=np.int64)
    input_lengths = (np.full(n, t_max, np.int64) if input_lengths is None
                     else np.asarray(input_lengths, dtype=np.int64))
    if len(input_lengths) != n or len(label_lengths) != n:
        raise ValueError(f"{n} samples but {len(input_lengths)} input lengths and "
                         f"{len(label_lengths)} label lengths")
    if input_lengths.min(initial=1) < 1 or input_lengths.max(initial=0) > t_max:
        raise ValueError(f"input lengths must be in 1..{t_max}")
    width = labels.shape[1]
    if label_lengths.max(initial=0) > width or label_lengths.min(initial=0) < 0:
        raise ValueError(f"label lengths must be in 0..{width}")
    inside = np.arange(width) < label_lengths[:, None]
    if np.any(inside & ((labels < 0) | (labels >= c) | (labels == blank))):
        raise ValueError(f"labels must be classes 0..{c - 1} other than the blank ({blank})")

    lp = log_softmax(logits)
    ext, skip, lpe, alpha, losses = _forward(lp, labels, inside, label_lengths, input_lengths,
                                             blank)
    s_max = ext.shape[1]
    last = 2 * label_lengths                                   # index of the final blank

    # beta, with two always-empty states behind; each sample starts at its own last step
    beta = np.full((t_max + 1, n, s_max + 2), _NEG, dtype=lp.dtype)
    states = np.arange(s_max)
    final = (states == last[:, None]) | (states == last[:, None] - 1)
    skip_next = np.zeros((n, s_max), bool)                     # s -> s+2 allowed
    skip_next[:, :-2] = skip[:, 2:]
    for t in range(t_max - 1, -1, -1):
        b = beta[t + 1]
        step = lpe[:, t] + _logsumexp3(b[:, :-2], b[:, 1:-1],
                                       np.where(skip_next, b[:, 2:], _NEG))
        start = np.where(final, lpe[:, t], _NEG)
        here = (t == input_lengths - 1)[:, None]
        before = (t < input_lengths - 1)[:, None]
        beta[t, :, :-2] = np.where(here, start, np.where(before, step, _NEG))

    # posterior of each state at each step, summed per class: (N, T, S) @ onehot (N, S, C)
    with np.errstate(invalid="ignore", over="ignore"):
        log_post = (alpha[:, :, 2:] + beta[:-1, :, :-2]).transpose(1, 0, 2) - lpe \
            + losses[:, None, None]
        post = np.exp(log_post)
    post[~np.isfinite(post)] = 0
    onehot = (ext[:, :, None] == np.arange(c)).astype(lp.dtype)
    dlp = -(post @ onehot)                                     # d loss / d log-probabilities
    dlogits = dlp - np.exp(lp) * dlp.sum(-1, keepdims=True)    # through the log-softmax
    return losses, dlogits


class CTCLoss:
    """CTC over the columns of a line model's output: logits (N, T, C) (or (N, 1, T, C), a
    height-1 image of columns) and labels (N, L) padded with -1 (class indices, blank = 0
    excluded). Every sample uses all T time steps. The value is the mean over the batch of
    -log p(labels | line), as the engine's other losses average over the batch.

    With `zero_infinity` (PyTorch's option), a sample whose labels cannot fit in T steps adds
    0 to the loss and the gradient instead of inf.
    """

    takes_logits = True

    def __init__(self, blank: int = BLANK, zero_infinity: bool = True):
        self.blank, self.zero_infinity = int(blank), bool(zero_infinity)

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        shape = logits.shape
        flat = logits.reshape(shape[0], -1, shape[-1])
        losses, grad = ctc_loss(flat, labels, blank=self.blank)
        if self.zero_infinity:
            bad = ~np.isfinite(losses)
            losses[bad] = 0
            grad[bad] = 0
        n = max(len(losses), 1)
        self.cache = (grad / n).reshape(shape).astype(logits.dtype, copy=False)
        return float(losses.sum() / n)

    def backward(self) -> np.ndarray:
        return self.cache

    def hits(self, logits: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
        """(characters right, characters in the labels) of the batch's best-path readings:
        the characters less the edit distance, so hits / count is 1 - CER."""
        from ocrkit.metrics import edit_distance
        labels = np.asarray(labels)
        shape = logits.shape
        decoded = greedy_decode(logits.reshape(shape[0], -1, shape[-1]), blank=self.blank)
        count = int((labels >= 0).sum())
        errors = sum(edit_distance(list(d.labels), list(row[row >= 0]))
                     for d, row in zip(decoded, labels))
        return count - errors, count


class Reading:
    """One sequence read by greedy_decode: `labels` (k,) class indices, `columns` (k,) the
    mean time step of each character's run, `confidence` (k,) the highest probability the
    class has within its run."""

    __slots__ = ("labels", "columns", "confidence")

    def __init__(self, labels, columns, confidence):
        self.labels, self.columns, self.confidence = labels, columns, confidence

    def __repr__(self) -> str:
        return f"Reading(labels={self.labels.tolist()})"


def greedy_decode(logits: np.ndarray, input_lengths=None, blank: int = BLANK) -> list[Reading]:
    """Best-path decoding of (N, T, C) logits (or log-probabilities: the softmax is the same):
    the best class of each step, runs of one class merged, blanks dropped, the classic CTC
    reading ("a a _ a b b" -> "a a b"). Steps past a sample's input length are ignored.
    Whole-batch: one argmax and one pass over the runs of every sample."""
    logits = np.asarray(logits)
    n, t_max, c = logits.shape
    lengths = (np.full(n, t_max, np.int64) if input_lengths is None
               else np.asarray(input_lengths, np.int64))
    probs = np.exp(log_softmax(logits))
    best = logits.argmax(-1)                                   # (N, T)
    best = np.where(np.arange(t_max) < lengths[:, None], best, blank)
    flat = best.ravel()
    new = np.ones(flat.size, bool)                             # a run starts where the class
    new[1:] = flat[1:] != flat[:-1]                            # changes or a sample starts
    new[::t_max] = True
    starts = np.flatnonzero(new)
    p_best = np.take_along_axis(probs, best[..., None], axis=2).ravel()
    conf = np.maximum.reduceat(p_best, starts)
    length = np.diff(np.append(starts, flat.size))
    keep = flat[starts] != blank
    starts, conf, length = starts[keep], conf[keep], length[keep]
    sample = starts // t_max
    labels, columns = flat[starts], (starts % t_max) + (length - 1) / 2
    bounds = np.searchsorted(sample, np.arange(n + 1))
    return [Reading(labels[a:b], columns[a:b], conf[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def beam_decode(lp: np.ndarray, beam: int = 8, prune: float = 1e-3, blank: int = BLANK
                ) -> tuple[np.ndarray, float]:
    """The likeliest label sequence of one sample's (T, C) log-probabilities by CTC prefix
    beam search (Hannun et al. 2014): every prefix's probability summed over all the paths
    that spell it (ending in a blank or not), the `beam` likeliest kept after each step, and
    at each step only the classes at least `prune` likely extended. Best path (greedy_decode)
    keeps one path; a sequence spread over several (a letter split between two columns, or
    between itself and the blank) can be likelier than the best path's. -> (labels, log p)."""
    lp = np.asarray(lp, np.float64)
    beams = {(): (0.0, _NEG)}            # prefix -> (log p ending in blank, ... in a label)
    floor = np.log(prune)
    for row in lp:
        options = np.flatnonzero(row >= floor)
        nxt: dict = {}

        def add(prefix, b, nb):
            ob, onb = nxt.get(prefix, (_NEG, _NEG))
            nxt[prefix] = (np.logaddexp(ob, b), np.logaddexp(onb, nb))
        for prefix, (b, nb) in beams.items():
            either = np.logaddexp(b, nb)
            last = prefix[-1] if prefix else None
            for k in options:
                p = row[k]
                if k == blank:
                    add(prefix, either + p, _NEG)
                elif k == last:
                    add(prefix, _NEG, nb + p)                  # the same letter, held on
                    add(prefix + (int(k),), _NEG, b + p)       # a repeat, after a blank
                else:
                    add(prefix + (int(k),), _NEG, either + p)
        beams = dict(sorted(nxt.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:beam])
    best, (b, nb) = max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))
    return np.array(best, np.int64), float(np.logaddexp(b, nb))


def align(lp: np.ndarray, labels, blank: int = BLANK) -> np.ndarray:
    """The time step (column) of each label on the likeliest single path that spells
    `labels` through one sample's (T, C) log-probabilities (Viterbi over the extended
    sequence): for each label, the step of its highest log-probability among those the path
    gives it."""
    labels = np.asarray(labels, np.int64)
    t_max, s = len(lp), 2 * len(labels) + 1
    if not len(labels):
        return np.zeros(0)
    ext = np.full(s, blank, np.int64)
    ext[1::2] = labels
    skip = np.zeros(s, bool)
    skip[3::2] = labels[1:] != labels[:-1]
    score = np.full(s, _NEG)
    score[:2] = lp[0, ext[:2]]
    back = np.zeros((t_max, s), np.int8)
    for t in range(1, t_max):
        stay, one = score, np.concatenate([[_NEG], score[:-1]])
        two = np.where(skip, np.concatenate([[_NEG, _NEG], score[:-2]]), _NEG)
        moves = np.stack([stay, one, two])
        back[t] = moves.argmax(0)
        score = moves.max(0) + lp[t, ext]
    state = s - 1 if s == 1 or score[s - 1] >= score[s - 2] else s - 2
    path = np.empty(t_max, np.int64)
    for t in range(t_max - 1, -1, -1):
        path[t] = state
        state -= int(back[t, state])
    columns = np.zeros(len(labels))
    for i in range(len(labels)):
        steps = np.flatnonzero(path == 2 * i + 1)
        columns[i] = steps[np.argmax(lp[steps, labels[i]])] if len(steps) else 0.0
    return columns

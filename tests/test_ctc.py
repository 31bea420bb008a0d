"""CTC (ocrkit.engine.ctc) and the Columns layer: values against hand computation and the
sum over all alignments, gradients against finite differences, best-path decoding."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from ocrkit.engine import Network, check_gradients
from ocrkit.engine.conv import Columns
from ocrkit.engine.ctc import (CTCLoss, align, beam_decode, ctc_loss, greedy_decode,
                               log_softmax, sequence_log_likelihood)
from ocrkit.engine.gradcheck import numeric_gradient, relative_error

TOL = 1e-6


def all_alignments_loss(logits, labels, length):
    """-log p(labels | x) by its definition: the sum over every path of `length` steps whose
    repeats merged and blanks dropped give `labels`."""
    lp = log_softmax(np.asarray(logits, np.float64)[:length])
    total = -np.inf
    for path in itertools.product(range(lp.shape[1]), repeat=length):
        merged = [k for i, k in enumerate(path) if k != 0 and (i == 0 or k != path[i - 1])]
        if merged == list(labels):
            total = np.logaddexp(total, sum(lp[t, k] for t, k in enumerate(path)))
    return -total


def test_loss_is_the_hand_computed_value():
    # two steps, classes (blank, a): "a" is read by a a, a _ and _ a
    p = np.array([[[0.4, 0.6], [0.7, 0.3]]])
    losses, _ = ctc_loss(np.log(p), [[1]])
    assert losses[0] == pytest.approx(-np.log(0.6 * 0.3 + 0.6 * 0.7 + 0.4 * 0.3))
    # "a a" needs a blank between the two: in three steps only a _ a
    p3 = np.array([[[0.4, 0.6], [0.7, 0.3], [0.2, 0.8]]])
    losses, _ = ctc_loss(np.log(p3), [[1, 1]])
    assert losses[0] == pytest.approx(-np.log(0.6 * 0.7 * 0.8))
    # ... and it cannot fit in two steps at all
    assert ctc_loss(np.log(p), [[1, 1]])[0][0] == np.inf


def test_loss_is_the_sum_over_all_alignments_with_variable_lengths(rng):
    logits = rng.normal(size=(5, 5, 3))
    labels = np.array([[1, 2, -1], [1, 1, -1], [2, -1, -1], [1, 2, 1], [-1, -1, -1]])
    lengths = np.array([5, 4, 3, 5, 2])
    losses, _ = ctc_loss(logits, labels, input_lengths=lengths)
    expected = [all_alignments_loss(logits[i], labels[i][labels[i] >= 0], lengths[i])
                for i in range(5)]
    assert np.allclose(losses, expected, rtol=1e-10)


def test_sequence_log_likelihood_scores_candidates_by_all_their_alignments(rng):
    # candidate readings of the same columns, as the lexicon compares them
    lp = log_softmax(rng.normal(size=(5, 3)))
    labels = np.array([[1, 2, -1], [1, 1, -1], [2, 1, 2]])
    scores = sequence_log_likelihood(np.broadcast_to(lp, (3, 5, 3)), labels)
    expected = [-all_alignments_loss(lp, row[row >= 0], 5) for row in labels]
    assert np.allclose(scores, expected, rtol=1e-10)


def test_gradient_matches_finite_differences_with_variable_lengths(rng):
    logits = rng.normal(size=(4, 7, 4))
    labels = np.array([[1, 2, 2, 3], [3, 1, -1, -1], [2, 2, -1, -1], [-1, -1, -1, -1]])
    lengths = np.array([7, 5, 6, 3])
    _, grad = ctc_loss(logits, labels, input_lengths=lengths)
    numeric = numeric_gradient(
        lambda: ctc_loss(logits, labels, input_lengths=lengths)[0].sum(), logits)
    assert relative_error(grad, numeric) < TOL
    assert np.all(grad[1, 5:] == 0) and np.all(grad[3, 3:] == 0)   # past each input's end


def test_gradients_through_a_line_network_match_finite_differences(rng):
    specs = [{"type": "conv2d", "filters": 3, "activation": "tanh"}, {"type": "maxpool2d"},
             {"type": "conv2d", "filters": 2, "activation": "tanh", "batchnorm": True},
             {"type": "columns"},
             {"type": "conv2d", "filters": 5, "kernel": 1, "activation": "tanh"},
             {"type": "conv2d", "filters": 4, "kernel": 1, "activation": "identity"}]
    net = Network(specs, (4, 12), rng, np.float64)
    assert net.output_shape == (1, 6, 4)
    x = rng.normal(size=(3, 4, 12))
    labels = np.array([[1, 2, -1], [3, 3, 1], [2, -1, -1]])
    errors = check_gradients(net, CTCLoss(), x, labels)
    assert {"input", "0.W", "2.gamma", "4.W", "5.W"} <= set(errors)
    assert max(errors.values()) < TOL, errors


def test_columns_fold_the_height_into_features(rng):
    x = rng.normal(size=(2, 3, 5, 4))
    out = Columns((3, 5, 4)).forward(x)
    assert out.shape == (2, 1, 5, 12)
    assert np.array_equal(out[1, 0, 2, 2 * 4 + 3], x[1, 2, 2, 3])      # feature h*C + c
    layer = Columns((3, 5, 4))
    layer.forward(x)
    assert np.array_equal(layer.backward(out), x)


def test_impossible_labels_add_nothing_with_zero_infinity(rng):
    logits = rng.normal(size=(2, 3, 3)).astype(np.float32)
    labels = np.array([[1, 1, 1], [1, -1, -1]])          # 1 1 1 needs 5 steps
    loss = CTCLoss()
    value = loss.forward(logits, labels)
    assert value == pytest.approx(ctc_loss(logits[1:], labels[1:])[0][0] / 2, rel=1e-5)
    assert np.all(loss.backward()[0] == 0) and np.any(loss.backward()[1] != 0)
    assert not np.isfinite(CTCLoss(zero_infinity=False).forward(logits, labels))


def path_logits(path, classes=4):
    """Logits whose best class at step t is path[t], with probability about 0.9."""
    logits = np.zeros((len(path), classes))
    logits[np.arange(len(path)), path] = 4.0
    return logits


def test_greedy_decoding_merges_repeats_and_drops_blanks():
    # a a _ a b b _ c  ->  a a b c; a second line that is blank throughout reads nothing
    logits = np.stack([path_logits([1, 1, 0, 1, 2, 2, 0, 3]), path_logits([0] * 8)])
    first, second = greedy_decode(logits)
    assert first.labels.tolist() == [1, 1, 2, 3]
    assert first.columns.tolist() == [0.5, 3.0, 4.5, 7.0]            # the middle of each run
    p = np.exp(4) / (np.exp(4) + 3)
    assert np.allclose(first.confidence, p)
    assert second.labels.tolist() == []
    cut = greedy_decode(logits, input_lengths=[5, 8])[0]               # steps past 5 ignored
    assert cut.labels.tolist() == [1, 1, 2]


def test_beam_decoding_finds_the_likeliest_labelling_not_the_likeliest_path(rng):
    # two steps, each a 0.6 blank and a 0.4 "a": the best path is blank-blank (0.36, nothing),
    # but "a" has three paths (a a, a _, _ a: 0.64)
    lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))
    assert greedy_decode(lp[None])[0].labels.tolist() == []
    labels, score = beam_decode(lp)
    assert labels.tolist() == [1] and np.isclose(score, np.log(0.64))
    # with a beam wide enough to keep every prefix it is exact: its labelling is the one of
    # highest probability over all alignments, and its score that probability
    for _ in range(10):
        lp = log_softmax(rng.normal(0, 1.5, (6, 3)))
        labels, score = beam_decode(lp, beam=10_000, prune=1e-12)
        assert np.isclose(score, -all_alignments_loss(lp, labels.tolist(), 6))
        every = {tuple(k for i, k in enumerate(path) if k and (i == 0 or k != path[i - 1]))
                 for path in itertools.product(range(3), repeat=6)}
        assert score >= max(-all_alignments_loss(lp, list(seq), 6) for seq in every) - 1e-9


def test_alignment_puts_each_label_at_its_own_column():
    # a _ b b _ a: the path's steps for each label, the step where it is likeliest
    lp = log_softmax(path_logits([1, 0, 2, 2, 0, 1]).astype(np.float64))
    lp[3, 2] += 0.5
    assert align(lp, [1, 2, 1]).tolist() == [0, 3, 5]
    assert align(lp, []).tolist() == []


def test_hits_count_characters_right_as_one_minus_edit_distance():
    logits = np.stack([path_logits([1, 0, 2, 0]), path_logits([3, 3, 3, 0])])[:, None]
    right, count = CTCLoss().hits(logits, np.array([[1, 2, -1], [3, 1, 2]]))
    assert (right, count) == (5 - 2, 5)          # line 2 reads "3" for "3 1 2": 2 missing

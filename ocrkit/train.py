"""One Trainer for every model (classifier, autoencoder, line model).

    trainer = Trainer(net, SoftmaxCrossEntropy(), Adam(1e-3), epochs=20, batch_size=32)
    result = trainer.fit(train.x, train.y, valid=(valid.x, valid.y))

(`train_model` is a whole run as the commands make one, from an ocrkit.config object.)

Seeded shuffling, mini-batches, per-epoch train/valid loss (and accuracy for classifiers; for
a line model under CTCLoss, whose targets are label sequences, 1 - CER),
a tqdm bar with live numbers, early stopping on the validation score with the best weights kept,
a checkpoint callback every epoch, resume from a checkpoint, Ctrl-C ends cleanly with the best
weights restored, and a diverging run (a NaN/inf batch loss, or one EXPLODED times the run's
first) stops at that batch with `TrainingDiverged`.
"""
from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ocrkit.config import RunConfig
from ocrkit.engine import Network, schedule_lr
from ocrkit.engine import threads
from ocrkit.engine.optim import Optimizer
from ocrkit.engine.specs import arch_specs, mlp_specs  # noqa: F401  (the CLI builds specs here)
from ocrkit.errors import OcrkitError

log = logging.getLogger("ocrkit.train")


class TrainingDiverged(OcrkitError):
    """The loss became NaN or infinite, or exploded."""


# A batch loss over EXPLODED times the first batch's of the run (taken as at least 1) is
# divergence: cross-entropy starts near ln(classes) (3.6 for 36) and a run that multiplies it
# by 100 is confidently wrong everywhere (Adam at lr 10 on EMNIST: 184,000 within an epoch,
# never back below chance), and a sigmoid autoencoder's squared error cannot grow that much.
EXPLODED = 100.0
# --crop-noise and --styles: the share of a batch given a crop's leftovers, and of each style's
# class drawn in it (ocrkit.data.augment.Augment)
CROP_NOISE = 0.2
STYLES = 0.3


@dataclass
class TrainResult:
    history: dict
    best_epoch: int            # 1-based epoch whose weights the network now holds (0: none)
    best_score: float
    stopped: str               # "completed", "early-stopping" or "interrupted"
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def balancing_weights(y: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Per-sample probabilities 1 / count^power, normalised: with power 1 every class is
    equally likely, with 0.5 a class is drawn in proportion to the square root of its count."""
    counts = np.bincount(y).astype(np.float64)
    w = counts[y] ** -float(power)
    return w / w.sum()


def epoch_order(rng: np.random.Generator, n: int, weights: np.ndarray | None = None):
    """The sample indices of one epoch: a permutation, or n draws by `weights` (balancing)."""
    return rng.permutation(n) if weights is None else rng.choice(n, n, p=weights)


HISTORY_KEYS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "lr", "seconds")


class Trainer:
    def __init__(self, network: Network, loss, optimizer: Optimizer, *, epochs: int,
                 batch_size: int = RunConfig.batch_size, schedule: str = RunConfig.schedule,
                 step_size: int = RunConfig.step_size, gamma: float = RunConfig.gamma,
                 patience: int | None = None, seed: int = RunConfig.seed,
                 balance: bool | float = False, augment=None, checkpoint=None,
                 progress: bool | None = None, desc: str = "train", keep_best: bool = True):
        """`keep_best=False` ends with the last epoch's weights: the validation set is then
        only watched (curves), never used to choose, as when it is the test set. `balance`
        (True, or a power in (0, 1]) draws samples by `balancing_weights`. The defaults are
        ocrkit.config's (RunConfig), the ones train_model and the commands use."""
        if epochs < 1:
            raise OcrkitError("epochs must be at least 1")
        if batch_size < 1:
            raise OcrkitError("batch size must be at least 1")
        self.net, self.loss, self.opt = network, loss, optimizer
        self.epochs, self.batch_size = int(epochs), int(batch_size)
        self.schedule, self.step_size, self.gamma = schedule, step_size, gamma
        self.base_lr = optimizer.lr
        self.patience = patience
        self.seed = seed
        self.balance = balance
        # callable(xb, rng) -> xb, applied to each training batch's inputs only: the targets
        # are indexed separately, so an autoencoder given a corruption learns to denoise;
        # one with `takes_labels` is called (xb, rng, labels=the batch's targets)
        self.augment = augment
        self.checkpoint = checkpoint
        self.progress = progress
        self.desc = desc
        self.keep_best = keep_best
        # a loss with an accuracy (hits) has integer targets: labels, or label sequences
        self.classifier = hasattr(loss, "hits")

    # -- scoring -----------------------------------------------------------------------------
    def evaluate(self, x: np.ndarray, target: np.ndarray, batch_size: int | None = None):
        """Mean loss and accuracy (NaN for an autoencoder; 1 - CER for a line model) over a
        whole set, in batches."""
        batch_size = batch_size or self.net.batch_limit
        total, right, count = 0.0, 0, 0
        with np.errstate(over="ignore", invalid="ignore"):
            for i in range(0, len(x), batch_size):
                xb, tb = x[i:i + batch_size], target[i:i + batch_size]
                out = self.net.forward(xb, logits=self.loss.takes_logits)
                total += self.loss.forward(out, tb) * len(xb)
                if self.classifier:
                    r, k = self.loss.hits(out, tb)
                    right, count = right + r, count + k
        n = max(len(x), 1)
        return total / n, (right / max(count, 1) if self.classifier else float("nan"))

    def _score(self, valid_loss, valid_acc):
        """Higher is better: validation accuracy for classifiers, minus loss otherwise."""
        return valid_acc if self.classifier else -valid_loss

    # -- training ----------------------------------------------------------------------------
    def fit(self, x: np.ndarray, target: np.ndarray, valid=None, resume: dict | None = None
            ) -> TrainResult:
        """Train on x (N, ...) against target (labels (N,) or arrays like x).

        `valid` is (x, target) for per-epoch scores and early stopping; `resume` is a state
        dict from an earlier checkpoint.
        """
        with threads.blas_limited():        # the engine splits its GEMMs among its threads
            return self._fit(x, target, valid, resume)

    def _fit(self, x, target, valid, resume) -> TrainResult:
        net, opt = self.net, self.opt
        x = np.asarray(x, dtype=net.dtype)
        if self.classifier:
            target = np.asarray(target, dtype=np.int64)
        else:
            target = np.asarray(target, dtype=net.dtype)
        n = len(x)
        if n == 0:
            raise OcrkitError("no training samples")
        rng = np.random.default_rng(self.seed)
        self._first_loss = None             # the run's first batch loss: divergence's scale
        history = {k: [] for k in HISTORY_KEYS}
        best_params, best_score, best_epoch, wait, start_epoch = None, -math.inf, 0, 0, 0
        if resume:
            try:
                net.set_params(resume["params"])
                opt.load_state_dict(resume["optimizer"], net.named_param_grads())
                rng.bit_generator.state = resume["rng"]
                for layer, state in zip(_dropouts(net), resume.get("dropout_rngs", [])):
                    layer.rng.bit_generator.state = state
                history = {k: list(resume["history"].get(k, [])) for k in HISTORY_KEYS}
                best_params = resume["best_params"]
                best_score, best_epoch = float(resume["best_score"]), int(resume["best_epoch"])
                wait, start_epoch = int(resume["wait"]), int(resume["epoch"])
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise OcrkitError(f"the checkpoint's trainer state is damaged ({exc}); "
                                  "start the run again without --resume") from None
        if self.balance and self.classifier and target.ndim != 1:
            raise OcrkitError("class balancing needs one label per sample, not sequences")
        weights = (balancing_weights(target, float(self.balance))
                   if self.balance and self.classifier else None)

        show = self.progress if self.progress is not None else sys.stderr.isatty()
        stopped = "completed"
        t_start = time.perf_counter()
        try:
            for epoch in range(start_epoch, self.epochs):
                t0 = time.perf_counter()
                opt.lr = schedule_lr(self.schedule, self.base_lr, epoch, self.epochs,
                                     self.step_size, self.gamma)
                train_loss, train_acc = self._train_epoch(x, target, epoch_order(rng, n, weights),
                                                          rng, epoch, show)
                history["train_loss"].append(train_loss)
                history["train_acc"].append(train_acc)
                if valid is not None and len(valid[0]):
                    v_loss, v_acc = self.evaluate(*valid)
                else:
                    v_loss, v_acc = train_loss, (train_acc if self.classifier else float("nan"))
                if not math.isfinite(v_loss):
                    raise TrainingDiverged(f"training diverged at epoch {epoch + 1}: the "
                                           f"validation loss is {v_loss}; try a lower --lr")
                history["valid_loss"].append(v_loss)
                history["valid_acc"].append(v_acc if self.classifier else None)
                history["lr"].append(opt.lr)
                history["seconds"].append(time.perf_counter() - t0)
                score = self._score(v_loss, v_acc)
                if score > best_score or not self.keep_best:
                    best_score, best_epoch, wait = score, epoch + 1, 0
                    best_params = net.get_params()
                else:
                    wait += 1
                line = (f"{self.desc} epoch {epoch + 1}/{self.epochs}: "
                        f"{self._postfix(train_loss, train_acc)} | "
                        f"valid {self._postfix(v_loss, v_acc)}")
                if show:
                    tqdm.write(line, file=sys.stderr)
                else:                   # no terminal: a log line (the CLI shows it unless -q)
                    log.info("%s (%.1f s)", line, history["seconds"][-1])
                if self.checkpoint is not None:
                    self.checkpoint({
                        "epoch": epoch + 1, "params": net.get_params(),
                        "optimizer": opt.state_dict(), "rng": rng.bit_generator.state,
                        "dropout_rngs": [d.rng.bit_generator.state for d in _dropouts(net)],
                        "history": {k: list(v) for k, v in history.items()},
                        "best_params": best_params,
                        "best_score": best_score, "best_epoch": best_epoch, "wait": wait,
                    })
                if self.patience is not None and wait >= self.patience:
                    stopped = "early-stopping"
                    break
        except KeyboardInterrupt:
            stopped = "interrupted"
        finally:    # every way out (end, early stop, Ctrl-C, divergence) keeps the best weights
            if best_params is not None:
                net.set_params(best_params)
        return TrainResult(history, best_epoch, best_score, stopped,
                           time.perf_counter() - t_start)

    def _train_epoch(self, x, target, order, rng, epoch, show):
        """One pass over `order` in mini-batches; returns the mean loss and accuracy (None for
        models without accuracy). Overflow shows up as a non-finite loss, reported with advice
        rather than as numpy warnings."""
        net, loss, opt, bs = self.net, self.loss, self.opt, self.batch_size
        pairs = net.named_param_grads()
        run_loss, run_right, run_count, seen = 0.0, 0, 0, 0
        bar = tqdm(range(math.ceil(len(order) / bs)), unit="batch", leave=False,
                   desc=f"{self.desc} {epoch + 1}/{self.epochs}", disable=not show,
                   file=sys.stderr, mininterval=0.5)
        with np.errstate(over="ignore", invalid="ignore"):
            for b in bar:
                idx = order[b * bs:(b + 1) * bs]
                xb, tb = x[idx], target[idx]
                if self.augment is not None:
                    xb = self.augment(xb, rng, labels=tb) if getattr(
                        self.augment, "takes_labels", False) else self.augment(xb, rng)
                    if isinstance(xb, tuple):       # (inputs, targets): data.augment.Paired
                        xb, tb = xb
                out = net.forward(xb, train=True, logits=loss.takes_logits)
                value = loss.forward(out, tb)
                if self._first_loss is None and math.isfinite(value):
                    self._first_loss = value
                limit = EXPLODED * max(self._first_loss or 1.0, 1.0)
                if not math.isfinite(value) or value > limit:
                    raise TrainingDiverged(
                        f"training diverged at epoch {epoch + 1}, batch {b + 1}: the loss is "
                        f"{value:.4g}" + ("" if not math.isfinite(value) else
                                          f", over {EXPLODED:g} times its first "
                                          f"({self._first_loss:.4g})")
                        + "; try a lower learning rate (--lr)")
                net.backward(loss.backward(), input_grad=False)
                opt.step(pairs)
                run_loss += value * len(idx)
                seen += len(idx)
                if self.classifier:
                    r, k = loss.hits(out, tb)
                    run_right, run_count = run_right + r, run_count + k
                if show and b % 50 == 0:
                    bar.set_postfix_str(self._postfix(run_loss / seen,
                                                      run_right / max(run_count, 1)),
                                        refresh=False)
        bar.close()
        return run_loss / seen, (run_right / max(run_count, 1) if self.classifier else None)

    def _postfix(self, loss_value, acc):
        if self.classifier and acc is not None:
            return f"loss {loss_value:.4f} acc {acc:.4f}"
        return f"loss {loss_value:.4f}"


def _dropouts(net: Network) -> list:
    """The network's dropout layers, whose mask generators a checkpoint saves."""
    from ocrkit.engine.layers import Dropout
    return [layer for layer in net.layers if isinstance(layer, Dropout)]


# -- a whole training run, as the CLI and `make models` use it -----------------------------------
def checkpoint_path(out) -> "Path":
    from pathlib import Path
    return Path(str(out) + ".ckpt")


def start_network(net: Network, params: dict, source: str = "the starting model") -> None:
    """Start `net` from `params` (arrays by name, as Network.get_params gives them) for every
    array they cover, the rest as initialised: fine-tuning (train_model's `start_from`) and a
    line model trained further (ocrkit.lines.train_lines's `init`). OcrkitError when an array
    is not one of the network's or has another shape."""
    try:
        net.set_params({**net.get_params(), **params})
    except ValueError as e:
        raise OcrkitError(f"{source}: {e}") from None


def train_model(specs: list[dict], train, valid, config=None, *, start_from: dict | None = None,
                checkpoint_to=None, resume: bool = False, progress: bool | None = None,
                desc: str = "train", keep_best: bool = True, record: dict | None = None):
    """Build the network of `specs`, train it on `train` (a Dataset) as `config` says, keep
    the best weights by `valid`, and return (Model, TrainResult).

        model, result = train_model(specs, train, valid, TrainConfig(epochs=5))

    `config` (ocrkit.config; default TrainConfig(), the defaults `ocrkit train` has) says
    what kind of run this is and holds every hyper-parameter:

    - TrainConfig: a classifier, softmax cross-entropy on the labels, from a random start.
    - FinetuneConfig: a classifier started from `start_from` (parameters by name, for every
      layer they cover; the rest as initialised); `freeze` trains only the output layer (the
      last spec with parameters), `head_lr` gives that layer its own learning rate. The
      arrays keep `start_from`'s dtype.
    - AutoencodeConfig: the images are their own target under squared error; its `noise`
      corrupts each training batch's inputs with salt-and-pepper noise of that probability
      and the validation inputs once (the run's seed), the targets staying clean.

    The model's training record holds `run` (the config's kind), `config`
    (`dataclasses.asdict(config)`; ocrkit.config.config_from_training makes it again), then
    `record` (facts about the data: dataset, size, ...), then how the run went.

    With `checkpoint_to`, an atomic checkpoint is written there after every epoch; with
    `resume`, training continues from that checkpoint (which must be of the same run).
    `keep_best=False` ends with the last epoch's weights (the validation set only watched).
    """
    from ocrkit import modelfile
    from ocrkit.config import AutoencodeConfig, CONFIGS, TrainConfig
    from ocrkit.data.augment import Augment, Paired, Reframe, SaltAndPepper
    from ocrkit.engine import SoftmaxCrossEntropy, SquaredError, make_optimizer

    config = TrainConfig() if config is None else config
    if type(config) not in CONFIGS.values():
        raise TypeError(f"config must be one of {', '.join(c.__name__ for c in CONFIGS.values())}"
                        f" (ocrkit.config), not {type(config).__name__}")
    record = dict(record or {})
    if {"run", "config"} & set(record):
        raise ValueError("record: 'run' and 'config' are the training record's own keys")
    autoencoder = isinstance(config, AutoencodeConfig)
    kind = "autoencoder" if autoencoder else "classifier"
    freeze, head_lr = getattr(config, "freeze", False), getattr(config, "head_lr", None)
    dtype = getattr(config, "dtype", None) or next(
        (a.dtype for a in (start_from or {}).values()), np.float32)
    if not autoencoder and len(train.classes) < 2:
        raise OcrkitError(f"{train.name or 'the dataset'} has {len(train.classes)} class; a "
                          "classifier needs at least 2")
    net = Network(specs, train.x.shape[1:], np.random.default_rng(config.seed), dtype)
    if start_from:
        start_network(net, start_from)
    trained = [net.spec_of[j] for j, layer in enumerate(net.layers) if layer.params]
    if not trained:
        raise OcrkitError("the network has no parameters to train")
    head = trained[-1]              # the spec of the output layer: the last with parameters
    if freeze:
        net.freeze_below(head)
    training = {"run": config.RUN, "config": config.to_dict(), **record}
    model = modelfile.Model(net, train.classes, kind, training=training)
    state = None
    if resume:
        state = load_checkpoint(checkpoint_to, model)
    save_checkpoint = None
    if checkpoint_to is not None:
        def save_checkpoint(s):
            model.history = s["history"]
            modelfile.dump_atomic({"format": "ocrkit-checkpoint", "model": model.to_dict(),
                                   "state": s}, checkpoint_to)
    noise, reframe = getattr(config, "noise", 0.0), getattr(config, "reframe", 0.0)
    corrupt = SaltAndPepper(noise) if noise else None
    # a reframed image is the target too (noise, if any, on top of it); validation as it is
    batches = Paired(Reframe(share=reframe), corrupt) if reframe else corrupt
    opt = make_optimizer(config.optimizer, config.lr, config.weight_decay)
    if head_lr is not None:     # the output layer's parameters at head_lr, the rest at lr
        opt.scales = {f"{net.names[j]}.{k}": head_lr / config.lr
                      for j, layer in enumerate(net.layers) if net.spec_of[j] == head
                      for k in layer.params}
    balance = getattr(config, "balance", False) and config.balance_power
    trainer = Trainer(net, SquaredError() if autoencoder else SoftmaxCrossEntropy(), opt,
                      epochs=config.epochs, batch_size=config.batch_size,
                      schedule=config.schedule, step_size=config.step_size,
                      gamma=config.gamma, patience=config.patience, seed=config.seed,
                      balance=balance,
                      augment=batches or (Augment(
                          crops=CROP_NOISE if getattr(config, "crop_noise", False) else 0.0,
                          styles=STYLES if getattr(config, "styles", False) else 0.0,
                          classes=tuple(train.classes))
                          if getattr(config, "augment", False) else None),
                      checkpoint=save_checkpoint, progress=progress, desc=desc,
                      keep_best=keep_best)
    first = net.first_weights
    initial = None if first is None else first.copy()
    if autoencoder:     # the target is the (clean) input
        valid_in = valid.x if corrupt is None else corrupt.validation(valid.x, config.seed)
        result = trainer.fit(train.x, train.x, (valid_in, valid.x), resume=state)
    else:
        result = trainer.fit(train.x, train.y, (valid.x, valid.y), resume=state)
    result.extra["initial_first_weights"] = initial
    model.history = result.history
    model.training.update(best_epoch=result.best_epoch, stopped=result.stopped,
                          seconds=round(result.seconds, 1), train_samples=len(train),
                          valid_samples=len(valid))
    return model, result


def record_scores(model, result: TrainResult, valid, test, dataset: str,
                  chosen_on_valid: bool = True) -> float | None:
    """Store a finished classifier run's scores in `model.scores` and return its test accuracy
    (None when `test` is empty). The validation accuracy is kept only when the run chose its
    weights on a real validation set."""
    from ocrkit.metrics import classifier_report
    test_accuracy = classifier_report(model, test)["accuracy"] if len(test) else None
    model.scores = {"valid_accuracy": result.best_score if len(valid) and chosen_on_valid
                    else None, "test_accuracy": test_accuracy, "dataset": dataset}
    return test_accuracy


def load_checkpoint(path, model) -> dict:
    """The trainer state saved at `path`, checked to belong to the same architecture."""
    from pathlib import Path
    from ocrkit import modelfile
    from ocrkit.files import read_limited
    path = Path(path)
    if not path.exists():
        raise OcrkitError(f"--resume: no checkpoint {path} to resume from")
    data = read_limited(path, MAX_CHECKPOINT_BYTES, "checkpoint")
    try:
        obj = modelfile.safe_unpickle(data)
    except Exception as exc:
        raise OcrkitError(f"{path}: not a usable checkpoint ({exc})") from None
    if not isinstance(obj, dict) or obj.get("format") != "ocrkit-checkpoint" or not isinstance(
            obj.get("model"), dict) or not isinstance(obj.get("state"), dict):
        raise OcrkitError(f"{path}: not an ocrkit checkpoint")
    saved = obj["model"]
    try:
        modelfile.Model.from_dict(saved)        # its arrays fit its architecture, all finite
    except (ValueError, KeyError, TypeError, IndexError, AttributeError,
            ArithmeticError) as exc:
        raise OcrkitError(f"{path}: not a usable checkpoint ({exc})") from None
    if saved["architecture"] != model.network.specs or list(saved["classes"]) != list(model.classes):
        raise OcrkitError(f"{path}: the checkpoint is of another architecture or class set; "
                          "resume with the same options")
    before = _resume_view(saved.get("training", {}))
    now = _resume_view(modelfile._plain(model.training))
    changed = [f"{k} {before[k]!r} -> {now[k]!r}" for k in now
               if k in before and k not in RESUME_MAY_CHANGE and before[k] != now[k]]
    if changed:
        raise OcrkitError(f"{path}: --resume continues the same run, but {', '.join(changed)}; "
                          "give the options of the interrupted run")
    return obj["state"]


# A checkpoint holds the model, its current and best weights and the optimiser's moments: up
# to 6 copies of the largest model file (it is the user's own, written by the last run).
MAX_CHECKPOINT_BYTES = 8 << 30


# What a resumed run may change: more epochs, another patience. Every other option (the
# config's fields and the record's facts about the data: dataset, size, reject, ...) must be
# the checkpoint's.
RESUME_MAY_CHANGE = ("epochs", "patience")


def _resume_view(training) -> dict:
    """A training record's options in one flat dict: the config's fields beside the record's
    own keys (a checkpoint of an older version holds its options flat)."""
    if not isinstance(training, dict):
        return {}
    view = {k: v for k, v in training.items() if k != "config"}
    if isinstance(training.get("config"), dict):
        view.update(training["config"])
    return view

"""Model files: a pickle of plain data, loaded only through a restricted unpickler.

A model file holds one dict::

    {"format": "ocrkit-model", "version": 1, "kind": "classifier",
     "architecture": [{"type": "flatten"}, {"type": "dense", "units": 64, ...}, ...],
     "input_shape": [32, 32], "input": INPUT_CONVENTION,
     "params": {"1.W": ndarray, "1.b": ndarray, ...}, "classes": ["A", ..., "9"],
     "training": {...}, "history": {...}, "scores": {...}, "created": "...", "ocrkit_version": "..."}

`load` admits only the few numpy globals needed to rebuild arrays; anything else in the pickle
(os.system, builtins.eval, ...) is refused before it can run. HW5 homework weight pickles
(`Wlayer1`, `blayer1`, `Woutput`, `boutput`, input in NIST layout) come through the same door
and are converted to the canonical input once. `save` writes atomically.
"""
from __future__ import annotations

import io
import os
import pickle
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ocrkit import __version__
from ocrkit.data.dataset import NIST36
from ocrkit.engine import Network
from ocrkit.errors import OcrkitError
from ocrkit.files import atomic_open

FORMAT = "ocrkit-model"
VERSION = 1
INPUT_CONVENTION = "upright 32x32 float32 in [0, 1], ink 1 on background 0"
KINDS = ("classifier", "autoencoder")

# (module, name) pairs a model file may refer to: what numpy needs to rebuild arrays and
# scalars of plain dtypes, under its 1.x (numpy.core) and 2.x (numpy._core) names.
_ALLOWED = {
    (mod, name)
    for core in ("numpy.core", "numpy._core")
    for mod, name in ((f"{core}.multiarray", "_reconstruct"), (f"{core}.multiarray", "scalar"),
                      (f"{core}.numeric", "_frombuffer"))
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


class RefusedPickle(pickle.UnpicklingError):
    """The pickle holds something other than plain data and plain numpy arrays."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            if module.startswith("numpy.core.") and hasattr(np, "_core"):
                module = "numpy._core." + module[len("numpy.core."):]   # numpy 2 name
            return super().find_class(module, name)
        raise RefusedPickle(
            f"refused to load '{module}.{name}': model files may hold only plain data and "
            "numpy arrays (this file could run code)")


def safe_unpickle(data: bytes):
    """Unpickle bytes admitting only plain data and numpy arrays of plain dtypes."""
    obj = _RestrictedUnpickler(io.BytesIO(data)).load()
    _check_plain(obj)
    return obj


def _check_plain(obj, depth=0):
    if depth > 50:
        raise RefusedPickle("refused: nested too deeply")
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise RefusedPickle("refused: an array of Python objects is not plain data")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _check_plain(k, depth + 1)
            _check_plain(v, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _check_plain(v, depth + 1)


@dataclass
class Model:
    """A network with what it needs to be used: its classes, kind and training record."""

    network: Network
    classes: tuple = NIST36
    kind: str = "classifier"
    training: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    scores: dict = field(default_factory=dict)
    created: str = ""
    source: str = ""      # where it was loaded from

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """x: (N, 32, 32) canonical -> (N, C) class probabilities (classifiers only)."""
        if self.kind != "classifier":
            raise OcrkitError(f"{self.source or 'the model'} is an {self.kind}, not a "
                              "classifier: it has no classes to predict")
        return self.network.predict(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.predict_proba(x), axis=1)

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """An autoencoder's output for x (N, *input_shape), in x's shape. OcrkitError for a
        classifier, or inputs of another size than the model's."""
        name = self.source or "the model"
        if self.kind != "autoencoder":
            raise OcrkitError(f"{name} is a {self.kind}, not an autoencoder (train one with "
                              "'ocrkit autoencode')")
        shape, want = tuple(np.shape(x)[1:]), tuple(self.network.input_shape)
        if shape != want:
            raise OcrkitError(f"{name} takes {'x'.join(map(str, want))} inputs, not "
                              f"{'x'.join(map(str, shape)) or 'scalars'}")
        out = tuple(self.network.output_shape)
        if int(np.prod(out)) != int(np.prod(want)):
            raise OcrkitError(f"{name} maps {'x'.join(map(str, want))} inputs to "
                              f"{'x'.join(map(str, out))} outputs: not an autoencoder")
        return self.network.predict(x).reshape(np.shape(x))

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "kind": self.kind,
            "architecture": self.network.specs, "input_shape": list(self.network.input_shape),
            "input": INPUT_CONVENTION, "params": self.network.get_params(),
            "classes": list(self.classes), "training": _plain(self.training),
            "history": _plain(self.history), "scores": _plain(self.scores),
            "created": self.created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "ocrkit_version": __version__,
        }

    @classmethod
    def from_dict(cls, d: dict, source: str = "") -> "Model":
        if d.get("format") != FORMAT:
            raise ValueError("not an ocrkit model (no 'format': 'ocrkit-model')")
        if d.get("version", 0) > VERSION:
            raise ValueError(f"model format version {d['version']} is newer than this ocrkit "
                             f"reads ({VERSION}); upgrade ocrkit")
        if d.get("kind") not in KINDS:
            raise ValueError(f"unknown model kind {d.get('kind')!r}")
        _check_fields(d)
        params = d["params"]
        dtype = next(iter(params.values())).dtype if params else np.float32
        net = Network(d["architecture"], tuple(d["input_shape"]), dtype=dtype)
        net.set_params(params)
        classes = tuple(d["classes"])
        outputs = int(np.prod(net.output_shape))
        if d["kind"] == "classifier" and outputs != len(classes):
            raise ValueError(f"the network has {outputs} outputs for {len(classes)} classes")
        if d["kind"] == "autoencoder" and outputs != int(np.prod(net.input_shape)):
            raise ValueError(f"an autoencoder with {outputs} outputs for "
                             f"{'x'.join(map(str, net.input_shape))} inputs")
        return cls(net, classes, d["kind"], d.get("training", {}),
                   d.get("history", {}), d.get("scores", {}), d.get("created", ""), source)


def _check_fields(d: dict) -> None:
    """The fields of a model dict have the types the rest of ocrkit relies on."""
    shape = d.get("input_shape")
    if shape != [32, 32] and tuple(shape or ()) != (32, 32):
        raise ValueError(f"input shape {shape}; ocrkit models take 32x32 characters")
    if not isinstance(d.get("architecture"), list) or not all(
            isinstance(s, dict) for s in d["architecture"]):
        raise ValueError("'architecture' is not a list of layer specs")
    params = d.get("params")
    if not isinstance(params, dict) or not all(
            isinstance(k, str) and isinstance(v, np.ndarray) for k, v in params.items()):
        raise ValueError("'params' is not a dict of named arrays")
    dtypes = {v.dtype for v in params.values()}
    if not dtypes <= {np.dtype(np.float32), np.dtype(np.float64)} or len(dtypes) > 1:
        raise ValueError(f"parameters of dtype {', '.join(sorted(map(str, dtypes)))}; "
                         "a model holds float32 or float64 arrays, all alike")
    classes = d.get("classes")
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
        raise ValueError("'classes' is not a list of strings")
    if len(set(classes)) != len(classes):
        raise ValueError("'classes' names a class twice")
    for key in ("training", "history", "scores"):
        if not isinstance(d.get(key, {}), dict):
            raise ValueError(f"'{key}' is not a dict")


def _plain(obj):
    """numpy scalars and tuples -> Python floats/ints/lists, so metadata stays plain."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


# -- HW5 weight pickles -------------------------------------------------------------------------
HW5_KEYS = {"Wlayer1", "blayer1", "Woutput", "boutput"}


def from_hw5(d: dict, source: str = "") -> Model:
    """An HW5 MLP (sigmoid hidden layer, softmax output, input in NIST layout) as a Model.

    The homework network sees v = flatten(S), S the stored (transposed) image, dark ink on
    white: v = 1 - c_T with c the canonical image. So h = v W1 + b1 = c W1' + (b1 + sum W1),
    where W1' is W1 with its rows permuted from transposed to row-major order and negated.
    """
    w1, b1 = np.asarray(d["Wlayer1"], np.float64), np.asarray(d["blayer1"], np.float64)
    w2, b2 = np.asarray(d["Woutput"], np.float64), np.asarray(d["boutput"], np.float64)
    if w1.ndim != 2 or w2.ndim != 2 or b1.size != w1.shape[1] or b2.size != w2.shape[1]:
        raise ValueError(f"HW5 weights of shapes {w1.shape}, {b1.shape}, {w2.shape}, "
                         f"{b2.shape} are not a two-layer network")
    if w1.shape[0] != 1024 or w2.shape[0] != w1.shape[1] or w2.shape[1] not in (26, 36):
        raise ValueError(f"HW5 weights of shapes {w1.shape}, {w2.shape} are not a "
                         "1024-H-26/36 network")
    hidden = w1.shape[1]
    w1c = -w1.reshape(32, 32, hidden).transpose(1, 0, 2).reshape(1024, hidden)
    b1c = b1.reshape(-1) + w1.sum(axis=0)
    specs = [{"type": "flatten"},
             {"type": "dense", "units": hidden, "activation": "sigmoid"},
             {"type": "dense", "units": w2.shape[1], "activation": "softmax"}]
    net = Network(specs, (32, 32), dtype=np.float32)
    net.set_params({"1.W": w1c, "1.b": b1c, "2.W": w2, "2.b": b2.reshape(-1)})
    return Model(net, NIST36[:w2.shape[1]], "classifier",
                 training={"imported_from": "HW5 weight pickle (NIST input layout, converted)"},
                 source=source)


# -- the shipped models -------------------------------------------------------------------------
DEFAULT_MODEL = "default.pkl"


def shipped_model_path(name: str = "default") -> Path:
    """A shipped model by name ("default", or "mlp" etc. in a source checkout): package data
    of `ocrkit.models` (the repository's models/), found through importlib.resources, so a
    wheel, `pip install .`, `--user`, `--target` and `pip install -e .` all find it."""
    from importlib.resources import files
    folder = files("ocrkit.models")
    path = folder / f"{name}.pkl"
    if not path.is_file():
        known = sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".pkl"))
        which = "the default model" if name == "default" else f"no shipped model {name!r}"
        raise OcrkitError(f"{which} is not installed in {folder} (shipped here: "
                          f"{', '.join(known) or 'none'}); give a model file with --model")
    return Path(str(path))


def default_model_path() -> Path:
    """The shipped default model (models/default.pkl, installed as package data)."""
    return shipped_model_path("default")


# -- files ------------------------------------------------------------------------------------
def load(path) -> Model:
    """Load an ocrkit model file or an HW5 weight pickle; OcrkitError with a clear reason."""
    path = Path(path)
    if path.is_dir():
        raise OcrkitError(f"{path}: is a folder, not a model file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OcrkitError(f"{path}: cannot read model file ({exc.strerror or exc})") from None
    if not data:
        raise OcrkitError(f"{path}: empty file, not a model")
    try:
        obj = safe_unpickle(data)
    except RefusedPickle as exc:
        raise OcrkitError(f"{path}: {exc}") from None
    except pickle.UnpicklingError:
        raise OcrkitError(f"{path}: not an ocrkit model file (not a pickle, or corrupt)") \
            from None
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError,
            zlib.error, MemoryError, OverflowError) as exc:
        raise OcrkitError(f"{path}: not an ocrkit model file (truncated or corrupt: "
                          f"{type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise OcrkitError(f"{path}: not an ocrkit model file (holds a {type(obj).__name__})")
    try:
        if HW5_KEYS <= set(obj):
            return from_hw5(obj, str(path))
        return Model.from_dict(obj, str(path))
    except (ValueError, KeyError, TypeError, StopIteration, IndexError, AttributeError,
            ArithmeticError) as exc:
        raise OcrkitError(f"{path}: not a usable ocrkit model file ({exc})") from None


def dump_atomic(obj, path) -> None:
    """Pickle `obj` to `path` atomically (ocrkit.files.atomic_open)."""
    with atomic_open(path, "wb", what="model file") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def save(model: Model, path) -> None:
    dump_atomic(model.to_dict(), path)


def check_writable(path) -> None:
    """Fail early (before hours of training) when `path` cannot be written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OcrkitError(f"{path}: is a folder; give a file name for the model")
    if folder.exists() and not folder.is_dir():
        raise OcrkitError(f"{path}: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise OcrkitError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OcrkitError(f"{path}: not writable")

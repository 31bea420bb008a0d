"""Model files: a pickle of plain data, loaded only through a restricted unpickler.

A model file holds one dict::

    {"format": "ocrkit-model", "version": 1, "kind": "classifier",
     "architecture": [{"type": "flatten"}, {"type": "dense", "units": 64, ...}, ...],
     "input_shape": [32, 32], "input": INPUT_CONVENTION,
     "params": {"1.W": ndarray, "1.b": ndarray, ...}, "classes": ["A", ..., "9"],
     "training": {...}, "history": {...}, "scores": {...}, "created": "...", "ocrkit_version": "..."}

A classifier may be a committee (version 2): "members": [{"architecture": [...], "params":
{...}, "training": {...}}, ...], more networks over the same classes and input whose
probabilities are averaged with the first's (`ocrkit committee`; Ciresan et al. 2012).

`load` admits only the few numpy globals needed to rebuild arrays; anything else in the pickle
(os.system, builtins.eval, ...) is refused before it can run. HW5 homework weight pickles
(`Wlayer1`, `blayer1`, `Woutput`, `boutput`, input in NIST layout) come through the same door
and are converted to the canonical input once. `save` writes atomically.

A model file may come from a stranger, so loading costs at most what the file holds
(docs/SECURITY.md): the file is read only up to MAX_FILE_BYTES; the unpickler runs on the
pure-Python pickle machinery, where every call a pickle makes (the six admitted numpy and
codec functions) and every object state it sets is checked before it happens, so no pickle
can allocate more than the file's size, build an array of Python objects or hand numpy a
state it would crash on; dict keys are plain scalars; and the checking walk after it is linear
in the file (a shared-reference DAG is visited once per node). Then the architecture is
planned (ocrkit.engine.network.plan: shapes from integers) and checked against the arrays
present, which must be finite, before any network is built.
"""
from __future__ import annotations

import io
import math
import os
import pickle
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ocrkit import __version__
from ocrkit.data.dataset import NIST36
from ocrkit.engine import Network
from ocrkit.engine.network import plan
from ocrkit.errors import OcrkitError
from ocrkit.files import atomic_open, clean_temporary, read_limited

FORMAT = "ocrkit-model"
VERSION = 2                         # 2: committees ("members")
INPUT_CONVENTION = "upright 32x32 float32 in [0, 1], ink 1 on background 0"
LINE_INPUT = "a line: height 32, any width, float32 in [0, 1], ink 1 on background 0"
#: classifier: a character -> class probabilities; autoencoder: a character -> itself; line: a
#: line image -> class scores per column (ocrkit.lines, CTC; classes[0] is the blank "")
KINDS = ("classifier", "autoencoder", "line")
MAX_FILE_BYTES = 256 << 20          # a model file is read only up to this size (256 MiB)
MAX_DEPTH = 50                      # nesting of lists, tuples and dicts in a model file
MAX_INT_BITS = 256                  # integers in metadata (a random generator's state: 128)
MAX_CLASS_NAME = 255                # characters in a class name (a folder name's limit)
# A committee asks its other networks only about the samples its first network gives less than
# this probability (a cascade): the rest keep the first's probabilities, which the others
# would hardly move. `ocrkit evaluate` on the emnist62 test split: 85.70% cascaded (39% of the
# samples reach the other networks), 85.69% with every sample averaged; the dev pages' text
# (`make pages`) is the same either way, at 44% of the crops (models/MODELS.md, "Committee").
CASCADE = 0.9

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


# -- the checked versions of what _ALLOWED names -------------------------------------------------
PLAIN_KINDS = "biufc"               # bool, int, unsigned, float, complex: plain numbers
LATIN1 = ("latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1")


def _plain_dtype(code) -> np.dtype:
    """The dtype a pickle names (by a type code such as 'f4' or b'b'), if plain numbers."""
    if not isinstance(code, (str, bytes)) or len(code) > 8:
        raise RefusedPickle(f"refused: a dtype given as {type(code).__name__}")
    dtype = np.dtype(code)
    if dtype.kind not in PLAIN_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise RefusedPickle(f"refused: arrays of dtype {dtype} (model files hold plain "
                            "numbers; an array of Python objects is not plain data)")
    return dtype


def _shape(shape) -> tuple:
    if not isinstance(shape, tuple) or len(shape) > 32 or not all(
            type(n) is int and 0 <= n < 1 << 62 for n in shape):
        raise RefusedPickle(f"refused: array shape {str(shape)[:60]}")
    return shape


class _Calls:
    """The functions a pickle may call, each checked first; `budget` is the bytes they may
    still allocate (the file's size: a real array's bytes are in the file)."""

    def __init__(self, budget: int):
        self.budget = self.file_size = budget
        numpy_core = np._core if hasattr(np, "_core") else np.core
        self._reconstruct_np = numpy_core.multiarray._reconstruct
        self._scalar_np = numpy_core.multiarray.scalar
        self.by_name = {"_reconstruct": self.reconstruct, "scalar": self.scalar,
                        "_frombuffer": self.frombuffer, "dtype": self.dtype,
                        "encode": self.encode, "ndarray": np.ndarray}
        self.callables = {v for k, v in self.by_name.items() if k != "ndarray"}

    def _spend(self, shape, dtype) -> None:
        size = math.prod(shape) * dtype.itemsize
        if size > self.budget:
            raise RefusedPickle(f"refused: an array of {size:,} bytes in a file that holds "
                                "fewer")
        self.budget -= size

    def reconstruct(self, subtype, shape, dtype):
        if subtype is not np.ndarray:
            raise RefusedPickle("refused: an array of another type than numpy.ndarray")
        shape, dtype = _shape(shape), _plain_dtype(dtype)
        self._spend(shape, dtype)
        return self._reconstruct_np(np.ndarray, shape, dtype)

    def scalar(self, dtype, data):
        if not isinstance(dtype, np.dtype) or dtype.kind not in PLAIN_KINDS or not isinstance(
                data, bytes) or len(data) != dtype.itemsize:
            raise RefusedPickle("refused: a numpy scalar that is not a plain number")
        return self._scalar_np(dtype, data)

    def frombuffer(self, buf, dtype, shape, order):
        if not isinstance(buf, (bytes, bytearray)) or not isinstance(dtype, np.dtype) or \
                dtype.kind not in PLAIN_KINDS or order not in ("C", "F"):
            raise RefusedPickle("refused: an array that is not plain numbers in plain bytes")
        shape = _shape(shape)
        if math.prod(shape) * dtype.itemsize != len(buf):
            raise pickle.UnpicklingError("corrupt: array data of the wrong size")
        return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)

    def dtype(self, code, align=False, copy=False):
        if not isinstance(align, bool) or not isinstance(copy, bool):
            raise RefusedPickle("refused: a dtype with odd arguments")
        return np.dtype(_plain_dtype(code), False, True)   # a copy: BUILD sets its state

    def encode(self, obj, encoding="utf-8", errors="strict"):
        """_codecs.encode as pickles use it: bytes written as latin-1 text (protocols 0-2)."""
        if not isinstance(obj, str) or not isinstance(encoding, str) or \
                encoding.lower() not in LATIN1 or errors != "strict":
            raise RefusedPickle(f"refused: _codecs.encode with codec {str(encoding)[:40]!r} "
                                "(model files use it only for latin-1 bytes)")
        return obj.encode("latin-1")


_DTYPE_STATE_ENDS = (None, None, None, -1, -1, 0)     # subarray, names, fields, sizes, flags


def _check_state(inst, state) -> None:
    """BUILD may set the state of an array or a dtype only, and only a plain one."""
    if isinstance(inst, np.dtype):
        if not (isinstance(state, tuple) and len(state) == 8 and state[0] == 3
                and state[1] in ("<", ">", "|", "=") and state[2:] == _DTYPE_STATE_ENDS):
            raise RefusedPickle("refused: the state of a dtype that is not plain numbers")
        return
    if type(inst) is not np.ndarray:
        raise RefusedPickle(f"refused: setting the state of a {type(inst).__name__}")
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise RefusedPickle("refused: an array state that numpy does not write")
    shape, dtype, fortran, data = state[-4:]
    if len(state) == 5 and state[0] != 1 or not isinstance(fortran, bool) or \
            not isinstance(dtype, np.dtype) or dtype.kind not in PLAIN_KINDS or \
            not isinstance(data, (bytes, bytearray)):
        raise RefusedPickle("refused: an array state that is not plain numbers in bytes")
    if math.prod(_shape(shape)) * dtype.itemsize != len(data):
        raise pickle.UnpicklingError("corrupt: array data of the wrong size")


def _refuse(what):
    def load(self):
        raise RefusedPickle(f"refused: {what} (model files hold only plain data and arrays)")
    return load


def _check_key(key) -> None:
    """Dict keys and set items are plain scalars: hashing a deeply nested tuple would crash
    Python (its hash recurses in C)."""
    if type(key) not in (str, int, float, bool, type(None)) or \
            type(key) is int and key.bit_length() > MAX_INT_BITS:
        raise RefusedPickle(f"refused: a dict key or set item of type {type(key).__name__}")


def _check_target(obj, kind) -> None:
    if type(obj) is not kind:
        raise pickle.UnpicklingError(f"corrupt: adding items to a {type(obj).__name__}")


class _RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler (each opcode a Python method, so each can be checked),
    admitting only _ALLOWED, through the checked versions in _Calls; objects other than plain
    data are never built (NEWOBJ, INST, OBJ), only arrays and dtypes get a state (BUILD)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self.calls = _Calls(len(data))

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return self.calls.by_name[name]
        raise RefusedPickle(
            f"refused to load '{module}.{name}': model files may hold only plain data and "
            "numpy arrays (this file could run code)")

    def load_reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if func not in self.calls.callables or not isinstance(args, tuple):
            raise RefusedPickle(f"refused: a call of {type(func).__name__} (model files call "
                                "only numpy's array and dtype constructors)")
        self.stack[-1] = func(*args)

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        _check_state(inst, state)
        inst.__setstate__(state)

    def load_setitem(self):
        value, key = self.stack.pop(), self.stack.pop()
        _check_key(key)
        _check_target(self.stack[-1], dict)
        self.stack[-1][key] = value

    def load_setitems(self):
        items = self.pop_mark()
        _check_target(self.stack[-1], dict)
        for key in items[::2]:
            _check_key(key)
        self.stack[-1].update(zip(items[::2], items[1::2]))

    def load_dict(self):
        items = self.pop_mark()
        for key in items[::2]:
            _check_key(key)
        self.append(dict(zip(items[::2], items[1::2])))

    def load_additems(self):
        items = self.pop_mark()
        _check_target(self.stack[-1], set)
        for item in items:
            _check_key(item)
        self.stack[-1].update(items)

    def load_frozenset(self):
        items = self.pop_mark()
        for item in items:
            _check_key(item)
        self.append(frozenset(items))

    def load_bytearray8(self):
        """As pickle's, but never allocating more than the file holds (it makes the declared
        length's bytearray before reading)."""
        (size,) = struct.unpack("<Q", self.read(8))
        if size > self.calls.file_size:
            raise pickle.UnpicklingError("corrupt: a bytearray longer than the file")
        data = bytearray(size)
        if self.readinto(data) != size:
            raise pickle.UnpicklingError("corrupt: a truncated bytearray")
        self.append(data)

    def load_append(self):
        value = self.stack.pop()
        _check_target(self.stack[-1], list)
        self.stack[-1].append(value)

    def load_appends(self):
        items = self.pop_mark()
        _check_target(self.stack[-1], list)
        self.stack[-1].extend(items)

    for _op, _name in ((pickle.REDUCE, "load_reduce"), (pickle.BUILD, "load_build"),
                       (pickle.SETITEM, "load_setitem"), (pickle.SETITEMS, "load_setitems"),
                       (pickle.DICT, "load_dict"), (pickle.ADDITEMS, "load_additems"),
                       (pickle.FROZENSET, "load_frozenset"), (pickle.APPEND, "load_append"),
                       (pickle.APPENDS, "load_appends"),
                       (pickle.BYTEARRAY8, "load_bytearray8")):
        dispatch[_op[0]] = locals()[_name]
    for _op, _what in ((pickle.NEWOBJ, "NEWOBJ"), (pickle.NEWOBJ_EX, "NEWOBJ_EX"),
                       (pickle.INST, "INST"), (pickle.OBJ, "OBJ")):
        dispatch[_op[0]] = _refuse(f"building an object with {_what}")
    del _op, _name, _what


def safe_unpickle(data: bytes):
    """Unpickle bytes admitting only plain data and numpy arrays of plain dtypes, at a cost
    linear in len(data); RefusedPickle for anything else, UnpicklingError when corrupt."""
    try:
        obj = _RestrictedUnpickler(data).load()
    except (pickle.UnpicklingError, MemoryError):
        raise
    except Exception as exc:        # a truncated or corrupt stream fails in many ways
        raise pickle.UnpicklingError(f"corrupt ({type(exc).__name__})") from None
    _check_plain(obj, len(data))
    return obj


def _check_plain(obj, limit: int) -> None:
    """Refuse nesting deeper than MAX_DEPTH (or circular) and data that would spread to more
    than `limit` items if written out (a DAG of shared references: 40 lists each holding the
    next twice is 2**40 items for json or a copy). Each container is visited once."""
    seen: dict[int, tuple[int, int]] = {}       # id -> (height, items when written out)

    def walk(x, depth):
        if depth > MAX_DEPTH:
            raise RefusedPickle("refused: nested too deeply (or circular)")
        if type(x) is int and x.bit_length() > MAX_INT_BITS:
            raise RefusedPickle(f"refused: an integer of {x.bit_length():,} bits")
        if not isinstance(x, (dict, list, tuple)):
            return 0, 1
        known = seen.get(id(x))
        if known is None:
            height, items = 0, 1
            for child in (x.values() if isinstance(x, dict) else x):
                h, n = walk(child, depth + 1)
                height, items = max(height, h + 1), items + n + isinstance(x, dict)
            known = seen[id(x)] = (height, items)
        if depth + known[0] > MAX_DEPTH:
            raise RefusedPickle("refused: nested too deeply (or circular)")
        return known

    if walk(obj, 0)[1] > limit:
        raise RefusedPickle("refused: shared references that would spread to more items than "
                            "the file holds")


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
    # a committee's other networks (same input, same classes) and their training records,
    # one each ({} where none was given)
    members: list = field(default_factory=list)
    member_training: list = field(default_factory=list)

    def __post_init__(self):
        self.member_training = (list(self.member_training)
                                + [{}] * (len(self.members) - len(self.member_training)))

    @property
    def networks(self) -> list:
        """Every network whose probabilities make the model's: the first, then the members."""
        return [self.network, *self.members]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """x: (N, 32, 32) canonical -> (N, C) class probabilities (classifiers only); a
        committee's are its networks' mean, for the samples its first network gives less
        than CASCADE probability (the rest keep the first's: they would hardly move)."""
        if self.kind != "classifier":
            what = "a line model" if self.kind == "line" else f"an {self.kind}"
            raise OcrkitError(f"{self.source or 'the model'} is {what}, not a classifier: it "
                              "has no classes to predict")
        with np.errstate(over="ignore", invalid="ignore"):
            probs = self.network.predict(x)
            unsure = np.flatnonzero(~(probs.max(axis=1, initial=0) >= CASCADE)) \
                if self.members else []
            if len(unsure):
                total = probs[unsure]
                for net in self.members:
                    total = total + net.predict(x[unsure])
                probs[unsure] = total / np.float32(len(self.networks))
        if not np.isfinite(probs).all():        # finite weights can still overflow float32
            raise OcrkitError(f"{self.source or 'the model'} gives NaN or infinite outputs "
                              "(its weights overflow): not a usable model")
        return probs

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
            "format": FORMAT, "version": VERSION if self.members else 1, "kind": self.kind,
            "architecture": self.network.specs, "input_shape": list(self.network.input_shape),
            "input": LINE_INPUT if self.kind == "line" else INPUT_CONVENTION,
            "params": self.network.get_params(),
            "classes": list(self.classes), "training": _plain(self.training),
            "history": _plain(self.history), "scores": _plain(self.scores),
            "created": self.created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "ocrkit_version": __version__,
            **({"members": [{"architecture": net.specs, "params": net.get_params(),
                             "training": _plain(t)}
                            for net, t in zip(self.members, self.member_training)]}
               if self.members else {}),
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
        classes = tuple(d["classes"])
        net = _network(d["architecture"], tuple(d["input_shape"]), d["params"], d["kind"],
                       classes)
        members = d.get("members", [])
        if not isinstance(members, list) or not all(
                isinstance(m, dict) and isinstance(m.get("architecture"), list)
                and isinstance(m.get("params"), dict) for m in members):
            raise ValueError("'members' is not a list of {architecture, params} dicts")
        if members and d["kind"] != "classifier":
            raise ValueError(f"only a classifier may be a committee, not a {d['kind']}")
        nets = []
        for n, m in enumerate(members, start=1):
            try:
                _check_fields({**d, "architecture": m["architecture"], "params": m["params"]})
                nets.append(_network(m["architecture"], tuple(d["input_shape"]), m["params"],
                                     d["kind"], classes))
            except ValueError as exc:
                raise ValueError(f"committee member {n}: {exc}") from None
        return cls(net, classes, d["kind"], d.get("training", {}),
                   d.get("history", {}), d.get("scores", {}), d.get("created", ""), source,
                   nets, [m["training"] if isinstance(m.get("training"), dict) else {}
                          for m in members])


def committee(models: list) -> "Model":
    """Classifiers over the same classes and input, joined into one model whose probabilities
    are their mean (a committee: Ciresan et al. 2012 averaged 7 CNNs trained apart). The first
    model's training record and history are the committee's; the others' training records are
    kept with their networks. Scores are not carried over: a committee scores anew (and
    `make calibrate` fits its temperature anew). OcrkitError where they do not fit together."""
    if len(models) < 2:
        raise OcrkitError("a committee needs at least two models")
    first = models[0]
    for m in models:
        name = m.source or "a model"
        if m.kind != "classifier":
            raise OcrkitError(f"{name} is a {m.kind}: a committee is of classifiers")
        if tuple(m.classes) != tuple(first.classes):
            raise OcrkitError(f"{name} has the classes {''.join(m.classes)}, "
                              f"{first.source or 'the first'} {''.join(first.classes)}: a "
                              "committee's models share their classes, in one order")
        if tuple(m.network.input_shape) != tuple(first.network.input_shape):
            raise OcrkitError(f"{name} takes inputs of another shape than the first")
    # every network of every model but the first's own (a committee may join committees)
    members = [net for m in models for net in m.networks][1:]
    records = [t for m in models for t in [m.training, *m.member_training]][1:]
    training = dict(first.training, committee_of=[m.source for m in models])
    return Model(first.network, tuple(first.classes), "classifier", training, first.history,
                 {}, "", "", members, records)


def _network(architecture, input_shape, params, kind, classes) -> Network:
    """The network of one architecture and its arrays, built only after the arrays are
    checked against what the architecture plans (from integers alone): only a network the
    file holds the weights of is ever built. ValueError naming what does not fit."""
    planned = plan(architecture, input_shape)
    if set(params) != set(planned.arrays):
        raise ValueError(f"parameters {_names(params)} do not match the architecture "
                         f"{_names(planned.arrays)}")
    for key, shape in planned.arrays.items():
        if params[key].shape != shape:
            raise ValueError(f"parameter {key} has shape {params[key].shape}, the "
                             f"architecture needs {shape}")
        if not np.isfinite(params[key]).all():
            raise ValueError(f"parameter {key} holds NaN or infinite values")
        if key.endswith(".var") and (params[key] < 0).any():
            raise ValueError(f"batch-norm variances {key} are negative")
    outputs = math.prod(planned.output_shape)
    if kind == "classifier" and outputs != len(classes):
        raise ValueError(f"the network has {outputs} outputs for {len(classes)} classes")
    if kind == "line" and (len(planned.output_shape) != 3 or planned.output_shape[0] != 1):
        raise ValueError(f"a line model gives one row of columns, not outputs of shape "
                         f"{tuple(planned.output_shape)}")
    if kind == "line" and planned.output_shape[-1] != len(classes):
        raise ValueError(f"the network gives {planned.output_shape[-1]} scores a column "
                         f"for {len(classes)} classes")
    if kind == "autoencoder" and outputs != math.prod(input_shape):
        raise ValueError(f"an autoencoder with {outputs} outputs for "
                         f"{'x'.join(map(str, input_shape))} inputs")
    dtype = next(iter(params.values())).dtype if params else np.float32
    net = Network(architecture, tuple(input_shape), dtype=dtype, init=False)
    net.set_params(params)
    return net


def _check_fields(d: dict) -> None:
    """The fields of a model dict have the types the rest of ocrkit relies on."""
    shape = tuple(d.get("input_shape") or ())
    if d.get("kind") == "line":
        if len(shape) != 2 or shape[0] != 32 or not isinstance(shape[1], int) or shape[1] < 8:
            raise ValueError(f"input shape {list(shape)}; line models take lines 32 high")
    elif shape != (32, 32):
        raise ValueError(f"input shape {list(shape)}; ocrkit models take 32x32 characters")
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
    named = classes
    if d.get("kind") == "line":             # its first class is the CTC blank, ""
        if not classes or classes[0] != "":
            raise ValueError("a line model's first class is the CTC blank, ''")
        named = classes[1:]
    odd = [c for c in named if not c or len(c) > MAX_CLASS_NAME or not c.isprintable()]
    if odd or len(set(classes)) != len(classes):
        raise ValueError(f"class names must be distinct, printable and 1 to {MAX_CLASS_NAME} "
                         f"characters long, not {odd[0]!r:.40}" if odd else
                         "class names must be distinct")
    for key in ("training", "history", "scores"):
        if not isinstance(d.get(key, {}), dict):
            raise ValueError(f"'{key}' is not a dict")
    if not isinstance(d.get("created", ""), str):
        raise ValueError("'created' is not a string")


def _names(keys) -> str:
    """Array names for a message, the first few of many."""
    keys = sorted(map(str, keys))
    return ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "")


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
    if not all(np.isfinite(a).all() for a in (w1, b1, w2, b2)):
        raise ValueError("the HW5 weights hold NaN or infinite values")
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
    data = read_limited(path, MAX_FILE_BYTES, "model file")
    if not data:
        raise OcrkitError(f"{path}: empty file, not a model")
    try:
        obj = safe_unpickle(data)
    except RefusedPickle as exc:
        raise OcrkitError(f"{path}: {exc}") from None
    except pickle.UnpicklingError:
        raise OcrkitError(f"{path}: not an ocrkit model file (not a pickle, or truncated or "
                          "corrupt)") from None
    if not isinstance(obj, dict):
        raise OcrkitError(f"{path}: not an ocrkit model file (holds a {type(obj).__name__})")
    try:
        if HW5_KEYS <= set(obj):
            return from_hw5(obj, str(path))
        return Model.from_dict(obj, str(path))
    except (ValueError, KeyError, TypeError, IndexError, AttributeError,
            ArithmeticError) as exc:
        raise OcrkitError(f"{path}: not a usable ocrkit model file ({_one_line(exc)})") \
            from None


def _one_line(exc) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def dump_atomic(obj, path, what: str = "model file") -> None:
    """Pickle `obj` to `path` atomically (ocrkit.files.atomic_open), then remove what killed
    writes of the same file left beside it."""
    with atomic_open(path, "wb", what=what) as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    path = Path(path)
    clean_temporary(path.parent if str(path.parent) else ".", path.name)


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

"""What tests/fuzzing.py throws at ocrkit: one Target per door a stranger's input comes in by.

Each target has a hypothesis strategy drawing a small recipe (plain data, printable as the
case's reproducer), `prepare` (recipe -> the input: a file in a scratch folder, an array; not
measured) and `run` (the input through ocrkit's public door, raising OcrkitError for a clear
refusal), and its limits for one case: CPU seconds and peak memory over the worker's own.

    model_mutated    valid model files (MLP, CNN with batch norm, autoencoder, HW5 weights)
                     edited (fields, layer sizes, arrays, class names, metadata) and mutated
                     byte by byte -> modelfile.load, `ocrkit inspect` (text and JSON), predict
    model_hostile    hand-assembled pickles: every admitted global called with odd arguments,
                     forbidden globals (a payload that would touch a marker file), object
                     states, NEWOBJ, deep nesting, shared-reference DAGs, huge declared sizes
                     -> modelfile.load; the marker must not exist afterwards
    dataset_mat      NIST-layout .mat files (v4/v5, compressed or not) holding numeric, cell,
                     sparse, struct, char, complex or empty variables, then mutated
                     -> load_dataset(path)
    dataset_idx      EMNIST IDX files (gzipped or raw) with odd magic numbers and dimensions
                     (0, negative, 2**31-1, not 28x28), short, long or bomb-like data, labels
                     out of range or missing, mutated -> load_dataset(path)
    dataset_folder   class folders of images of every kind and mode, corrupt, truncated, empty,
                     text, FIFOs, folders named like images, symlink loops, odd class names
                     -> load_dataset(folder)
    page_array       arrays of random shape (0-D to 4-D, 0 to 25 megapixels), dtype (bool, ints,
                     float16/32/64) and content (noise, blobs, lines, strokes, rendered text,
                     blank, gradients) with NaN and inf sprinkled in -> Reader().read(array)
    page_file        such pages encoded as PNG/JPEG/TIFF/BMP/GIF/WebP/PGM, then truncated,
                     bit-flipped, emptied, swapped for text, a decompression bomb (a PNG header
                     of up to 100,000 x 100,000 pixels), a FIFO or a folder -> `ocrkit ocr FILE`
                     must exit 0 or 1 with at most one `Error:` line and no traceback
"""
from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import shutil
import struct
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import strategies as st


@dataclass
class Target:
    name: str
    strategy: object
    prepare: object             # (case, folder) -> input
    run: object                 # input -> None; OcrkitError is a clear refusal
    seconds: float              # CPU time one case may take
    memory_mb: float            # peak resident memory one case may add
    wall_seconds: float         # a case without an answer by then is a hang


TARGETS: dict[str, Target] = {}
MODEL_LIMITS = dict(seconds=5, memory_mb=256, wall_seconds=60)
DATASET_LIMITS = dict(seconds=10, memory_mb=512, wall_seconds=60)
PAGE_LIMITS = dict(seconds=10, memory_mb=1536, wall_seconds=120)   # docs/SECURITY.md's aims


def target(name, strategy, prepare, **limits):
    def register(run):
        TARGETS[name] = Target(name, strategy, prepare, run, **limits)
        return run
    return register


@contextlib.contextmanager
def scratch():
    folder = Path(tempfile.mkdtemp(prefix="ocrkit-fuzz-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def rerun(name: str, case) -> None:
    """Run one case here, in this process, with its traceback (the reproducer)."""
    with scratch() as folder:
        TARGETS[name].run(TARGETS[name].prepare(case, folder))
    print("no failure this time")


_STATE: dict = {}


def warm_up() -> None:
    """What every case shares, made before any is measured: the default model's Reader."""
    reader()
    from ocrkit.cli import main  # noqa: F401


def reader():
    if "reader" not in _STATE:
        from ocrkit import Reader
        _STATE["reader"] = Reader()
    return _STATE["reader"]


def invoke(*args) -> None:
    """An ocrkit command as a user runs it; AssertionError unless it ends as a command should:
    exit 0, or 1/2 with one `Error:` line last on stderr and no traceback."""
    from click.testing import CliRunner
    from ocrkit.cli import main
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    if "Traceback" in result.stderr + result.stdout:
        raise AssertionError(f"a traceback: {result.stderr[-500:]}")
    if result.exit_code not in (0, 1, 2):
        raise AssertionError(f"exit status {result.exit_code}")
    if result.exit_code in (1, 2) and not errors and "no text found" not in result.stderr:
        raise AssertionError(f"exit {result.exit_code} without an Error line: "
                             f"{result.stderr[-300:]!r}")
    if len(errors) > 1 and args[0] != "ocr":
        raise AssertionError(f"{len(errors)} Error lines: {errors[:3]}")


# -- mutation helpers --------------------------------------------------------------------------
BYTE_EDIT = st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "dup"]),
                      st.floats(0, 1), st.integers(0, 255), st.integers(1, 64))


def mutate(data: bytes, edits) -> bytes:
    data = bytearray(data)
    for op, where, value, length in edits:
        if not data:
            break
        i = min(int(where * len(data)), len(data) - 1)
        if op == "flip":
            data[i] ^= 1 << (value % 8)
        elif op == "set":
            data[i] = value
        elif op == "insert":
            data[i:i] = bytes([value]) * length
        elif op == "delete":
            del data[i:i + length]
        elif op == "truncate":
            del data[i:]
        elif op == "dup":
            data[i:i] = data[i:i + length]
    return bytes(data)


# -- model files ---------------------------------------------------------------------------------
INTEGERS = st.one_of(st.integers(-3, 70), st.sampled_from(
    [0, -1, 2**31 - 1, 2**31, 2**63, 2**64 + 1, 10**6, 10**7, 10**9, 10**30]))
ATOMS = st.one_of(st.none(), st.booleans(), INTEGERS,
                  st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                  st.binary(max_size=12))
ARRAY = st.tuples(st.just("@array"), st.lists(st.integers(0, 40), max_size=3),
                  st.sampled_from(["f4", "f8", "f2", "i8", "u1", "b1", "c8", "U3", "O"]),
                  st.sampled_from(["zero", "one", "nan", "inf", "random"]))
SPECIAL = st.tuples(st.sampled_from(["@deep", "@dag"]), st.integers(1, 120))
VALUES = st.recursive(
    st.one_of(ATOMS, ARRAY, SPECIAL),
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.tuples(kids, kids),
                           st.dictionaries(st.one_of(st.text(max_size=6), INTEGERS), kids,
                                           max_size=4)),
    max_leaves=8)


def realize(value):
    """A drawn value as the object it stands for (arrays, deep nestings, DAGs built here)."""
    if isinstance(value, tuple) and value and value[0] == "@array":
        _, shape, dtype, fill = value
        a = np.zeros(shape, dtype=dtype) if dtype != "O" else np.empty(shape, dtype=object)
        if fill != "zero" and dtype not in ("O", "U3"):
            a[...] = {"one": 1, "nan": np.nan, "inf": np.inf}.get(fill, 0.5) \
                if a.dtype.kind in "fc" or fill in ("one", "random") else 0
        return a
    if isinstance(value, tuple) and value and value[0] == "@deep":
        x = []
        for _ in range(value[1]):
            x = [x]
        return x
    if isinstance(value, tuple) and value and value[0] == "@dag":
        x = []
        for _ in range(min(value[1], 60)):
            x = [x, x]
        return x
    if isinstance(value, list):
        return [realize(v) for v in value]
    if isinstance(value, tuple):
        return tuple(realize(v) for v in value)
    if isinstance(value, dict):
        return {k: realize(v) for k, v in value.items()}
    return value


def base_model(kind: str) -> dict:
    """A small valid model file's dict (or HW5 weights), built the same way every time."""
    key = f"base-{kind}"
    if key not in _STATE:
        from ocrkit import modelfile
        from ocrkit.autoencode import autoencoder_specs
        from ocrkit.data import NIST36
        from ocrkit.engine import Network
        from ocrkit.engine.specs import arch_specs, mlp_specs
        rng = np.random.default_rng(0)
        if kind == "hw5":
            _STATE[key] = {"Wlayer1": rng.normal(0, 0.1, (1024, 6)), "blayer1": np.zeros((1, 6)),
                           "Woutput": rng.normal(0, 0.1, (6, 36)), "boutput": np.zeros((1, 36))}
            return _STATE[key]
        specs, classes, kind_name = {
            "mlp": (mlp_specs([12, 7], "relu", 5), tuple("KXYZ7"), "classifier"),
            "cnn": (arch_specs("conv4bn-pool-fc8-drop0.3", 36), NIST36, "classifier"),
            "autoencoder": (autoencoder_specs([8], "relu", 1024), NIST36, "autoencoder"),
        }[kind]
        model = modelfile.Model(Network(specs, (32, 32), rng), classes, kind_name,
                                training={"epochs": 3, "lr": 0.001},
                                history={"train_loss": [2.0, 1.5], "valid_acc": [0.5, None]},
                                scores={"valid_accuracy": 0.5}, created="2024-01-01")
        _STATE[key] = model.to_dict()
    return _STATE[key]


FIELDS = ["format", "version", "kind", "architecture", "input_shape", "input", "params",
          "classes", "training", "history", "scores", "created", "ocrkit_version",
          "Wlayer1", "blayer1", "Woutput", "boutput"]
SPEC_KEYS = ["type", "units", "activation", "filters", "kernel", "stride", "padding",
             "batchnorm", "size", "rate", "name", "init"]
MODEL_EDIT = st.one_of(
    st.tuples(st.just("field"), st.sampled_from(FIELDS), VALUES),
    st.tuples(st.just("drop"), st.sampled_from(FIELDS)),
    st.tuples(st.just("spec"), st.integers(0, 20), st.sampled_from(SPEC_KEYS), VALUES),
    st.tuples(st.just("param"), st.integers(0, 20), VALUES),
    st.tuples(st.just("class"), st.integers(0, 40), VALUES),
    st.tuples(st.just("history"), st.sampled_from(["train_loss", "valid_acc", "seconds", 7]),
              VALUES))
MODEL_CASE = st.fixed_dictionaries({
    "base": st.sampled_from(["mlp", "cnn", "autoencoder", "hw5"]),
    "protocol": st.sampled_from([0, 2, 4, 5]),
    "edits": st.lists(MODEL_EDIT, max_size=3),
    "bytes": st.lists(BYTE_EDIT, max_size=3),
})


def _edit_model(d: dict, edit) -> None:
    kind = edit[0]
    if kind == "field":
        d[edit[1]] = realize(edit[2])
    elif kind == "drop":
        d.pop(edit[1], None)
    elif kind == "spec" and isinstance(d.get("architecture"), list) and d["architecture"]:
        spec = d["architecture"][edit[1] % len(d["architecture"])]
        if isinstance(spec, dict):
            spec[edit[2]] = realize(edit[3])
    elif kind == "param" and isinstance(d.get("params"), dict) and d["params"]:
        keys = sorted(d["params"], key=repr)     # an earlier edit may have put in any keys
        d["params"][keys[edit[1] % len(keys)]] = realize(edit[2])
    elif kind == "class" and isinstance(d.get("classes"), list) and d["classes"]:
        d["classes"][edit[1] % len(d["classes"])] = realize(edit[2])
    elif kind == "history" and isinstance(d.get("history"), dict):
        d["history"][edit[1]] = realize(edit[2])


def prepare_model(case, folder: Path) -> Path:
    import copy
    import pickle
    d = copy.deepcopy(base_model(case["base"]))
    for edit in case["edits"]:
        _edit_model(d, edit)
    data = pickle.dumps(d, protocol=case["protocol"])
    path = folder / "model.pkl"
    path.write_bytes(mutate(data, case["bytes"]))
    return path


@target("model_mutated", MODEL_CASE, prepare_model, **MODEL_LIMITS)
def run_model(path: Path) -> None:
    from ocrkit import modelfile
    from ocrkit.errors import OcrkitError
    try:
        model = modelfile.load(path)
    except OcrkitError:
        invoke("inspect", path)            # the command refuses it in one line too
        raise
    invoke("inspect", path)
    invoke("inspect", path, "--format", "json")
    x = np.zeros((3, 32, 32), np.float32)
    if model.kind == "classifier":
        p = model.predict_proba(x)
        assert p.shape == (3, len(model.classes)) and np.isfinite(p).all(), p
    else:
        assert model.reconstruct(x).shape == x.shape


# -- hand-built hostile pickles ------------------------------------------------------------------
CORE = ["numpy.core.multiarray", "numpy._core.multiarray"]
ADMITTED = [(c, "_reconstruct") for c in CORE] + [(c, "scalar") for c in CORE] + [
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")]
FORBIDDEN = [("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"),
             ("__builtin__", "eval"), ("builtins", "getattr"), ("subprocess", "call"),
             ("numpy", "load"), ("numpy", "frombuffer"), ("pickle", "loads"),
             ("builtins", "__import__"), ("nosuch.module", "x"), ("numpy", "nosuch")]
CODES = st.sampled_from(["f8", "f4", "<f4", ">f8", "b", "i8", "u1", "?", "c16", "O", "V8",
                         "U10", "S5", "f4,f4", "M8", "f8" * 30, "\x00", ""])
SHAPES = st.lists(st.one_of(st.integers(0, 8), st.sampled_from([2**20, 2**31, 2**62, -1])),
                  max_size=4)


def _leaf():
    return st.one_of(
        st.tuples(st.just("none")), st.tuples(st.just("bool"), st.booleans()),
        st.tuples(st.just("int"), INTEGERS), st.tuples(st.just("float"), st.floats()),
        st.tuples(st.just("str"), st.one_of(st.text(max_size=10), st.just("@MARKER"))),
        st.tuples(st.just("bytes"), st.binary(max_size=40)),
        st.tuples(st.just("code"), CODES), st.tuples(st.just("shape"), SHAPES),
        st.tuples(st.just("deep_tuple"), st.sampled_from([10, 60, 1000, 200_000])),
        st.tuples(st.just("deep_list"), st.sampled_from([10, 60, 1000, 200_000])),
        st.tuples(st.just("dag"), st.integers(1, 70)),
        st.tuples(st.just("bigint"), st.sampled_from([10, 100, 10_000, 1_000_000])),
        st.tuples(st.just("ref"), st.integers(0, 3)),
        st.tuples(st.just("raw"), st.binary(max_size=12)),
        st.tuples(st.just("global"), st.sampled_from(ADMITTED + FORBIDDEN)))


def _branches(kids):
    return st.one_of(
        st.tuples(st.just("list"), st.lists(kids, max_size=4)),
        st.tuples(st.just("tuple"), st.lists(kids, max_size=5)),
        st.tuples(st.just("dict"), st.lists(st.tuples(kids, kids), max_size=3)),
        st.tuples(st.just("set"), st.lists(kids, max_size=3)),
        st.tuples(st.just("call"), st.sampled_from(ADMITTED + FORBIDDEN),
                  st.lists(kids, max_size=5)),
        st.tuples(st.just("build"), kids, kids),
        st.tuples(st.just("newobj"), st.sampled_from(ADMITTED + FORBIDDEN),
                  st.lists(kids, max_size=3)),
        st.tuples(st.just("put"), st.integers(0, 3), kids))


PICKLE_TREE = st.recursive(_leaf(), _branches, max_leaves=12)
HOSTILE_CASE = st.fixed_dictionaries({
    "tree": PICKLE_TREE,
    "as_model": st.booleans(),          # inside a model-looking dict, to reach from_dict
    "protocol_header": st.sampled_from([b"\x80\x02", b"\x80\x04", b"\x80\x05", b""]),
    "tail": st.sampled_from([b".", b"", b"0.", b"N."]),
})


def _asm(node, marker: str) -> bytes:
    """Pickle opcodes for a drawn tree (protocol 4 opcodes; MEMO indices 0-3 are `put`'s)."""
    kind = node[0]

    def items(nodes):
        return b"".join(_asm(n, marker) for n in nodes)

    if kind == "none":
        return b"N"
    if kind == "bool":
        return b"\x88" if node[1] else b"\x89"
    if kind == "int":
        v = node[1]
        if -2**31 <= v < 2**31:
            return b"J" + struct.pack("<i", v)
        raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
        return b"\x8a" + bytes([len(raw)]) + raw
    if kind == "float":
        return b"G" + struct.pack(">d", node[1])
    if kind in ("str", "code"):
        text = marker if node[1] == "@MARKER" else node[1]
        if text == marker:
            text = f"touch '{marker}'"
        raw = text.encode("utf-8", "surrogatepass")
        return b"X" + struct.pack("<I", len(raw)) + raw
    if kind == "bytes":
        return b"B" + struct.pack("<I", len(node[1])) + node[1]
    if kind == "shape":
        return b"(" + b"".join(_asm(("int", n), marker) for n in node[1]) + b"t"
    if kind == "deep_tuple":
        return b")" + b"\x85" * node[1]
    if kind == "deep_list":
        return b"]" * node[1] + b"a" * (node[1] - 1)
    if kind == "dag":
        base = 100
        out = b"]r" + struct.pack("<I", base)
        for i in range(node[1]):
            out += (b"](j" + struct.pack("<I", base + i) + b"j" + struct.pack("<I", base + i)
                    + b"er" + struct.pack("<I", base + i + 1))
        return out
    if kind == "bigint":
        return b"\x8b" + struct.pack("<i", node[1]) + b"\x7f" * node[1]
    if kind == "ref":
        return b"j" + struct.pack("<I", node[1])
    if kind == "raw":
        return node[1]
    if kind == "global":
        return f"c{node[1][0]}\n{node[1][1]}\n".encode()
    if kind == "list":
        return b"](" + items(node[1]) + b"e"
    if kind == "tuple":
        return b"(" + items(node[1]) + b"t"
    if kind == "dict":
        return b"}(" + b"".join(_asm(k, marker) + _asm(v, marker) for k, v in node[1]) + b"u"
    if kind == "set":
        return b"\x8f(" + items(node[1]) + b"\x90"
    if kind == "call":
        return _asm(("global", node[1]), marker) + b"(" + items(node[2]) + b"tR"
    if kind == "build":
        return _asm(node[1], marker) + _asm(node[2], marker) + b"b"
    if kind == "newobj":
        return _asm(("global", node[1]), marker) + b"(" + items(node[2]) + b"t\x81"
    if kind == "put":
        return _asm(node[2], marker) + b"r" + struct.pack("<I", node[1])
    raise ValueError(kind)


def prepare_hostile(case, folder: Path) -> tuple[Path, Path]:
    marker = folder / "code-ran"
    body = _asm(case["tree"], str(marker))
    if case["as_model"]:
        def s(text):
            return b"X" + struct.pack("<I", len(text)) + text.encode()
        body = (b"}(" + s("format") + s("ocrkit-model") + s("kind") + s("classifier")
                + s("input_shape") + b"(J\x20\x00\x00\x00J\x20\x00\x00\x00t"
                + s("architecture") + b"](}(" + s("type") + s("flatten") + b"ue"
                + s("classes") + b"](" + s("A") + b"e" + s("params") + b"}(" + s("0.W")
                + body + b"u" + s("history") + body + b"u")
    path = folder / "hostile.pkl"
    path.write_bytes(case["protocol_header"] + body + case["tail"])
    return path, marker


@target("model_hostile", HOSTILE_CASE, prepare_hostile, **MODEL_LIMITS)
def run_hostile(prepared) -> None:
    from ocrkit import modelfile
    path, marker = prepared
    try:
        modelfile.load(path)
    finally:
        if marker.exists():
            raise AssertionError("the pickle ran code: the marker file exists")


# -- datasets --------------------------------------------------------------------------------------
MAT_VAR = st.tuples(
    st.sampled_from(["train_data", "train_labels", "valid_data", "valid_labels", "test_data",
                     "test_labels", "x_data", "images"]),
    st.sampled_from(["numeric", "onehot", "cell", "sparse", "struct", "char", "logical",
                     "complex", "empty", "int8", "nan", "3d"]),
    st.sampled_from([0, 1, 3, 40]),                         # rows
    st.sampled_from([0, 1, 10, 26, 36, 784, 1024, 1025]))   # columns
MAT_CASE = st.fixed_dictionaries({
    "base": st.booleans(),              # start from a valid train_data / train_labels pair
    "vars": st.lists(MAT_VAR, max_size=3),
    "format": st.sampled_from(["5", "4"]),
    "compress": st.booleans(),
    "bytes": st.lists(BYTE_EDIT, max_size=3),
    "split": st.sampled_from(["all", "train", "valid", "test"]),
    "seed": st.integers(0, 2**16),
})


def _mat_value(kind, rows, cols, rng):
    import scipy.sparse
    if kind == "numeric":
        return rng.random((rows, cols))
    if kind == "onehot":
        return np.eye(max(cols, 1))[rng.integers(0, max(cols, 1), rows)][:, :cols]
    if kind == "cell":
        cell = np.empty((rows, 1), dtype=object)
        for i in range(rows):
            cell[i, 0] = rng.random(cols)
        return cell
    if kind == "sparse":
        return scipy.sparse.random(rows, cols, 0.1, random_state=1, format="csc")
    if kind == "struct":
        return {"a": rng.random((rows, cols)), "b": "text"}
    if kind == "char":
        return "x" * cols
    if kind == "logical":
        return rng.random((rows, cols)) > 0.5
    if kind == "complex":
        return rng.random((rows, cols)) + 1j
    if kind == "empty":
        return np.zeros((0, 0))
    if kind == "int8":
        return rng.integers(-128, 127, (rows, cols)).astype(np.int8)
    if kind == "nan":
        return np.full((rows, cols), np.nan)
    return rng.random((rows, 2, cols))


def prepare_mat(case, folder: Path):
    import scipy.io
    rng = np.random.default_rng(case["seed"])
    content = {}
    if case["base"]:
        y = np.arange(72) % 36
        content = {"train_data": rng.random((72, 1024)), "train_labels": np.eye(36)[y]}
    for name, kind, rows, cols in case["vars"]:
        content[name] = _mat_value(kind, rows, cols, rng)
    buf = io.BytesIO()
    try:
        scipy.io.savemat(buf, content, format=case["format"], do_compression=case["compress"])
    except Exception:           # what v4 cannot hold: write it as v5
        buf = io.BytesIO()
        scipy.io.savemat(buf, content, format="5", do_compression=case["compress"])
    path = folder / "set.mat"
    path.write_bytes(mutate(buf.getvalue(), case["bytes"]))
    return path, case["split"]


def _load(prepared) -> None:
    from ocrkit.data import load_dataset
    path, split = prepared
    ds = load_dataset(str(path), split)
    assert ds.x.dtype == np.float32 and ds.x.shape[1:] == (32, 32), ds.x.shape
    assert np.isfinite(ds.x).all() and len(ds.x) == len(ds.y)
    assert ((ds.y >= 0) & (ds.y < len(ds.classes))).all()


target("dataset_mat", MAT_CASE, prepare_mat, **DATASET_LIMITS)(_load)

DIMS = st.one_of(st.integers(0, 40), st.sampled_from([28, 28, 28, 32, 2**31 - 1, -1, 2**20,
                                                      2**24, 65536]))
IDX_SPEC = st.fixed_dictionaries({
    "magic": st.sampled_from([2051, 2051, 2051, 2049, 2052, 0, -1, 0x0803, 2051 + 2**24]),
    "dims": st.one_of(st.lists(DIMS, min_size=0, max_size=3),
                      st.tuples(st.integers(0, 300), st.sampled_from([28, 28, 27, 0, 1]),
                                st.sampled_from([28, 28, 29, 0])).map(list)),
    "data": st.sampled_from(["exact", "exact", "short", "long", "none"]),
    "values": st.sampled_from(["zeros", "random", "max"]),
})
IDX_CASE = st.fixed_dictionaries({
    "images": IDX_SPEC,
    "labels": st.one_of(st.none(), st.just("matching"), st.just("matching"), IDX_SPEC),
    "gz": st.booleans(),
    "bytes": st.lists(BYTE_EDIT, max_size=2),       # edits of the (compressed) images file
    "seed": st.integers(0, 2**16),
})
IDX_DATA_CAP = 8 << 20          # the data a case really holds (a declared size may be any)


def _idx_bytes(spec, rng) -> bytes:
    dims = spec["dims"] or [0]
    head = struct.pack(">i", spec["magic"] if -2**31 <= spec["magic"] < 2**31 else -1)
    head += b"".join(struct.pack(">i", d if -2**31 <= d < 2**31 else -1) for d in dims)
    declared = math.prod(max(d, 0) for d in dims)
    n = {"exact": declared, "short": declared // 2, "long": declared + 7, "none": 0}[spec["data"]]
    n = min(n, IDX_DATA_CAP)
    if spec["values"] == "zeros":
        data = bytes(n)
    elif spec["values"] == "labels":       # ByClass labels, now and then one past them
        data = rng.integers(0, 62 + (rng.random() < 0.2), n, dtype=np.uint8).tobytes()
    elif spec["values"] == "max":
        data = b"\xff" * n
    else:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    return head + data


def prepare_idx(case, folder: Path):
    rng = np.random.default_rng(case["seed"])
    suffix = ".gz" if case["gz"] else ""
    images = folder / f"emnist-byclass-test-images-idx3-ubyte{suffix}"
    labels = folder / f"emnist-byclass-test-labels-idx1-ubyte{suffix}"
    pack = (lambda b: gzip.compress(b, 1)) if case["gz"] else (lambda b: b)
    images.write_bytes(mutate(pack(_idx_bytes(case["images"], rng)), case["bytes"]))
    if case["labels"] == "matching":        # as many labels as images, some out of range
        n = max((case["images"]["dims"] or [0])[0], 0) % (1 << 20)
        spec = {"magic": 2049, "dims": [n], "data": "exact", "values": "labels"}
        labels.write_bytes(pack(_idx_bytes(spec, rng)))
    elif case["labels"] is not None:
        labels.write_bytes(pack(_idx_bytes(case["labels"], rng)))
    return images, "all"


target("dataset_idx", IDX_CASE, prepare_idx, **DATASET_LIMITS)(_load)

CLASS_NAMES = st.one_of(
    st.sampled_from(["A", "B", "Z", "0", "7", "a", "é", "ß", " ", "my class", ".hidden", "..x",
                     "-", "x" * 200, "\u202e", "A A", "\t"]),
    st.text(alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=["Cs"]),
            min_size=1, max_size=8).filter(lambda s: s not in (".", "..")))
IMAGE_KINDS = ["png", "jpeg", "bmp", "gif", "tiff", "webp", "png", "png", "corrupt",
               "truncated", "empty", "text", "fifo", "dir", "symlink-loop", "symlink-missing",
               "bomb"]
FILE = st.fixed_dictionaries({
    "name": st.sampled_from(["0.png", "x.jpg", "a.PNG", "b.tif", "c.gif", "d.bmp", "e.webp",
                             "f.txt", ".hidden.png", "noext", "é ü.png", "g.pgm"]),
    "kind": st.sampled_from(IMAGE_KINDS),
    "h": st.integers(1, 120),          # character images (large crops: the page targets)
    "w": st.integers(1, 120),
    "mode": st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I;16", "LA", "CMYK", "I", "F"]),
    "content": st.sampled_from(["noise", "stroke", "blank", "gradient", "blob"]),
    "seed": st.integers(0, 2**16),
})
FOLDER_CASE = st.fixed_dictionaries({
    "classes": st.lists(st.tuples(CLASS_NAMES, st.lists(FILE, max_size=4)), max_size=4),
    "root_files": st.lists(FILE, max_size=2),
})


def _content(kind: str, h: int, w: int, rng) -> np.ndarray:
    """A grey image in [0, 1] (dark ink on light paper for the stroke kinds)."""
    if kind == "noise":
        return rng.random((h, w))
    if kind == "blank":
        return np.ones((h, w))
    if kind == "gradient":
        return np.add.outer(np.linspace(0, 1, h), np.linspace(0, 1, w)) / 2
    yy, xx = np.mgrid[0:h, 0:w]
    page = np.ones((h, w))
    for _ in range(int(rng.integers(1, 6))):
        if kind == "blob":
            cy, cx, r = rng.random() * h, rng.random() * w, 1 + rng.random() * max(h, w) / 4
            page[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.random() * 0.3
        else:           # a straight stroke of random width
            y0, x0, y1, x1 = rng.random(4) * [h, w, h, w]
            width = 1 + rng.random() * max(h, w) / 15
            d = np.hypot(y1 - y0, x1 - x0) or 1.0
            t = np.clip(((yy - y0) * (y1 - y0) + (xx - x0) * (x1 - x0)) / (d * d), 0, 1)
            near = np.hypot(yy - (y0 + t * (y1 - y0)), xx - (x0 + t * (x1 - x0))) < width / 2
            page[near] = rng.random() * 0.3
    return page


def _bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height grey pixels, its data a small zlib stream."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\x00" + bytes(min(width, 1 << 16))
    idat = zlib.compress(row * min(height, 64), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _encode(grey: np.ndarray, mode: str, fmt: str) -> bytes:
    from PIL import Image
    img = Image.fromarray(np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8), "L")
    if mode == "I;16":
        img = Image.fromarray((np.clip(grey, 0, 1) * 65535).astype(np.uint16))
    elif mode != "L":
        img = img.convert(mode)
    if fmt in ("jpeg",) and img.mode not in ("L", "RGB", "CMYK"):
        img = img.convert("RGB")
    if fmt in ("gif", "webp", "bmp") and img.mode in ("I;16", "I", "F", "CMYK", "LA"):
        img = img.convert("RGB" if fmt != "gif" else "L")
    buf = io.BytesIO()
    try:
        img.save(buf, {"tif": "TIFF", "pgm": "PPM"}.get(fmt, fmt.upper()))
    except (OSError, ValueError, KeyError):     # what that format cannot hold: as PNG
        buf = io.BytesIO()
        img.convert("RGB" if img.mode not in ("L", "RGB") else img.mode).save(buf, "PNG")
    return buf.getvalue()


def _write_file(path: Path, spec) -> None:
    if os.path.lexists(path):           # a name drawn twice: the first stays (it may be a FIFO)
        return
    rng = np.random.default_rng(spec["seed"])
    kind = spec["kind"]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    elif kind == "symlink-loop":
        path.symlink_to(path.name)
    elif kind == "symlink-missing":
        path.symlink_to("absent-target.png")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not an image\n")
    elif kind == "bomb":
        side = [20_000, 100_000, 46_341][spec["seed"] % 3]
        path.write_bytes(_bomb_png(side, side))
    else:
        fmt = {"corrupt": "png", "truncated": "jpeg"}.get(kind, kind)
        data = _encode(_content(spec["content"], spec["h"], spec["w"], rng), spec["mode"], fmt)
        if kind == "corrupt":
            data = mutate(data, [("flip", float(rng.random()), int(rng.integers(256)), 1)
                                 for _ in range(4)])
        elif kind == "truncated":
            data = data[:max(1, len(data) // 2)]
        path.write_bytes(data)


def prepare_folder(case, folder: Path):
    root = folder / "chars"
    root.mkdir()
    for name, files in case["classes"]:
        cls = root / name
        with contextlib.suppress(OSError):
            cls.mkdir()
        for spec in files:
            with contextlib.suppress(OSError, FileExistsError):
                _write_file(cls / spec["name"], spec)
    for spec in case["root_files"]:
        with contextlib.suppress(OSError, FileExistsError):
            _write_file(root / spec["name"], spec)
    return root, "all"


target("dataset_folder", FOLDER_CASE, prepare_folder, seconds=20, memory_mb=512,
       wall_seconds=90)(_load)


# -- pages -------------------------------------------------------------------------------------------
SIDE = st.one_of(st.integers(0, 16), st.integers(17, 400), st.integers(401, 2500),
                 st.sampled_from([1, 2, 3, 4000, 5000]))
ARRAY_CASE = st.fixed_dictionaries({
    "shape": st.one_of(st.tuples(SIDE, SIDE), st.tuples(SIDE, SIDE), st.tuples(SIDE, SIDE),
                       st.tuples(SIDE, SIDE, st.integers(1, 5)),
                       st.tuples(st.integers(0, 50)), st.tuples(),
                       st.tuples(st.integers(1, 30), st.integers(1, 30), st.integers(1, 3),
                                 st.integers(1, 3))),
    "dtype": st.sampled_from(["uint8", "uint8", "float32", "float64", "float16", "uint16",
                              "int8", "int16", "int32", "int64", "bool"]),
    "content": st.sampled_from(["noise", "blob", "stroke", "text", "blank", "gradient"]),
    "scale": st.sampled_from(["unit", "byte", "wide", "negative", "tiny", "huge"]),
    "nan": st.sampled_from([0.0, 0.0, 0.0, 1e-4, 0.01, 0.5, 1.0]),
    "inf": st.sampled_from([0.0, 0.0, 0.0, 1e-4, 0.01, 1.0]),
    "seed": st.integers(0, 2**32 - 1),
})
MAX_ARRAY_PIXELS = 25_000_000


def page_array(case) -> np.ndarray:
    """The array a page_array case stands for."""
    rng = np.random.default_rng(case["seed"])
    shape = tuple(case["shape"])
    if math.prod(shape[:2]) > MAX_ARRAY_PIXELS:
        shape = (MAX_ARRAY_PIXELS // max(shape[1], 1), *shape[1:])
    if case["content"] == "text" and len(shape) in (2, 3):
        from ocrkit.data.pages import render_page
        words = ["".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                                    int(rng.integers(1, 6)))) for _ in range(rng.integers(1, 8))]
        grey, _ = render_page(" ".join(words), int(case["seed"] % 1000), colour=False)
        grey = grey.astype(np.float64) / 255
    elif len(shape) >= 2 and min(shape[:2]) > 0:
        h, w = shape[:2]
        small = (min(h, 400), min(w, 400))          # drawn small, stretched: fast at any size
        grey = _content(case["content"], *small, rng)
        grey = grey[np.arange(h) * small[0] // h][:, np.arange(w) * small[1] // w]
    else:
        grey = rng.random(shape)
    if grey.ndim == 2 and len(shape) >= 3:
        grey = np.broadcast_to(grey.reshape(grey.shape + (1,) * (len(shape) - 2)),
                               grey.shape + tuple(shape[2:]))
    scale = {"unit": 1.0, "byte": 255.0, "wide": 65535.0, "negative": -1.0, "tiny": 1e-6,
             "huge": 1e30}[case["scale"]]
    a = grey * scale
    dtype = np.dtype(case["dtype"])
    if dtype.kind == "f":
        a = a.astype(dtype)
        for what, share in ((np.nan, case["nan"]), (np.inf, case["inf"])):
            if share and a.size:
                flat = a.reshape(-1)
                flat[rng.random(flat.size) < share] = what * (1 if rng.random() < 0.7 else -1)
        return a
    if dtype == bool:
        return a > 0.5 * scale
    info = np.iinfo(dtype)
    return np.clip(np.round(a), info.min, info.max).astype(dtype)


@target("page_array", ARRAY_CASE, lambda case, folder: page_array(case), **PAGE_LIMITS)
def run_page_array(array) -> None:
    page = reader().read(array)
    for c in page.chars:
        assert np.isfinite(c.confidence) and 0 <= c.confidence <= 1, c


FILE_CASE = st.fixed_dictionaries({
    "array": ARRAY_CASE.filter(lambda c: len(c["shape"]) in (2, 3)),
    "format": st.sampled_from(["png", "jpeg", "tiff", "bmp", "gif", "webp", "pgm"]),
    "mode": st.sampled_from(["L", "RGB", "RGBA", "P", "I;16", "1", "CMYK", "LA"]),
    "damage": st.sampled_from(["none", "none", "none", "truncate", "flip", "empty", "text",
                               "bomb", "fifo", "folder", "exif"]),
    "bomb": st.sampled_from([(20_000, 20_000), (100_000, 100_000), (10_000, 10_000),
                             (1, 10**8), (60_000, 1), (14_000, 14_000)]),
    "suffix": st.sampled_from([".png", ".jpg", ".tif", ".bmp", ".gif", ".webp", ".pgm", "",
                               ".txt"]),
    "flips": st.lists(BYTE_EDIT, min_size=1, max_size=4),
})
FILE_SIDE = 2000                    # encoded pages stay at most this many pixels a side


def prepare_page_file(case, folder: Path) -> Path:
    from PIL import Image
    path = folder / f"page{case['suffix']}"
    damage = case["damage"]
    if damage == "fifo":
        os.mkfifo(path)
        return path
    if damage == "folder":
        path.mkdir()
        return path
    if damage == "bomb":
        path.write_bytes(_bomb_png(*case["bomb"]))
        return path
    array = dict(case["array"], shape=[min(s, FILE_SIDE) for s in case["array"]["shape"][:2]])
    a = page_array(array)
    grey = a.astype(np.float64)
    grey = np.nan_to_num(grey / (grey.max() if grey.size and np.isfinite(grey).any()
                                 and grey.max() > 1 else 1.0), nan=0.5, posinf=1, neginf=0)
    if grey.ndim != 2 or min(grey.shape, default=0) == 0:
        grey = np.ones((8, 8))
    data = _encode(grey, case["mode"], case["format"])
    if damage == "truncate":
        data = data[:max(1, len(data) * 2 // 3)]
    elif damage == "flip":
        data = mutate(data, case["flips"])
    elif damage == "empty":
        data = b""
    elif damage == "text":
        data = b"HELLO, not an image\n" * 10
    elif damage == "exif":
        img = Image.open(io.BytesIO(data))
        exif = img.getexif()
        exif[0x0112] = case["flips"][0][2] % 12     # orientation, valid (1-8) or not
        buf = io.BytesIO()
        img.convert("RGB").save(buf, "JPEG", exif=exif)
        data = buf.getvalue()
    path.write_bytes(data)
    return path


@target("page_file", FILE_CASE, prepare_page_file, **PAGE_LIMITS)
def run_page_file(path: Path) -> None:
    invoke("ocr", path, "-q")


# -- the harness's own check: each outcome it must tell apart --------------------------------------
def _selftest(what: str) -> None:
    from ocrkit.errors import OcrkitError
    if what == "refuse":
        raise OcrkitError("a clear refusal")
    if what == "crash":
        raise KeyError("a bug")
    if what == "hang":
        time.sleep(3600)
    if what == "slow":
        end = time.process_time() + 1.5
        while time.process_time() < end:
            pass
    if what == "memory":
        np.ones(200 << 17)          # 200 MB, touched
    if what == "segfault":
        import ctypes
        ctypes.string_at(0)


target("selftest", st.sampled_from(["ok", "refuse", "crash", "hang", "slow", "memory",
                                    "segfault"]),
       lambda case, folder: case, seconds=1, memory_mb=100, wall_seconds=15)(_selftest)

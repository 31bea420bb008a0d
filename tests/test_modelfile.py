"""Model files: round trip, atomic writes, refusal of malicious pickles, clear errors for bad
files, and the HW5 weight-pickle import checked against the homework computation."""
from __future__ import annotations

import builtins
import io
import json
import os
import pickle
import stat
import subprocess

import numpy as np
import pytest

from ocrkit import modelfile
from ocrkit.data import NIST36, load_dataset
from ocrkit.engine import Network
from ocrkit.errors import OcrkitError
from ocrkit.metrics import classifier_report

# What numpy needs to rebuild arrays; a model file may name nothing else.
NUMPY_GLOBALS = {
    (mod, name)
    for core in ("numpy.core", "numpy._core")
    for mod, name in ((f"{core}.multiarray", "_reconstruct"), (f"{core}.multiarray", "scalar"),
                      (f"{core}.numeric", "_frombuffer"))
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


def small_model(dtype=np.float32, seed=3) -> modelfile.Model:
    specs = [{"type": "flatten"},
             {"type": "dense", "units": 12, "activation": "relu"},
             {"type": "dense", "units": 7, "activation": "tanh"},
             {"type": "dense", "units": 5, "activation": "softmax"}]
    net = Network(specs, (32, 32), np.random.default_rng(seed), dtype)
    # biases are zero after initialisation: give them values so they are checked too
    rng = np.random.default_rng(seed + 1)
    net.set_params({k: v + (rng.normal(0, 0.1, v.shape) if k.endswith(".b") else 0)
                    for k, v in net.get_params().items()})
    return modelfile.Model(
        net, tuple("KXYZ7"), "classifier",
        training={"optimizer": "adam", "lr": np.float64(0.003), "hidden": (12, 7),
                  "epochs": np.int64(4)},
        history={"train_loss": [np.float32(2.5), 1.25], "valid_acc": [0.5, np.float64(0.75)]},
        scores={"valid_accuracy": 0.75, "test_accuracy": np.float32(0.5)},
        created="2024-05-01T12:00:00+00:00")


def sample_inputs(n=40, seed=7):
    return np.random.default_rng(seed).random((n, 32, 32)).astype(np.float32)


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


class RecordingUnpickler(pickle.Unpickler):
    """A plain unpickler that notes every global the stream asks for."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.globals = set()

    def find_class(self, module, name):
        self.globals.add((module, name))
        return super().find_class(module, name)


# -- round trip --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip(tmp_path, dtype):
    model = small_model(dtype)
    x = sample_inputs()
    path = tmp_path / "m.pkl"
    modelfile.save(model, path)
    loaded = modelfile.load(path)

    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    # the probabilities are not all alike, so equal predictions mean something
    assert len(set(model.predict(x).tolist())) > 1
    assert loaded.network.dtype == np.dtype(dtype)
    for key, value in model.network.get_params().items():
        np.testing.assert_array_equal(loaded.network.get_params()[key], value)
        assert loaded.network.get_params()[key].dtype == value.dtype
    assert loaded.network.specs == model.network.specs
    assert loaded.network.input_shape == (32, 32)
    assert loaded.classes == tuple("KXYZ7")
    assert loaded.kind == "classifier"
    assert loaded.created == "2024-05-01T12:00:00+00:00"
    assert loaded.source == str(path)
    assert loaded.training == {"optimizer": "adam", "lr": 0.003, "hidden": [12, 7], "epochs": 4}
    assert loaded.history == {"train_loss": [2.5, 1.25], "valid_acc": [0.5, 0.75]}
    assert loaded.scores == {"valid_accuracy": 0.75, "test_accuracy": 0.5}
    # metadata comes back as plain Python values, not numpy scalars
    assert type(loaded.training["lr"]) is float and type(loaded.training["epochs"]) is int
    assert all(type(v) is float for v in loaded.history["train_loss"])


def test_model_file_is_a_plain_dict_pickle(tmp_path):
    path = tmp_path / "m.pkl"
    modelfile.save(small_model(), path)
    unpickler = RecordingUnpickler(path.read_bytes())
    obj = unpickler.load()
    assert type(obj) is dict
    assert unpickler.globals <= NUMPY_GLOBALS, unpickler.globals - NUMPY_GLOBALS
    assert obj["format"] == "ocrkit-model" and obj["version"] == 1
    assert obj["kind"] == "classifier"
    assert obj["classes"] == list("KXYZ7")
    assert obj["input_shape"] == [32, 32]
    assert set(obj["params"]) == {"1.W", "1.b", "2.W", "2.b", "3.W", "3.b"}
    assert all(type(v) is np.ndarray and not v.dtype.hasobject for v in obj["params"].values())
    assert obj["params"]["1.W"].shape == (1024, 12)
    # everything but the arrays is JSON-able plain data
    rest = {k: v for k, v in obj.items() if k != "params"}
    assert json.loads(json.dumps(rest)) == rest


def test_save_leaves_no_temporary_file_and_overwrites(tmp_path):
    path = tmp_path / "m.pkl"
    modelfile.save(small_model(seed=1), path)
    modelfile.save(small_model(seed=2), path)
    assert listing(tmp_path) == ["m.pkl"]
    x = sample_inputs()
    np.testing.assert_array_equal(modelfile.load(path).predict_proba(x),
                                  small_model(seed=2).predict_proba(x))


def test_save_into_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(OcrkitError, match="cannot write"):
        modelfile.save(small_model(), tmp_path / "nowhere" / "m.pkl")
    assert listing(tmp_path) == []


def test_saved_model_has_the_usual_file_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = tmp_path / "m.pkl"
        modelfile.save(small_model(), path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    finally:
        os.umask(umask)


# -- committees --------------------------------------------------------------------------------
def test_a_committee_averages_its_networks_and_survives_a_round_trip(tmp_path):
    from click.testing import CliRunner
    from ocrkit.cli import main
    a, b, c = (small_model(seed=s) for s in (3, 5, 9))
    for m, name in zip((a, b, c), "abc"):
        modelfile.save(m, tmp_path / f"{name}.pkl")
        m.source = str(tmp_path / f"{name}.pkl")
    x = sample_inputs()
    mean = (a.predict_proba(x) + b.predict_proba(x) + c.predict_proba(x)) / 3
    # a committee of a committee and a model is the committee of all three
    result = CliRunner().invoke(main, ["committee", str(tmp_path / "a.pkl"),
                                       str(tmp_path / "b.pkl"), "-o", str(tmp_path / "ab.pkl")])
    assert result.exit_code == 0, result.output
    ab = modelfile.load(tmp_path / "ab.pkl")
    joined = modelfile.committee([ab, c])
    modelfile.save(joined, tmp_path / "abc.pkl")
    loaded = modelfile.load(tmp_path / "abc.pkl")
    assert len(loaded.networks) == 3
    np.testing.assert_allclose(loaded.predict_proba(x), mean, rtol=1e-5, atol=1e-7)
    assert not np.allclose(loaded.predict_proba(x), a.predict_proba(x))
    assert loaded.training["optimizer"] == "adam" and loaded.scores == {}
    assert len(loaded.member_training) == 2 and loaded.member_training[1]["epochs"] == 4
    # a single model is still written as format version 1, which older ocrkit reads
    assert pickle.loads((tmp_path / "a.pkl").read_bytes())["version"] == 1
    assert pickle.loads((tmp_path / "abc.pkl").read_bytes())["version"] == 2


def test_a_committee_asks_its_other_networks_only_where_its_first_is_unsure(monkeypatch):
    a, b, c = (small_model(seed=s) for s in (3, 5, 9))
    joined = modelfile.committee([a, b, c])
    x = sample_inputs()
    first = a.predict_proba(x)
    mean = (first + b.predict_proba(x) + c.predict_proba(x)) / 3
    threshold = float(np.median(first.max(axis=1)))
    monkeypatch.setattr(modelfile, "CASCADE", threshold)
    sure = first.max(axis=1) >= threshold
    assert 0 < sure.sum() < len(x)
    got = joined.predict_proba(x)
    np.testing.assert_array_equal(got[sure], first[sure])
    np.testing.assert_allclose(got[~sure], mean[~sure], rtol=1e-5, atol=1e-7)

def test_a_committee_is_of_classifiers_over_the_same_classes(tmp_path):
    a, b = small_model(seed=3), small_model(seed=5)
    b.classes = tuple("KXYZ8")
    with pytest.raises(OcrkitError, match="share their classes"):
        modelfile.committee([a, b])
    with pytest.raises(OcrkitError, match="at least two"):
        modelfile.committee([a])
    # a member whose arrays do not fit its architecture is refused, and named
    d = modelfile.committee([a, small_model(seed=5)]).to_dict()
    d["members"][0]["params"]["1.W"] = np.zeros((3, 3), np.float32)
    (tmp_path / "bad.pkl").write_bytes(pickle.dumps(d))
    with pytest.raises(OcrkitError, match="committee member 1: parameter 1.W has shape"):
        modelfile.load(tmp_path / "bad.pkl")
    d["members"] = [{"architecture": "flatten"}]
    (tmp_path / "bad.pkl").write_bytes(pickle.dumps(d))
    with pytest.raises(OcrkitError, match="'members' is not a list"):
        modelfile.load(tmp_path / "bad.pkl")


# -- atomic writes -----------------------------------------------------------------------------
@pytest.fixture
def good_model_file(tmp_path):
    path = tmp_path / "good.pkl"
    modelfile.save(small_model(seed=5), path)
    return path, path.read_bytes()


def _failing_dump(exc):
    def dump(obj, f, *args, **kwargs):
        f.write(b"\x80\x05half a model " * 200)   # some bytes reach the file, then it fails
        f.flush()
        raise exc
    return dump


@pytest.mark.parametrize("exc, expected", [
    (RuntimeError("disk on fire"), RuntimeError),
    (KeyboardInterrupt(), KeyboardInterrupt),
    (OSError(28, "No space left on device"), OcrkitError),
])
def test_failed_write_keeps_the_old_file(good_model_file, monkeypatch, exc, expected):
    path, before = good_model_file
    monkeypatch.setattr(pickle, "dump", _failing_dump(exc))
    with pytest.raises(expected) as info:
        modelfile.save(small_model(seed=9), path)
    monkeypatch.undo()
    if expected is OcrkitError:
        assert "No space left" in str(info.value) and str(path) in str(info.value)
    assert path.read_bytes() == before
    assert listing(path.parent) == ["good.pkl"]
    modelfile.load(path)   # still a good model


def test_unpicklable_model_keeps_the_old_file(good_model_file):
    path, before = good_model_file
    bad = small_model(seed=9)
    bad.training["callback"] = lambda: None       # a lambda cannot be pickled
    with pytest.raises(Exception) as info:
        modelfile.save(bad, path)
    assert isinstance(info.value, (pickle.PicklingError, AttributeError, TypeError))
    assert path.read_bytes() == before
    assert listing(path.parent) == ["good.pkl"]


# -- malicious pickles -------------------------------------------------------------------------
class Reduce:
    """Pickles as a call of `fn(*args)`: what an attacker's pickle holds."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


class CallableReduce(Reduce):
    """A Reduce used as the callable of another (pickle insists the callable is callable)."""

    def __call__(self, *args):
        raise AssertionError("never called while pickling")


def _touch_cmd(marker):
    return f"touch '{marker}'"


PAYLOADS = {
    "os.system": lambda m: Reduce(os.system, (_touch_cmd(m),)),
    "subprocess.call": lambda m: Reduce(subprocess.call, (["touch", str(m)],)),
    "builtins.eval": lambda m: Reduce(builtins.eval, (f"open({str(m)!r}, 'w').close()",)),
    "builtins.exec": lambda m: Reduce(builtins.exec, (f"open({str(m)!r}, 'w').close()",)),
    # getattr(__import__('os'), 'system')('touch ...')
    "getattr-chain": lambda m: Reduce(
        CallableReduce(builtins.getattr, (Reduce(builtins.__import__, ("os",)), "system")),
        (_touch_cmd(m),)),
    # getattr(__import__('builtins'), 'eval')("...")
    "getattr-eval": lambda m: Reduce(
        CallableReduce(builtins.getattr, (Reduce(builtins.__import__, ("builtins",)), "eval")),
        (f"open({str(m)!r}, 'w').close()",)),
    # a model-looking dict with the payload deep inside
    "nested-in-dict": lambda m: {
        "format": "ocrkit-model", "version": 1, "kind": "classifier",
        "params": {"1.W": [{"a": ({"b": [[[{"c": Reduce(os.system, (_touch_cmd(m),))}]]]},)}]}},
    # the payload as an element of an object array
    "in-object-array": lambda m: {"params": np.array([1, Reduce(os.system, (_touch_cmd(m),))],
                                                     dtype=object)},
}


def _payload_bytes(name, marker, protocol):
    return pickle.dumps(PAYLOADS[name](marker), protocol=protocol)


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_malicious_pickles_are_refused_and_never_run(tmp_path, name, protocol):
    # the payload is live: plain pickle.loads runs it
    live = tmp_path / "live-marker"
    pickle.loads(_payload_bytes(name, live, protocol))
    assert live.exists(), "the test payload does not work"

    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(_payload_bytes(name, marker, protocol))
    with pytest.raises(OcrkitError) as info:
        modelfile.load(path)
    message = str(info.value)
    assert "refused" in message and str(path) in message
    assert "\n" not in message
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        modelfile.safe_unpickle(path.read_bytes())
    assert not marker.exists()


def test_handwritten_protocol0_payload_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    for data in (f"cos\nsystem\n(S'touch {marker}'\ntR.".encode(),
                 f"c__builtin__\neval\n(S'open(\"{marker}\", \"w\").close()'\ntR.".encode()):
        path = tmp_path / "evil.pkl"
        path.write_bytes(data)
        with pytest.raises(OcrkitError, match="refused"):
            modelfile.load(path)
    assert not marker.exists()


def test_object_array_is_refused(tmp_path):
    path = tmp_path / "objects.pkl"
    d = small_model().to_dict()
    d["params"]["1.b"] = np.array([1, "two", None] * 4, dtype=object)
    path.write_bytes(pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL))
    with pytest.raises(OcrkitError, match="Python objects"):
        modelfile.load(path)
    with pytest.raises(pickle.UnpicklingError):
        modelfile.safe_unpickle(pickle.dumps({"a": [{"b": np.array([{}], dtype=object)}]}))


# -- bad files ---------------------------------------------------------------------------------
def test_truncated_model_file(tmp_path):
    good = tmp_path / "good.pkl"
    modelfile.save(small_model(), good)
    data = good.read_bytes()
    path = tmp_path / "half.pkl"
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(OcrkitError) as info:
        modelfile.load(path)
    assert "not an ocrkit model file" in str(info.value) and str(path) in str(info.value)
    # every truncation point fails the same clear way, never with another exception
    for cut in range(1, len(data), max(1, len(data) // 97)):
        path.write_bytes(data[:cut])
        with pytest.raises(OcrkitError, match="not an ocrkit model file"):
            modelfile.load(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pkl"
    path.write_bytes(b"")
    with pytest.raises(OcrkitError, match="empty file"):
        modelfile.load(path)


def test_text_file(tmp_path):
    path = tmp_path / "notes.pkl"
    path.write_text("These are my notes, not a model.\n")
    with pytest.raises(OcrkitError, match="not an ocrkit model file"):
        modelfile.load(path)


def test_pickle_of_a_list(tmp_path):
    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(OcrkitError, match="holds a list"):
        modelfile.load(path)


def test_directory(tmp_path):
    folder = tmp_path / "model.pkl"
    folder.mkdir()
    with pytest.raises(OcrkitError, match="is a folder"):
        modelfile.load(folder)


def test_missing_file(tmp_path):
    with pytest.raises(OcrkitError, match="cannot read"):
        modelfile.load(tmp_path / "absent.pkl")


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.pop("format"), "not an ocrkit model"),
    (lambda d: d.update(version=99), "newer"),
    (lambda d: d.update(kind="toaster"), "unknown model kind"),
    (lambda d: d["params"].pop("2.W"), "do not match"),
    (lambda d: d["params"].update({"1.W": np.zeros((3, 3), np.float32)}), "shape"),
    (lambda d: d.update(architecture=[{"type": "warp-drive"}]), "unknown layer type"),
    (lambda d: d.update(input_shape=[28, 28]), "32x32"),
    (lambda d: d.update(classes=list("KXYZ")), "5 outputs for 4 classes"),
    (lambda d: d.update(classes=[1, 2, 3, 4, 5]), "not a list of strings"),
    (lambda d: d.update(classes=list("KXYZK")), "must be distinct"),
    (lambda d: d["params"].update({"1.W": [[0.0]]}), "named arrays"),
    (lambda d: d["params"].update({"1.b": np.zeros(12, np.int64)}), "dtype"),
    (lambda d: d.update(training=[1, 2]), "'training' is not a dict"),
    (lambda d: d.update(architecture="flatten"), "not a list of layer specs"),
    (lambda d: d.update(kind="autoencoder"), "autoencoder with 5 outputs"),
    (lambda d: d["architecture"][1].pop("units"), "units"),
])
def test_plain_dict_that_is_not_a_usable_model(tmp_path, change, expected):
    d = small_model().to_dict()
    change(d)
    path = tmp_path / "odd.pkl"
    path.write_bytes(pickle.dumps(d))
    with pytest.raises(OcrkitError, match=expected):
        modelfile.load(path)


# -- HW5 weight pickles ------------------------------------------------------------------------
def test_hw5_weights_score_on_nist26(hw5_path, nist26_path):
    model = modelfile.load(hw5_path)
    assert model.classes == NIST36
    ds = load_dataset(str(nist26_path), "all")
    assert len(ds) == 1300 and len(ds.classes) == 26
    report = classifier_report(model, ds)
    assert report["n"] == 1300
    assert report["accuracy"] >= 0.78


def _hw5_forward(d, x):
    h = 1.0 / (1.0 + np.exp(-(x @ d["Wlayer1"] + d["blayer1"].reshape(-1))))
    z = h @ d["Woutput"] + d["boutput"].reshape(-1)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_hw5_conversion_matches_the_homework_computation(hw5_path, nist26_path):
    scipy_io = pytest.importorskip("scipy.io")
    d = modelfile.safe_unpickle(hw5_path.read_bytes())
    assert {"Wlayer1", "blayer1", "Woutput", "boutput"} <= set(d)
    raw = scipy_io.loadmat(str(nist26_path))["valid_data"].astype(np.float64)

    model = modelfile.load(hw5_path)
    ds = load_dataset(str(nist26_path), "all")
    ours_p = model.predict_proba(ds.x)
    ours = model.predict(ds.x)

    # exact: the homework network on the same (clipped to [0, 1]) inputs gives the same
    # probabilities, up to float32 rounding
    expected_p = _hw5_forward(d, np.clip(raw, 0.0, 1.0))
    np.testing.assert_allclose(ours_p, expected_p, atol=2e-5)
    assert np.mean(ours == expected_p.argmax(axis=1)) >= 0.998

    # on the raw rows (values about -0.14..1.12) only the clipping differs: measured 99.2%
    agree = np.mean(ours == _hw5_forward(d, raw).argmax(axis=1))
    assert agree >= 0.99, agree


def test_hw5_model_saves_as_an_ocrkit_model(hw5_path, nist26_path, tmp_path):
    model = modelfile.load(hw5_path)
    path = tmp_path / "hw5.pkl"
    modelfile.save(model, path)
    again = modelfile.load(path)
    assert "Wlayer1" not in modelfile.safe_unpickle(path.read_bytes())
    x = load_dataset(str(nist26_path), "all").x[:200]
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))
    assert again.training.get("imported_from")

"""Hostile and broken input (issue 13), one test per defect found: each failed on the code
before the fix (a traceback, gigabytes, a segfault, a hang or a lost file) and passes now.
Anything that could crash or hang the test process runs in a child under a limit."""
from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from ocrkit import modelfile
from ocrkit.data import load_dataset
from ocrkit.engine import Network
from ocrkit.engine.network import MAX_PARAMETERS, plan
from ocrkit.engine.specs import arch_specs, mlp_specs
from ocrkit.errors import OcrkitError
from ocrkit.files import atomic_write, clean_temporary, read_limited
from ocrkit.train import Trainer, TrainingDiverged
from test_cli_errors import error_line, run, save_mat, save_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def in_child(code: str, memory_gb: float = 1.5, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run python `code` in a child with its address space capped; it must finish in time."""
    limit = int(memory_gb * 2**30)
    prelude = ("import resource; resource.setrlimit(resource.RLIMIT_AS, "
               f"({limit}, {limit}))\n")
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))


def model_dict(**specs_override) -> dict:
    specs = [{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "sigmoid"},
             {"type": "dense", "units": 36, "activation": "softmax"}]
    return modelfile.Model(Network(specs, (32, 32), np.random.default_rng(0))).to_dict()


def write(tmp_path, obj, name="m.pkl", protocol=pickle.HIGHEST_PROTOCOL):
    path = tmp_path / name
    path.write_bytes(obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=protocol))
    return path


# -- model files -------------------------------------------------------------------------------
def test_architecture_is_checked_against_its_arrays_before_anything_is_allocated(tmp_path):
    """A 35 KB file declaring 1,000,000 units (or 100,000 filters) made load allocate 9.4 GB."""
    for change in ({"units": 1_000_000}, None):
        d = model_dict()
        if change:
            d["architecture"][1].update(change)
        else:
            d["architecture"].insert(0, {"type": "conv2d", "filters": 100_000, "kernel": 1})
        path = write(tmp_path, d)
        child = in_child(f"""
            from ocrkit import modelfile
            from ocrkit.errors import OcrkitError
            try:
                modelfile.load({str(path)!r})
            except OcrkitError as exc:
                print("refused:", exc)
            """, memory_gb=1.0)
        assert child.returncode == 0 and "refused:" in child.stdout, child.stderr[-500:]
        assert "limit" in child.stdout


def test_a_network_over_the_parameter_limit_is_refused_before_it_is_built():
    with pytest.raises(ValueError, match="25,000,000"):
        Network(mlp_specs([100_000], "relu", 36), (32, 32))
    # the plan agrees with what a network really holds, layer type by layer type
    for arch in ("conv32-pool-conv64-pool-fc256-drop0.3", "conv8bn-conv8k5s2v-pool3-fc16bn",
                 "conv4s2-conv4s2-fc8"):
        specs = arch_specs(arch, 36)
        net, planned = Network(specs, (32, 32)), plan(specs, (32, 32))
        assert {k: v.shape for k, v in net.get_params().items()} == planned.arrays
        assert planned.output_shape == net.output_shape == (36,)
        assert planned.values == sum(v.size for v in net.get_params().values()) < MAX_PARAMETERS


def test_shared_reference_dag_costs_linear_time(tmp_path):
    """40 lists each holding the next twice: 2**40 visits in the old _check_plain."""
    x: list = []
    for _ in range(40):
        x = [x, x]
    d = model_dict()
    d["history"] = {"h": x}
    path = write(tmp_path, d)
    start = time.perf_counter()
    with pytest.raises(OcrkitError, match="shared references"):
        modelfile.load(path)
    assert time.perf_counter() - start < 5


def test_codec_other_than_latin1_is_one_clear_refusal(tmp_path):
    data = pickle.dumps(model_dict(), protocol=2).replace(b"latin1", b"nosuch")
    with pytest.raises(OcrkitError, match="refused: _codecs.encode with codec 'nosuch'"):
        modelfile.load(write(tmp_path, data))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused(tmp_path, value):
    d = model_dict()
    d["params"]["1.W"][3, 4] = value
    with pytest.raises(OcrkitError, match="1.W holds NaN or infinite"):
        modelfile.load(write(tmp_path, d))


def test_model_file_size_is_capped(tmp_path):
    path = tmp_path / "huge.pkl"
    with open(path, "wb") as f:
        f.truncate(modelfile.MAX_FILE_BYTES + 1)        # sparse: no disk used
    with pytest.raises(OcrkitError, match="larger than a model file may be"):
        modelfile.load(path)


@pytest.mark.parametrize("name, data", [
    # an ndarray's state with object dtype and no objects: numpy segfaults
    ("object-array-state", b"\x80\x04cnumpy._core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
     b"J\x00\x00\x00\x00\x85C\x01b\x87R(K\x01J\x03\x00\x00\x00\x85cnumpy\ndtype\nX\x01\x00\x00"
     b"\x00O\x89\x88\x87R\x89]tb."),
    # a tuple nested a million deep as a dict key: hash() recurses in C and segfaults
    ("deep-tuple-key", b"\x80\x04}" + b")" + b"\x85" * 1_000_000 + b"Ns."),
    # a bytearray declaring a terabyte: pickle's Python loader allocates it before reading
    ("bytearray8", b"\x80\x05\x96" + struct.pack("<Q", 1 << 40) + b"."),
    # numpy.ndarray called directly with a huge shape: 8 GB of Python objects
    ("ndarray-call", b"\x80\x04cnumpy\nndarray\n(J\x00\xe1\xf5\x05\x85X\x01\x00\x00\x00O"
     b"tR."),
])
def test_pickles_that_crashed_the_loader_are_refused(tmp_path, name, data):
    path = write(tmp_path, data)
    child = in_child(f"""
        from ocrkit import modelfile
        from ocrkit.errors import OcrkitError
        try:
            modelfile.load({str(path)!r})
        except OcrkitError as exc:
            print("refused:", exc)
        """, memory_gb=2.0)
    assert child.returncode == 0, (child.returncode, child.stderr[-500:])
    assert "refused:" in child.stdout


def test_inspect_shows_odd_metadata_in_one_piece(tmp_path):
    d = model_dict()
    d["history"] = {"train_loss": 7}                 # not a list: len() was a traceback
    d["scores"] = {3: b"\x00bytes", "x": {1: {2.5, 3.5}}}
    d["training"] = {"note": "\x1b[31mred\x1b[0m\nsecond line"}
    d["created"] = "2024\x07"
    path = write(tmp_path, d)
    result = run("inspect", path)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b[31mred" in result.stdout and "second line" in result.stdout
    result = run("inspect", path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert '"3": "b\'\\\\x00bytes\'"' in result.stdout


# -- training ----------------------------------------------------------------------------------
def blobs(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 1, (3, 4, 4)).astype(np.float32)[y] + rng.normal(0, 0.3, (n, 4, 4))
    return x.astype(np.float32), y


def test_exploding_loss_is_divergence_within_the_first_epoch():
    """Adam at lr 1e6 kept a finite loss (1e15) and ran to the end."""
    from ocrkit.engine import Adam, SoftmaxCrossEntropy
    x, y = blobs()
    net = Network(mlp_specs([16], "relu", 3), (4, 4), np.random.default_rng(0))
    trainer = Trainer(net, SoftmaxCrossEntropy(), Adam(1e6), epochs=3, progress=False)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, batch \d+: .*over 100 times its first"):
        trainer.fit(x, y)


@pytest.fixture
def mat(tmp_path):
    return save_mat(tmp_path / "set.mat")


def test_diverging_adam_never_overwrites_a_good_model(tmp_path, mat):
    good = save_model(tmp_path / "good.pkl")
    before = good.read_bytes()
    line = error_line(run("train", mat, "--optimizer", "adam", "--lr", "1e6", "--hidden", "16",
                          "--epochs", "2", "-o", good, "--plots", tmp_path / "p"))
    assert "diverged" in line and "nothing was written to" in line
    assert good.read_bytes() == before


def test_ctrl_c_keeps_the_checkpoint_and_resume_continues(tmp_path, mat, monkeypatch):
    """The checkpoint was deleted after an interrupted run's save, so --resume failed."""
    from ocrkit import train as train_module
    original = train_module.Trainer._train_epoch

    def interrupted_in_epoch_2(self, x, target, order, rng, epoch, show):
        if epoch == 1:
            raise KeyboardInterrupt
        return original(self, x, target, order, rng, epoch, show)

    out = tmp_path / "m.pkl"
    args = ["train", mat, "--hidden", "8", "--epochs", "3", "-o", out, "--plots", tmp_path / "p"]
    monkeypatch.setattr(train_module.Trainer, "_train_epoch", interrupted_in_epoch_2)
    result = run(*args)
    monkeypatch.undo()
    assert result.exit_code == 130 and "--resume" in result.stderr
    assert out.exists() and (tmp_path / "m.pkl.ckpt").exists()
    result = run(*args, "--resume")
    assert result.exit_code == 0, result.output
    assert len(modelfile.load(out).history["train_loss"]) == 3
    assert not (tmp_path / "m.pkl.ckpt").exists()


@pytest.mark.parametrize("args, option", [
    (["train", "MAT", "--seed", "-1"], "--seed"),
    (["train", "MAT", "--hidden", "2000000"], "--hidden"),
    (["train", "MAT", "--hidden", "100000"], "--hidden"),
    (["train", "MAT", "--lr", "nan"], "--lr"),
    (["train", "MAT", "--lr", "inf"], "--lr"),
    (["train", "MAT", "--weight-decay", "nan"], "--weight-decay"),
    (["train", "MAT", "--batch-size", "1000000000"], "--batch-size"),
    (["train", "MAT", "--epochs", "99999999999"], "--epochs"),
    (["train", "synth", "--size", "999999999"], "--size"),
    (["train", "MAT", "--arch", "fc99999999"], "--arch"),
    (["autoencode", "synth", "--noise", "nan"], "--noise"),
    (["autoencode", "synth", "--seed", "-1"], "--seed"),
    (["autoencode", "synth", "--lr", "-inf"], "--lr"),
    (["finetune", "MODEL", "MAT", "--head-lr", "nan"], "--head-lr"),
    (["finetune", "MODEL", "MAT", "--seed", "99999999999"], "--seed"),
    (["finetune", "MODEL", "MAT", "--train-per-class", "0"], "--train-per-class"),
    (["evaluate", "MODEL", "synth", "--size", "-5"], "--size"),
    (["confusion", "MODEL", "MAT", "--top", "0"], "--top"),
    (["synth", "page", "NOTE", "-o", "p.png", "--char-height", "nan"], "--char-height"),
    (["synth", "chars", "-o", "g.png", "--seed", "-1"], "--seed"),
])
def test_numeric_options_are_range_checked_by_click(tmp_path, mat, args, option):
    model = save_model(tmp_path / "good.pkl")
    (tmp_path / "note.txt").write_text("HI\n")
    subst = {"MAT": mat, "MODEL": model, "NOTE": tmp_path / "note.txt"}
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run(*[subst.get(a, a) for a in args])
    line = error_line(result)
    assert result.exit_code == 2 and option in line
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_out_of_memory_names_the_command_and_what_to_try(tmp_path):
    """The message was the training one (--batch-size) for every command. A real 1 GB
    EMNIST-like file (1 MB of gzip) read under a 1.5 GB address space runs out of memory."""
    n = (1 << 30) // 784 - 10
    images = tmp_path / "emnist-byclass-test-images-idx3-ubyte.gz"
    with gzip.open(images, "wb", compresslevel=1) as f:
        f.write(struct.pack(">iiii", 2051, n, 28, 28))
        block = bytes(1 << 20)
        for _ in range(n * 784 >> 20):
            f.write(block)
        f.write(bytes(n * 784 - (n * 784 >> 20 << 20)))
    idx_file(tmp_path / "emnist-byclass-test-labels-idx1-ubyte.gz", 2049, (n,), bytes(n))
    child = in_child(f"""
        import sys
        from ocrkit.cli import main
        sys.argv = ["ocrkit", "evaluate", "models/default.pkl", {str(images)!r}]
        main()
        """, memory_gb=1.5)
    assert child.returncode == 1, child.stderr[-500:]
    assert "Traceback" not in child.stderr
    last = child.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: out of memory in 'ocrkit evaluate'"), last
    assert "--batch-size" not in last


# -- datasets -----------------------------------------------------------------------------------
@pytest.mark.parametrize("data, expected", [
    (scipy.sparse.random(40, 1024, 0.1, random_state=0, format="csc"), "sparse"),
    ("cell", "cell"),
    (np.full((40, 1024), np.nan), "NaN"),
    (np.zeros((40, 1024)) + 1j, "not a numeric matrix"),
])
def test_mat_with_odd_arrays_is_one_clear_error(tmp_path, data, expected):
    """A sparse or cell train_data was a TypeError or ValueError traceback."""
    path = tmp_path / "odd.mat"
    if isinstance(data, str):               # a cell array: one 1024-vector a cell
        data = np.empty((40, 1), dtype=object)
        for i in range(40):
            data[i, 0] = np.zeros(1024)
    scipy.io.savemat(str(path), {"train_data": data, "train_labels": np.eye(36)[np.arange(40) % 36]})
    with pytest.raises(OcrkitError, match=expected):
        load_dataset(str(path), "all")


def idx_file(path, magic, dims, data: bytes):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">i", magic) + b"".join(struct.pack(">i", d) for d in dims) + data)
    return path


def test_emnist_of_another_size_is_one_clear_error(tmp_path):
    """32x32 images were a broadcasting traceback in emnist_to_canonical."""
    images = idx_file(tmp_path / "emnist-byclass-test-images-idx3-ubyte.gz", 2051, (3, 32, 32),
                      bytes(3 * 32 * 32))
    idx_file(tmp_path / "emnist-byclass-test-labels-idx1-ubyte.gz", 2049, (3,), bytes(3))
    with pytest.raises(OcrkitError, match="32x32 pixels; EMNIST's are 28x28"):
        load_dataset(str(images), "all")


@pytest.mark.parametrize("dims", [(2**20, 2**12, 2**12), (-1, 28, 28), (2**31 - 1, 28, 28)])
def test_idx_header_that_overflows_or_lies_reads_nothing(tmp_path, dims):
    """n*rows*cols overflowed int32 to 0 (a reshape traceback); a huge count was read in full."""
    images = idx_file(tmp_path / "emnist-byclass-test-images-idx3-ubyte.gz", 2051, dims,
                      bytes(1000))
    idx_file(tmp_path / "emnist-byclass-test-labels-idx1-ubyte.gz", 2049, (1,), bytes(1))
    with pytest.raises(OcrkitError, match="more than the file can hold"):
        load_dataset(str(images), "all")


def test_folder_with_a_fifo_is_read_without_it(tmp_path):
    """Opening a FIFO named like an image blocked the loader forever."""
    from PIL import Image
    for c in "AB":
        (tmp_path / "chars" / c).mkdir(parents=True)
        a = np.full((30, 20), 255, np.uint8)
        a[5:25, 8:12] = 0
        if c == "B":
            a[5:9, 4:16] = 0
        Image.fromarray(a).save(tmp_path / "chars" / c / "0.png")
    os.mkfifo(tmp_path / "chars" / "A" / "pipe.png")
    child = in_child(f"""
        from ocrkit.data import load_dataset
        ds = load_dataset({str(tmp_path / "chars")!r}, "all")
        print(len(ds), ds.info["skipped"])
        """, timeout=60)
    assert child.stdout.split() == ["2", "['pipe.png']"], child.stderr[-500:]


# -- files -----------------------------------------------------------------------------------------
def test_read_limited_refuses_fifos_folders_and_large_files(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder").mkdir()
    (tmp_path / "big").write_bytes(b"x" * 101)
    for name, expected in (("pipe", "not a regular file"), ("folder", "is a folder"),
                           ("big", "larger than"), ("absent", "cannot read")):
        with pytest.raises(OcrkitError, match=expected):
            read_limited(tmp_path / name, 100, "thing")
    assert read_limited(tmp_path / "big", 101) == b"x" * 101


def test_model_writes_clean_their_old_temporary_files(tmp_path):
    """A kill -9 mid-save left .m.pkl.*.tmp for ever."""
    stale, fresh, other = (tmp_path / ".m.pkl.abc.tmp", tmp_path / ".m.pkl.def.tmp",
                           tmp_path / ".other.pkl.abc.tmp")
    for p in (stale, fresh, other):
        p.write_bytes(b"half a model")
    hour_ago = time.time() - 7200
    os.utime(stale, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))
    modelfile.save(modelfile.Model.from_dict(model_dict()), tmp_path / "m.pkl")
    assert not stale.exists() and fresh.exists() and other.exists()   # only its own, only old
    assert clean_temporary(tmp_path) == 1 and not other.exists()


def test_a_failed_figure_write_keeps_the_old_figure(tmp_path, monkeypatch):
    """Figures were written in place: a full disk tore the old one."""
    from ocrkit import files, plots
    path = tmp_path / "grid.png"
    plots.sample_grid(np.zeros((3, 32, 32), np.float32), path)
    before = path.read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_disk)
    with pytest.raises(OcrkitError, match="No space left"):
        plots.sample_grid(np.ones((3, 32, 32), np.float32), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]


def test_crops_never_leave_their_folder(tmp_path):
    """A label (a model's class name, or the truth) holding '../' wrote outside --crops."""
    from ocrkit.data.crops import save_crops
    from ocrkit.page.model import Char, Line, Page, Word
    image = np.zeros((32, 32), np.float32)
    chars = [Char(label, (0, 0, 5, 5), 0.9, [], image)
             for label in ("A", "../escaped", "..", "/", "B")]
    page = Page("page.png", (100, 100))
    page.lines.append(Line([Word(chars)]))
    crops = tmp_path / "crops"
    saved = save_crops(page, crops)
    assert saved["written"] == 2
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png")) == [
        "crops/A/page-001-001.png", "crops/B/page-001-005.png"]
    with pytest.raises(OcrkitError):
        save_crops(page, crops, name="../x")
    atomic_write(crops / "A" / "check.txt", "ok")       # the folder is still a plain folder


# -- pages and crops: what the page fuzz targets found ---------------------------------------
def test_pages_too_small_to_hold_text_are_one_clear_refusal():
    from ocrkit import Reader
    for tiny in (np.zeros((1, 2), np.uint8), np.zeros((7, 500), np.uint8), np.uint8(3)):
        with pytest.raises(OcrkitError, match="pixel|image"):
            Reader().read(tiny)


def test_smoothing_keeps_its_length_on_working_images_of_a_few_rows_or_columns():
    # np.convolve(x, kernel, "same") has the kernel's length when x is shorter: a broadcast
    # ValueError on pages whose working image had fewer rows than the kernel (page_array)
    from ocrkit.page import clean
    from ocrkit.page.segment import cut_columns
    mask = np.zeros((2, 300), bool)
    mask[0] = True
    assert clean._rule_rows(mask, 10.0, 1.0).shape[0] <= 2
    assert cut_columns(np.ones((5, 2), bool), 3.0, 1.0) == []


def test_a_page_whose_every_line_is_junk_reads_as_blank():
    # an 85x85 noise page (page_array, seed 2027): on a page read by the cuts every line was
    # junk to the two models, and the cuts were asked to read no lines at all (a ValueError
    # from np.stack)
    from fuzz_targets import page_array
    from ocrkit import Reader
    page = Reader().read(page_array({"scale": "byte", "dtype": "int32", "nan": 0.0001,
                                     "inf": 0.0, "content": "noise", "shape": (85, 85, 1),
                                     "seed": 85}))
    assert all(0 <= c.confidence <= 1 for c in page.chars)

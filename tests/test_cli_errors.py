"""User mistakes through the CLI: a non-zero exit, one clear `Error:` line, no traceback, and
no existing file damaged."""
from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner

from ocrkit import modelfile
from ocrkit.cli import main
from ocrkit.data import NIST36
from ocrkit.engine import Network


def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:   # click >= 8.2 always keeps stderr apart
        return CliRunner()


def run(*args):
    return runner().invoke(main, [str(a) for a in args])


def error_line(result) -> str:
    """Assert a clean user error and return its one `Error:` line."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    return errors[0]


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def save_mat(path, n_per_class=10, n_classes=36, seed=0, **override):
    """A NIST-layout .mat file whose classes differ by which block of pixels is blank."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_per_class * n_classes) % n_classes
    x = rng.random((len(y), 1024))
    for c in range(n_classes):
        x[y == c, c * 28:(c + 1) * 28] = 0.0
    content = {"train_data": x, "train_labels": np.eye(n_classes)[y]}
    content.update(override)
    scipy.io.savemat(str(path), content)
    return path


def save_model(path, n_classes=36, seed=0):
    specs = [{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "sigmoid"},
             {"type": "dense", "units": n_classes, "activation": "softmax"}]
    net = Network(specs, (32, 32), np.random.default_rng(seed))
    modelfile.save(modelfile.Model(net, NIST36[:n_classes]), path)
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Run in tmp_path (default outputs such as ./plots land there) with no data folders."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCRKIT_DATA", str(empty))
    return tmp_path


@pytest.fixture
def mat36(tmp_path):
    return save_mat(tmp_path / "set36.mat")


@pytest.fixture
def good_model(tmp_path):
    """(path, bytes) of a good 36-class model in its own folder."""
    folder = tmp_path / "models"
    folder.mkdir()
    path = save_model(folder / "good.pkl")
    return path, path.read_bytes()


def assert_untouched(good_model):
    path, before = good_model
    assert path.read_bytes() == before
    assert listing(path.parent) == ["good.pkl"]   # no temporary files, no checkpoints


# -- a control: the same command with good input works -----------------------------------------
def test_good_input_trains_and_evaluates(tmp_path, mat36):
    out = tmp_path / "new.pkl"
    result = run("train", mat36, "--hidden", "8", "--epochs", "1", "-o", out,
                 "--plots", tmp_path / "plots", "-q")
    assert result.exit_code == 0, (result.output, result.exception)
    result = run("evaluate", out, mat36)
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout.startswith("accuracy ")


# -- model files -------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["evaluate", "inspect"])
def test_missing_model_file(tmp_path, mat36, command):
    args = [command, tmp_path / "absent.pkl"] + ([mat36] if command == "evaluate" else [])
    line = error_line(run(*args))
    assert "absent.pkl" in line and ("No such file" in line or "cannot read" in line)


@pytest.mark.parametrize("command", ["evaluate", "inspect"])
def test_model_path_is_a_folder(tmp_path, mat36, command):
    folder = tmp_path / "a-folder.pkl"
    folder.mkdir()
    args = [command, folder] + ([mat36] if command == "evaluate" else [])
    line = error_line(run(*args))
    assert "a-folder.pkl" in line and ("directory" in line or "folder" in line)


@pytest.mark.parametrize("content", [
    b"",
    b"just some text, not a model\n",
    bytes(range(256)) * 4,
    pickle.dumps(["a", "list"]),
])
def test_garbage_model_file(tmp_path, mat36, content):
    path = tmp_path / "garbage.pkl"
    path.write_bytes(content)
    line = error_line(run("evaluate", path, mat36))
    assert "garbage.pkl" in line and ("not an ocrkit model" in line or "empty" in line)
    assert path.read_bytes() == content
    line = error_line(run("inspect", path))
    assert "garbage.pkl" in line


def test_truncated_model_file(tmp_path, good_model):
    path = tmp_path / "half.pkl"
    path.write_bytes(good_model[1][:len(good_model[1]) // 2])
    assert "not an ocrkit model" in error_line(run("inspect", path))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os
        return os.system, (f"touch '{self.marker}'",)


def test_malicious_model_file_is_refused(tmp_path, mat36):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"format": "ocrkit-model", "x": _Evil(marker)}))
    for args in (("inspect", path), ("evaluate", path, mat36)):
        assert "refused" in error_line(run(*args))
    assert not marker.exists()


# -- datasets ----------------------------------------------------------------------------------
def test_unknown_dataset_name(tmp_path, good_model):
    line = error_line(run("evaluate", good_model[0], "nosuchset"))
    assert "nosuchset" in line and "unknown dataset" in line
    out = tmp_path / "out.pkl"
    line = error_line(run("train", "nosuchset", "-o", out, "--plots", tmp_path / "plots"))
    assert "nosuchset" in line
    assert not out.exists() and not (tmp_path / "plots").exists()


def test_missing_dataset_file(tmp_path, good_model):
    missing = tmp_path / "gone" / "set.mat"
    line = error_line(run("evaluate", good_model[0], missing))
    assert "set.mat" in line


@pytest.mark.parametrize("name, filename", [("nist36", "nist36_test.mat"),
                                            ("emnist", "emnist-byclass-test")])
def test_named_dataset_not_downloaded(tmp_path, good_model, name, filename):
    line = error_line(run("evaluate", good_model[0], name, "--data-dir", tmp_path / "no-data"))
    assert filename in line and "not found" in line and "fetch" in line


def test_mat_without_expected_keys(tmp_path, good_model):
    path = tmp_path / "odd.mat"
    scipy.io.savemat(str(path), {"images": np.zeros((4, 1024)), "labels": np.zeros((4, 36))})
    line = error_line(run("evaluate", good_model[0], path))
    assert "odd.mat" in line and "_data" in line and "images" in line
    line = error_line(run("train", path, "-o", tmp_path / "m.pkl", "--plots", tmp_path / "p"))
    assert "odd.mat" in line
    assert not (tmp_path / "m.pkl").exists()


def test_mat_with_labels_of_wrong_width(tmp_path, good_model):
    y = np.arange(40) % 10
    path = save_mat(tmp_path / "ten.mat", train_data=np.random.default_rng(0).random((40, 1024)),
                    train_labels=np.eye(10)[y])
    line = error_line(run("evaluate", good_model[0], path))
    assert "train_labels" in line and "(40, 10)" in line
    line = error_line(run("train", path, "-o", tmp_path / "m.pkl", "--plots", tmp_path / "p"))
    assert "train_labels" in line


def test_mat_with_data_of_wrong_width(tmp_path, good_model):
    path = save_mat(tmp_path / "mnist-like.mat",
                    train_data=np.zeros((36, 784)), train_labels=np.eye(36))
    line = error_line(run("evaluate", good_model[0], path))
    assert "train_data" in line and "784" in line


def test_file_that_is_not_a_mat(tmp_path, good_model):
    path = tmp_path / "fake.mat"
    path.write_text("not matlab at all\n")
    line = error_line(run("evaluate", good_model[0], path))
    assert "fake.mat" in line and ".mat" in line


def test_emnist_images_without_labels_file(tmp_path, good_model):
    path = tmp_path / "emnist-byclass-test-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(np.array([2051, 1, 28, 28], ">i4").tobytes() + bytes(784))
    line = error_line(run("evaluate", good_model[0], path))
    assert "labels" in line


def test_folder_without_class_folders(tmp_path, good_model):
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "readme.txt").write_text("nothing here")
    line = error_line(run("evaluate", good_model[0], folder))
    assert "letters" in line and "class" in line


def test_classes_the_model_does_not_know(tmp_path, mat36):
    model26 = save_model(tmp_path / "letters.pkl", n_classes=26)
    line = error_line(run("evaluate", model26, mat36))
    assert "does not know" in line and "0123456789" in line
    # the same model on letters only is fine: the failure is about the classes
    mat26 = save_mat(tmp_path / "set26.mat", n_classes=26)
    assert run("evaluate", model26, mat26).exit_code == 0


# -- train options -----------------------------------------------------------------------------
@pytest.mark.parametrize("option, value, expected", [
    ("--epochs", "0", "--epochs"),
    ("--epochs", "-3", "--epochs"),
    ("--hidden", "abc", "abc"),
    ("--hidden", "64,0", "positive"),
    ("--lr", "0", "--lr"),
    ("--batch-size", "0", "--batch-size"),
    ("--optimizer", "lbfgs", "lbfgs"),
])
def test_bad_train_option(tmp_path, mat36, good_model, option, value, expected):
    path, _ = good_model
    line = error_line(run("train", mat36, option, value, "-o", path,
                          "--plots", tmp_path / "plots"))
    assert expected in line
    assert_untouched(good_model)
    assert not (tmp_path / "plots").exists()


def test_output_in_missing_folder(tmp_path, mat36):
    out = tmp_path / "no-such-folder" / "m.pkl"
    line = error_line(run("train", mat36, "-o", out, "--plots", tmp_path / "plots"))
    assert "no-such-folder" in line
    assert not out.parent.exists() and not (tmp_path / "plots").exists()


def test_output_under_a_regular_file(tmp_path, mat36):
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file\n")
    line = error_line(run("train", mat36, "-o", blocker / "m.pkl",
                          "--plots", tmp_path / "plots"))
    assert "blocker" in line
    assert blocker.read_text() == "I am a file\n"
    assert not (tmp_path / "plots").exists()


def test_output_is_a_folder(tmp_path, mat36):
    folder = tmp_path / "out.pkl"
    folder.mkdir()
    line = error_line(run("train", mat36, "-o", folder, "--plots", tmp_path / "plots"))
    assert "out.pkl" in line
    assert listing(folder) == []


def test_failed_train_keeps_existing_model(tmp_path, good_model):
    path, _ = good_model
    line = error_line(run("train", tmp_path / "missing.mat", "-o", path,
                          "--plots", tmp_path / "plots"))
    assert "missing.mat" in line
    assert_untouched(good_model)


def test_resume_without_checkpoint(tmp_path, mat36, good_model):
    path, _ = good_model
    line = error_line(run("train", mat36, "--resume", "--epochs", "1", "--hidden", "8",
                          "-o", path, "--plots", tmp_path / "plots"))
    assert "checkpoint" in line
    assert_untouched(good_model)


def test_diverging_training(tmp_path, mat36, good_model):
    """A huge SGD step on ReLU units makes the float32 loss NaN within the first epoch."""
    path, _ = good_model
    result = run("train", mat36, "--lr", "1e20", "--optimizer", "sgd", "--activation", "relu",
                 "--hidden", "16", "--epochs", "2", "--seed", "0", "-o", path,
                 "--plots", tmp_path / "plots")
    line = error_line(result)
    assert "diverged" in line and "--lr" in line
    assert_untouched(good_model)


def test_synth_page_from_a_binary_file_is_one_line(tmp_path):
    binary = tmp_path / "blob.txt"
    binary.write_bytes(bytes(range(128, 256)))
    result = CliRunner().invoke(main, ["synth", "page", str(binary), "-o", str(tmp_path / "p.png")])
    assert result.exit_code == 1 and not (tmp_path / "p.png").exists()
    assert "not a UTF-8 text file" in result.output and "Traceback" not in result.output


# -- ocr: ground truth checked first; figures that cannot be written ---------------------------
@pytest.fixture
def page_png(tmp_path):
    from ocrkit.data.pages import write_page
    image, _ = write_page("HELLO 42", tmp_path / "page.png", seed=3, colour=False)
    return image


@pytest.mark.parametrize("kind", ["missing", "folder", "binary", "nul"])
def test_bad_truth_stops_before_any_image_is_read(tmp_path, page_png, kind):
    """The first image has good truth, the second bad: nothing is read and no page is lost
    half way; one Error line names the bad file."""
    bad = tmp_path / "bad.gt.txt"
    if kind == "folder":
        bad.mkdir()
    elif kind == "binary":
        bad.write_bytes(bytes(range(128, 256)))
    elif kind == "nul":
        bad.write_bytes(b"HELLO\x00\x00\x00\x00 42\n")
    good = page_png.with_name("page.gt.txt")
    result = run("ocr", page_png, page_png, "--truth", good, "--truth", bad)
    line = error_line(result)
    assert "bad.gt.txt" in line
    assert result.stdout == ""
    assert result.exit_code == (2 if kind in ("missing", "folder") else 1)


def test_overlay_with_an_unknown_extension(tmp_path, page_png):
    line = error_line(run("ocr", page_png, "--overlay", tmp_path / "boxes.xyz"))
    assert "boxes.xyz" in line and ".png" in line
    assert not (tmp_path / "boxes.xyz").exists()


def test_overlay_under_a_regular_file(tmp_path, page_png):
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file\n")
    line = error_line(run("ocr", page_png, "--overlay", blocker / "boxes.png"))
    assert "blocker" in line
    assert blocker.read_text() == "I am a file\n"


@pytest.mark.parametrize("where", ["figure.xyz", "blocker/figure.png"])
def test_synth_chars_unwritable_output(tmp_path, where):
    (tmp_path / "blocker").write_text("I am a file\n")
    line = error_line(run("synth", "chars", "-o", tmp_path / where, "--n", "12"))
    assert where.split("/")[0] in line
    assert not (tmp_path / "figure.xyz").exists()


@pytest.mark.parametrize("where", ["figure.xyz", "blocker/figure.png"])
def test_confusion_unwritable_output(tmp_path, mat36, good_model, where):
    (tmp_path / "blocker").write_text("I am a file\n")
    line = error_line(run("confusion", good_model[0], mat36, "--out", tmp_path / where))
    assert where.split("/")[0] in line


def test_synth_page_under_a_regular_file(tmp_path):
    (tmp_path / "note.txt").write_text("HELLO\n")
    (tmp_path / "blocker").write_text("I am a file\n")
    line = error_line(run("synth", "page", tmp_path / "note.txt", "-o",
                          tmp_path / "blocker" / "page.png", "--char-height", "30"))
    assert "blocker" in line


def test_plots_write_errors_are_one_line_and_close_the_figure(tmp_path):
    import matplotlib.pyplot as plt
    from ocrkit import plots
    from ocrkit.errors import OcrkitError
    (tmp_path / "blocker").write_text("I am a file\n")
    images = np.zeros((3, 32, 32), np.float32)
    for target in (tmp_path / "grid.xyz", tmp_path / "blocker" / "grid.png"):
        with pytest.raises(OcrkitError) as info:
            plots.sample_grid(images, target)
        assert "\n" not in str(info.value) and target.name in str(info.value)
    assert plt.get_fignums() == []


def test_resume_with_other_training_options_is_refused(tmp_path, mat36, good_model):
    """A checkpoint continued with another --lr would silently mix two runs."""
    out = tmp_path / "r.pkl"
    args = ["train", mat36, "--epochs", "1", "--hidden", "8", "-q", "--plots", tmp_path / "p"]
    from ocrkit import train as train_module
    original = train_module.Trainer.fit

    def fit_then_die(self, *a, **k):
        original(self, *a, **k)
        raise SystemExit("killed")

    train_module.Trainer.fit = fit_then_die
    try:
        run(*args, "-o", out)
    finally:
        train_module.Trainer.fit = original
    assert (tmp_path / "r.pkl.ckpt").exists()
    line = error_line(run(*args, "--epochs", "2", "--lr", "0.01", "-o", out, "--resume"))
    assert "lr 0.001 -> 0.01" in line
    assert (tmp_path / "r.pkl.ckpt").exists() and not out.exists()
    result = run(*args, "--epochs", "2", "-o", out, "--resume")      # more epochs: fine
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", ["", " ", "synth+"])
def test_empty_dataset_name(name, good_model):
    path, _ = good_model
    assert "empty dataset name" in error_line(run("evaluate", path, name))


def test_tiny_folder_trains_and_says_what_it_lacks(tmp_path):
    """Three images a class leave no test split; a class folder with nothing readable and an
    unreadable file are named, and the model is still written."""
    from PIL import Image
    root = tmp_path / "mine"
    for c in "ABC":
        (root / c).mkdir(parents=True)
    for c in "AB":
        for i in range(3):
            a = np.full((40, 30), 255, np.uint8)
            a[5 + i:35, 10:14] = 0
            if c == "B":
                a[5:9, 5:25] = 0
            Image.fromarray(a).save(root / c / f"{i}.png")
    (root / "A" / "bad.png").write_text("not an image")
    result = run("train", root, "--hidden", "8", "--epochs", "1", "-o", tmp_path / "m.pkl",
                 "--plots", tmp_path / "p")
    assert result.exit_code == 0, result.output
    assert "test accuracy n/a (no test samples)" in result.stdout
    assert "skipped 1 unreadable image(s): bad.png" in result.stderr
    assert "no training samples for class(es) C" in result.stderr
    assert modelfile.load(tmp_path / "m.pkl").scores["test_accuracy"] is None


@pytest.mark.parametrize("arch", ["conv8s3", "pool-pool-pool-pool-pool-pool", "conv8k40v",
                                  "pool40"])
def test_architectures_that_parse_but_cannot_be_built(arch, tmp_path, mat36):
    line = error_line(run("train", mat36, "--arch", arch, "-o", tmp_path / "m.pkl"))
    assert "--arch" in line


def test_model_file_with_impossible_sizes_is_one_line(tmp_path, good_model):
    from ocrkit.engine.specs import arch_specs
    model = modelfile.Model(Network(arch_specs("conv2-pool-fc4", 36), (32, 32)))
    d = model.to_dict()
    d["architecture"][1]["size"] = 0
    path = tmp_path / "pool0.pkl"
    path.write_bytes(pickle.dumps(d))
    assert "not a usable ocrkit model file" in error_line(run("inspect", path))


def test_finetune_on_one_class_or_with_nothing_left_to_test(tmp_path, good_model):
    from PIL import Image
    path, _ = good_model
    folder = tmp_path / "one" / "a"
    folder.mkdir(parents=True)
    for i in range(12):
        a = np.full((30, 20), 255, np.uint8)
        a[5:25, 8 + i % 3:12 + i % 3] = 0
        Image.fromarray(a).save(folder / f"{i}.png")
    assert "at least 2" in error_line(run("finetune", path, tmp_path / "one", "--epochs", "1",
                                          "-o", tmp_path / "o.pkl"))
    assert "nothing is left to test" in error_line(run(
        "finetune", path, tmp_path / "one", "--train-per-class", "20", "-o", tmp_path / "o.pkl"))
    assert not (tmp_path / "o.pkl").exists()


def test_autoencode_on_too_little_data_fails_before_training(tmp_path):
    line = error_line(run("autoencode", "synth", "--size", "20", "--epochs", "1",
                          "-o", tmp_path / "ae.pkl", "--plots", tmp_path))
    assert "PCA baseline" in line
    assert not (tmp_path / "ae.pkl.ckpt").exists()


def test_autoencode_bottleneck_wider_than_the_pixels_fails_before_training(tmp_path):
    line = error_line(run("autoencode", "synth", "--size", "1500", "--hidden", "1100",
                          "--epochs", "1", "-o", tmp_path / "ae.pkl", "--plots", tmp_path))
    assert "1100 components" in line and not (tmp_path / "ae.pkl.ckpt").exists()

"""Batch reading through Reader.read_many: inputs, order, failures, the process pool, a real
Dask LocalCluster, output folders, and resuming a batch killed with SIGKILL."""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from ocrkit import Reader
from ocrkit.batch import OutputFolder, WorkerDied, find_images
from ocrkit.cli import main
from ocrkit.data.pages import write_page

TEXTS = ["HELLO 12\nABC", "MILK 3\nEGGS", "ROOM 207\nNOTES"]


@pytest.fixture(scope="module")
def reader():
    return Reader()


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """Three small synthetic pages (drawing one takes most of a second: copies make more)."""
    folder = tmp_path_factory.mktemp("drawn")
    return [write_page(text, folder / f"p{i}.png", seed=i, char_height=30, colour=False)[0]
            for i, text in enumerate(TEXTS)]


def pages(drawn, folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        target = folder / f"page{i:02d}.png"
        shutil.copy(drawn[i % len(drawn)], target)
        out.append(target)
    return out


def corrupt(path: Path, good: Path) -> Path:
    path.write_bytes(good.read_bytes()[:300])           # a PNG cut short
    return path


def invoke(*args, input=None):
    return CliRunner().invoke(main, ["ocr", *map(str, args)], input=input)


def ocrkit_command(*args) -> list[str]:
    return [sys.executable, "-m", "ocrkit", "ocr", *map(str, args)]


# -- read_many ---------------------------------------------------------------------------------
class DyingReader(Reader):
    """A Reader whose process dies (really: os._exit) when it reads a page named die*."""

    def read(self, image, path=None, size=None):
        if Path(str(image)).name.startswith("die"):
            os._exit(3)
        return super().read(image, path, size)


def test_read_many_keeps_input_order_and_reports_each_failure(reader, drawn, tmp_path):
    good = pages(drawn, tmp_path, 5)
    bad = corrupt(tmp_path / "bad.png", good[0])
    paths = [good[0], bad, *good[1:], tmp_path / "missing.png"]
    local = list(reader.read_many(iter(paths), jobs=1))        # an iterator is consumed lazily
    pooled = list(reader.read_many(paths, jobs=2))
    for results in (local, pooled):
        assert [r.path for r in results] == [str(p) for p in paths]
        assert [r.ok for r in results] == [True, False, True, True, True, True, False]
        assert "bad.png" in results[1].message and "missing.png" in results[-1].message
    assert [r.page.text for r in pooled if r.ok] == [r.page.text for r in local if r.ok]
    assert [r.page.text for r in local if r.ok][:3] == [reader.read(p).text for p in good[:3]]


def test_pool_workers_run_one_blas_thread_each(reader):
    from ocrkit.batch.runners import blas_threads, pool_starter
    with pool_starter(reader, 2)() as pool:
        counts = [pool.submit(blas_threads).result() for _ in range(4)]
    assert all(counts) and all(n == 1 for c in counts for n in c), counts


def test_workers_keep_freed_buffers_despite_the_dask_nannys_trim_setting():
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc map
    # and zero every big buffer afresh: the page faults of a page's network buffers, freed
    # and allocated again, doubled the Dask runs' CPU. keep_freed_memory lets the heap keep
    # them; measured here in a fresh process by the page faults of 20 buffers of 16 MB.
    script = (
        "import resource, sys\n"
        "import numpy as np\n"
        "from ocrkit.batch.runners import keep_freed_memory\n"
        "applied = keep_freed_memory() if sys.argv[1] == 'keep' else None\n"
        "np.ones(4 << 20, np.float32)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20):\n"
        "    np.ones(4 << 20, np.float32).sum()\n"
        "print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n")
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536")
    runs = {how: subprocess.run([sys.executable, "-c", script, how], env=env, check=True,
                                capture_output=True, text=True).stdout.split()
            for how in ("keep", "as_dask_starts_it")}
    if runs["keep"][0] != "True":
        pytest.skip("not glibc: mallopt unavailable, nothing to undo")
    faults_kept, faults_dask = int(runs["keep"][1]), int(runs["as_dask_starts_it"][1])
    assert faults_dask > 1000                       # the buffers faulted in anew (numpy asks
    assert faults_kept < faults_dask / 10           # for huge pages, so fewer than 4 KB ones)


def test_a_worker_dying_loses_no_page(drawn, tmp_path):
    good = pages(drawn, tmp_path, 6)
    die = tmp_path / "die.png"
    shutil.copy(drawn[0], die)
    paths = [*good[:2], die, *good[2:]]
    results = list(DyingReader().read_many(paths, jobs=2))
    assert [r.path for r in results] == [str(p) for p in paths]
    assert [r.ok for r in results] == [True, True, False, True, True, True, True]
    assert isinstance(results[2].error, WorkerDied) and "die.png" in results[2].message


# -- a real Dask cluster on 127.0.0.1 ----------------------------------------------------------
@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    import dask
    # a worker's death fails its tasks at once (Dask's default retries them 3 times first)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as c:
            yield c


def test_dask_cluster_reads_what_the_local_run_reads(cluster, drawn, tmp_path):
    good = pages(drawn, tmp_path / "in", 4)
    bad = corrupt(tmp_path / "in" / "page99.png", good[0])
    local = invoke(tmp_path / "in", "--jobs", "1", "--format", "json")
    on_dask = invoke(tmp_path / "in", "--dask", cluster.scheduler_address, "--format", "json")
    assert local.exit_code == on_dask.exit_code == 1
    assert json.loads(on_dask.stdout) == json.loads(local.stdout)
    assert [p["file"] for p in json.loads(on_dask.stdout)] == [str(p) for p in good]
    assert on_dask.stderr.split("failed:\n")[1].split() == [str(bad)]      # reported, not lost


def test_a_page_that_kills_its_dask_worker_is_reported(cluster, drawn, tmp_path):
    from distributed import Client
    good = pages(drawn, tmp_path, 3)
    die = tmp_path / "die.png"
    shutil.copy(drawn[0], die)
    with Client(cluster.scheduler_address) as client:
        results = list(DyingReader().read_many([good[0], die, *good[1:]], client=client))
    assert [r.ok for r in results] == [True, False, True, True]
    assert isinstance(results[1].error, WorkerDied) and "die.png" in results[1].message


# -- inputs and outputs ------------------------------------------------------------------------
def test_inputs_folders_patterns_and_lists(drawn, tmp_path):
    a = pages(drawn, tmp_path / "scans" / "a", 2)
    b = pages(drawn, tmp_path / "scans" / "b", 1)
    top = pages(drawn, tmp_path / "scans", 1)
    (tmp_path / "scans" / "notes.txt").write_text("not a page")
    (tmp_path / "scans" / ".hidden.png").write_bytes(b"")
    flat = find_images([tmp_path / "scans"])
    assert flat.paths == [str(top[0])] and len(flat.skipped) == 3          # notes, a/, b/
    deep = find_images([tmp_path / "scans"], recursive=True)
    assert deep.paths == [str(p) for p in a + b + top]
    assert deep.root == str(tmp_path / "scans")
    pattern = find_images([str(tmp_path / "scans" / "*" / "*.png"), a[0]])
    assert pattern.paths == [str(p) for p in a + b + a[:1]]
    assert find_images([str(tmp_path / "none*.png")]).missing == [str(tmp_path / "none*.png")]

    listed = "\n".join(str(p) for p in [b[0], a[1]]) + "\n\n"
    res = invoke("--files-from", "-", "--jobs", "1", input=listed)
    assert res.exit_code == 0, res.stderr
    assert res.stdout.count("==> ") == 2
    assert res.stdout.index(str(b[0])) < res.stdout.index(str(a[1]))        # the list's order


def test_output_files_mirror_the_tree_and_never_collide(reader, drawn, tmp_path):
    a = pages(drawn, tmp_path / "in" / "a", 2)
    b = pages(drawn, tmp_path / "in" / "b", 2)                # same names as in a/
    twin = tmp_path / "in" / "a" / "page00.jpg"                # same stem as a/page00.png
    from PIL import Image
    Image.open(a[0]).convert("RGB").save(twin)
    res = invoke(tmp_path / "in", "-r", "--output-dir", tmp_path / "out",
                 "--format", "text,json", "--jobs", "1")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""                                   # the files are the output
    names = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*"))
    assert names == ["a", "a/page00.jpg.json", "a/page00.jpg.txt", "a/page00.png.json",
                     "a/page00.png.txt", "a/page01.json", "a/page01.txt", "b",
                     "b/page00.json", "b/page00.txt", "b/page01.json", "b/page01.txt"]
    out = OutputFolder(tmp_path / "out", ["text", "json"], [*a, twin, *b], str(tmp_path / "in"))
    for path in [*a, twin, *b]:
        files = out.targets(path)
        text = reader.read(path).text
        assert files["text"].read_text() == text + "\n"
        assert json.loads(files["json"].read_text())[0]["text"] == text
    stdout = invoke(b[1], "--format", "json").stdout
    assert json.loads(stdout) == json.loads((tmp_path / "out" / "b" / "page01.json").read_text())


# -- failures among good pages, and SIGKILL ------------------------------------------------------
def huge_png(path: Path, side: int = 9400) -> Path:
    """A white RGBA PNG of side x side pixels (88 megapixels: under ocrkit's size limit) that
    is only about 1 MB on disk; decoding it takes 350 MB, more than the test allows."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    packer, row = zlib.compressobj(1), b"\x00" + b"\xff" * (4 * side)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = side.to_bytes(4, "big") * 2 + bytes([8, 6, 0, 0, 0])          # 8-bit RGBA
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))
    return path


def test_corrupt_huge_and_fifo_pages_fail_and_every_good_page_is_printed(reader, drawn, tmp_path):
    folder = tmp_path / "batch"
    good = pages(drawn, folder, 4)
    bad = [corrupt(folder / "page01b.png", good[0]), huge_png(folder / "page02b.png"),
           folder / "page03b.png"]
    os.mkfifo(bad[2])                                   # a FIFO named like an image
    limit = 1 << 30             # address space: a page fits, 350 MB of decoded pixels do not

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run(ocrkit_command(folder, "--jobs", "2"), capture_output=True,
                          text=True, timeout=300, preexec_fn=limit_memory)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    printed = dict(part.split(" <==\n", 1) for part in proc.stdout.split("==> ")[1:])
    assert list(printed) == [str(p) for p in good]
    for path in good:
        assert printed[str(path)] == reader.read(path).text + "\n"
    assert proc.stderr.split("failed:\n")[1].split() == [str(p) for p in bad]
    errors = {line.split(": ")[1]: line for line in proc.stderr.splitlines()
              if line.startswith("Error:")}
    assert "memory" in errors[str(bad[1])] and "FIFO" in errors[str(bad[2])]


def session_processes(sid: int) -> list[int]:
    """The processes of session `sid` still alive (not zombies)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def test_a_batch_killed_halfway_resumes_with_skip_existing(reader, drawn, tmp_path):
    inputs, out = pages(drawn, tmp_path / "in", 12), tmp_path / "out"
    args = [tmp_path / "in", "--output-dir", out, "--format", "text,json", "-q"]
    proc = subprocess.Popen(ocrkit_command(*args, "--jobs", "2"), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("*.json"))) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 20            # its workers notice and end by themselves
        while session_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not session_processes(proc.pid), "workers outlived the killed batch"
    finally:
        for pid in session_processes(proc.pid):
            os.kill(pid, signal.SIGKILL)
    done = [p for p in inputs if (out / f"{p.stem}.txt").exists()
            and (out / f"{p.stem}.json").exists()]
    assert 4 <= len(done) < len(inputs)
    before = {f: (f.stat().st_ino, f.stat().st_mtime_ns)
              for p in done for f in (out / f"{p.stem}.txt", out / f"{p.stem}.json")}
    rerun = subprocess.run(ocrkit_command(*args[:-1], "--skip-existing", "--jobs", "1"),
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"ocr: {len(inputs) - len(done)} of {len(inputs) - len(done)} pages read " \
           f"({len(done)} more already done)" in rerun.stderr
    assert {f: (f.stat().st_ino, f.stat().st_mtime_ns) for f in before} == before  # untouched
    for path in inputs:                             # every file whole
        text = reader.read(path).text
        assert (out / f"{path.stem}.txt").read_text() == text + "\n"
        assert json.loads((out / f"{path.stem}.json").read_text())[0]["text"] == text
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        sorted(f"{p.stem}{ext}" for p in inputs for ext in (".txt", ".json"))

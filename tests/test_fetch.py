"""`ocrkit.data.fetch` against a local HTTP server serving stand-in archives, and local
copies of them (no network). The user cache is a temporary folder ($XDG_CACHE_HOME)."""
from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from ocrkit.cli import main
from ocrkit.data.fetch import SOURCES, SUMS, cache_dir, fetch
from ocrkit.errors import OcrkitError

MEMBERS = SOURCES["emnist"]["members"]


@pytest.fixture(autouse=True)
def user_cache(tmp_path, monkeypatch):
    """The user cache platformdirs finds, inside the test's folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return tmp_path / "xdg-cache" / "ocrkit"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests = []                               # the paths asked for, in order

    def do_GET(self):
        QuietHandler.requests.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(folder served, base URL); the server is shut down after the test."""
    root = tmp_path / "www"
    root.mkdir()
    QuietHandler.requests = []
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def member_contents(seed=0) -> dict[str, bytes]:
    """Distinct random stand-in bytes for each member (incompressible, of different sizes)."""
    rng = np.random.default_rng(seed)
    return {m: rng.integers(0, 256, 1000 + 357 * i, dtype=np.uint8).tobytes()
            for i, m in enumerate(MEMBERS)}


def make_zip(path, contents: dict[str, bytes], folder="gzip", extra=True,
             compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as z:
        if extra:   # NIST's gzip.zip holds other splits too; they must not be extracted
            z.writestr(f"{folder}/emnist-letters-test-images-idx3-ubyte.gz", b"not wanted")
        for name, data in contents.items():
            z.writestr(f"{folder}/{name}", data)
    return path


def md5(path) -> str:
    return "md5:" + hashlib.md5(path.read_bytes()).hexdigest()


def files_in(folder):
    return sorted(p.name for p in folder.rglob("*"))


def test_fetch_extracts_every_member(server, tmp_path):
    root, base = server
    contents = member_contents()
    archive = make_zip(root / "gzip.zip", contents)
    data_dir = tmp_path / "data"
    written = fetch("emnist", data_dir, url=f"{base}/gzip.zip", checksum=md5(archive),
                    progress=False)
    dest = data_dir / "emnist"
    assert sorted(written) == sorted(dest / m for m in MEMBERS)
    for name, data in contents.items():
        assert (dest / name).read_bytes() == data
    assert files_in(data_dir) == sorted(["emnist", SUMS, *MEMBERS])   # no temp files, no extras
    sums = dict(line.split("  ")[::-1] for line in (dest / SUMS).read_text().splitlines())
    assert sums == {m: hashlib.sha256(d).hexdigest() for m, d in contents.items()}


def test_fetch_with_sha256_and_upper_case_hex(server, tmp_path):
    root, base = server
    contents = member_contents(1)
    archive = make_zip(root / "a.zip", contents, folder="deep/er", extra=False)
    checksum = "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest().upper()
    fetch("emnist", tmp_path / "d", url=f"{base}/a.zip", checksum=checksum, progress=False)
    for name, data in contents.items():
        assert (tmp_path / "d" / "emnist" / name).read_bytes() == data


def test_wrong_checksum_keeps_nothing(server, tmp_path):
    root, base = server
    archive = make_zip(root / "gzip.zip", member_contents())
    wrong = "md5:" + hashlib.md5(archive.read_bytes() + b"x").hexdigest()
    data_dir = tmp_path / "data"
    with pytest.raises(OcrkitError) as info:
        fetch("emnist", data_dir, url=f"{base}/gzip.zip", checksum=wrong, progress=False)
    message = str(info.value)
    assert "checksum" in message and wrong.split(":")[1] in message
    assert files_in(data_dir / "emnist") == []


def test_wrong_checksum_leaves_earlier_files_alone(server, tmp_path):
    root, base = server
    good = make_zip(root / "good.zip", member_contents(0))
    data_dir = tmp_path / "data"
    fetch("emnist", data_dir, url=f"{base}/good.zip", checksum=md5(good), progress=False)
    (data_dir / "emnist" / MEMBERS[0]).unlink()          # one lost: the fetch must run
    before = {m: (data_dir / "emnist" / m).read_bytes() for m in MEMBERS[1:]}
    make_zip(root / "changed.zip", member_contents(1))
    with pytest.raises(OcrkitError, match="checksum"):
        fetch("emnist", data_dir, url=f"{base}/changed.zip", checksum=md5(good),
              progress=False)
    assert {m: (data_dir / "emnist" / m).read_bytes() for m in MEMBERS[1:]} == before
    assert files_in(data_dir / "emnist") == sorted([SUMS, *MEMBERS[1:]])


def test_archive_missing_a_member(server, tmp_path):
    root, base = server
    contents = member_contents()
    lost = MEMBERS[2]
    del contents[lost]
    archive = make_zip(root / "gzip.zip", contents)
    data_dir = tmp_path / "data"
    with pytest.raises(OcrkitError) as info:
        fetch("emnist", data_dir, url=f"{base}/gzip.zip", checksum=md5(archive), progress=False)
    assert lost in str(info.value) and "lacks" in str(info.value)
    assert files_in(data_dir / "emnist") == []


def test_corrupt_archive_member(server, tmp_path):
    root, base = server
    contents = member_contents()
    archive = make_zip(root / "gzip.zip", contents, compression=zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    victim = contents[MEMBERS[1]]
    at = bytes(raw).index(victim) + 100
    raw[at] ^= 0xFF                                  # flip a byte of one member's data
    archive.write_bytes(bytes(raw))
    data_dir = tmp_path / "data"
    with pytest.raises(OcrkitError, match="corrupt"):
        fetch("emnist", data_dir, url=f"{base}/gzip.zip", checksum=None, progress=False)
    assert files_in(data_dir / "emnist") == []


def test_url_not_found(server, tmp_path):
    _, base = server
    url = f"{base}/no-such.zip"
    data_dir = tmp_path / "data"
    with pytest.raises(OcrkitError) as info:
        fetch("emnist", data_dir, url=url, checksum=None, progress=False)
    assert url in str(info.value) and "failed" in str(info.value)
    assert files_in(data_dir / "emnist") == []


@pytest.mark.parametrize("with_checksum", [False, True])
def test_body_that_is_not_a_zip(server, tmp_path, with_checksum):
    root, base = server
    page = root / "gzip.zip"
    page.write_text("<html><body>Service temporarily unavailable</body></html>\n")
    data_dir = tmp_path / "data"
    with pytest.raises(OcrkitError, match="not a zip"):
        fetch("emnist", data_dir, url=f"{base}/gzip.zip",
              checksum=md5(page) if with_checksum else None, progress=False)
    assert files_in(data_dir / "emnist") == []


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(OcrkitError, match="unknown dataset"):
        fetch("mnist", tmp_path, url="http://127.0.0.1:9/x.zip", progress=False)


def test_files_there_or_archive_cached_mean_no_download(server, tmp_path, user_cache):
    root, base = server
    contents = member_contents()
    archive = make_zip(root / "gzip.zip", contents)
    first, second = tmp_path / "one", tmp_path / "two"
    fetch("emnist", first, url=f"{base}/gzip.zip", checksum=md5(archive), progress=False)
    assert QuietHandler.requests == ["/gzip.zip"]
    assert cache_dir() == user_cache and (user_cache / "emnist" / "gzip.zip").read_bytes() == \
        archive.read_bytes()                       # kept in the user cache, as downloaded
    again = fetch("emnist", first, url=f"{base}/gzip.zip", checksum=md5(archive),
                  progress=False)                  # the checked files are there
    assert sorted(again) == sorted(first / "emnist" / m for m in MEMBERS)
    fetch("emnist", second, url=f"{base}/gzip.zip", checksum=md5(archive), progress=False)
    assert QuietHandler.requests == ["/gzip.zip"]  # another folder: from the cache
    for name, data in contents.items():
        assert (second / "emnist" / name).read_bytes() == data


def test_a_changed_file_is_extracted_again_from_the_cache(server, tmp_path):
    root, base = server
    contents = member_contents()
    archive = make_zip(root / "gzip.zip", contents)
    data_dir = tmp_path / "data"
    fetch("emnist", data_dir, url=f"{base}/gzip.zip", checksum=md5(archive), progress=False)
    damaged = data_dir / "emnist" / MEMBERS[3]
    damaged.write_bytes(b"damaged")
    fetch("emnist", data_dir, url=f"{base}/gzip.zip", checksum=md5(archive), progress=False)
    assert damaged.read_bytes() == contents[MEMBERS[3]]
    assert QuietHandler.requests == ["/gzip.zip"]


def test_a_damaged_cached_archive_is_downloaded_again(server, tmp_path, user_cache):
    root, base = server
    contents = member_contents()
    archive = make_zip(root / "gzip.zip", contents)
    fetch("emnist", tmp_path / "a", url=f"{base}/gzip.zip", checksum=md5(archive),
          progress=False)
    cached = user_cache / "emnist" / "gzip.zip"
    cached.write_bytes(cached.read_bytes()[:-100])
    fetch("emnist", tmp_path / "b", url=f"{base}/gzip.zip", checksum=md5(archive),
          progress=False)
    assert QuietHandler.requests == ["/gzip.zip", "/gzip.zip"]
    assert cached.read_bytes() == archive.read_bytes()
    for name, data in contents.items():
        assert (tmp_path / "b" / "emnist" / name).read_bytes() == data


@pytest.mark.parametrize("as_url", [False, True])
def test_a_local_copy_as_path_or_file_url(tmp_path, user_cache, as_url):
    """An offline machine with a copy of the archive: used where it is, nothing cached."""
    contents = member_contents(2)
    archive = make_zip(tmp_path / "copy of gzip.zip", contents)
    data_dir = tmp_path / "data"
    written = fetch("emnist", data_dir, url=archive.as_uri() if as_url else str(archive),
                    checksum=md5(archive), progress=False)
    assert sorted(written) == sorted(data_dir / "emnist" / m for m in MEMBERS)
    for name, data in contents.items():
        assert (data_dir / "emnist" / name).read_bytes() == data
    assert not user_cache.exists()


def test_a_local_copy_is_checked(tmp_path):
    archive = make_zip(tmp_path / "gzip.zip", member_contents())
    data_dir = tmp_path / "data"
    with pytest.raises(OcrkitError, match="checksum"):
        fetch("emnist", data_dir, url=str(archive), checksum="md5:" + "0" * 32, progress=False)
    assert files_in(data_dir / "emnist") == []
    with pytest.raises(OcrkitError, match="no such archive"):
        fetch("emnist", data_dir, url=str(tmp_path / "missing.zip"), progress=False)


# -- through the CLI ---------------------------------------------------------------------------
def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:   # click >= 8.2 always keeps stderr apart
        return CliRunner()


def test_cli_fetch(server, tmp_path):
    root, base = server
    contents = member_contents()
    archive = make_zip(root / "gzip.zip", contents)
    data_dir = tmp_path / "data"
    result = runner().invoke(main, ["data", "fetch", "emnist", "--data-dir", str(data_dir),
                                    "--url", f"{base}/gzip.zip", "--checksum", md5(archive)])
    assert result.exit_code == 0, (result.output, result.exception)
    for name, data in contents.items():
        assert (data_dir / "emnist" / name).read_bytes() == data
    assert sorted(result.stdout.split()) == sorted(str(data_dir / "emnist" / m) for m in MEMBERS)
    assert files_in(data_dir) == sorted(["emnist", SUMS, *MEMBERS])


def _assert_one_line_error(result):
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_cli_fetch_bad_checksum(server, tmp_path):
    root, base = server
    archive = make_zip(root / "gzip.zip", member_contents())
    wrong = "md5:" + "0" * 32
    data_dir = tmp_path / "data"
    result = runner().invoke(main, ["data", "fetch", "emnist", "--data-dir", str(data_dir),
                                    "--url", f"{base}/gzip.zip", "--checksum", wrong])
    assert "checksum" in _assert_one_line_error(result)
    assert files_in(data_dir / "emnist") == []
    assert archive.exists()


@pytest.mark.parametrize("checksum", ["crc99:abc", "58c8d27c78d21e728a6bc7b3cc06412e"])
def test_cli_fetch_malformed_checksum_option(server, tmp_path, checksum):
    """An unknown algorithm, or a digest without 'md5:', is a user mistake: one line."""
    root, base = server
    make_zip(root / "gzip.zip", member_contents())
    data_dir = tmp_path / "data"
    result = runner().invoke(main, ["data", "fetch", "emnist", "--data-dir", str(data_dir),
                                    "--url", f"{base}/gzip.zip", "--checksum", checksum])
    line = _assert_one_line_error(result)
    assert "checksum" in line.lower() or "hash" in line.lower()
    assert files_in(data_dir / "emnist") == []


def test_cli_fetch_not_found(server, tmp_path):
    _, base = server
    data_dir = tmp_path / "data"
    result = runner().invoke(main, ["data", "fetch", "emnist", "--data-dir", str(data_dir),
                                    "--url", f"{base}/missing.zip", "--checksum", ""])
    assert "failed" in _assert_one_line_error(result)
    assert files_in(data_dir / "emnist") == []


def test_cli_fetch_from_a_local_copy(tmp_path):
    contents = member_contents(3)
    archive = make_zip(tmp_path / "gzip.zip", contents)
    data_dir = tmp_path / "data"
    args = ["data", "fetch", "emnist", "--data-dir", str(data_dir), "--url", str(archive),
            "--checksum", md5(archive)]
    result = runner().invoke(main, args)
    assert result.exit_code == 0, (result.output, result.exception)
    assert sorted(result.stdout.split()) == sorted(str(data_dir / "emnist" / m) for m in MEMBERS)
    archive.unlink()                              # the files are there: nothing is read
    assert runner().invoke(main, args).exit_code == 0
    for name, data in contents.items():
        assert (data_dir / "emnist" / name).read_bytes() == data

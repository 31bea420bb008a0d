"""Download the public datasets into a data folder, through a user cache, checked.

    fetch("emnist", "data")   # -> data/emnist/emnist-byclass-{train,test}-*.gz

Three places, each checked before it is trusted:

- the data folder, `DATA_DIR/NAME/`: the extracted files and `SHA256SUMS`, the SHA-256 of each
  one (written when they were extracted, in `sha256sum`'s format). When every file is there
  and matches, fetch does nothing.
- the archive in the user cache (platformdirs: ~/.cache/ocrkit/NAME/ on Linux), kept after a
  download, so fetching again (another data folder, files deleted) downloads nothing. It is
  used only when it passes the download's own check.
- the source: the published address, or `url`: a mirror's http(s)/file:// URL or a local
  path to a copy of the archive (an offline machine), used where it is, not copied.

The check: the published checksum where one is known (or `checksum`, md5:HEX or sha256:HEX),
else the zip's own CRCs. A download goes to a temporary file in the cache and becomes the
cached archive only once checked; members are written atomically. A failed or interrupted
fetch leaves nothing behind but what was there before.
"""
from __future__ import annotations

import hashlib
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from tqdm import tqdm

from ocrkit.errors import OcrkitError
from ocrkit.files import atomic_open, atomic_write

SOURCES = {
    "emnist": {
        "url": "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",
        # the MD5 NIST's gzip.zip is published with (torchvision and others check the same)
        "checksum": "md5:58c8d27c78d21e728a6bc7b3cc06412e",
        "members": ["emnist-byclass-train-images-idx3-ubyte.gz",
                    "emnist-byclass-train-labels-idx1-ubyte.gz",
                    "emnist-byclass-test-images-idx3-ubyte.gz",
                    "emnist-byclass-test-labels-idx1-ubyte.gz",
                    "emnist-byclass-mapping.txt"],
        "about": "EMNIST (Cohen et al. 2017), 535 MB zip of which the ByClass files are kept",
    },
    "nist36": {
        "url": "http://www.cs.cmu.edu/~lkeselma/16720a_data/data.zip",
        "checksum": None,   # no published checksum: the zip's CRCs are checked instead
        "members": ["nist36_train.mat", "nist36_valid.mat", "nist36_test.mat"],
        "about": "the CMU 16-720 HW5 data.zip (NIST36 .mat files)",
    },
}
SUMS = "SHA256SUMS"


def cache_dir() -> Path:
    """Where downloaded archives are kept: the user cache of ocrkit (platformdirs)."""
    import platformdirs
    return Path(platformdirs.user_cache_dir("ocrkit", appauthor=False))


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _parse_checksum(checksum: str | None):
    """(algorithm, expected hex) or None; OcrkitError when it is not md5:HEX / sha256:HEX."""
    if not checksum:
        return None
    algorithm, sep, expected = checksum.partition(":")
    if not sep or algorithm.lower() not in hashlib.algorithms_available or not expected:
        raise OcrkitError(f"checksum {checksum!r}: give it as md5:HEX or sha256:HEX")
    return algorithm.lower(), expected.lower()


def _local_path(url: str) -> Path | None:
    """The file a local path or file:// URL names; None for a network URL."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme in ("http", "https", "ftp"):
        return None
    return Path(url)                            # a path (on Windows "C:\..." parses as "c")


def download(url: str, dest: Path, progress: bool = True, timeout: float = 60) -> None:
    """Stream `url` to `dest` (atomically) with a tqdm bar on stderr."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, \
                atomic_open(dest, "wb", what="download") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=Path(url).name or "download",
                      disable=not progress, file=sys.stderr) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    f.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise OcrkitError(f"download of {url} failed ({reason})") from None


def _check_archive(path: Path, where: str, check, members) -> None:
    """OcrkitError unless `path` passes `check` (its checksum) or, without one, the zip's CRCs,
    and holds every member."""
    if check:
        algorithm, expected = check
        actual = _digest(path, algorithm)
        if actual != expected:
            raise OcrkitError(f"{where}: {algorithm} checksum {actual} does not match the "
                              f"expected {expected}; the archive is corrupt or changed, "
                              "nothing was kept")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise OcrkitError(f"{where}: the download is not a zip archive") from None
    with archive:
        if not check:
            bad = archive.testzip()
            if bad is not None:
                raise OcrkitError(f"{where}: archive member {bad} is corrupt")
        names = {Path(i.filename).name for i in archive.infolist() if not i.is_dir()}
        missing = [m for m in members if m not in names]
        if missing:
            raise OcrkitError(f"{where}: the archive lacks {', '.join(missing)}")


def _extracted(dest: Path, members) -> bool:
    """True when every member is in `dest` with the SHA-256 its SHA256SUMS records."""
    try:
        lines = (dest / SUMS).read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    sums = {}
    for line in lines:                          # "HEX  NAME", as sha256sum writes them
        hexdigest, _, member = line.partition("  ")
        sums[member] = hexdigest
    return all(m in sums and (dest / m).is_file() and _digest(dest / m, "sha256") == sums[m]
               for m in members)


def _extract(archive_path: Path, dest: Path, members, where: str) -> list[Path]:
    """Every member into `dest` (atomically, one by one), then their SHA256SUMS."""
    written, sums = [], []
    with zipfile.ZipFile(archive_path) as archive:
        by_name = {Path(i.filename).name: i for i in archive.infolist() if not i.is_dir()}
        for member in members:
            target = dest / member
            try:
                with archive.open(by_name[member]) as src, \
                        atomic_open(target, "wb", what="dataset file") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
            except zipfile.BadZipFile as exc:
                raise OcrkitError(f"{where}: archive member {member} is corrupt ({exc})") \
                    from None
            written.append(target)
            sums.append(f"{_digest(target, 'sha256')}  {member}\n")
    atomic_write(dest / SUMS, "".join(sums), what="checksums")
    return written


def fetch(name: str, data_dir, url: str | None = None, checksum: str | None = "default",
          progress: bool = True, cache: Path | None = None) -> list[Path]:
    """Dataset `name` into `data_dir`/`name`/: its files, checked (see the module's doc).

    url: a mirror's URL or a local copy of the archive instead of the published address;
    checksum: "md5:HEX"/"sha256:HEX", "default" (the published one, where known) or None
    (the zip's CRCs); cache: the archive cache (default: cache_dir()).
    """
    if name not in SOURCES:
        raise OcrkitError(f"unknown dataset '{name}' to fetch; choose from {', '.join(SOURCES)}")
    source = SOURCES[name]
    check = _parse_checksum(source["checksum"] if checksum == "default" else checksum)
    url = url or source["url"]
    members = source["members"]
    dest = Path(data_dir) / name
    if _extracted(dest, members):
        return [dest / m for m in members]
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OcrkitError(f"{dest}: cannot create ({exc.strerror})") from None

    local = _local_path(url)
    if local is not None:                       # a copy on this machine: used where it is
        if not local.is_file():
            raise OcrkitError(f"{url}: no such archive file")
        _check_archive(local, url, check, members)
        return _extract(local, dest, members, url)

    filename = Path(urllib.parse.urlparse(url).path).name or f"{name}.zip"
    cached = (cache or cache_dir()) / name / filename
    if cached.is_file():
        try:
            _check_archive(cached, str(cached), check, members)
            return _extract(cached, dest, members, str(cached))
        except OcrkitError:                     # changed or damaged: download it again
            cached.unlink(missing_ok=True)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OcrkitError(f"{cached.parent}: cannot create the download cache "
                          f"({exc.strerror})") from None
    download(url, cached, progress)
    try:
        _check_archive(cached, url, check, members)
    except OcrkitError:
        cached.unlink(missing_ok=True)          # a bad download is not kept
        raise
    return _extract(cached, dest, members, url)

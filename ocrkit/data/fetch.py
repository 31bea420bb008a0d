"""Download the public datasets into a data folder, with a progress bar and a checksum check.

    fetch("emnist", "data")   # -> data/emnist/emnist-byclass-{train,test}-*.gz

The archive is downloaded to a temporary file beside its destination, checked (the published
MD5 where one is known, else the zip's own CRCs), and only then are the needed members
extracted; a failed or interrupted download leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tqdm import tqdm

from ocrkit.errors import OcrkitError

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


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, progress: bool = True, timeout: float = 60) -> None:
    """Stream `url` to `dest` with a tqdm bar on stderr."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(dest, "wb") as f, tqdm(total=total, unit="B", unit_scale=True,
                                              desc=Path(url).name or "download",
                                              disable=not progress, file=sys.stderr) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    f.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise OcrkitError(f"download of {url} failed ({reason})") from None


def fetch(name: str, data_dir, url: str | None = None, checksum: str | None = "default",
          progress: bool = True) -> list[Path]:
    """Download dataset `name` into `data_dir`/`name`/ and return the files extracted."""
    if name not in SOURCES:
        raise OcrkitError(f"unknown dataset '{name}' to fetch; choose from {', '.join(SOURCES)}")
    source = SOURCES[name]
    url = url or source["url"]
    if checksum == "default":
        checksum = source["checksum"]
    if checksum:
        algorithm, sep, expected = checksum.partition(":")
        if not sep or algorithm.lower() not in hashlib.algorithms_available or not expected:
            raise OcrkitError(f"checksum {checksum!r}: give it as md5:HEX or sha256:HEX")
    dest = Path(data_dir) / name
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OcrkitError(f"{dest}: cannot create ({exc.strerror})") from None
    fd, tmp_name = tempfile.mkstemp(prefix=".download-", suffix=".zip", dir=dest)
    os.close(fd)
    tmp = Path(tmp_name)
    written = []
    try:
        download(url, tmp, progress)
        if checksum:
            actual = _digest(tmp, algorithm.lower())
            if actual != expected.lower():
                raise OcrkitError(f"{url}: {algorithm} checksum {actual} does not match the "
                                  f"expected {expected}; the download is corrupt or changed, "
                                  "nothing was kept")
        try:
            archive = zipfile.ZipFile(tmp)
        except zipfile.BadZipFile:
            raise OcrkitError(f"{url}: the download is not a zip archive") from None
        with archive:
            bad = archive.testzip()
            if bad is not None:
                raise OcrkitError(f"{url}: archive member {bad} is corrupt")
            by_name = {Path(i.filename).name: i for i in archive.infolist() if not i.is_dir()}
            missing = [m for m in source["members"] if m not in by_name]
            if missing:
                raise OcrkitError(f"{url}: the archive lacks {', '.join(missing)}")
            for member in source["members"]:
                target = dest / member
                part = target.with_name(f".{member}.part")
                with archive.open(by_name[member]) as src, open(part, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                os.replace(part, target)
                written.append(target)
    finally:
        tmp.unlink(missing_ok=True)
    return written

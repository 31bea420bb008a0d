"""The one way ocrkit writes a file (atomically), and reads one from a stranger (bounded).

    with atomic_open("out/page.json", "w") as f:     # a temporary file in the same folder,
        f.write(text)                                # fsynced, then renamed into place
    atomic_write("out/page.txt", text)               # the same for a str or bytes
    data = read_limited("model.pkl", 256 << 20, "model file")

Either the old file (or none) or the complete new one is ever at `path`: an interrupted write
(an exception, Ctrl-C, a full disk) removes its temporary file and leaves `path` as it was.
Temporary files are named `.NAME.*.tmp` beside the target, so leftovers of a killed process
(kill -9) are recognisable and `clean_temporary` removes them.

`read_limited` reads only regular files (a FIFO or /dev/zero would block or never end) of at
most `limit` bytes, so a file cannot cost more memory than its stated limit.
"""
from __future__ import annotations

import contextlib
import glob
import os
import stat
import tempfile
import time
from pathlib import Path

from ocrkit.errors import OcrkitError

TMP_SUFFIX = ".tmp"


def _file_mode(path: Path) -> int:
    """The mode a new file would get (0666 less the umask), or the replaced file's mode."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb", what: str = "file", encoding: str = "utf-8"):
    """A file object to write `path` through; renamed into place when the block ends
    without an exception. `mode` is "w" (text) or "wb"; `what` names the file in errors."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes only ('w' or 'wb'), not {mode!r}")
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise OcrkitError(f"{path}: cannot write there ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, mode, **({"encoding": encoding} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OcrkitError(f"{path}: cannot write {what} ({exc.strerror or exc})") from None
        raise


def atomic_write(path, data, what: str = "file") -> Path:
    """Write `data` (str or bytes) to `path` atomically; returns the path."""
    with atomic_open(path, "w" if isinstance(data, str) else "wb", what) as f:
        f.write(data)
    return Path(path)


def clean_temporary(folder, name: str | None = None, older_than: float = 3600.0) -> int:
    """Remove temporary files that atomic_open left in `folder` (a process killed mid-write):
    those of target `name` only, when given, and not written to for `older_than` seconds (a
    write in progress keeps touching its file); returns how many were removed."""
    removed, now = 0, time.time()
    pattern = f".{glob.escape(name)}.*{TMP_SUFFIX}" if name else f".*{TMP_SUFFIX}"
    for tmp in Path(folder).glob(pattern):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > older_than:
                tmp.unlink()
                removed += 1
    return removed


def read_limited(path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them; OcrkitError (one line)
    for a folder, a missing or unreadable file, a FIFO or device, or a larger file."""
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise OcrkitError(f"{path}: is a folder, not a {what}")
        if not stat.S_ISREG(info.st_mode):
            raise OcrkitError(f"{path}: not a regular file (a pipe or device), not a {what}")
        if info.st_size > limit:
            raise OcrkitError(f"{path}: {info.st_size:,} bytes, larger than a {what} may be "
                              f"({limit:,} bytes)")
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise OcrkitError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if len(data) > limit:                       # it grew while being read
        raise OcrkitError(f"{path}: larger than a {what} may be ({limit:,} bytes)")
    return data

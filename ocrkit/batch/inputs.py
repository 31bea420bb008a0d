"""What a batch reads: image files named directly, folders (recursively if asked), glob
patterns, and list files of paths (one a line; "-" is standard input).

    found = find_images(["scans/", "extra/*.png", "one.jpg"], recursive=True)
    found.paths        # every image, in order: arguments in turn, each folder sorted by name
    found.root         # the folder the inputs' tree is mirrored from (ocrkit.batch.outputs)
    found.skipped      # files in folders (or matched by patterns) that are not images
    found.missing      # patterns that matched nothing

A file named directly (or in a list) is read whatever its name: if it is no image, that page
fails. In folders and pattern matches only names with an image extension are taken; hidden
files and folders (".name") are passed over. A path given twice is read twice (say, against
two --truth files).
"""
from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass, field

IMAGE_SUFFIXES = frozenset((".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".bmp",
                            ".gif", ".webp", ".pbm", ".pgm", ".ppm", ".pnm"))


@dataclass
class Found:
    paths: list = field(default_factory=list)
    root: str = "."
    skipped: list = field(default_factory=list)
    missing: list = field(default_factory=list)


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def find_images(inputs, recursive: bool = False, files_from=None) -> Found:
    """Expand `inputs` (files, folders, glob patterns) and the lines of the list files
    `files_from` (paths; "-" reads standard input) into image paths, in order."""
    found, bases = Found(), []
    add = found.paths.append

    def add_folder(folder: str) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                if recursive:
                    add_folder(entry.path)
                else:
                    found.skipped.append(entry.path + os.sep)
            elif is_image_name(entry.name):
                add(entry.path)
            else:
                found.skipped.append(entry.path)

    for item in inputs:
        item = str(item)
        if os.path.isdir(item):
            bases.append(item)
            add_folder(item)
        elif not os.path.lexists(item) and glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                found.missing.append(item)
            bases.append(_static_prefix(item))
            for match in matches:
                if os.path.isdir(match):
                    add_folder(match)
                elif is_image_name(match):
                    add(match)
                else:
                    found.skipped.append(match)
        else:                                   # a file (or a missing one: it will fail)
            bases.append(os.path.dirname(item) or ".")
            add(item)
    for list_file in files_from or ():
        for item in _lines(list_file):
            if os.path.isdir(item):
                bases.append(item)
                add_folder(item)
            else:
                bases.append(os.path.dirname(item) or ".")
                add(item)
    if bases:
        found.root = os.path.commonpath([os.path.abspath(b) for b in bases])
    return found


def _static_prefix(pattern: str) -> str:
    """The folder part of a glob pattern before its first wildcard ("scans" of
    "scans/**/*.jpg")."""
    parts = []
    for part in pattern.split(os.sep):
        if glob.has_magic(part):
            break
        parts.append(part)
    return os.sep.join(parts) or ("/" if pattern.startswith(os.sep) else ".")


def _lines(list_file):
    """The paths in a list file (one a line, blank lines ignored); "-" is standard input."""
    from ocrkit.errors import OcrkitError
    if str(list_file) == "-":
        stream, close = sys.stdin, False
    else:
        try:
            stream, close = open(list_file, encoding="utf-8"), True
        except OSError as exc:
            raise OcrkitError(f"{list_file}: cannot read the list of files "
                              f"({exc.strerror or exc})") from None
    try:
        for line in stream:
            line = line.rstrip("\r\n")
            if line.strip():
                yield line
    except UnicodeDecodeError:
        raise OcrkitError(f"{list_file}: the list of files is not UTF-8 text") from None
    finally:
        if close:
            stream.close()

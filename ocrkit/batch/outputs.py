"""Where a batch's pages go: one file per page and format in an output folder, or one stream
(stdout) in one format.

    out = OutputFolder("ocr/", ["text", "json"], found.paths, found.root)
    out.targets("scans/a/p1.jpg")   # {"text": ocr/a/p1.txt, "json": ocr/a/p1.json}
    out.done("scans/a/p1.jpg")      # every target exists: --skip-existing passes it over
    out.write(result)               # each file atomically (ocrkit.files), as the page is done

The output tree mirrors the inputs' tree below their common folder; a page's files are its
name with the format's extension, or its whole name plus the extension where two inputs of a
folder share a stem (p.jpg, p.png -> p.txt, p.png.txt), so no two pages share a file.

Formats are ocrkit.formats.FORMATS: name -> extension and write(pages, images) -> str or
bytes; a page's file is write([page], [its image]).
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Callable

from ocrkit.formats import FORMATS


class OutputFolder:
    """One file per page and format below `folder`, mirroring the inputs' tree from `root`."""

    def __init__(self, folder, formats, paths, root: str = "."):
        self.folder, self.formats, self.root = Path(folder), list(formats), root
        stems = Counter(os.path.splitext(self._relative(p))[0] for p in paths)
        self._shared = {stem for stem, n in stems.items() if n > 1}
        self._cleaned: set = set()

    def _relative(self, path) -> str:
        rel = os.path.relpath(os.path.abspath(path), self.root)
        return os.path.basename(path) if rel.startswith(os.pardir) else rel

    def targets(self, path) -> dict:
        """{format: output file} for the input `path`."""
        rel = self._relative(path)
        stem = os.path.splitext(rel)[0]
        base = rel if stem in self._shared else stem
        return {f: self.folder / (base + FORMATS[f].extension) for f in self.formats}

    def done(self, path) -> bool:
        return all(t.is_file() for t in self.targets(path).values())

    def write(self, result) -> list:
        """Write each format of a read page atomically; returns the files written."""
        from ocrkit.errors import OcrkitError
        from ocrkit.files import atomic_write, clean_temporary
        written = []
        for fmt, target in self.targets(result.path).items():
            folder = target.parent
            if folder not in self._cleaned:
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise OcrkitError(f"{folder}: cannot make the output folder "
                                      f"({exc.strerror or exc})") from None
                clean_temporary(folder)     # leftovers of a killed run, an hour old
                self._cleaned.add(folder)
            data = FORMATS[fmt].write([result.page], images=[result.path])
            written.append(atomic_write(target, data, what=f"{fmt} output"))
        return written


class Stream:
    """Pages in one format on one stream (stdout), each as soon as it is read: text under
    `==> path <==` headers when there are several pages, JSON as one list, TSV under one
    header; any other format is one document of all pages, written after the last."""

    def __init__(self, fmt: str, echo: Callable, several: bool):
        self.fmt, self.echo, self.several = fmt, echo, several
        self.count, self.kept = 0, []

    def add(self, page, extra: dict | None = None) -> None:
        from ocrkit import formats
        self.count += 1
        if self.fmt == "text":
            self.echo((f"==> {page.path} <==\n" if self.several else "")
                      + FORMATS["text"].write([page]))
        elif self.fmt == "json":
            import json
            d = formats.json.as_dict(page)
            d.update(extra or {})
            body = "\n".join("  " + line for line in json.dumps(d, indent=2).splitlines())
            self.echo(("[\n" if self.count == 1 else ",\n") + body)
        elif self.fmt == "tsv":
            rows = formats.tsv.rows(page, self.count)
            self.echo("\n".join(([formats.tsv.HEADER] if self.count == 1 else []) + rows) + "\n")
        else:
            for c in page.chars:            # the crops are not needed for a document
                c.image = None
            self.kept.append(page)

    def close(self) -> None:
        if self.fmt == "json":
            self.echo("\n]\n" if self.count else "[]\n")
        elif self.fmt == "tsv" and not self.count:
            self.echo(FORMATS["tsv"].write([]))             # the header alone
        elif self.fmt not in ("text", "json", "tsv") and (
                self.kept or not FORMATS[self.fmt].binary):
            self.echo(FORMATS[self.fmt].write(self.kept, images=[p.path for p in self.kept]))

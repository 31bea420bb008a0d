"""Reader: the one seam for reading pages, used by the CLI, the batch runners and the tests.

    from ocrkit import Reader
    page = Reader().read("photo.jpg")          # the shipped default model
    print(page.text)

    for result in Reader().read_many(paths, jobs=2):     # or client=distributed.Client(...)
        print(result.path, result.page.text if result.ok else result.message)

A Reader holds a loaded model and the reading options; `read` runs the page pipeline
(ocrkit.page) on one image, a path or a grey/RGB array; `read_many` sends many paths through
the same `read`, in this process, in a process pool or on a Dask cluster (ocrkit.batch).
A Reader pickles as its model's plain data (the model file's dict) and its options, so it
travels to pool and Dask workers in about the size of the model file.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from ocrkit.errors import OcrkitError


def load_model(path_or_name=None):
    """A model by path, or a shipped model by name: None or "default" for the default model,
    "mlp" etc. for the others of a source checkout (models/)."""
    from ocrkit import modelfile
    if path_or_name is None:
        path_or_name = "default"
    name = str(path_or_name)
    if not Path(name).exists() and re.fullmatch(r"[\w-]+", name):     # a name, not a path
        return modelfile.load(modelfile.shipped_model_path(name))
    return modelfile.load(path_or_name)


class Reader:
    """Read pages with one model and one set of options.

    model: a Model, a model file path, a shipped model's name, or None for the default model.
    context: settle digit/letter look-alikes (0/O, 1/I, ...) from the rest of each word.
    alphabet: the only characters the pages hold (a whitelist such as "0123456789").
    case: "auto" (capitals for a page written in capitals, else mixed case), "upper" or
        "mixed"; see ocrkit.page.case.
    lexicon: True for the English word list, a word-list file, or False (ocrkit.page.lexicon).
    recognizer: "auto" (lines read whole by the line model, but by the cuts on a page written
        in capitals), "cuts" or "line"; see ocrkit.page.read.read_page.
    line_model: the line model for "auto" and "line" (a Model, path or shipped name; None:
        the shipped "line").
    """

    def __init__(self, model=None, *, context: bool = True, alphabet: str | None = None,
                 case: str = "auto", lexicon=True, recognizer: str = "auto", line_model=None):
        from ocrkit.modelfile import Model
        from ocrkit.page.read import RECOGNIZERS
        self.model = model if isinstance(model, Model) else load_model(model)
        if self.model.kind != "classifier":
            raise OcrkitError(f"a {self.model.kind} model cannot read text")
        if recognizer not in RECOGNIZERS:
            raise OcrkitError(f"recognizer {recognizer!r}: choose one of "
                              f"{', '.join(RECOGNIZERS)}")
        self.line_model = None
        if recognizer != "cuts":
            self.line_model = line_model if isinstance(line_model, Model) else \
                load_model(line_model or "line")
            if self.line_model.kind != "line":
                raise OcrkitError(f"{self.line_model.source}: a {self.line_model.kind} model, "
                                  "not a line model")
        if alphabet is not None:
            from ocrkit.page.read import alphabet_classes
            alphabet_classes(alphabet, self.model.classes)      # fails now, not per page
        from ocrkit.page.case import MODES
        if case not in MODES:
            raise OcrkitError(f"case {case!r}: choose one of {', '.join(MODES)}")
        if lexicon not in (True, False, None):
            from ocrkit.page.lexicon import load
            load(str(lexicon))                                  # fails now, not per page
        self.options = {"context": bool(context), "alphabet": alphabet, "case": case,
                        "lexicon": lexicon if lexicon is not None else False,
                        "recognizer": recognizer}

    def read(self, image, path: str | None = None, size=None):
        """One page -> Page. `image` is a path, or an image array (grey, RGB or RGBA; for an
        array decoded smaller than its file, `size` = the file's (width, height), which the
        boxes are then in); `path` names the page in the Page and in errors."""
        import numpy as np

        from ocrkit.page import read_page
        if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
            _check_regular_file(image)
            path = str(path or image)
        elif not isinstance(image, np.ndarray):
            image = np.asarray(image)                   # a numpy scalar, a list: checked next
        return read_page(image, self.model, path=path or "", size=size,
                         line_model=self.line_model, **self.options)

    def read_many(self, paths, jobs: int | None = None, client=None):
        """Read many image paths: an iterator of ocrkit.batch.Result (path, page or error) in
        the order of `paths`, each as soon as it and those before it are done; a page that
        fails is that result's error and the rest go on. At most a few pages per worker are
        in flight, so memory stays flat however many paths there are.

        jobs: processes reading at once (default: the cores this process may use; 1 reads in
        this process); client: a dask.distributed Client to read on its workers instead (the
        paths must be readable there under the same absolute names)."""
        from ocrkit.batch.runners import read_many
        return read_many(self, paths, jobs=jobs, client=client)

    # pickled as plain data: the model file's dict, not the network's working buffers
    def __getstate__(self) -> dict:
        line = self.line_model
        return {"model": self.model.to_dict(), "source": self.model.source,
                "options": self.options,
                "line": None if line is None else (line.to_dict(), line.source)}

    def __setstate__(self, state: dict) -> None:
        from ocrkit.modelfile import Model
        self.model = Model.from_dict(state["model"], state["source"])
        self.options = state["options"]
        line = state.get("line")
        self.line_model = None if line is None else Model.from_dict(*line)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"Reader({self.model.source or 'model'!r}, {opts})"


def _check_regular_file(path) -> None:
    """A FIFO, socket or device named as an image would block or never end: refuse it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return                                  # load_image says what is wrong
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise OcrkitError(f"{path}: {kind}, not an image file")


__all__ = ["Reader", "load_model"]

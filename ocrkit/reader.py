"""Reader: the one seam for reading pages, used by the CLI, the batch runners and the tests.

    from ocrkit import Reader
    page = Reader().read("photo.jpg")          # the shipped default model
    print(page.text)

A Reader holds a loaded model and the reading options; `read` runs the page pipeline
(ocrkit.page) on one image, a path or a grey/RGB array.
"""
from __future__ import annotations


import numpy as np

from ocrkit.errors import OcrkitError


def load_model(path_or_name=None):
    """A model by path, or the shipped default model for None or "default"."""
    from ocrkit import modelfile
    if path_or_name is None or str(path_or_name) == "default":
        return modelfile.load(modelfile.default_model_path())
    return modelfile.load(path_or_name)


class Reader:
    """Read pages with one model and one set of options.

    model: a Model, a model file path, or None for the shipped default model.
    context: settle digit/letter look-alikes (0/O, 1/I, ...) from the rest of each word.
    alphabet: the only characters the pages hold (a whitelist such as "0123456789").
    case: "auto" (capitals for a page written in capitals, else mixed case), "upper" or
        "mixed"; see ocrkit.page.case.
    lexicon: True for the English word list, a word-list file, or False (ocrkit.page.lexicon).
    """

    def __init__(self, model=None, *, context: bool = True, alphabet: str | None = None,
                 case: str = "auto", lexicon=True):
        from ocrkit.modelfile import Model
        self.model = model if isinstance(model, Model) else load_model(model)
        if self.model.kind != "classifier":
            raise OcrkitError(f"a {self.model.kind} model cannot read text")
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
                        "lexicon": lexicon if lexicon is not None else False}

    def read(self, image, path: str | None = None, size=None):
        """One page -> Page. `image` is a path, or an image array (grey, RGB or RGBA; for an
        array decoded smaller than its file, `size` = the file's (width, height), which the
        boxes are then in); `path` names the page in the Page and in errors."""
        from ocrkit.page import read_page
        if not isinstance(image, np.ndarray):
            path = str(path or image)
        return read_page(image, self.model, path=path or "", size=size, **self.options)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"Reader({self.model.name if hasattr(self.model, 'name') else 'model'}, {opts})"


__all__ = ["Reader", "load_model"]

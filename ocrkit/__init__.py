"""ocrkit: train handwritten-character networks with a numpy engine and read hand-printed pages.

The library is usable without the command line::

    import ocrkit
    page = ocrkit.Reader().read("photo.jpg")        # the shipped default model
    print(page.text)

    from ocrkit.data import load_dataset
    model = ocrkit.load_model("default")
    test = load_dataset("emnist", split="test")
    probs = model.predict_proba(test.x)
"""

__version__ = "0.2.0.dev0"
__all__ = ["Reader", "load_model", "__version__"]


def __getattr__(name):          # lazy, so `ocrkit --help` does not import numpy
    if name in ("Reader", "load_model"):
        from ocrkit import reader
        return getattr(reader, name)
    raise AttributeError(f"module 'ocrkit' has no attribute {name!r}")

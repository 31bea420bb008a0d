"""ocrkit: train handwritten-character networks with a numpy engine and read hand-printed pages.

The library is usable without the command line::

    from ocrkit.data import load_dataset
    from ocrkit import modelfile
    model = modelfile.load("models/default.pkl")
    test = load_dataset("emnist", split="test")
    probs = model.predict_proba(test.x)
"""

__version__ = "0.1.0"

"""The shipped models, installed as the package `ocrkit.models` (setup.cfg package_dir) so
the default model is package data that every kind of install finds through
importlib.resources: a wheel, `pip install .`, `--user`, `--target` and `pip install -e .`.

models/MODELS.md says how each model was made and what it scores; only default.pkl goes into
a wheel, the others are used from a source checkout (`ocrkit.load_model("mlp")`).
"""

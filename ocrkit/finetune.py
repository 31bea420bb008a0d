"""Fine-tuning: start from a trained classifier and adapt it to a new dataset.

    from ocrkit.config import FinetuneConfig
    model, result = finetune(base, train, valid, FinetuneConfig(freeze=True, lr=1e-3))

When every class of the dataset is one the model knows (upper-case cursive letters for a model
of A-Z and 0-9), the whole network is kept, output layer included, and the labels are mapped
onto its classes. Otherwise (lower case, another alphabet, a user's own symbols) the output
layer is replaced by a fresh one for the dataset's classes. Training is `train_model`'s, the
one loop every model uses, started from the model's weights.

A model with the reject class (trained with `--reject`) keeps it: rejects generated from the
new data's own characters are mixed in at the model's training share, so fine-tuning on a
folder of characters does not teach it that every crop is one.
"""
from __future__ import annotations

from dataclasses import fields

from ocrkit.config import FinetuneConfig, TrainConfig
from ocrkit.data.dataset import REJECT
from ocrkit.data.rejects import SPLIT_SEEDS, with_rejects
from ocrkit.errors import OcrkitError
from ocrkit.modelfile import Model
from ocrkit.train import train_model


def adapted(base: Model, classes) -> tuple[list[dict], dict, tuple]:
    """(layer specs, starting parameters, classes) for fine-tuning `base` on `classes` (a
    committee: its first network)."""
    if base.kind != "classifier":
        raise OcrkitError(f"{base.source or 'the model'} is a {base.kind}; fine-tuning starts "
                          "from a classifier")
    params = base.network.get_params()
    if set(classes) <= set(base.classes):
        return [dict(s) for s in base.network.specs], params, tuple(base.classes)
    specs = [dict(s) for s in base.network.specs]
    last = len(specs) - 1
    if specs[last].get("type") != "dense":
        raise OcrkitError("the model does not end in a dense layer; its output layer cannot "
                          "be replaced")
    specs[last]["units"] = len(classes)
    return specs, {k: v for k, v in params.items() if not k.startswith(f"{last}.")}, \
        tuple(classes)


def finetune(base: Model, train, valid, config: FinetuneConfig | None = None, *,
             scratch: bool = False, record: dict | None = None, **run):
    """Fine-tune `base` on the Datasets `train`/`valid` as `config` (a FinetuneConfig; its
    defaults are `ocrkit finetune`'s) says; returns (Model, TrainResult).

    With `scratch`, the same architecture is trained from a random start on the same data and
    budget instead, everything trainable at one learning rate: the baseline fine-tuning has to
    beat. Its config is the TrainConfig of the same options (without freeze and head_lr), in
    the base model's dtype. `record` (facts about the data) and `run` (progress, desc,
    keep_best, checkpoint_to, ...) go to `train_model`.
    """
    config = FinetuneConfig() if config is None else config
    if not isinstance(config, FinetuneConfig):
        raise TypeError(f"config must be a FinetuneConfig, not {type(config).__name__}")
    share = base.training.get("reject")
    if share and REJECT in base.classes and REJECT not in train.classes:
        train = with_rejects(train, share, SPLIT_SEEDS["train"])
        if len(valid):
            valid = with_rejects(valid, share, SPLIT_SEEDS["valid"], normalise_real=False)
    specs, params, classes = adapted(base, train.classes)
    train, valid = train.relabel(classes), valid.relabel(classes)
    replaced = classes != tuple(base.classes)
    record = dict(record or {})
    if REJECT in train.classes and share:
        record["reject"] = share
    if scratch:
        shared = {f.name: getattr(config, f.name) for f in fields(TrainConfig)
                  if f.name in FinetuneConfig.__dataclass_fields__}
        record.update(from_scratch=True, architecture_of=base.source)
        return train_model(specs, train, valid,
                           TrainConfig(**shared, dtype=base.network.dtype.name),
                           record=record, **run)
    record.update(finetuned_from=base.source, replaced_output_layer=replaced)
    if base.members:        # a committee: its first network is the one fine-tuned
        record["from_committee_of"] = len(base.networks)
    return train_model(specs, train, valid, config, start_from=params, record=record, **run)

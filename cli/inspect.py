"""`ocrkit inspect`: what a model file holds."""
from __future__ import annotations

import json

import click

from ocrkit.cli.common import format_option


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@format_option
def inspect(model, fmt):
    """Show MODEL's architecture, classes, scores, and how and when it was trained: the
    training record, with the config of the run (every hyper-parameter, as ocrkit.config's
    TrainConfig, FinetuneConfig or AutoencodeConfig held it) one field a line.

    \b
    Example:  ocrkit inspect models/mlp.pkl
    """
    from ocrkit import modelfile
    m = modelfile.load(model)
    net = m.network
    history = m.history.get("train_loss", [])
    info = {
        "model": str(model), "kind": m.kind, "created": m.created,
        "architecture": net.specs, "input_shape": list(net.input_shape),
        "parameters": int(sum(n.n_params() for n in m.networks)), "dtype": net.dtype.name,
        "classes": "".join(m.classes), "scores": m.scores, "training": m.training,
        "epochs_trained": len(history) if isinstance(history, list) else 0,
        "committee": len(m.networks),
    }
    if fmt == "json":       # metadata from a stranger's file: keys as text, odd values too
        click.echo(json.dumps(_jsonable(info), indent=2))
        return
    click.echo(f"model        {model} ({m.kind}, {info['parameters']:,} parameters, "
               f"{info['dtype']})")
    click.echo(f"created      {_shown(m.created) or 'unknown'}")
    layers = " -> ".join(_describe(s) for s in net.specs)
    click.echo(f"architecture input {'x'.join(map(str, net.input_shape))} -> {layers}")
    click.echo(f"classes      {info['classes']} ({len(m.classes)})")
    if m.members:
        click.echo(f"committee    {len(m.networks)} networks, probabilities averaged (the "
                   "first one's architecture and record shown)")
    for k, v in m.scores.items():
        click.echo(f"score        {_shown(k)}: {v:.4f}" if isinstance(v, float)
                   else f"score        {_shown(k)}: {_shown(v)}")
    for k, v in m.training.items():
        if k == "config" and isinstance(v, dict):    # train_model's: one line a field
            for field, value in v.items():
                click.echo(f"config       {_shown(field)}: {_shown(value)}")
        else:
            click.echo(f"training     {_shown(k)}: {_shown(v)}")
    if info["epochs_trained"]:
        click.echo(f"history      {info['epochs_trained']} epochs")


def _jsonable(value):
    """Plain data as JSON can hold it: dict keys as text, bytes and sets as text."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _shown(value, most: int = 200) -> str:
    """A value as one line of text safe for a terminal (control characters escaped)."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= most else text[:most - 3] + "..."


def _describe(spec: dict) -> str:
    bn = " batchnorm" if spec.get("batchnorm") else ""
    if spec["type"] == "dense":
        return f"dense {spec['units']}{bn} {spec.get('activation', 'identity')}"
    if spec["type"] == "conv2d":
        k, stride = spec.get("kernel", 3), spec.get("stride", 1)
        return (f"conv {spec['filters']}x{k}x{k}" + (f"/{stride}" if stride != 1 else "")
                + f" {spec.get('padding', 'same')}{bn} {spec.get('activation', 'relu')}")
    if spec["type"] == "maxpool2d":
        return f"maxpool {spec.get('size', 2)}"
    if spec["type"] == "dropout":
        return f"dropout {spec.get('rate', 0.5)}"
    return spec["type"]


COMMANDS = [inspect]

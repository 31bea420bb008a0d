"""`ocrkit ocr`: read hand-printed pages."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ocrkit.cli.common import note, progress_enabled, quiet_option
from ocrkit.formats import FORMATS


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="Model file [default: the shipped default model].")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="text",
              help="Output format on stdout: " + ", ".join(
                  f"{f.name} ({f.description})" for f in FORMATS.values()) + ".")
@click.option("--overlay", type=click.Path(dir_okay=False), default=None,
              help="Write the photo with the character boxes and labels drawn (PNG, or the "
                   "type its extension names; its folder is created); with several images, "
                   "one file each named OVERLAY-STEM.png (numbered where stems repeat).")
@click.option("--overlay-scale", type=click.Choice(["fit", "full"]), default="fit",
              help="fit: the longer side about 1,300 pixels; full: the image's own pixels.")
@click.option("--truth", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Ground-truth text file for CER/WER (one per image, in order; UTF-8).")
@click.option("--case", type=click.Choice(["auto", "upper", "mixed"]), default="auto",
              help="upper: every letter a capital; mixed: c/C, o/O, s/S, ... decided from each "
                   "letter's height on its line; auto: upper for a page written in capitals, "
                   "else mixed. --truth scores case-sensitively when the page is read mixed.")
@click.option("--lexicon", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A word list (UTF-8, one word a line, most frequent first) the reader "
                   "prefers words from [default: 30,000 English words].")
@click.option("--no-lexicon", is_flag=True, help="Read words letter by letter, no word list.")
@click.option("--no-context", is_flag=True,
              help="Do not settle 0/O, 1/I, 2/Z, 5/S, 6/G, 8/B from the rest of the word.")
@click.option("--alphabet", default=None,
              help="The only characters the pages hold, e.g. 0123456789 for digits "
                   "(a whitelist; the model's other classes are never chosen).")
@click.option("--crops", type=click.Path(file_okay=False), default=None,
              help="Also write each character as a 32x32 PNG to CROPS/<label>/, labelled by "
                   "--truth where a line's length matches, else by the model: a dataset "
                   "for ocrkit finetune.")
@quiet_option
def ocr(images, model, fmt, overlay, overlay_scale, truth, case, lexicon, no_lexicon, no_context,
        alphabet, crops, quiet):
    """Read the text of IMAGE photos of hand-printed pages (block capitals and digits).

    Text: one output line per written line, single spaces between words. Several images
    give one result each; an image that fails is reported on stderr and the others are
    still read (exit status 1 if any failed).

    \b
    Examples:
      ocrkit ocr page.jpg
      ocrkit ocr page.jpg --format json --overlay boxes.png --truth page.gt.txt
      ocrkit ocr page.jpg --format pdf > page.pdf     # searchable: the image + its text
    """
    from tqdm import tqdm

    from ocrkit.errors import OcrkitError
    from ocrkit.metrics import error_rates
    from ocrkit.page import load_image

    if truth and len(truth) != len(images):
        raise click.UsageError(f"{len(truth)} --truth files for {len(images)} images; "
                               "give one per image, in the same order")
    if FORMATS[fmt].one_page and len(images) > 1:
        raise click.BadParameter(f"{fmt} holds one page per document; give one image",
                                 param_hint="--format")
    if FORMATS[fmt].binary and sys.stdout.isatty():
        raise click.UsageError(f"--format {fmt} writes binary data: redirect stdout to a "
                               f"file (> page{FORMATS[fmt].extension})")
    expected = [_read_truth(t) for t in truth]          # every one before any image is read
    if overlay:
        from ocrkit import plots
        plots.writable(overlay if len(images) == 1 else Path(overlay).with_suffix(".png"))
    if crops:                                           # a folder that cannot be made: now
        try:
            Path(crops).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OcrkitError(f"{crops}: cannot make the crops folder ({exc.strerror or exc})")
    names = _crop_names(images)
    from ocrkit import Reader
    try:
        reader = Reader(model, context=not no_context, alphabet=alphabet, case=case,
                        lexicon=False if no_lexicon else (lexicon or True))
    except OcrkitError as exc:
        if alphabet is not None and "alphabet" in str(exc):
            raise click.BadParameter(str(exc), param_hint="--alphabet")
        raise click.ClickException(f"{model}: {exc}" if "model cannot" in str(exc) else str(exc))
    pages, failed, scores = [], 0, []
    bar = tqdm(images, desc="ocr", unit="image", disable=not (progress_enabled(quiet)
                                                               and len(images) > 1))
    for i, path in enumerate(bar):
        try:
            page = reader.read(path)
            grey = load_image(path) if overlay else None
        except OcrkitError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed += 1
            continue
        if not page.lines:
            note(f"{path}: no text found", quiet)
        pages.append(page)
        if crops:
            from ocrkit.data.crops import save_crops
            try:
                saved = save_crops(page, crops, expected[i] if truth else None, names[i])
                note(f"{path}: {saved['written']} characters written to {crops}/, "
                     f"{saved['from_truth']} labelled by the truth", quiet)
            except OcrkitError as exc:              # the page is still printed
                click.echo(f"Error: {exc}", err=True)
                failed += 1
        if truth:
            mixed = any(s.id == "case" and s.settings.get("decided") == "mixed"
                        for s in page.steps)
            scores.append(error_rates(page.text, expected[i], case_sensitive=mixed))
        if overlay:
            target = Path(overlay)
            if len(images) > 1:
                target = target.with_name(f"{target.stem}-{names[i]}.png")   # never collide
            try:
                plots.overlay(grey, page, target, full_size=overlay_scale == "full")
            except OcrkitError as exc:              # the page is still printed
                click.echo(f"Error: {exc}", err=True)
                failed += 1
    bar.close()
    _print(pages, scores, fmt)
    if failed:
        raise SystemExit(1)


def _crop_names(images) -> list[str]:
    """A distinct file-name part for each image (crops, overlays): its stem, numbered where stems
    repeat (a/p.jpg, b/p.jpg), and made unique against every other name."""
    stems = [Path(p).stem for p in images]
    names, used = [], set()
    for i, stem in enumerate(stems):
        name = stem if stems.count(stem) == 1 else f"{i + 1:02d}-{stem}"
        while name in used or (name != stem and name in stems):
            name = f"{name}-{i + 1}"
        used.add(name)
        names.append(name)
    return names


def _read_truth(path) -> str:
    """A ground-truth file's text (UTF-8; a byte-order mark is dropped); OcrkitError when it
    cannot be read or is not text."""
    from ocrkit.errors import OcrkitError
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise OcrkitError(f"{path}: ground truth is not a UTF-8 text file") from None
    except OSError as exc:
        raise OcrkitError(f"{path}: cannot read ground truth ({exc.strerror or exc})") from None
    if "\x00" in text:
        raise OcrkitError(f"{path}: ground truth is not a text file (it holds NUL bytes)")
    return text


def _print(pages, scores, fmt):
    """The pages in format `fmt` on stdout (the images come from each page's path)."""
    from ocrkit import formats
    if fmt == "json" and scores:
        out = formats.json.write(pages, extra=[{"cer": round(s["cer"], 4),
                                                "wer": round(s["wer"], 4)} for s in scores])
    elif pages or not FORMATS[fmt].binary:
        out = FORMATS[fmt].write(pages, images=[p.path for p in pages])
    else:
        out = b""
    click.echo(out, nl=False)
    if scores:
        to_err = fmt != "text"
        for p, s in zip(pages, scores):
            click.echo(f"{p.path}: CER {100 * s['cer']:.1f}% ({s['char_errors']}/{s['chars']}) "
                       f"WER {100 * s['wer']:.1f}% ({s['word_errors']}/{s['words']})", err=to_err)
        if len(scores) > 1:
            c = sum(s["char_errors"] for s in scores) / max(sum(s["chars"] for s in scores), 1)
            w = sum(s["word_errors"] for s in scores) / max(sum(s["words"] for s in scores), 1)
            click.echo(f"total: CER {100 * c:.1f}% WER {100 * w:.1f}%", err=to_err)


COMMANDS = [ocr]

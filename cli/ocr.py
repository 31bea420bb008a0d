"""`ocrkit ocr`: read hand-printed pages, one or a folder of thousands (Reader.read_many)."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from ocrkit.cli.common import note, quiet_option
from ocrkit.formats import FORMATS


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option("-r", "--recursive", is_flag=True, help="Read the folders' sub-folders too.")
@click.option("--files-from", "files_from", multiple=True, type=click.Path(dir_okay=False),
              help="Also read the paths listed in this file, one a line (- reads stdin).")
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="Model file [default: the shipped default model].")
@click.option("--recognizer", type=click.Choice(["auto", "cuts", "line"]), default="auto",
              help="cuts: characters cut from each line where the character model reads "
                   "them best; line: each line read whole by the line model (CTC); auto: "
                   "the line model, but the cuts for a page written in capitals.")
@click.option("--line-model", type=click.Path(dir_okay=False), default=None,
              help="Line model file for --recognizer line/auto [default: the shipped one].")
@click.option("--format", "fmt", default="text",
              help="Output format: " + ", ".join(f"{f.name} ({f.description})"
                                                 for f in FORMATS.values())
                   + "; with --output-dir several, comma-separated (text,json,pdf).")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Write one file per page and format here (mirroring the inputs' folders), "
                   "each as soon as its page is read, instead of printing the pages.")
@click.option("--skip-existing", is_flag=True,
              help="With --output-dir: pass over pages whose files are all there (resume "
                   "an interrupted batch).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Processes reading at once [default: the cores available].")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Read on a Dask cluster (tcp://host:8786; pip install 'ocrkit[dask]'); "
                   "its workers must see the images and the model at the same paths.")
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
                   "--truth where its line aligns with a truth line and every cheapest "
                   "alignment gives it the same character, else by the model: a dataset "
                   "for ocrkit finetune.")
@quiet_option
def ocr(inputs, recursive, files_from, model, recognizer, line_model, fmt, output_dir, skip_existing, jobs,
        dask_address, overlay, overlay_scale, truth, case, lexicon, no_lexicon, no_context,
        alphabet, crops, quiet):
    """Read the text of photos of hand-printed pages: image files, folders of them
    (--recursive for their sub-folders) and glob patterns ('scans/**/*.jpg').

    Text: one output line per written line, single spaces between words. Each page is
    printed (or written to --output-dir) as soon as it is read, in input order; a page
    that fails is one Error line and the others are still read. With several pages a
    summary on stderr ends the run and lists the failed ones (exit status 1 if any).

    \b
    Examples:
      ocrkit ocr page.jpg
      ocrkit ocr page.jpg --format json --overlay boxes.png --truth page.gt.txt
      ocrkit ocr scans/ -r --output-dir ocr/ --format text,json --skip-existing
      find scans -name '*.jpg' | ocrkit ocr --files-from - --jobs 2
      ocrkit ocr page.jpg --format pdf > page.pdf     # searchable: the image + its text
    """
    from ocrkit import Reader
    from ocrkit.batch import OutputFolder, Stream, find_images
    from ocrkit.errors import OcrkitError
    from ocrkit.progress import Progress
    log = logging.getLogger("ocrkit.ocr")

    formats = _formats(fmt, output_dir)
    if skip_existing and not output_dir:
        raise click.UsageError("--skip-existing needs --output-dir (the files it looks for)")
    if not inputs and not files_from:
        raise click.UsageError("give images, folders or patterns to read (or --files-from)")
    found = find_images(inputs, recursive, files_from)
    _note_skipped(found.skipped, quiet)
    paths = found.paths
    for pattern in found.missing:
        click.echo(f"Error: {pattern}: no file matches", err=True)
    if not paths:
        if found.missing:
            raise SystemExit(1)
        raise OcrkitError(f"no images to read in {', '.join(map(str, inputs or files_from))}")
    if truth and len(truth) != len(paths):
        raise click.UsageError(f"{len(truth)} --truth files for {len(paths)} images; "
                               "give one per image, in the same order")
    if not output_dir and FORMATS[formats[0]].one_page and len(paths) > 1:
        raise click.BadParameter(f"{formats[0]} holds one page per document; give one image "
                                 "or --output-dir", param_hint="--format")
    if not output_dir and FORMATS[formats[0]].binary and sys.stdout.isatty():
        raise click.UsageError(f"--format {formats[0]} writes binary data: redirect stdout to "
                               f"a file (> page{FORMATS[formats[0]].extension}) or give "
                               "--output-dir")
    expected = [_read_truth(t) for t in truth]          # every one before any image is read
    if overlay:
        from ocrkit import plots
        plots.writable(overlay if len(paths) == 1 else Path(overlay).with_suffix(".png"))
    if crops:                                           # a folder that cannot be made: now
        try:
            Path(crops).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OcrkitError(f"{crops}: cannot make the crops folder ({exc.strerror or exc})")
    names = _crop_names(paths)
    try:
        reader = Reader(model, context=not no_context, alphabet=alphabet, case=case,
                        lexicon=False if no_lexicon else (lexicon or True),
                        recognizer=recognizer, line_model=line_model)
    except OcrkitError as exc:
        if alphabet is not None and "alphabet" in str(exc):
            raise click.BadParameter(str(exc), param_hint="--alphabet")
        raise click.ClickException(f"{model}: {exc}" if "model cannot" in str(exc) else str(exc))

    out = OutputFolder(output_dir, formats, paths, found.root) if output_dir else None
    todo = [i for i, p in enumerate(paths) if not (skip_existing and out.done(p))]
    if len(todo) < len(paths):
        note(f"{len(paths) - len(todo)} of {len(paths)} pages already done in {output_dir}: "
             "skipped", quiet)
    stream = None if out else Stream(formats[0], _echo, several=len(paths) > 1)
    scores_out = not out and formats[0] == "text"       # CER/WER lines beside the text
    failed, scores, chars, n_read = [], [], 0, 0
    start = time.perf_counter()
    several = len(todo) > 1
    progress = Progress(total=len(todo), desc="ocr", unit="page",
                        show=None if several else False, log_lines=several)
    client = _dask_client(dask_address) if dask_address else None
    results = None
    try:
        results = reader.read_many([paths[i] for i in todo], jobs=jobs, client=client)
        for result, i in zip(results, todo):
            progress.update()
            with progress.paused():
                if not result.ok:
                    click.echo(f"Error: {result.message}", err=True)
                    if result.trace:
                        log.debug("%s", result.trace.rstrip())        # -v
                    failed.append(result.path)
                    continue
                page = result.page
                chars, n_read = chars + len(page.chars), n_read + 1
                if not page.lines:
                    note(f"{result.path}: no text found", quiet)
                extra = {}
                if truth:
                    s = _score(page, expected[i])
                    scores.append(s)
                    extra = {"cer": round(s["cer"], 4), "wer": round(s["wer"], 4)}
                problems = _side_outputs(result, i, out, crops, overlay, overlay_scale,
                                         expected, names, len(paths), quiet)
                if stream is not None:
                    stream.add(page, extra)
                if truth:
                    click.echo(_score_line(result.path, scores[-1]), err=not scores_out)
                if problems:
                    failed.append(result.path)
    except KeyboardInterrupt:
        progress.close()
        _summary(len(paths), len(todo), n_read, failed, chars, start, quiet, interrupted=True)
        raise SystemExit(130)
    finally:
        progress.close()
        if results is not None:
            results.close()             # the runner stops its workers or cluster tasks
        if client is not None:
            client.close()
    if stream is not None:
        stream.close()
    if len(scores) > 1:
        c = sum(s["char_errors"] for s in scores) / max(sum(s["chars"] for s in scores), 1)
        w = sum(s["word_errors"] for s in scores) / max(sum(s["words"] for s in scores), 1)
        click.echo(f"total: CER {100 * c:.1f}% WER {100 * w:.1f}%", err=not scores_out)
    if len(paths) > 1 or found.missing:
        _summary(len(paths), len(todo), n_read, failed + found.missing, chars, start, quiet)
    if failed or found.missing:
        raise SystemExit(1)


def _formats(fmt: str, output_dir) -> list[str]:
    formats = [f.strip() for f in fmt.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"{', '.join(unknown) or repr(fmt)}: choose from "
                                 f"{', '.join(FORMATS)}", param_hint="--format")
    if len(formats) > 1 and not output_dir:
        raise click.BadParameter("several formats need --output-dir (one file per page and "
                                 "format); stdout takes one", param_hint="--format")
    return list(dict.fromkeys(formats))


def _echo(data) -> None:
    click.echo(data, nl=False)


def _note_skipped(skipped: list, quiet: bool) -> None:
    if not skipped:
        return
    folders = [s for s in skipped if s.endswith(("/", "\\"))]
    files = [s for s in skipped if s not in folders]
    if files:
        note(f"skipped {len(files)} files that are not images ({', '.join(files[:3])}"
             f"{', ...' if len(files) > 3 else ''})", quiet)
    if folders:
        note(f"skipped {len(folders)} sub-folders ({', '.join(folders[:3])}"
             f"{', ...' if len(folders) > 3 else ''}); --recursive reads them", quiet)


def _dask_client(address: str):
    from ocrkit.errors import OcrkitError
    try:
        from distributed import Client
    except ImportError:
        raise OcrkitError("--dask needs Dask: pip install 'ocrkit[dask]'") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise OcrkitError(f"--dask {address}: cannot reach the scheduler ({exc})") from None


def _side_outputs(result, i, out, crops, overlay, overlay_scale, expected, names, n_pages,
                  quiet) -> bool:
    """Write a read page's files, crops and overlay; True when one of them failed (the page's
    text is still printed)."""
    from ocrkit.errors import OcrkitError
    failed = False
    try:
        if out is not None:
            out.write(result)
    except OcrkitError as exc:
        click.echo(f"Error: {exc}", err=True)
        failed = True
    if crops:
        from ocrkit.data.crops import save_crops
        try:
            saved = save_crops(result.page, crops, expected[i] if expected else None, names[i])
            note(f"{result.path}: {saved['written']} characters written to {crops}/, "
                 f"{saved['from_truth']} labelled by the truth", quiet)
        except OcrkitError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed = True
    if overlay:
        from ocrkit import plots
        from ocrkit.page import load_image
        target = Path(overlay)
        if n_pages > 1:
            target = target.with_name(f"{target.stem}-{names[i]}.png")   # never collide
        try:
            plots.overlay(load_image(result.path), result.page, target,
                          full_size=overlay_scale == "full")
        except OcrkitError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed = True
    return failed


def _score(page, truth: str) -> dict:
    """CER/WER against the truth: case-sensitive when the page was read in mixed case."""
    from ocrkit.metrics import error_rates
    mixed = any(s.id == "case" and s.settings.get("decided") == "mixed" for s in page.steps)
    return error_rates(page.text, truth, case_sensitive=mixed)


def _score_line(path, s: dict) -> str:
    return (f"{path}: CER {100 * s['cer']:.1f}% ({s['char_errors']}/{s['chars']}) "
            f"WER {100 * s['wer']:.1f}% ({s['word_errors']}/{s['words']})")


def _summary(n_paths, n_todo, n_read, failed, chars, start, quiet, interrupted=False) -> None:
    """The closing lines on stderr: pages, characters, failures, pages/s; the failed paths."""
    if quiet and not failed:
        return
    seconds = time.perf_counter() - start
    done = n_paths - n_todo
    click.echo(f"ocr: {n_read} of {n_todo} pages read"
               + (f" ({done} more already done)" if done else "")
               + f", {chars:,} characters, {len(failed)} failed, "
               f"{n_read / max(seconds, 1e-9):.2f} pages/s ({seconds:.1f} s)"
               + ("; interrupted" if interrupted else ""), err=True)
    if failed:
        click.echo("failed:", err=True)
        for path in failed:
            click.echo(f"  {path}", err=True)


def _crop_names(images) -> list[str]:
    """A distinct file-name part for each image (crops, overlays): its stem, numbered where
    stems repeat (a/p.jpg, b/p.jpg), and made unique against every other name."""
    from collections import Counter
    stems = [Path(p).stem for p in images]
    counts, all_stems = Counter(stems), set(stems)
    names, used = [], set()
    for i, stem in enumerate(stems):
        name = stem if counts[stem] == 1 else f"{i + 1:02d}-{stem}"
        while name in used or (name != stem and name in all_stems):
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


COMMANDS = [ocr]

"""`ocrkit data fetch`: download the public datasets."""
from __future__ import annotations

import click

from ocrkit.cli.common import note, progress_enabled, quiet_option


@click.group()
def data():
    """Get datasets."""


@data.command()
@click.argument("name", type=click.Choice(["nist36", "emnist"]))
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Where to put it (default: $OCRKIT_DATA, then ./data).")
@click.option("--url", default=None,
              help="Get the archive from here instead: a mirror's URL, or a copy on this "
                   "machine (a path or file:// URL).")
@click.option("--checksum", default="default",
              help="Expected 'md5:HEX' or 'sha256:HEX' of the archive (default: the published "
                   "one, where known).")
@quiet_option
def fetch(name, data_dir, url, checksum, quiet):
    """Download dataset NAME (nist36 or emnist) into the data folder.

    Nothing is downloaded when the files are already there (checked against the SHA256SUMS
    written beside them) or the archive is in the user cache (checked again). The archive
    is checked against its published checksum (or the zip's CRCs) before anything is kept.

    \b
    Examples:
      ocrkit data fetch emnist --data-dir data
      ocrkit data fetch emnist --url /media/usb/gzip.zip      # an offline copy
    """
    from ocrkit.data import data_dirs
    from ocrkit.data.fetch import fetch as do_fetch
    target = data_dir or data_dirs()[0]
    files = do_fetch(name, target, url=url, checksum=checksum or None,
                     progress=progress_enabled(quiet))
    for f in files:
        click.echo(str(f))
    note(f"{name}: {len(files)} files in {files[0].parent}", quiet)


COMMANDS = [data]

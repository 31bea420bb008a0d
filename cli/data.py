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
@click.option("--url", default=None, help="Download from this address instead (a mirror).")
@click.option("--checksum", default="default",
              help="Expected 'md5:HEX' or 'sha256:HEX' of the archive (default: the published "
                   "one, where known).")
@quiet_option
def fetch(name, data_dir, url, checksum, quiet):
    """Download dataset NAME (nist36 or emnist) into the data folder.

    \b
    Example:  ocrkit data fetch emnist --data-dir data
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

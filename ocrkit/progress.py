"""Progress of long runs, one way for every command: a tqdm bar with its rate on a terminal;
elsewhere (a log file, CI, a pipe) a log line on the "ocrkit" logger every few seconds.

    with Progress(total=len(paths), desc="ocr", unit="page") as progress:
        for ... :
            progress.update()
            with progress.paused():          # print something without breaking the bar
                print(text)

The command line sets the logger's level from -q/-v (ocrkit.cli.common); a program using the
library sees the log lines once it configures logging (logging.basicConfig(level="INFO")).
"""
from __future__ import annotations

import contextlib
import logging
import sys
import time

log = logging.getLogger("ocrkit.progress")
EVERY = 5.0         # seconds between log lines without a terminal


class Progress:
    """`show`: True a bar, False log lines (every EVERY seconds; none if not `log_lines`),
    None a bar when stderr is a terminal and the logger shows INFO."""

    def __init__(self, total: int | None = None, desc: str = "", unit: str = "page",
                 show: bool | None = None, log_lines: bool = True):
        self.total, self.desc, self.unit = total, desc, unit
        self.every = EVERY if log_lines else None
        self.n, self.start = 0, time.perf_counter()
        self._logged = self.start
        if show is None:
            show = sys.stderr.isatty() and log.isEnabledFor(logging.INFO)
        self.bar = None
        if show:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                            dynamic_ncols=True, leave=False)

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter()
        if self.every is not None and now - self._logged >= self.every:
            self._logged = now
            log.info("%s", self.line())

    def line(self) -> str:
        """"ocr: 40/200 pages, 3.1 pages/s": where the run is, as one line."""
        seconds = max(time.perf_counter() - self.start, 1e-9)
        of = f"/{self.total}" if self.total is not None else ""
        return (f"{self.desc}: {self.n:,}{of} {self.unit}s, "
                f"{self.n / seconds:,.1f} {self.unit}s/s")

    @contextlib.contextmanager
    def paused(self):
        """Write to stdout or stderr inside this block without garbling the bar."""
        if self.bar is None:
            yield
            return
        from tqdm import tqdm
        with tqdm.external_write_mode(file=sys.stderr):
            yield

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress_chunks(n: int, chunk: int, desc: str, unit: str):
    """(start, stop) slices of range(n) in chunks, with a Progress over them: for
    whole-batch work (a model over a dataset) that still reports where it is."""
    with Progress(total=n, desc=desc, unit=unit) as progress:
        for i in range(0, n, chunk):
            yield i, min(i + chunk, n)
            progress.update(min(chunk, n - i))

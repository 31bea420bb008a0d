"""Reader.read_many's runners: the same Reader.read on many paths, in this process, in a
process pool, or on a Dask cluster; results in input order, a bounded number in flight.

    for result in read_many(reader, paths, jobs=2):
        ...                              # result.path, result.page or result.error

Every runner is a loop around `read_one(reader, path)`; none is a second pipeline. A page's
error (an OcrkitError, MemoryError, ValueError, any Exception, or its worker dying) is that
result's `error` and the batch goes on. Ctrl-C (KeyboardInterrupt) stops the batch.

- in-process (jobs=1, or a single page): no start-up cost, BLAS threads as numpy sets them.
- a process pool (jobs=N): N worker processes, each unpickling the Reader once (the model's
  plain data, ocrkit.reader) and pinned to one BLAS thread, so N workers never oversubscribe
  N cores. Workers fork from a forkserver that has imported the pipeline once (spawn where
  there is no forkserver). A worker that dies (killed, out of memory) breaks the pool: the
  pages then in flight are read again one at a time in a new pool, so only the page whose
  worker dies while reading it alone is reported (WorkerDied), and no page is lost.
- Dask (client=distributed.Client(address)): ocrkit.batch.cluster.

A pool worker ends by itself when the batch's process is gone (a SIGKILLed batch leaves no
workers behind). This module imports no numpy, so a spawned worker can pin its BLAS before
numpy loads.
"""
from __future__ import annotations

import logging
import os
import pickle
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from itertools import chain, islice

from ocrkit.errors import OcrkitError

log = logging.getLogger("ocrkit.batch")

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3     # glibc's mallopt parameters (malloc.h)
MMAP_KEEP = 128 << 20       # a worker's blocks under this come from its heap ...
TRIM_KEEP = 256 << 20       # ... which keeps up to this much freed memory for the next page
IN_FLIGHT = 4               # pages in flight per worker: keeps workers busy, memory bounded
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                         "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class WorkerDied(OcrkitError):
    """The process reading a page died (killed, out of memory, a crash in native code)."""


@dataclass
class Result:
    """One page of a batch: `path` as given, and its `page` (ocrkit.page.Page) or its
    `error` (the exception) and `trace`, the traceback where it was raised (a worker's
    too); `seconds` the time reading it took where it was read."""

    path: str
    page: object = None
    error: BaseException | None = None
    seconds: float = 0.0
    trace: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        """The error as one line for the user ("" when the page was read)."""
        exc = self.error
        if exc is None:
            return ""
        if isinstance(exc, OcrkitError):
            return str(exc)
        if isinstance(exc, MemoryError):
            return f"{self.path}: out of memory reading it (an image too large for this machine)"
        return f"{self.path}: {type(exc).__name__}: {exc}"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), the default for jobs."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:              # not on Linux
        return os.cpu_count() or 1


def read_one(reader, path, name: str | None = None) -> Result:
    """Read one page; any Exception becomes the result's error. `name` (default `path`) is
    how the page and its result are named."""
    name = str(path) if name is None else name
    start = time.perf_counter()
    try:
        page = reader.read(path, path=name)
    except Exception as exc:
        return Result(name, error=exc, seconds=time.perf_counter() - start,
                      trace=traceback.format_exc())
    return Result(name, page, seconds=time.perf_counter() - start)


def read_many(reader, paths, jobs: int | None = None, client=None):
    """Results for `paths` in their order (see the module docstring for the runners)."""
    if client is not None:
        from ocrkit.batch.cluster import read_on_dask
        return read_on_dask(reader, iter(paths), client)
    jobs = available_cores() if jobs is None else int(jobs)
    if jobs < 1:
        raise OcrkitError(f"jobs must be at least 1, not {jobs}")
    paths = iter(paths)
    head = list(islice(paths, jobs))            # no more workers than pages
    paths = chain(head, paths)
    if jobs == 1 or len(head) < 2:
        return (read_one(reader, p) for p in paths)
    return _in_pool(reader, paths, len(head))


# -- the process pool --------------------------------------------------------------------------
_reader = None              # a pool worker's Reader, unpickled once by _start_worker


def keep_freed_memory() -> bool:
    """Let this worker process's C heap keep the big buffers a page frees (glibc mallopt:
    blocks under MMAP_KEEP from the heap, up to TRIM_KEEP of free heap kept), so the next
    page reuses them instead of the kernel mapping and zeroing them again. Dask's nanny starts
    workers with MALLOC_TRIM_THRESHOLD_=65536, which turns glibc's own adaptive thresholds off:
    a page's 10-60 MB network buffers were then mapped and unmapped each time, and 40 pages
    took 41 s (17 s of it in the kernel) against 24 s. Returns whether it was applied (glibc
    only; elsewhere nothing changes)."""
    import ctypes
    import ctypes.util
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_KEEP)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_KEEP))


def _start_worker(reader_bytes: bytes, batch_pid: int) -> None:
    global _reader
    threading.Thread(target=_end_with, args=(batch_pid,), daemon=True).start()
    for name in BLAS_THREAD_VARIABLES:          # any BLAS loaded from here on: one thread
        os.environ[name] = "1"
    keep_freed_memory()
    _reader = pickle.loads(reader_bytes)        # imports numpy and the pipeline
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)                        # and those loaded already (forkserver preload)


def _end_with(pid: int) -> None:
    """End this worker when the batch's process is gone (killed with SIGKILL, say): the
    pool's queues, whose ends every worker holds, would never tell it."""
    while True:
        time.sleep(0.5)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except OSError:
            pass


def _read_in_worker(path) -> Result:
    return read_one(_reader, path)


def blas_threads() -> list[int]:
    """The thread counts of the BLAS libraries loaded in this process (threadpoolctl)."""
    from threadpoolctl import threadpool_info
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


def pool_starter(reader, jobs: int):
    """A function starting a new pool of `jobs` workers holding `reader`."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["ocrkit.page", "ocrkit.modelfile", __name__])
    else:
        context = multiprocessing.get_context("spawn")
    blob = pickle.dumps(reader, protocol=pickle.HIGHEST_PROTOCOL)
    return lambda: ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                                       initargs=(blob, os.getpid()))


def _in_pool(reader, paths, jobs: int):
    from concurrent.futures.process import BrokenProcessPool
    start = pool_starter(reader, jobs)
    pool, pending = start(), deque()
    try:
        while True:
            for path in islice(paths, jobs * IN_FLIGHT - len(pending)):
                pending.append((path, pool.submit(_read_in_worker, path)))
            if not pending:
                return
            path, future = pending.popleft()
            try:
                yield future.result()
                continue
            except BrokenProcessPool:
                suspects = [path] + [p for p, _ in pending]
                pending.clear()
            log.warning("a worker process died; reading its %d pages again one at a time",
                        len(suspects))
            pool.shutdown(wait=False, cancel_futures=True)
            pool = start()
            for path in suspects:           # alone: a death now is this page's doing
                try:
                    yield pool.submit(_read_in_worker, path).result()
                except BrokenProcessPool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = start()
                    yield Result(str(path), error=WorkerDied(
                        f"{path}: the worker process reading it died (killed, or out of "
                        "memory)"))
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)

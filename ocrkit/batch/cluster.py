"""The Dask runner of Reader.read_many (`pip install 'ocrkit[dask]'`).

The Reader goes to the cluster once, as a worker plugin: each worker, and each worker that
joins or is restarted later, unpickles it once (the model's plain data, about the size of
the model file). Each page is then one small task, `read_one` on the worker, reading the
image from its absolute path: the workers must see the inputs under the same names (a shared
or network file system); the results (Pages) come back to the client, which writes the
outputs. Dask's nanny starts workers with one BLAS thread (OMP/OPENBLAS/MKL_NUM_THREADS=1).

A page whose workers die while reading it (Dask's KilledWorker, after its allowed-failures
retries) is read once more alone, with nothing else in flight: a page that was only beside
the one that killed them is read, and the one that kills its worker alone is reported.
"""
from __future__ import annotations

import os
import pickle
import uuid
from collections import deque
from itertools import islice

from distributed import KilledWorker, WorkerPlugin, wait

from ocrkit.batch.runners import IN_FLIGHT, Result, WorkerDied, keep_freed_memory, log, read_one

_readers: dict = {}         # on a worker: the Readers of the batches it serves, by plugin name


class ReaderPlugin(WorkerPlugin):
    """Holds one Reader on every worker of the cluster while a batch runs."""

    def __init__(self, reader):
        self.name = f"ocrkit-reader-{uuid.uuid4().hex}"
        self.reader_bytes = pickle.dumps(reader, protocol=pickle.HIGHEST_PROTOCOL)

    def setup(self, worker):
        keep_freed_memory()             # undo the nanny's MALLOC_TRIM_THRESHOLD_ (runners)
        _readers[self.name] = pickle.loads(self.reader_bytes)

    def teardown(self, worker):
        _readers.pop(self.name, None)


def _read_on_worker(reader_name: str, path: str, name: str) -> Result:
    return read_one(_readers[reader_name], path, name)


def read_on_dask(reader, paths, client):
    """Results for `paths` in their order, read on the workers of `client`."""
    plugin = ReaderPlugin(reader)
    client.register_plugin(plugin, name=plugin.name)
    threads = sum(client.nthreads().values()) or 1

    def submit(path):
        return client.submit(_read_on_worker, plugin.name, os.path.abspath(path), str(path),
                             pure=False)

    pending = deque()
    try:
        while True:
            for path in islice(paths, threads * IN_FLIGHT - len(pending)):
                pending.append((path, submit(path)))
            if not pending:
                return
            path, future = pending.popleft()
            try:
                result = future.result()
            except KilledWorker:
                wait([f for _, f in pending])       # then this page alone
                retry = submit(path)
                try:
                    result = retry.result()
                except KilledWorker as exc:
                    result = Result(str(path), error=WorkerDied(
                        f"{path}: the Dask workers reading it died ({exc})"))
                retry.release()
            except Exception as exc:                # the task or the cluster failed
                log.debug("%s failed on the cluster", path, exc_info=True)
                result = Result(str(path), error=exc)
            future.release()
            yield result
    finally:
        if pending:
            client.cancel([future for _, future in pending])
        if client.status == "running":
            client.unregister_worker_plugin(plugin.name)

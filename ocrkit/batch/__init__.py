"""Batch reading: many pages through one Reader, in input order, with flat memory.

    inputs.py    files, folders (--recursive), glob patterns, list files -> image paths
    runners.py   Reader.read_many: in this process, a process pool, or a Dask cluster
    outputs.py   one file per page and format (atomic), or one stream; --skip-existing

    from ocrkit import Reader
    from ocrkit.batch import find_images
    for result in Reader().read_many(find_images(["scans/"], recursive=True).paths, jobs=2):
        print(result.path, result.page.text if result.ok else result.message)
"""
from ocrkit.batch.inputs import IMAGE_SUFFIXES, find_images
from ocrkit.batch.outputs import OutputFolder, Stream
from ocrkit.batch.runners import Result, WorkerDied, available_cores, read_many

__all__ = ["IMAGE_SUFFIXES", "OutputFolder", "Result", "Stream", "WorkerDied",
           "available_cores", "find_images", "read_many"]

"""Short runs of the fuzz targets (tests/fuzz_targets.py): no crash, hang or case over its
limits in a few hundred cases each, the same cases every run. `make fuzz` runs 10,000 each,
with a new seed every time (docs/SECURITY.md has the numbers)."""
from __future__ import annotations

import pytest

from fuzzing import Worker, campaign

SHORT = {"model_mutated": 300, "model_hostile": 300, "dataset_mat": 200, "dataset_idx": 200,
         "dataset_folder": 80, "page_array": 60, "page_file": 40}
# Targets whose code is being fixed elsewhere (issue 13): a run stops at its first failure.
PENDING: dict[str, str] = {}     # target -> the known failure being fixed (xfail meanwhile)


@pytest.mark.parametrize("name", list(SHORT))
def test_fuzz_target_short_run(name, request):
    if name in PENDING:
        request.applymarker(pytest.mark.xfail(reason=PENDING[name], strict=False))
    report = campaign(name, SHORT[name], stop_at_first=name in PENDING)
    assert report.cases > 0
    assert report.failures == 0, f"{report.summary()}\n{report.details()}"


def test_the_harness_tells_every_outcome_apart():
    worker = Worker()
    try:
        outcomes = {case: worker.run("selftest", case, wall_seconds=15)[0]
                    for case in ("ok", "refuse", "crash", "hang", "segfault", "ok")}
        report = campaign("selftest", 40, worker=worker)
    finally:
        worker.stop()
    assert outcomes == {"ok": "ok", "refuse": "refused", "crash": "crash", "hang": "hang",
                        "segfault": "died"}
    assert set(report.counts) == {"ok", "refused", "crash", "hang", "over_time",
                                  "over_memory", "died"}, report.counts

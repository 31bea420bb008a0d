"""Property-based fuzzing of what ocrkit reads from strangers, every case in a worker process
under a time and a memory limit, so a hang or a blow-up is counted instead of stalling the run.

    python tests/fuzzing.py                          # every target, 10,000 cases each (make fuzz)
    python tests/fuzzing.py page_array page_file -n 500
    python tests/fuzzing.py --replay out/fuzz/page_array-crash-1.case

Hypothesis draws each case as a small recipe (sizes, dtypes, seeds, mutations: see
fuzz_targets.py, which also says what each target runs and its limits). A worker process
(`python tests/fuzzing.py --worker`, one at a time, niced, single-threaded BLAS, its address
space capped) builds the input from the recipe and runs the target; it reports the outcome,
the case's CPU time and its peak resident memory above the worker's own (VmHWM, reset before
each case through /proc/self/clear_refs). The parent gives each case a wall-clock budget and
kills a worker that overruns it (a hang). Outcomes:

    ok / refused      the target returned, or refused the input with one OcrkitError
    crash             any other exception (a traceback for a user), MemoryError included
    died              the worker was killed by a signal (a segfault, the kernel)
    hang              no answer within the wall-clock budget
    over_time         answered, but used more CPU time than the target's limit
    over_memory       answered, but its peak memory passed the target's limit

The first case of each distinct failure (the exception's type and the ocrkit line it came
from, or the outcome) is saved under out/fuzz/ with a snippet that reruns it.
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
import resource
import select
import struct
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FAILED = ("crash", "died", "hang", "over_time", "over_memory")
WORKER_CASES = 300                  # a worker is replaced after this many cases (memory creep)
ADDRESS_SPACE = 6 << 30             # a worker's address space, over what it holds at start


# -- the wire between parent and worker: length-prefixed pickles (both ends are ours) ------------
def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    head = stream.read(8)
    if len(head) < 8:
        return None
    (n,) = struct.unpack("<Q", head)
    data = stream.read(n)
    return pickle.loads(data) if len(data) == n else None


# -- the worker ------------------------------------------------------------------------------------
def _status_kb(field_name: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"{field_name}:\s+(\d+)", f.read()).group(1))


def where(exc: BaseException) -> str:
    """The exception's type and the innermost ocrkit line it passed through (its identity)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/ocrkit/" in f.filename or "/cli/" in f.filename]
    frame = (ours or frames or [None])[-1]
    place = f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"
    return f"{type(exc).__name__} at {place}"


def serve() -> None:
    """Run cases from stdin until it closes (the parent's `--worker` child)."""
    wire_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                               # the targets' own prints go to stderr
    wire_in = sys.stdin.buffer
    sys.path.insert(0, str(HERE))
    import fuzz_targets
    from ocrkit.errors import OcrkitError
    fuzz_targets.warm_up()
    limit = _status_kb("VmSize") * 1024 + ADDRESS_SPACE
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _send(wire_out, "ready")            # start-up (imports, the default model) is not a case
    while (message := _receive(wire_in)) is not None:
        name, case = message
        target = fuzz_targets.TARGETS[name]
        with fuzz_targets.scratch() as folder:
            try:
                prepared = target.prepare(case, folder)     # the input itself: not measured
            except Exception as exc:                        # a harness bug, not a finding
                _send(wire_out, ("harness", f"prepare: {where(exc)}: {exc}", 0.0, 0.0))
                continue
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")                                # VmHWM := current RSS
            rss = _status_kb("VmRSS")
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime
            try:
                target.run(prepared)
                status, detail = "ok", ""
            except OcrkitError as exc:
                status, detail = "refused", str(exc)
                if "\n" in detail:
                    status, detail = "crash", f"an OcrkitError of several lines: {detail!r}"
            except (MemoryError, Exception) as exc:
                status, detail = "crash", f"{where(exc)}: {str(exc)[:300]}"
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime - cpu
            peak_mb = max(_status_kb("VmHWM") - rss, 0) / 1024
            prepared = None
        _send(wire_out, (status, detail, cpu, peak_mb))


class Worker:
    """One worker process, started on first use and replaced when it dies or hangs."""

    def __init__(self):
        self.proc = None
        self.cases = 0

    def _start(self):
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix="ocrkit-fuzz-worker-")   # its scratch: ours to clean
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONFAULTHANDLER="", TMPDIR=self.tmp)
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"], cwd=str(REPO),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
            preexec_fn=lambda: os.nice(10))
        self.cases = 0
        if not select.select([self.proc.stdout], [], [], 600)[0] or \
                _receive(self.proc.stdout) != "ready":
            raise RuntimeError("the fuzz worker did not start")

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                stream.close()
            import shutil
            shutil.rmtree(self.tmp, ignore_errors=True)     # what a killed worker left
        self.proc = None

    def run(self, name: str, case, wall_seconds: float) -> tuple:
        if self.proc is None or self.cases >= WORKER_CASES:
            self.stop()
            self._start()
        self.cases += 1
        try:
            _send(self.proc.stdin, (name, case))
        except BrokenPipeError:
            self.stop()
            return "died", "the worker was gone", 0.0, 0.0
        start = time.monotonic()
        if not select.select([self.proc.stdout], [], [], wall_seconds)[0]:
            self.stop()
            return "hang", f"no answer in {wall_seconds:.0f} s", time.monotonic() - start, 0.0
        answer = _receive(self.proc.stdout)
        if answer is None:
            code = self.proc.wait()
            self.stop()
            how = f"signal {-code}" if code < 0 else f"exit status {code}"
            return "died", f"the worker died ({how})", time.monotonic() - start, 0.0
        return answer


# -- a campaign: hypothesis draws, the worker runs ------------------------------------------------
@dataclass
class Report:
    target: str
    cases: int = 0
    counts: Counter = field(default_factory=Counter)
    first: dict = field(default_factory=dict)   # failure class -> (case, detail, cpu, peak)
    worst_cpu: float = 0.0
    worst_mb: float = 0.0
    reasons: Counter = field(default_factory=Counter)  # refusals, by their first words

    @property
    def failures(self) -> int:
        return sum(self.counts[s] for s in FAILED) + self.counts["harness"]

    def add(self, case, outcome, limits) -> str | None:
        status, detail, cpu, peak = outcome
        if status in ("ok", "refused"):
            if cpu > limits.seconds:
                status, detail = "over_time", f"{cpu:.1f} s of CPU (limit {limits.seconds:g})"
            elif peak > limits.memory_mb:
                status, detail = "over_memory", f"{peak:.0f} MB (limit {limits.memory_mb:g})"
        self.cases += 1
        self.counts[status] += 1
        if status not in ("died", "hang"):
            self.worst_cpu, self.worst_mb = max(self.worst_cpu, cpu), max(self.worst_mb, peak)
        if status == "refused":
            self.reasons[re.sub(r"\S*/ocrkit-fuzz-\S*", "FILE", detail)[:70]] += 1
        if status in ("ok", "refused"):
            return None
        key = f"{status}: {detail.split(':')[0] if status == 'crash' else ''}".rstrip(": ")
        if key not in self.first:
            self.first[key] = (case, detail, cpu, peak)
        return key

    def summary(self) -> str:
        bad = ", ".join(f"{self.counts[s]} {s}" for s in FAILED + ("harness",) if self.counts[s])
        return (f"{self.target}: {self.cases} cases, {self.counts['ok']} read, "
                f"{self.counts['refused']} refused with one clear error, "
                f"{bad or '0 crashes, 0 hangs, 0 over the limits'} "
                f"(worst {self.worst_cpu:.2f} s CPU, {self.worst_mb:.0f} MB)")

    def details(self) -> str:
        lines = []
        for key, (case, detail, cpu, peak) in self.first.items():
            lines.append(f"  {key}: {detail[:400]}")
            lines.append(f"    rerun: {snippet(self.target, case)}")
        return "\n".join(lines)


def snippet(name: str, case) -> str:
    return (f"python -c 'import sys; sys.path.insert(0, \"tests\"); import fuzz_targets as f; "
            f"f.rerun({name!r}, {case!r})'")


def campaign(name: str, examples: int, seed: int | None = None, stop_at_first: bool = False,
             worker: Worker | None = None, progress=None) -> Report:
    """Draw `examples` cases of target `name` and run each in the worker."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded
    sys.path.insert(0, str(HERE))
    import fuzz_targets
    target = fuzz_targets.TARGETS[name]
    report = Report(name)
    own = worker is None
    worker = worker or Worker()

    class Stop(Exception):
        pass

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=seed is None)
    @given(target.strategy)
    def one(case):
        key = report.add(case, worker.run(name, case, target.wall_seconds), target)
        if progress is not None:
            progress(report)
        if key and stop_at_first:
            raise Stop(key)

    if seed is not None:
        one = seeded(seed)(one)
    try:
        one()
    except Stop:
        pass
    finally:
        if own:
            worker.stop()
    return report


def save_failures(report: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (key, (case, detail, cpu, peak)) in enumerate(report.first.items(), 1):
        kind = key.split(":")[0]
        path = folder / f"{report.target}-{kind}-{i}.case"
        path.write_bytes(pickle.dumps({"target": report.target, "case": case, "key": key,
                                       "detail": detail}))
        paths.append(path)
    return paths


def main(argv=None) -> int:
    sys.path.insert(0, str(HERE))
    import fuzz_targets
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"of {', '.join(fuzz_targets.TARGETS)} "
                                                  "[default: all]")
    parser.add_argument("-n", "--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=None,
                        help="hypothesis seed [default: random, printed]")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "fuzz")
    parser.add_argument("--replay", type=Path, default=None, help="rerun a saved case here")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list the commonest refusals (is the fuzzing deep enough?)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        serve()
        return 0
    if args.replay:
        saved = pickle.loads(args.replay.read_bytes())
        print(f"{saved['target']}: {saved['key']}\n{saved['detail']}")
        fuzz_targets.rerun(saved["target"], saved["case"])
        return 0
    names = args.targets or [n for n in fuzz_targets.TARGETS if n != "selftest"]
    unknown = [n for n in names if n not in fuzz_targets.TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}")
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"fuzzing {', '.join(names)}: {args.examples} cases each, seed {seed}", flush=True)
    failed = 0
    for name in names:
        start = time.monotonic()

        def progress(report, start=start):
            if report.cases % 500 == 0:
                print(f"  {report.summary()} [{time.monotonic() - start:.0f} s]", flush=True)

        report = campaign(name, args.examples, seed=seed, progress=progress)
        print(f"{report.summary()} in {time.monotonic() - start:.0f} s", flush=True)
        if args.verbose:
            for reason, count in report.reasons.most_common(25):
                print(f"    {count:6d}  {reason}")
        if report.first:
            print(report.details())
            for path in save_failures(report, args.out):
                print(f"    saved {path}")
        failed += report.failures
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

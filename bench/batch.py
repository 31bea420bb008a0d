"""`make bench` (from bench.py) or `python bench/batch.py`: batch OCR side by side in one run.

A folder of PAGES pages in out/bench-pages/ (synthetic pages from ocrkit.data.pages, drawn
once and kept, plus the shared real pages of $OCRKIT_DATA/pages and /images of at most
REAL_MAX_MPX megapixels: today's pipeline takes up to two minutes and more than 20 GB on the
12-megapixel phone photos, which would make each pass take most of an hour on this shared
2-core machine and two at once could exhaust its memory) is read by the
real command, `ocrkit ocr DIR --output-dir ... --format text,json -q`, with
  --jobs 1, --jobs 2, and --dask on `dask scheduler` + `dask worker --nworkers 2
  --nthreads 1` on 127.0.0.1 (the cluster's start is not timed: a cluster outlives a batch),
beside Tesseract run as one process per page (`tesseract PAGE -`, its default threads).
It reports pages/s and the ratios, and the CPU seconds of every process of each run (each
runs in a session of its own: with Linux's autogroup scheduling, as here, the CPU is shared
out between sessions, so on a busy machine a run gets one session's share however many
processes it has, and its CPU seconds say what it would take on idle cores); the peak memory (max RSS) of `--jobs 1` on the first
PEAK_SMALL pages and on all pages (flat memory: within 10%); and start-up: `ocrkit ocr
small.jpg` beside `tesseract small.jpg -` (median of STARTS runs each, alternating), with
ocrkit's time split into start-up and reading (the read timed in a warm process).
The machine's load average is printed beside every figure: other work shares the cores.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "out"
PAGES = 200
REAL_MAX_MPX = 5
PEAK_SMALL = 50
STARTS = 7
RESULTS = Path(__file__).with_name("batch.json")
TEXTS = ["SHOPPING LIST\n2 LOAVES OF BREAD\n6 EGGS", "MEETING AT 4 PM\nROOM 207\nBRING NOTES",
         "THE QUICK BROWN FOX\nJUMPS OVER\nTHE LAZY DOG 1234567890", "INVOICE 5531\nTOTAL 88",
         "DEAR ANNA\nSEE YOU ON FRIDAY\nLOVE TOM", "PLATFORM 9\nTRAIN AT 7 15"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f})"


def page_folder() -> tuple[Path, list, int]:
    """out/bench-pages/: the shared real pages and synthetic ones up to PAGES in all."""
    from ocrkit.data.pages import write_page
    folder = OUT / "bench-pages"
    folder.mkdir(parents=True, exist_ok=True)
    data = Path(os.environ.get("OCRKIT_DATA", REPO.parent / "shared" / "data"))
    from PIL import Image
    real = []
    for p in sorted(p for d in ("pages", "images") for p in (data / d).glob("*")
                    if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        with Image.open(p) as im:
            if im.width * im.height <= REAL_MAX_MPX * 1e6:
                real.append(p)
    wanted = {folder / f"real-{p.name}": p for p in real}
    wanted.update((folder / f"synth-{i:03d}.jpg", None) for i in range(PAGES - len(real)))
    for stale in set(folder.iterdir()) - set(wanted):
        stale.unlink()
    for target, source in wanted.items():
        if target.exists():
            continue
        if source is not None:
            shutil.copy(source, target)
        else:
            i = int(target.stem.split("-")[1])
            write_page(TEXTS[i % len(TEXTS)], target.with_suffix(".tmp.jpg"), seed=i)
            target.with_suffix(".tmp.jpg").rename(target)      # a killed run leaves none
            target.with_name(target.stem + ".tmp.gt.txt").unlink()
    return folder, sorted(wanted), len(real)


def session_cpu(sid: int) -> dict:
    """{pid: CPU seconds} of the live processes of session `sid` (/proc)."""
    tick, out = os.sysconf("SC_CLK_TCK"), {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            out[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def run(command: list, **kw) -> dict:
    """Wall seconds, CPU seconds of all its processes (workers too: it runs in a session of
    its own, as a command from its own terminal would, sampled every 0.2 s) and the peak RSS
    (MiB) of the process itself (os.wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, **kw)
    cpu = {}
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        cpu.update(session_cpu(proc.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    cpu[proc.pid] = usage.ru_utime + usage.ru_stime
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"bench: {' '.join(map(str, command))} failed:\n{err}")
    return {"seconds": seconds, "cpu_seconds": sum(cpu.values()),
            "max_rss_mib": usage.ru_maxrss / 1024, "stderr": err}


def dask_cluster(work: Path):
    """`dask scheduler` and `dask worker --nworkers 2 --nthreads 1` on 127.0.0.1, as the
    README starts them, in a session of their own; returns (address, stop)."""
    bin_dir, info = Path(sys.executable).parent, work / "scheduler.json"
    procs = [subprocess.Popen([bin_dir / "dask", "scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", info],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    while not info.exists():
        time.sleep(0.1)
    procs.append(subprocess.Popen([bin_dir / "dask", "worker", "--scheduler-file", info,
                                   "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1",
                                   "--no-dashboard"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True))
    from distributed import Client
    with Client(scheduler_file=str(info)) as client:
        client.wait_for_workers(2, timeout=120)
        address = client.scheduler.address

    def stop():
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
            p.wait()
    return address, procs, stop


def ocr(inputs: list, out: Path, *options) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    return run([sys.executable, "-m", "ocrkit", "ocr", *map(str, inputs), "--output-dir", out,
                "--format", "text,json", "-q", *options])


def startup(small: Path) -> dict:
    """Median wall seconds of `ocrkit ocr small.jpg` and `tesseract small.jpg -`, alternating;
    ocrkit's reading time of the same image in a warm process."""
    import ocrkit
    reader = ocrkit.Reader()
    reader.read(small)
    reads = []
    for _ in range(STARTS):
        t0 = time.perf_counter()
        reader.read(small)
        reads.append(time.perf_counter() - t0)
    times = {"ocrkit": [], "tesseract": []}
    commands = {"ocrkit": [str(Path(sys.executable).with_name("ocrkit")), "ocr", str(small)],
                "tesseract": ["tesseract", str(small), "-"]}
    if not shutil.which("tesseract"):
        del commands["tesseract"], times["tesseract"]
    for _ in range(STARTS):
        for name, command in commands.items():
            t0 = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            times[name].append(time.perf_counter() - t0)
    out = {name: statistics.median(t) for name, t in times.items()}
    out["ocrkit_read"] = statistics.median(reads)
    out["ocrkit_startup"] = out["ocrkit"] - out["ocrkit_read"]
    return out


def main(results: dict | None = None) -> dict:
    results = {} if results is None else results
    folder, pages, n_real = page_folder()
    n = len(pages)
    print(f"batch OCR of {n} pages ({n_real} real from $OCRKIT_DATA, {n - n_real} synthetic) "
          f"in {folder}; {load()}")
    work = Path(tempfile.mkdtemp(prefix="ocrkit-bench-"))
    rows = {}

    def report(name: str, r: dict) -> None:
        r["pages_per_s"] = n / r["seconds"]
        r["load"] = os.getloadavg()[0]
        rows[name] = r
        r["cores_used"] = r["cpu_seconds"] / r["seconds"]
        print(f"  {name:30s} {r['pages_per_s']:6.2f} pages/s  ({r['seconds']:6.1f} s; "
              f"{r['cpu_seconds']:6.1f} CPU s, {r['cores_used']:.2f} cores used; {load()})",
              flush=True)

    report("ocrkit --jobs 1", ocr([folder], work / "j1", "--jobs", "1"))
    report("ocrkit --jobs 2", ocr([folder], work / "j2", "--jobs", "2"))
    try:
        address, procs, stop = dask_cluster(work)
    except ImportError:
        print("  dask: not installed (pip install 'ocrkit[dask]'): skipped")
    else:
        try:
            before = sum(session_cpu(procs[1].pid).values())
            r = ocr([folder], work / "dask", "--dask", address)
            r["cpu_seconds"] += sum(session_cpu(procs[1].pid).values()) - before
            report("ocrkit --dask (2 workers)", r)
        finally:
            stop()
    if shutil.which("tesseract"):
        start, cpu = time.perf_counter(), 0.0
        for page in pages:
            r = run(["tesseract", str(page), "-"])
            cpu += r["cpu_seconds"]
        report("tesseract, a process per page", {"seconds": time.perf_counter() - start,
                                                 "cpu_seconds": cpu})
    one = rows["ocrkit --jobs 1"]["pages_per_s"]
    for name, r in rows.items():
        r["ratio_to_jobs_1"] = r["pages_per_s"] / one
    print("  ratios to --jobs 1: " + ", ".join(f"{k} {r['ratio_to_jobs_1']:.2f}x"
                                               for k, r in rows.items() if k != "ocrkit --jobs 1")
          + "  (aim: --jobs 2 >= 1.8x)")
    failures = rows["ocrkit --jobs 1"]["stderr"].count("\n  ")
    print(f"  pages that failed in ocrkit: {failures} (listed in the summary of each run)")

    listing = work / "first.txt"
    listing.write_text("".join(f"{p}\n" for p in pages[:PEAK_SMALL]))
    # the larger of two runs each: this machine's proactive reclaim (DAMON) can trim a run's
    # resident pages, and so its high-water mark, by about 100 MiB
    smalls = [ocr([], work / "m50", "--jobs", "1", "--files-from", listing)["max_rss_mib"]
              for _ in range(2)]
    alls = [rows["ocrkit --jobs 1"]["max_rss_mib"],
            ocr([folder], work / "m200", "--jobs", "1")["max_rss_mib"]]
    peak_small, peak_all = max(smalls), max(alls)
    print(f"  peak memory (max RSS, --jobs 1, larger of 2 runs): {peak_small:.0f} MiB at "
          f"{PEAK_SMALL} pages ({' and '.join(f'{m:.0f}' for m in smalls)}), {peak_all:.0f} "
          f"MiB at {n} pages ({' and '.join(f'{m:.0f}' for m in alls)}): "
          f"{100 * (peak_all / peak_small - 1):+.1f}% (aim: within 10%); {load()}")

    from ocrkit.data.pages import write_page
    small_jpg, _ = write_page("HELLO 42", work / "small.jpg", seed=1, char_height=40)
    s = startup(small_jpg)
    line = (f"  start-up: `ocrkit ocr small.jpg` {s['ocrkit']:.2f} s = {s['ocrkit_startup']:.2f} s "
            f"start-up + {s['ocrkit_read']:.2f} s reading")
    if "tesseract" in s:
        line += f"; `tesseract small.jpg -` {s['tesseract']:.2f} s"
    print(line + f" (medians of {STARTS}; aim: start-up <= 0.4 s); {load()}")

    results["batch"] = {
        "pages": n, "real_pages": n_real,
        "runs": {k: {key: round(v, 3) if isinstance(v, float) else v for key, v in r.items()
                     if key != "stderr"} for k, r in rows.items()},
        "peak_rss_mib": {str(PEAK_SMALL): round(peak_small, 1), str(n): round(peak_all, 1)},
        "startup_s": {k: round(v, 3) for k, v in s.items()},
    }
    RESULTS.write_text(json.dumps(results["batch"], indent=2) + "\n")
    print(f"written {RESULTS}")
    shutil.rmtree(work, ignore_errors=True)
    return results


if __name__ == "__main__":
    main()

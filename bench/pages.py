"""`make pages`: ocrkit beside Tesseract and RapidOCR on the real pages of ../shared/data/pages.

Each engine reads each page in a fresh process (so a page's time and peak memory are its own);
the text is scored against NAME.gt.txt with ocrkit.metrics.error_rates (case-insensitive) and,
for ocrkit, case-sensitively too. Per page the CER is capped at 1.0; a category's and the whole
set's CER are character-weighted (sum of capped errors over sum of truth characters).

    python bench/pages.py [--engines ocrkit,tesseract,rapidocr] [--pages DIR] [--json OUT]

Tesseract runs with --psm 6 (the settings the issue's baseline used); RapidOCR (PP-OCRv4) runs
from its own virtual environment, named by $RAPIDOCR_PYTHON (default /work/peers-venv/bin/python)
(make pages creates .peers/rapidocr with `pip install rapidocr-onnxruntime`) because it is a
peer, never an ocrkit dependency. A missing peer is skipped with a note.

ocrkit's seconds are the read alone (the model loaded once before), its memory the whole
process's peak; the peers' are their whole process (RapidOCR's read alone too).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ocrkit.metrics import error_rates

ROOT = Path(__file__).resolve().parents[1]
PRINTED = ("nist_hsf_page", "aws_intake_form")      # truth mostly printed text: own row
RAPIDOCR_PYTHON = os.environ.get("RAPIDOCR_PYTHON", str(ROOT / ".peers" / "rapidocr" / "bin" / "python"))

RAPID_SNIPPET = r"""
import sys, time
from rapidocr_onnxruntime import RapidOCR
eng = RapidOCR()
t = time.perf_counter()
res, _ = eng(sys.argv[1])
secs = time.perf_counter() - t
lines = []
if res:
    # group boxes into lines by their vertical centres, left to right
    items = sorted(((sum(p[1] for p in b) / 4, min(p[0] for p in b),
                     max(p[1] for p in b) - min(p[1] for p in b), txt) for b, txt, _ in res))
    cur, cy = [], None
    for y, x, h, txt in items:
        if cy is not None and abs(y - cy) > 0.5 * h:
            lines.append(" ".join(t for _, t in sorted(cur))); cur = []
        cur.append((x, txt)); cy = y
    lines.append(" ".join(t for _, t in sorted(cur)))
import json; print(json.dumps({"text": "\n".join(lines), "seconds": secs}))
"""

OCRKIT_SNIPPET = r"""
import json, sys, time
t0 = time.perf_counter()
from ocrkit import Reader
reader = Reader()                       # the shipped models and options, as `ocrkit ocr`
t = time.perf_counter()
page = reader.read(sys.argv[1])
mixed = any(s.id == "case" and s.settings.get("decided") == "mixed" for s in page.steps)
print(json.dumps({"text": page.text, "seconds": time.perf_counter() - t, "mixed": mixed}))
"""


def run_measured(cmd, timeout=600):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    import threading
    result = {}

    def reader(name, stream):
        result[name] = stream.read()
    threads = [threading.Thread(target=reader, args=(n, s)) for n, s in
               (("out", p.stdout), ("err", p.stderr))]
    for th in threads:
        th.start()
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            pid, status, usage = os.wait4(p.pid, 0)
            for th in threads:
                th.join()
            return None, timeout, usage.ru_maxrss / 1024, "timeout"
        time.sleep(0.02)
    p.returncode = os.waitstatus_to_exitcode(status)
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    err = None if p.returncode == 0 else ((result["err"].strip().splitlines() or [""])[-1])
    return result["out"], wall, usage.ru_maxrss / 1024, err


def read_ocrkit(image):
    out, wall, mb, err = run_measured([sys.executable, "-c", OCRKIT_SNIPPET, str(image)])
    if err:
        return {"text": "", "seconds": wall, "mb": mb, "error": err}
    d = json.loads(out)
    return {"text": d["text"], "seconds": d["seconds"], "wall": wall, "mb": mb,
            "mixed": d.get("mixed", False)}


def read_tesseract(image):
    out, wall, mb, err = run_measured(["tesseract", str(image), "-", "--psm", "6"])
    return {"text": out or "", "seconds": wall, "mb": mb, **({"error": err} if err else {})}


def read_rapidocr(image):
    out, wall, mb, err = run_measured([RAPIDOCR_PYTHON, "-c", RAPID_SNIPPET, str(image)])
    if err:
        return {"text": "", "seconds": wall, "mb": mb, "error": err}
    d = json.loads(out)
    return {"text": d["text"], "seconds": d["seconds"], "wall": wall, "mb": mb}


ENGINES = {"ocrkit": read_ocrkit, "tesseract": read_tesseract, "rapidocr": read_rapidocr}


def available(name):
    if name == "tesseract":
        return subprocess.run(["which", "tesseract"], capture_output=True).returncode == 0
    if name == "rapidocr":
        return Path(RAPIDOCR_PYTHON).exists()
    return True


def score(text, truth, case_sensitive):
    r = error_rates(text, truth, case_sensitive=case_sensitive)
    return min(r["char_errors"], r["chars"]), r["chars"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", default=os.environ.get("OCRKIT_DATA", str(ROOT.parent / "shared" / "data")) + "/pages")
    ap.add_argument("--engines", default="ocrkit,tesseract,rapidocr")
    ap.add_argument("--only", default="", help="comma-separated page names")
    ap.add_argument("--json", default=str(ROOT / "out" / "pages.json"))
    args = ap.parse_args()
    pages = Path(args.pages)
    rows = list(csv.DictReader(open(pages / "pages.tsv"), delimiter="\t"))
    if args.only:
        rows = [r for r in rows if Path(r["name"]).stem in args.only.split(",")]
    engines = [e for e in args.engines.split(",") if available(e) or print(f"pages: {e} not found, skipped", file=sys.stderr)]
    results = []
    for r in rows:
        image = pages / r["name"]
        stem = Path(r["name"]).stem
        truth = (pages / f"{stem}.gt.txt").read_text(encoding="utf-8-sig")
        rec = {"page": stem, "category": r["category"], "chars": int(r["chars"])}
        for e in engines:
            res = ENGINES[e](image)
            err, n = score(res["text"], truth, False)
            rec[e] = {**res, "errors": err, "n": n}
            if e == "ocrkit":
                rec[e]["errors_cased"] = score(res["text"], truth, True)[0]
        results.append(rec)
        print(stem.ljust(24), r["category"].ljust(14),
              "  ".join(f"{e} {100 * rec[e]['errors'] / rec[e]['n']:5.1f}% {rec[e]['seconds']:5.1f}s {rec[e]['mb']:5.0f}MB" +
                        (" ERR " + rec[e]["error"][:60] if rec[e].get("error") else "")
                        for e in engines), flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    report(results, engines)


def report(results, engines):
    def cer(rs, e):
        n = sum(r[e]["n"] for r in rs)
        return 100 * sum(r[e]["errors"] for r in rs) / max(n, 1)
    groups = {}
    for r in results:
        key = "printed" if r["page"] in PRINTED else r["category"]
        groups.setdefault(key, []).append(r)
    hand = [r for r in results if r["page"] not in PRINTED]
    print()
    print("category".ljust(16), "pages chars ", "  ".join(e.rjust(9) for e in engines))
    for k in sorted(groups):
        rs = groups[k]
        print(k.ljust(16), f"{len(rs):5d} {sum(r[engines[0]]['n'] for r in rs):5d} ",
              "  ".join(f"{cer(rs, e):8.1f}%" for e in engines))
    print("handwritten".ljust(16), f"{len(hand):5d} {sum(r[engines[0]]['n'] for r in hand):5d} ",
          "  ".join(f"{cer(hand, e):8.1f}%" for e in engines))
    cased = [r for r in hand if r["category"].startswith(("mixed", "lower"))]
    if "ocrkit" in engines and cased:
        n = sum(r["ocrkit"]["n"] for r in cased)
        e = sum(r["ocrkit"]["errors_cased"] for r in cased)
        print(f"ocrkit case-sensitive CER on the {len(cased)} mixed- and lower-case pages: "
              f"{100 * e / n:.1f}%")
    for e in engines:
        slow = max(results, key=lambda r: r[e]["seconds"])
        big = max(results, key=lambda r: r[e]["mb"])
        print(f"{e}: slowest {slow['page']} {slow[e]['seconds']:.1f}s, largest {big['page']} {big[e]['mb']:.0f} MB")
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores)")


if __name__ == "__main__":
    main()

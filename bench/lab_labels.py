"""Specimen label rendering speed: a PDF and a ZPL batch of 100 labels (a benchmark, not a test).

    python bench/lab_labels.py [--labels 100] [--runs 30]

Renders N labels (two identifiers, Code 128 accession, tests, tube, collection line) with the
same pure module the label pages use (carebench/labs/labels.py), `runs` times each, and prints
p50/p95/max per format. Writes bench/results/lab_labels.json. No database is needed: the pages
spend their time here, the data for 100 labels is one query.

Target: the PDF of 100 labels in under 1 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from carebench.labs import labels  # noqa: E402  (after the path is set)

PDF_TARGET_MS = 1000.0
TUBES = ["Lavender EDTA", "Gold SST", "Light blue citrate", "Grey fluoride", "Urine cup"]
TESTS = [["CBC", "A1C"], ["CMP", "LIPID", "TSH"], ["PTINR"], ["GLUF"], ["UA", "UCULT"]]


def make_labels(count: int) -> list[labels.LabelData]:
    start = datetime(2026, 11, 23, 8, 0)
    rows = []
    for n in range(count):
        kind = n % len(TUBES)
        rows.append(
            labels.LabelData(
                accession=f"S{n + 1:06d}",
                family_name=f"Testperson-{n:03d}",
                given_name="Alexandra",
                birth_date=date(1950, 1, 1) + timedelta(days=97 * n),
                tests=TESTS[kind],
                container=TUBES[kind],
                collected_at=start + timedelta(minutes=3 * n) if n % 3 else None,
                collector_initials="MT" if n % 3 else "",
                mrn=f"{100001 + n}",
                flags=("STAT",) if n % 10 == 0 else (),
            )
        )
    return rows


def timed(render, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        render()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    data = make_labels(args.labels)
    labels.labels_pdf(data[:2])  # warm reportlab's font and barcode caches
    pdf = timed(lambda: labels.labels_pdf(data), args.runs)
    zpl = timed(lambda: labels.labels_zpl(data), args.runs)
    size = len(labels.labels_pdf(data))
    rows = []
    print(f"{args.labels} labels, {args.runs} runs each; PDF is {size / 1024:.0f} KiB")
    print(f"{'format':<6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'target':>8}")
    for name, samples, target in (("pdf", pdf, PDF_TARGET_MS), ("zpl", zpl, None)):
        ordered = sorted(samples)
        p50 = statistics.median(ordered)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        print(
            f"{name:<6} {p50:>8.1f} {p95:>8.1f} {ordered[-1]:>8.1f} "
            f"{'' if target is None else f'<{target:.0f}':>8}"
        )
        for stat, value in (("p50", p50), ("p95", p95), ("max", ordered[-1])):
            rows.append(
                {
                    "name": f"labels_{name}_{args.labels}",
                    "stat": stat,
                    "database": "none",
                    "unit": "ms",
                    "value": round(value, 2),
                    "target": target if stat == "p95" else None,
                    "samples": args.runs,
                    "machine": platform.platform(),
                }
            )
    out = ROOT / "bench" / "results" / "lab_labels.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Writing and checking a 10,000-claim 837P, against pyx12's validation of the same file (a
benchmark, not a test).

    python bench/x12_837p.py [--claims 10000] [--pyx12-claims 10000] [--out FILE]

Builds `claims` synthetic claims (3 lines, 3 diagnoses each; carebench/billing/x12/synthetic.py),
writes them as one 837P interchange with our writer, runs our own checks on the text (read,
NPI check digits, ICD-10-CM shapes, totals, pointers, required segments, timely filing), and
times pyx12's 5010 validation of the same file (of `pyx12-claims` claims, scaled to `claims`
when smaller). No database is needed. Writes bench/results/x12_837p.json.

Target: our check at least 50 times faster than pyx12's validation.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from carebench.billing.x12 import check837, synthetic, write837  # noqa: E402

TARGET_RATIO = 50.0


def seconds(call: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()  # type: ignore[operator]
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--pyx12-claims", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "x12_837p.json")
    args = parser.parse_args()
    batch = synthetic.bulk_batch(args.claims)
    write_s, text = seconds(lambda: write837.write_837p(batch))
    check_s, problems = seconds(lambda: check837.check_837p(str(text)))
    if problems:
        raise SystemExit(f"our checks found {len(problems)} problem(s) in the synthetic file")
    if args.pyx12_claims == args.claims:
        pyx12_text = str(text)
    else:
        pyx12_text = write837.write_837p(synthetic.bulk_batch(args.pyx12_claims))
    pyx12_s, errors = seconds(lambda: check837.validate_with_pyx12(pyx12_text))
    if errors:
        raise SystemExit(f"pyx12 found {len(errors)} error(s): {errors[:3]}")
    pyx12_scaled = pyx12_s * args.claims / args.pyx12_claims
    ratio = pyx12_scaled / check_s
    both = pyx12_scaled / (write_s + check_s)
    segments = str(text).count("~")
    print(f"{args.claims} claims, {segments} segments, {len(str(text)) / 1e6:.1f} MB")
    print(f"  write_837p        {write_s:8.2f} s")
    print(f"  check_837p        {check_s:8.2f} s")
    scaled = (
        "" if args.pyx12_claims == args.claims else f" (measured on {args.pyx12_claims}, scaled)"
    )
    print(f"  pyx12 validation  {pyx12_scaled:8.2f} s{scaled}")
    print(
        f"  pyx12 / our check        {ratio:6.1f}x  (target >= {TARGET_RATIO:.0f}x: {'ok' if ratio >= TARGET_RATIO else 'NO'})"
    )
    print(f"  pyx12 / (write + check)  {both:6.1f}x")
    machine = platform.platform()
    rows = [
        {
            "name": f"837P write {args.claims} claims",
            "database": "none",
            "unit": "s",
            "value": round(write_s, 3),
            "target": None,
            "machine": machine,
        },
        {
            "name": f"837P check {args.claims} claims (ours)",
            "database": "none",
            "unit": "s",
            "value": round(check_s, 3),
            "target": None,
            "machine": machine,
        },
        {
            "name": f"837P pyx12 validation {args.claims} claims",
            "database": "none",
            "unit": "s",
            "value": round(pyx12_scaled, 3),
            "target": None,
            "machine": machine,
        },
        {
            "name": "837P pyx12 time / our check time",
            "database": "none",
            "unit": "x",
            "value": round(ratio, 1),
            "target": TARGET_RATIO,
            "machine": machine,
        },
        {
            "name": "837P pyx12 time / (our write + check time)",
            "database": "none",
            "unit": "x",
            "value": round(both, 1),
            "target": None,
            "machine": machine,
        },
    ]
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""EKG analysis accuracy and speed against PhysioNet reference annotations (a benchmark, not a test).

    python bench/ekg_accuracy.py [--data DIR] [--verbose]

Reads the real recordings in /work/shared/data/ecg (or --data, or env CAREBENCH_ECG_DATA) in place
with wfdb and runs `carebench.ekg.analysis.analyze` once per record:

- Beats: the fused R peaks of the whole record against the `.atr` reference beats (symbols
  N L R B A a J S V r F e j n E / f Q ?), matched one to one within 150 ms; sensitivity and positive
  predictivity per record and overall, on the QT Database records that have `.atr` and on MIT-BIH
  record 100. Target 99.9 % each overall.
- Intervals: for each QT Database record with `.q1c` (cardiologist 1) marks, the reference PR, QRS
  and QT are the means over the annotated beats (PR = P onset to QRS onset, QRS = onset to
  offset, QT = QRS onset to T offset, from the `(` and `)` around `p`, `N`, `t`). The analysis
  measures its median beat over the annotated span's time window only (plus 0.5 s each side),
  like a clinic 10-s ECG, passed as `analyze(..., window_s=...)`; beats still cover the whole
  record. Median absolute error (ms) and the share of records within 20 ms. Target for QT: median
  error <= 15 ms and >= 70 % of records within 20 ms.
- Speed: CPU seconds of the whole analysis per hour of ECG per lead, and the times-real-time
  factor (target >= 1,000x, i.e. <= 3.6 CPU-s per hour per lead).

Results go to bench/results/ekg_accuracy.json as a list of {name, database, unit, value, target}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from carebench.ekg.analysis import analyze  # noqa: E402
from carebench.ekg.recording import Recording  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("CAREBENCH_ECG_DATA", BENCH_DIR.parents[1] / "shared/data/ecg"))
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")
TOLERANCE_S = 0.15
WINDOW_PAD_S = 0.5


def load(path: Path) -> Recording:
    rec = wfdb.rdrecord(str(path))
    names = [str(n) for n in rec.sig_name]
    leads: dict[str, np.ndarray] = {}
    for i, name in enumerate(names):
        key = name if name not in leads else f"{name}_{i}"
        leads[key] = np.asarray(rec.p_signal[:, i], dtype=float)
    return Recording(sampling_rate_hz=float(rec.fs), leads=leads, source_format="wfdb")


def reference_beats(path: Path) -> np.ndarray:
    ann = wfdb.rdann(str(path), "atr")
    return np.array(
        [s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in BEAT_SYMBOLS]
    )


def match(ref: np.ndarray, det: np.ndarray, tol: int) -> int:
    """True positives of a one-to-one matching of sorted indices within tol samples."""
    ref, det = np.sort(ref), np.sort(det)
    i = j = tp = 0
    while i < len(ref) and j < len(det):
        d = det[j] - ref[i]
        if abs(d) <= tol:
            tp, i, j = tp + 1, i + 1, j + 1
        elif d < 0:
            j += 1
        else:
            i += 1
    return tp


@dataclass
class IntervalRef:
    pr_ms: float | None
    qrs_ms: float | None
    qt_ms: float | None
    span_s: tuple[float, float]
    beats: int


def reference_intervals(path: Path, fs: float) -> IntervalRef:
    """Means over the annotated beats of cardiologist 1's `.q1c` marks."""
    ann = wfdb.rdann(str(path), "q1c")
    sym, smp = list(ann.symbol), list(ann.sample)
    beats: list[dict[str, int]] = []
    pending_p: int | None = None
    for i, s in enumerate(sym):
        before = smp[i - 1] if i > 0 and sym[i - 1] == "(" else None
        after = smp[i + 1] if i + 1 < len(sym) and sym[i + 1] == ")" else None
        if s == "p":
            pending_p = before
        elif s == "N":
            beat: dict[str, int] = {"r": smp[i]}
            if before is not None:
                beat["on"] = before
            if after is not None:
                beat["off"] = after
            if pending_p is not None and 0 < smp[i] - pending_p < 0.5 * fs:
                beat["p_on"] = pending_p
            pending_p = None
            beats.append(beat)
        elif s == "t" and beats and after is not None and 0 < after - beats[-1]["r"] < 0.9 * fs:
            beats[-1]["t_off"] = after

    def mean(a: str, b: str) -> float | None:
        vals = [(bt[b] - bt[a]) / fs * 1000 for bt in beats if a in bt and b in bt]
        return float(np.mean(vals)) if vals else None

    return IntervalRef(
        pr_ms=mean("p_on", "on"),
        qrs_ms=mean("on", "off"),
        qt_ms=mean("on", "t_off"),
        span_s=(smp[0] / fs, smp[-1] / fs),
        beats=len(beats),
    )


def run(data: Path, verbose: bool = False) -> tuple[list[dict[str, Any]], list[str]]:
    qtdb = sorted((data / "qtdb").glob("*.hea"))
    records = [p.with_suffix("") for p in qtdb] + [data / "mitdb" / "100"]
    beat_rows: list[tuple[str, int, int, int]] = []  # name, ref, detected, tp
    interval_rows: list[tuple[str, IntervalRef, dict[str, Any]]] = []
    cpu_total = 0.0
    lead_hours = 0.0
    for path in records:
        rec = load(path)
        has_q1c = path.with_suffix(".q1c").exists()
        ref_iv = reference_intervals(path, rec.sampling_rate_hz) if has_q1c else None
        window = None
        if ref_iv is not None:
            window = (ref_iv.span_s[0] - WINDOW_PAD_S, ref_iv.span_s[1] + WINDOW_PAD_S)
        t0 = time.process_time()
        result = analyze(rec, window_s=window)
        cpu_total += time.process_time() - t0
        lead_hours += rec.duration_s / 3600 * len(rec.leads)
        out = result.to_dict()
        if path.with_suffix(".atr").exists():
            ref = reference_beats(path)
            det = np.asarray(out["r_peaks"])
            tp = match(ref, det, int(TOLERANCE_S * rec.sampling_rate_hz))
            beat_rows.append((path.name, len(ref), len(det), tp))
        if ref_iv is not None:
            interval_rows.append((path.name, ref_iv, out))

    rows: list[dict[str, Any]] = []
    lines: list[str] = []

    def add(name: str, unit: str, value: float | None, target: float | None, **extra: Any) -> None:
        rows.append(
            {
                "name": name,
                "database": "n/a",
                "unit": unit,
                "value": None if value is None else round(float(value), 3),
                "target": target,
                **extra,
            }
        )

    # beats
    lines.append(
        f"{'record':<10} {'ref':>6} {'det':>6} {'FN':>4} {'FP':>4} {'Se %':>8} {'+P %':>8}"
    )
    for name, n_ref, n_det, tp in beat_rows:
        se = 100 * tp / n_ref if n_ref else 100.0
        pp = 100 * tp / n_det if n_det else 100.0
        if verbose or tp < max(n_ref, n_det):
            lines.append(
                f"{name:<10} {n_ref:>6} {n_det:>6} {n_ref - tp:>4} {n_det - tp:>4} {se:>8.2f} {pp:>8.2f}"
            )
    ref_sum = sum(r[1] for r in beat_rows)
    det_sum = sum(r[2] for r in beat_rows)
    tp_sum = sum(r[3] for r in beat_rows)
    se_all = 100 * tp_sum / ref_sum
    pp_all = 100 * tp_sum / det_sum
    f1_all = 200 * tp_sum / (ref_sum + det_sum)
    lines.append(
        f"{'overall':<10} {ref_sum:>6} {det_sum:>6} {ref_sum - tp_sum:>4} {det_sum - tp_sum:>4} "
        f"{se_all:>8.3f} {pp_all:>8.3f}   (F1 {f1_all:.3f} %, {len(beat_rows)} records, ±150 ms)"
    )
    add("beats sensitivity overall", "%", se_all, 99.9, records=len(beat_rows), beats=ref_sum)
    add("beats positive predictivity overall", "%", pp_all, 99.9, records=len(beat_rows))
    add("beats F1 overall", "%", f1_all, None)
    worst_se = min(beat_rows, key=lambda r: r[3] / r[1])
    worst_pp = min(beat_rows, key=lambda r: r[3] / r[2])
    add(
        f"beats sensitivity worst record ({worst_se[0]})",
        "%",
        100 * worst_se[3] / worst_se[1],
        None,
    )
    add(
        f"beats positive predictivity worst record ({worst_pp[0]})",
        "%",
        100 * worst_pp[3] / worst_pp[2],
        None,
    )

    # intervals
    lines.append("")
    lines.append(
        "intervals: median beat over the q1c-annotated span's time window (+/-0.5 s), "
        "reference = mean of cardiologist 1's marks"
    )
    lines.append(
        f"{'record':<10} {'beats':>5} {'PR ref':>7} {'ours':>5} {'QRS ref':>8} {'ours':>5} "
        f"{'QT ref':>7} {'ours':>5} {'QT err':>6}"
    )
    errors: dict[str, list[float]] = {"pr": [], "qrs": [], "qt": []}
    missing: dict[str, int] = {"pr": 0, "qrs": 0, "qt": 0}
    for name, ref_iv, out in interval_rows:
        cells = []
        for key in ("pr", "qrs", "qt"):
            ref_v = getattr(ref_iv, f"{key}_ms")
            got = out[f"{key}_ms"]
            cells.append((ref_v, got))
            if ref_v is None:
                continue
            if got is None:
                missing[key] += 1
                errors[key].append(float("inf"))
            else:
                errors[key].append(abs(got - ref_v))

        def fmt(v: float | None) -> str:
            return "-" if v is None else f"{v:.0f}"

        qt_err = (
            f"{cells[2][1] - cells[2][0]:+.0f}"
            if cells[2][0] is not None and cells[2][1] is not None
            else "-"
        )
        lines.append(
            f"{name:<10} {ref_iv.beats:>5} {fmt(cells[0][0]):>7} {fmt(cells[0][1]):>5} "
            f"{fmt(cells[1][0]):>8} {fmt(cells[1][1]):>5} {fmt(cells[2][0]):>7} "
            f"{fmt(cells[2][1]):>5} {qt_err:>6}"
        )
    for key, label in (("pr", "PR"), ("qrs", "QRS"), ("qt", "QT")):
        errs = errors[key]
        med = statistics.median(errs) if errs else None
        within = 100 * sum(e <= 20 for e in errs) / len(errs) if errs else None
        lines.append(
            f"{label:<4} median |error| {med:6.1f} ms, within 20 ms {within:5.1f} % "
            f"of {len(errs)} records ({missing[key]} not measured)"
        )
        add(
            f"{label} median absolute error",
            "ms",
            med,
            15.0 if key == "qt" else None,
            records=len(errs),
        )
        add(
            f"{label} records within 20 ms",
            "%",
            within,
            70.0 if key == "qt" else None,
            records=len(errs),
        )
        finite = [e for e in errs if np.isfinite(e)]
        if finite:
            add(f"{label} worst absolute error", "ms", max(finite), None)

    # speed
    cpu_per_hour_lead = cpu_total / lead_hours
    factor = 3600 / cpu_per_hour_lead
    lines.append("")
    lines.append(
        f"speed: {cpu_total:.2f} CPU-s for {lead_hours:.2f} lead-hours = "
        f"{cpu_per_hour_lead:.2f} CPU-s per hour per lead, {factor:,.0f}x real time per lead "
        f"(target >= 1,000x)"
    )
    add("analysis CPU time per hour of ECG per lead", "s", cpu_per_hour_lead, 3.6)
    add("analysis speed per lead", "x real time", factor, 1000.0)
    return rows, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--verbose", action="store_true", help="list every record's beat scores")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "ekg_accuracy.json")
    args = parser.parse_args()
    if not (args.data / "qtdb").is_dir():
        print(f"no ECG data at {args.data} (set --data or CAREBENCH_ECG_DATA)", file=sys.stderr)
        return 2
    rows, lines = run(args.data, args.verbose)
    print("\n".join(lines))
    print()
    print(f"{'measure':<52} {'value':>10} {'target':>8}  unit")
    for row in rows:
        target = "" if row["target"] is None else f"{row['target']:g}"
        value = "-" if row["value"] is None else f"{row['value']:.2f}"
        print(f"{row['name']:<52} {value:>10} {target:>8}  {row['unit']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

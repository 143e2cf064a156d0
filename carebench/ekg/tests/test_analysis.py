"""Tests of the pure EKG analysis on synthetic tracings and on real PhysioNet recordings."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from carebench.ekg.analysis import analyze
from carebench.ekg.recording import Recording

DATA = Path(
    os.environ.get(
        "CAREBENCH_ECG_DATA", Path(__file__).resolve().parents[4] / "shared" / "data" / "ecg"
    )
)
needs_data = pytest.mark.skipif(
    not (DATA / "qtdb").is_dir(),
    reason=f"real ECG data folder not found at {DATA} (set CAREBENCH_ECG_DATA)",
)
BEATS = set("NLRBAaJSVrFejnE/fQ?")


def _wave(t: np.ndarray, centre: float, width: float, height: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((t - centre) / width) ** 2)


def synthetic(
    beat_times: np.ndarray,
    duration_s: float,
    fs: float = 500.0,
    p_waves: bool = True,
    noise_mv: float = 0.01,
    seed: int = 1,
) -> Recording:
    """Leads I and II built from Gaussian P, Q, R, S and T waves at the given beat times."""
    t = np.arange(int(duration_s * fs)) / fs
    base = np.zeros_like(t)
    rr = float(np.median(np.diff(beat_times))) if len(beat_times) > 1 else 1.0
    for bt in beat_times:
        near = np.abs(t - bt) < 0.8
        tt = t[near]
        w = np.zeros_like(tt)
        if p_waves:
            w += _wave(tt, bt - 0.16, 0.022, 0.15)
        w += _wave(tt, bt - 0.025, 0.008, -0.1)
        w += _wave(tt, bt, 0.01, 1.2)
        w += _wave(tt, bt + 0.025, 0.008, -0.25)
        w += _wave(tt, bt + 0.28 * np.sqrt(rr), 0.045 * np.sqrt(rr), 0.3)  # QT shortens with RR
        base[near] += w
    rng = np.random.default_rng(seed)
    lead_ii = base + rng.normal(0, noise_mv, t.size)
    lead_i = 0.6 * base + rng.normal(0, noise_mv, t.size)
    return Recording(sampling_rate_hz=fs, leads={"I": lead_i, "II": lead_ii}, source_format="test")


def regular(bpm: float, duration_s: float = 20.0) -> np.ndarray:
    return np.arange(0.6, duration_s - 0.5, 60.0 / bpm)


@pytest.mark.parametrize(
    ("bpm", "finding"),
    [(50, "Sinus bradycardia"), (75, "Sinus rhythm"), (120, "Sinus tachycardia")],
)
def test_synthetic_rate_and_sinus_finding(bpm: float, finding: str) -> None:
    result = analyze(synthetic(regular(bpm), 20.0))
    assert result.heart_rate_bpm == pytest.approx(bpm, abs=1.0)
    assert result.rhythm[0] == finding
    assert result.p_waves_present is True
    assert result.confirmed is False
    assert result.qrs_ms is not None and 40 <= result.qrs_ms <= 120
    assert result.qt_ms is not None and 250 <= result.qt_ms <= 500


def test_rate_60_and_120_exact() -> None:
    assert analyze(synthetic(regular(60), 20.0)).heart_rate_bpm == pytest.approx(60, abs=0.5)
    assert analyze(synthetic(regular(120), 20.0)).heart_rate_bpm == pytest.approx(120, abs=0.5)


def test_neurokit_simulated_ecg_rate() -> None:
    nk = pytest.importorskip("neurokit2")
    ecg = nk.ecg_simulate(duration=20, sampling_rate=250, heart_rate=120, random_state=7)
    rec = Recording(sampling_rate_hz=250, leads={"II": np.asarray(ecg)}, source_format="test")
    result = analyze(rec)
    assert result.heart_rate_bpm == pytest.approx(120, abs=3)
    assert any("tachycardia" in f.lower() for f in result.rhythm)


def test_pause_is_reported() -> None:
    times = regular(75, 20.0)
    times = np.concatenate([times[times < 8.0], times[times > 10.6]])  # a 2.6-3 s gap
    result = analyze(synthetic(times, 20.0))
    pauses = [f for f in result.rhythm if f.startswith("Pause")]
    assert len(pauses) == 1
    assert "at 7." in pauses[0] or "at 8." in pauses[0]


def test_irregular_rhythm_without_p_is_possible_af() -> None:
    rng = np.random.default_rng(3)
    rr = rng.uniform(0.45, 1.1, 40)
    times = 0.6 + np.concatenate([[0], np.cumsum(rr)])
    times = times[times < 29.5]
    result = analyze(synthetic(times, 30.0, p_waves=False))
    assert result.rr_stats["nrmssd"] is not None and result.rr_stats["nrmssd"] > 0.1
    assert any("possible atrial fibrillation" in f for f in result.rhythm)
    assert not any(f.startswith("Sinus") for f in result.rhythm)


def test_regular_rhythm_is_not_called_irregular() -> None:
    times = regular(70, 30.0)
    times[10] -= 0.25  # one premature beat does not make the rhythm irregular
    result = analyze(synthetic(times, 30.0))
    assert not any("Irregular" in f for f in result.rhythm)


def test_flat_lead_is_lead_off_and_others_still_measured() -> None:
    rec = synthetic(regular(75), 20.0)
    rec.leads["V1"] = np.zeros(rec.n_samples) + 0.001
    result = analyze(rec)
    assert result.quality["V1"]["status"] == "lead off"
    assert result.quality["II"]["status"] == "good"
    assert "V1" not in result.leads_used
    assert result.heart_rate_bpm == pytest.approx(75, abs=1)


def test_noisy_lead_does_not_change_beats() -> None:
    rec = synthetic(regular(75), 20.0)
    rng = np.random.default_rng(5)
    rec.leads["V2"] = rng.normal(0, 0.5, rec.n_samples)
    result = analyze(rec)
    assert result.quality["V2"]["status"] == "noisy"
    assert len(result.r_peaks) == len(regular(75))


def test_saturated_lead_is_flagged() -> None:
    rec = synthetic(regular(75), 20.0)
    rec.leads["II"] = np.clip(rec.leads["II"] * 4, -0.3, 0.3)
    result = analyze(rec)
    assert result.quality["II"]["status"] == "noisy"
    assert "saturation" in result.quality["II"]["reasons"]


def test_r_peaks_are_on_the_original_clock_when_resampled() -> None:
    rec = synthetic(regular(75), 10.0, fs=2000.0)
    result = analyze(rec)
    expected = np.round(regular(75, 10.0) * 2000).astype(int)
    assert len(result.r_peaks) == len(expected)
    assert np.max(np.abs(np.asarray(result.r_peaks) - expected)) <= 10  # 5 ms


def test_axis_from_i_and_ii_only_and_none_without_limb_leads() -> None:
    result = analyze(synthetic(regular(75), 10.0))
    # lead I = 0.6 x lead II -> aVF = II - I/2 = 0.7 x II: axis atan2(0.7, 0.6) ~ 49 degrees
    assert result.axis_deg == pytest.approx(49.4, abs=5)
    rec = synthetic(regular(75), 10.0)
    rec.leads = {"V5": rec.leads["II"]}
    assert analyze(rec).axis_deg is None


def test_to_dict_is_json_serializable() -> None:
    out = analyze(synthetic(regular(75), 10.0)).to_dict()
    text = json.dumps(out)
    assert json.loads(text)["confirmed"] is False
    for key in (
        "sampling_rate_hz",
        "heart_rate_bpm",
        "rr_ms",
        "mean_rr_ms",
        "pr_ms",
        "qrs_ms",
        "qt_ms",
        "qtc_bazett_ms",
        "qtc_fridericia_ms",
        "axis_deg",
        "rhythm",
        "quality",
        "r_peaks",
    ):
        assert key in out
    assert isinstance(out["rr_ms"], list) and len(out["rr_ms"]) == len(out["r_peaks"]) - 1
    assert out["quality"]["II"]["status"] == "good"


def test_no_beats_gives_empty_measurements() -> None:
    rec = Recording(sampling_rate_hz=250, leads={"II": np.zeros(2500)}, source_format="test")
    result = analyze(rec)
    assert result.heart_rate_bpm is None and result.qt_ms is None
    assert result.quality["II"]["status"] == "lead off"
    json.dumps(result.to_dict())


# --- real recordings ---------------------------------------------------------------------------


def _load(path: Path, channels: list[int] | None = None) -> Recording:
    wfdb = pytest.importorskip("wfdb")
    rec = wfdb.rdrecord(str(path), channels=channels)
    leads = {str(name): np.asarray(rec.p_signal[:, i]) for i, name in enumerate(rec.sig_name)}
    return Recording(sampling_rate_hz=float(rec.fs), leads=leads, source_format="wfdb")


@pytest.fixture(scope="module")
def sel100() -> tuple[Recording, object]:
    if not (DATA / "qtdb").is_dir():
        pytest.skip(f"real ECG data folder not found at {DATA}")
    rec = _load(DATA / "qtdb" / "sel100")
    t0 = time.process_time()
    result = analyze(rec, window_s=(600.0, 626.0))
    return rec, (result, time.process_time() - t0)


@needs_data
def test_sel100_beats_match_reference(sel100: tuple[Recording, tuple]) -> None:
    import wfdb

    _, (result, _) = sel100
    ann = wfdb.rdann(str(DATA / "qtdb" / "sel100"), "atr")
    ref = np.array([s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in BEATS])
    det = np.asarray(result.r_peaks)
    tol = int(0.15 * 250)
    i = j = tp = 0
    while i < len(ref) and j < len(det):
        d = det[j] - ref[i]
        if abs(d) <= tol:
            tp, i, j = tp + 1, i + 1, j + 1
        elif d < 0:
            j += 1
        else:
            i += 1
    assert tp / len(ref) >= 0.995
    assert tp / len(det) >= 0.995


@needs_data
def test_sel100_qt_matches_cardiologist(sel100: tuple[Recording, tuple]) -> None:
    import wfdb

    _, (result, _) = sel100
    ann = wfdb.rdann(str(DATA / "qtdb" / "sel100"), "q1c")
    sym, smp = ann.symbol, ann.sample
    qts = []
    for i, s in enumerate(sym):
        if s == "N" and i > 0 and sym[i - 1] == "(":
            on = smp[i - 1]
            for j in range(i + 1, min(i + 6, len(sym) - 1)):
                if sym[j] == "t" and sym[j + 1] == ")":
                    qts.append((smp[j + 1] - on) / 250 * 1000)
                    break
    assert result.qt_ms is not None
    assert abs(result.qt_ms - float(np.mean(qts))) <= 20
    assert result.qtc_bazett_ms is not None and result.qtc_fridericia_ms is not None


@needs_data
def test_fifteen_minute_record_is_fast(sel100: tuple[Recording, tuple]) -> None:
    rec, (_, cpu) = sel100
    assert rec.duration_s >= 890 and len(rec.leads) == 2
    assert cpu < 5.0


@needs_data
def test_ptb_twelve_lead_axis_is_plausible() -> None:
    rec = _load(DATA / "ptbdb" / "s0010_re", channels=list(range(12)))
    names = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
    leads = list(rec.leads.values())[:12]
    rec = Recording(
        sampling_rate_hz=rec.sampling_rate_hz,
        leads=dict(zip(names, leads, strict=True)),
        source_format="wfdb",
    )
    result = analyze(rec)
    # s0010_re is an infero-lateral myocardial infarction: QS complexes in II, III and aVF and an
    # equiphasic lead I put the frontal axis superior, near -90 degrees (net area and net
    # amplitude agree), not in the normal -30..+100 range.
    assert result.axis_deg is not None and -120 <= result.axis_deg <= -60
    assert result.qrs_ms is not None and 100 <= result.qrs_ms <= 160  # wide QRS, late R in V1
    assert result.pr_ms is not None and 100 <= result.pr_ms <= 220
    assert 40 <= (result.heart_rate_bpm or 0) <= 120
    assert all(q["status"] != "lead off" for q in result.quality.values())
    json.dumps(result.to_dict())

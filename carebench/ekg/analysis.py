"""Computer measurement of an ECG: beats, rate, intervals, axis, rhythm screen, lead quality (pure).

Everything here is computer-measured and unconfirmed: `Analysis.confirmed` is always False until a
clinician over-reads the tracing (the report and the signing workflow own that step).

Method, in order:

1. Lead quality. Each lead is checked for a flat line / lead off (robust range under 0.05 mV in
   most 2-s windows), saturation (samples stuck at the extremes of the lead's range) and
   high-frequency noise (robust level of the signal above 40 Hz). After beat detection the QRS
   amplitude gives a signal-to-noise ratio, and each lead's own beats are compared with the fused
   beats (agreement). A lead is "lead off", "noisy" or "good".
2. R peaks. Pan-Tompkins style detection (sleepecg's C detector, about 0.04 CPU-s per hour) runs
   on every usable lead. The detections are fused by clustering within 120 ms across leads: a
   cluster seen by a majority of the leads is a beat; a cluster seen by fewer (one lead of two)
   must also show QRS energy (5-25 Hz) across the leads of at least a fraction of the typical
   beat's. Beats closer than 200 ms (refractory period) keep the better supported one, and long
   gaps (over 1.7 times the local RR) are searched back for a missed beat (wide ectopics).
   Indices are on the recording's own sample clock.
3. Intervals from a median beat. Beats that are not premature are aligned on their QRS by
   multi-lead cross-correlation, beats that do not resemble the template (ectopics, artefacts) are
   dropped, and the sample-wise median of the rest is delineated: QRS onset and offset where the
   spatial velocity (root sum of squares of the leads' slopes) rises above / falls below a fraction
   of its peak; T end per lead by the trapezium-area method on the descending limb of the T wave,
   taking the latest T end of the leads whose T wave is clear; P onset by the same area method on
   the rising limb of the P wave (earliest across leads with a visible P). PR = P onset to QRS
   onset, QRS = QRS onset to offset, QT = QRS onset to T end. The median beat is built from the
   whole record (at most `MAX_TEMPLATE_BEATS` beats spread evenly over it) unless a window is
   given; QTc (Bazett, Fridericia) uses the mean RR of the same beats.
4. Frontal QRS axis from the net QRS area (onset to offset, relative to the PR-segment level) of
   the median beat in I and aVF (aVF = II - I/2 when only I and II are present).
5. Rhythm screen: sinus rhythm / sinus bradycardia (< 60 bpm) / sinus tachycardia (> 100 bpm)
   when P waves are present and the rhythm is regular; irregular rhythm when the RR intervals are
   irregular beat to beat (normalised RMSSD and median successive difference, which isolated
   ectopics do not move), flagged as possible atrial fibrillation when P waves are absent; every
   pause over 2 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sleepecg
from scipy import ndimage, signal

from carebench.ekg.recording import Recording

LABEL = "computer-measured, unconfirmed"

# --- lead quality ---
FLAT_RANGE_MV = 0.05  # robust range of a 2-s window below this: flat line
LEAD_OFF_FLAT_SHARE = 0.5  # share of flat 2-s windows for "lead off"
NOISY_FLAT_SHARE = 0.1  # intermittent flat line
SATURATION_SHARE = 0.005  # share of samples pinned at the extremes
NOISE_MAX_MV = 0.15  # high-frequency noise level (robust SD above 40 Hz)
SNR_MIN = 5.0  # QRS peak-to-peak over noise level
AGREEMENT_MIN = 0.9  # F1 of a lead's own beats against the fused beats

# --- beats ---
MAX_INTERNAL_RATE_HZ = 1000.0
INTERNAL_RATE_HZ = 500.0
FUSION_TOLERANCE_S = 0.12
REFRACTORY_S = 0.2
MINORITY_SCORE_MIN = 0.3  # QRS energy, relative to the typical beat, for a minority cluster
SEARCHBACK_RR_FACTOR = 1.7
SEARCHBACK_SCORE_MIN = 0.4
PAUSE_S = 2.0

# --- median beat and delineation ---
MAX_TEMPLATE_BEATS = 300
TEMPLATE_PRE_S = 0.40
TEMPLATE_POST_MAX_S = 0.80
ALIGN_MAX_SHIFT_S = 0.03
TEMPLATE_MIN_CORR = 0.85
QRS_CORE_FRACTION = 0.1
QRS_ON_FRACTION = 0.01
QRS_OFF_FRACTION = 0.05
QRS_EXTEND_S = 0.04
QRS_RISE_TOLERANCE = 0.005
QRS_GAP_S = 0.02
T_SEARCH_START_S = 0.06  # after QRS offset
T_AREA_SPAN_S = 0.1
T_LEAD_MIN_SHARE = 0.35  # T amplitude relative to the clearest lead's
T_MIN_AMPLITUDE_MV = 0.05
T_BIPHASIC_SHARE = 0.3
T_BIPHASIC_MIN_MV = 0.08
T_COMBINE = "latest"
T_METHOD = "area"
P_MIN_AMPLITUDE_MV = 0.04
P_AREA_SPAN_S = 0.08

# --- rhythm ---
BRADY_BPM = 60.0
TACHY_BPM = 100.0
IRREGULAR_NRMSSD = 0.10
IRREGULAR_MEDIAN_DIFF = 0.06


@dataclass
class Analysis:
    sampling_rate_hz: float
    duration_s: float
    heart_rate_bpm: float | None
    rr_ms: list[float]
    mean_rr_ms: float | None
    pr_ms: float | None
    qrs_ms: float | None
    qt_ms: float | None
    qtc_bazett_ms: float | None
    qtc_fridericia_ms: float | None
    axis_deg: float | None
    rhythm: list[str]
    quality: dict[str, dict[str, Any]]
    r_peaks: list[int]
    p_waves_present: bool | None = None
    leads_used: list[str] = field(default_factory=list)
    interval_beats: int = 0  # beats in the median beat the intervals come from
    interval_window_s: tuple[float, float] | None = None
    interval_method: str = "median beat"
    rr_stats: dict[str, float | None] = field(default_factory=dict)
    label: str = LABEL
    confirmed: bool = False
    # the median beat per lead (mV) and its fiducials (sample offsets), for reports and plots
    median_beat: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    median_beat_rate_hz: float = 0.0
    fiducials: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "confirmed": self.confirmed,
            "sampling_rate_hz": self.sampling_rate_hz,
            "duration_s": round(self.duration_s, 3),
            "heart_rate_bpm": _r(self.heart_rate_bpm, 1),
            "rr_ms": [round(v, 1) for v in self.rr_ms],
            "mean_rr_ms": _r(self.mean_rr_ms, 1),
            "rr_stats": {k: _r(v, 3) for k, v in self.rr_stats.items()},
            "pr_ms": _r(self.pr_ms, 0),
            "qrs_ms": _r(self.qrs_ms, 0),
            "qt_ms": _r(self.qt_ms, 0),
            "qtc_bazett_ms": _r(self.qtc_bazett_ms, 0),
            "qtc_fridericia_ms": _r(self.qtc_fridericia_ms, 0),
            "axis_deg": _r(self.axis_deg, 0),
            "rhythm": list(self.rhythm),
            "p_waves_present": self.p_waves_present,
            "quality": {lead: dict(q) for lead, q in self.quality.items()},
            "leads_used": list(self.leads_used),
            "interval_method": self.interval_method,
            "interval_beats": self.interval_beats,
            "interval_window_s": list(self.interval_window_s) if self.interval_window_s else None,
            "beats": len(self.r_peaks),
            "r_peaks": [int(p) for p in self.r_peaks],
        }


def _r(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(round(value, digits))


# ---------------------------------------------------------------------------------------------
# helpers


def _clean(x: np.ndarray) -> np.ndarray:
    """Float copy with missing samples interpolated (edges held)."""
    x = np.asarray(x, dtype=float)
    bad = ~np.isfinite(x)
    if bad.any():
        good = np.flatnonzero(~bad)
        if good.size == 0:
            return np.zeros_like(x)
        x = x.copy()
        x[bad] = np.interp(np.flatnonzero(bad), good, x[good])
    return x


def _sos(kind: str, cutoff: float | tuple[float, float], fs: float, order: int = 2) -> np.ndarray:
    nyq = fs / 2.0
    if isinstance(cutoff, tuple):
        lo, hi = cutoff
        hi = min(hi, 0.45 * fs)
        return signal.butter(order, [lo / nyq, hi / nyq], "bandpass", output="sos")
    return signal.butter(order, min(cutoff, 0.45 * fs) / nyq, kind, output="sos")


def _moving_average(x: np.ndarray, n: int, axis: int = -1) -> np.ndarray:
    if n <= 1:
        return x
    return ndimage.uniform_filter1d(x, size=n, axis=axis, mode="nearest")


def _match_count(ref: np.ndarray, det: np.ndarray, tol: int) -> int:
    """One-to-one matches of two sorted index arrays within tol samples."""
    i = j = tp = 0
    while i < len(ref) and j < len(det):
        d = det[j] - ref[i]
        if abs(d) <= tol:
            tp += 1
            i += 1
            j += 1
        elif d < 0:
            j += 1
        else:
            i += 1
    return tp


# ---------------------------------------------------------------------------------------------
# quality


def _signal_quality(x: np.ndarray, fs: float) -> dict[str, Any]:
    n = len(x)
    win = max(int(2 * fs), 1)
    n_win = max(n // win, 1)
    body = x[: n_win * win].reshape(n_win, -1) if n >= win else x.reshape(1, -1)
    lo, hi = np.percentile(body, [1, 99], axis=1)
    flat_share = float(np.mean((hi - lo) < FLAT_RANGE_MV))
    full_lo, full_hi = float(x.min()), float(x.max())
    span = full_hi - full_lo
    if span > 0:
        tol = 0.002 * span
        pinned = (x >= full_hi - tol) | (x <= full_lo + tol)
        # a pinned sample only counts when its neighbour is pinned too (a plateau, not a peak)
        plateau = pinned[1:] & pinned[:-1] & (np.abs(np.diff(x)) <= tol)
        saturation = float(plateau.sum()) / n
    else:
        saturation = 0.0
    if fs > 90:
        hf = x - signal.sosfiltfilt(_sos("lowpass", 40.0, fs, 4), x)
        noise = 1.4826 * float(np.median(np.abs(hf - np.median(hf))))
    else:
        noise = 0.0
    return {
        "flat_share": round(flat_share, 3),
        "saturation_share": round(saturation, 4),
        "noise_mv": round(noise, 4),
        "missing_share": 0.0,
    }


def _status(q: dict[str, Any]) -> tuple[str, list[str]]:
    reasons: list[str] = []
    if q["flat_share"] >= LEAD_OFF_FLAT_SHARE or q["missing_share"] >= 0.5:
        return "lead off", ["flat line / no signal"]
    if q["flat_share"] >= NOISY_FLAT_SHARE:
        reasons.append("intermittent flat line")
    if q["saturation_share"] >= SATURATION_SHARE:
        reasons.append("saturation")
    if q["noise_mv"] > NOISE_MAX_MV:
        reasons.append("high-frequency noise")
    snr = q.get("snr")
    if snr is not None and snr < SNR_MIN:
        reasons.append("low signal-to-noise")
    agreement = q.get("beat_agreement")
    if agreement is not None and agreement < AGREEMENT_MIN:
        reasons.append("beats disagree with other leads")
    return ("noisy" if reasons else "good"), reasons


# ---------------------------------------------------------------------------------------------
# beats


def _qrs_energy(x: np.ndarray, fs: float) -> np.ndarray:
    y = signal.sosfiltfilt(_sos("bandpass", (5.0, 25.0), fs), x)
    return _moving_average(y * y, max(int(0.08 * fs), 1))


def _detect(x: np.ndarray, fs: float) -> np.ndarray:
    try:
        peaks = sleepecg.detect_heartbeats(x, fs)
    except (ValueError, RuntimeError):  # pragma: no cover - degenerate signals
        return np.zeros(0, dtype=int)
    return np.asarray(peaks, dtype=int)


def fuse_peaks(
    detections: list[np.ndarray], energies: list[np.ndarray], fs: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse per-lead beat detections; returns (beat indices, support score per beat)."""
    n_leads = len(detections)
    if n_leads == 0:
        return np.zeros(0, dtype=int), np.zeros(0)
    n = len(energies[0])
    half = max(int(0.05 * fs), 1)
    # energy normalised by each lead's typical beat: combined "beat-likeness" curve
    combined = np.zeros(n)
    for det, e in zip(detections, energies, strict=True):
        peak_e = ndimage.maximum_filter1d(e, size=2 * half + 1, mode="nearest")
        ref = float(np.median(peak_e[det])) if len(det) else float(np.percentile(e, 99))
        combined += e / (ref if ref > 0 else 1.0)
    combined /= n_leads
    combined_peak = ndimage.maximum_filter1d(combined, size=2 * half + 1, mode="nearest")

    pos = np.concatenate(detections) if detections else np.zeros(0, dtype=int)
    lead = np.concatenate([np.full(len(d), i) for i, d in enumerate(detections)])
    order = np.argsort(pos, kind="stable")
    pos, lead = pos[order], lead[order]
    tol = int(FUSION_TOLERANCE_S * fs)
    beats: list[int] = []
    support: list[float] = []
    i = 0
    while i < len(pos):
        j = i + 1
        seen = {int(lead[i])}
        while j < len(pos) and pos[j] - pos[i] <= tol and int(lead[j]) not in seen:
            seen.add(int(lead[j]))
            j += 1
        cluster = pos[i:j]
        votes = j - i
        centre = int(np.median(cluster))
        score = float(combined_peak[min(max(centre, 0), n - 1)])
        if 2 * votes > n_leads or score >= MINORITY_SCORE_MIN * (
            2.0 if 2 * votes < n_leads else 1.0
        ):
            beats.append(centre)
            support.append(votes / n_leads + score)
        i = j
    b = np.asarray(beats, dtype=int)
    s = np.asarray(support)
    b, s = _refractory(b, s, int(REFRACTORY_S * fs))
    b, s = _searchback(b, s, combined, fs)
    return b, s


def _refractory(b: np.ndarray, s: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray]:
    if len(b) < 2:
        return b, s
    keep_b = [int(b[0])]
    keep_s = [float(s[0])]
    for pos, sup in zip(b[1:], s[1:], strict=True):
        if pos - keep_b[-1] < gap:
            if sup > keep_s[-1]:
                keep_b[-1], keep_s[-1] = int(pos), float(sup)
            continue
        keep_b.append(int(pos))
        keep_s.append(float(sup))
    return np.asarray(keep_b, dtype=int), np.asarray(keep_s)


def _searchback(
    b: np.ndarray, s: np.ndarray, combined: np.ndarray, fs: float
) -> tuple[np.ndarray, np.ndarray]:
    if len(b) < 4:
        return b, s
    rr = np.diff(b).astype(float)
    local = ndimage.median_filter(rr, size=9, mode="nearest")
    guard = int(0.25 * fs)
    added_b: list[int] = []
    added_s: list[float] = []
    for k in np.flatnonzero(rr > SEARCHBACK_RR_FACTOR * local):
        lo, hi = int(b[k]) + guard, int(b[k + 1]) - guard
        if hi <= lo:
            continue
        seg = combined[lo:hi]
        m = int(np.argmax(seg))
        if seg[m] >= SEARCHBACK_SCORE_MIN:
            added_b.append(lo + m)
            added_s.append(float(seg[m]))
    if not added_b:
        return b, s
    allb = np.concatenate([b, np.asarray(added_b, dtype=int)])
    alls = np.concatenate([s, np.asarray(added_s)])
    order = np.argsort(allb)
    return allb[order], alls[order]


# ---------------------------------------------------------------------------------------------
# median beat and delineation


def _median_beat(
    sig: np.ndarray, peaks: np.ndarray, fs: float, lo: int, hi: int
) -> tuple[np.ndarray, int, int, float] | None:
    """Median beat of the leads in `sig` (leads x samples) over beats in [lo, hi).

    Returns (template leads x width, fiducial index in the template, beats used, mean RR s)."""
    if len(peaks) < 3:
        return None
    rr_all = np.diff(peaks)
    idx = np.arange(1, len(peaks))  # beats with a preceding RR
    in_win = (peaks[idx] >= lo) & (peaks[idx] < hi)
    idx = idx[in_win]
    if idx.size == 0:
        return None
    rr_prev = rr_all[idx - 1]
    med_rr = float(np.median(rr_prev))
    normal = rr_prev >= 0.8 * med_rr
    if normal.sum() >= 3:
        idx = idx[normal]
    if idx.size > MAX_TEMPLATE_BEATS:
        idx = idx[np.linspace(0, idx.size - 1, MAX_TEMPLATE_BEATS).round().astype(int)]
    pre = int(TEMPLATE_PRE_S * fs)
    post = int(min(TEMPLATE_POST_MAX_S, max(0.42, med_rr / fs - 0.05)) * fs)
    shift = max(int(ALIGN_MAX_SHIFT_S * fs), 1)
    n = sig.shape[1]
    pk = peaks[idx]
    ok = (pk - pre - shift >= 0) & (pk + post + shift < n)
    pk = pk[ok]
    if pk.size < 1:
        return None
    offs = np.arange(-pre - shift, post + shift + 1)
    beats = sig[:, pk[:, None] + offs[None, :]]  # leads x beats x width
    beats = beats.transpose(1, 0, 2)  # beats x leads x width
    centre = pre + shift
    q = max(int(0.06 * fs), 2)
    template = np.median(beats, axis=0)
    qrs_t = template[:, centre - q : centre + q + 1]
    qrs_t = qrs_t - qrs_t.mean(axis=1, keepdims=True)
    best_corr = np.full(len(pk), -np.inf)
    best_shift = np.zeros(len(pk), dtype=int)
    tnorm = float(np.sqrt((qrs_t**2).sum())) or 1.0
    for s_ in range(-shift, shift + 1):
        seg = beats[:, :, centre + s_ - q : centre + s_ + q + 1]
        seg = seg - seg.mean(axis=2, keepdims=True)
        num = (seg * qrs_t[None]).sum(axis=(1, 2))
        den = np.sqrt((seg**2).sum(axis=(1, 2))) * tnorm
        corr = num / np.where(den > 0, den, 1.0)
        better = corr > best_corr
        best_corr[better] = corr[better]
        best_shift[better] = s_
    keep = best_corr >= TEMPLATE_MIN_CORR
    if keep.sum() < max(3, 0.3 * len(pk)):
        keep = best_corr >= np.percentile(best_corr, 50)
    width = pre + post + 1
    aligned = np.stack(
        [
            beats[b, :, centre + best_shift[b] - pre : centre + best_shift[b] + post + 1]
            for b in np.flatnonzero(keep)
        ]
    )
    template = np.median(aligned, axis=0)
    assert template.shape[1] == width
    rr_mean_s = float(np.mean(rr_prev)) / fs
    return template, pre, int(keep.sum()), rr_mean_s


def _trapezium(y: np.ndarray, xm: int, xr: int) -> int:
    """Trapezium-area end (or start, when xr < xm) of a wave from its steepest point xm."""
    if xr == xm:
        return xm
    step = 1 if xr > xm else -1
    xi = np.arange(xm, xr + step, step)
    area = 0.5 * np.abs(y[xm] - y[xi]) * np.abs(2 * xr - xi - xm)
    return int(xi[int(np.argmax(area))])


@dataclass
class _Fiducials:
    qrs_on: int
    qrs_off: int
    t_end: int | None
    p_on: int | None
    p_amplitude_mv: float
    iso: np.ndarray


def _delineate(template: np.ndarray, fid: int, fs: float, rr_s: float) -> _Fiducials:
    n_leads, width = template.shape
    smooth = _moving_average(template, max(int(0.008 * fs), 1), axis=1)
    vel = np.gradient(smooth, axis=1) * fs
    speed = np.sqrt((vel**2).sum(axis=0))
    a, b = max(fid - int(0.08 * fs), 0), min(fid + int(0.08 * fs), width - 1)
    peak = a + int(np.argmax(speed[a:b]))
    vmax = float(speed[peak])
    gap = max(int(QRS_GAP_S * fs), 1)
    # core of the QRS: walk outwards from the steepest point while the spatial velocity stays
    # over QRS_CORE_FRACTION of its peak, bridging dips shorter than QRS_GAP_S (notches, RSR')
    thr = QRS_CORE_FRACTION * vmax
    on = peak
    lim_on = max(fid - int(0.2 * fs), 1)
    while on > lim_on:
        window = speed[max(on - gap, lim_on) : on]
        above = np.flatnonzero(window >= thr)
        if above.size == 0:
            break
        on = max(on - gap, lim_on) + int(above[0])
    off = peak
    lim_off = min(fid + int(0.2 * fs), width - 2)
    while off < lim_off:
        window = speed[off + 1 : min(off + 1 + gap, lim_off + 1)]
        above = np.flatnonzero(window >= thr)
        if above.size == 0:
            break
        off = off + 1 + int(above[-1])
    # then out to where the velocity falls under QRS_ON/OFF_FRACTION or stops decreasing
    ext = max(int(QRS_EXTEND_S * fs), 1)
    rise = QRS_RISE_TOLERANCE * vmax
    stop = max(on - ext, 1)
    while (
        on > stop and speed[on - 1] >= QRS_ON_FRACTION * vmax and speed[on - 1] <= speed[on] + rise
    ):
        on -= 1
    stop = min(off + ext, width - 2)
    while (
        off < stop
        and speed[off + 1] >= QRS_OFF_FRACTION * vmax
        and speed[off + 1] <= speed[off] + rise
    ):
        off += 1
    # isoelectric level: the PR segment just before QRS onset
    i0, i1 = max(on - int(0.03 * fs), 0), max(on - int(0.005 * fs), 1)
    iso = template[:, i0:i1].mean(axis=1)
    base = _moving_average(template, max(int(0.02 * fs), 1), axis=1) - iso[:, None]
    # T wave
    t_lo = off + int(T_SEARCH_START_S * fs)
    t_hi = min(on + int(min(0.6 * math.sqrt(rr_s), 0.8 * rr_s) * fs), width - 1)
    t_end: int | None = None
    if t_hi - t_lo > int(0.05 * fs):
        ends: list[tuple[float, int]] = []
        dbase = np.gradient(base, axis=1)
        for lead in range(n_leads):
            y = base[lead]
            tp = t_lo + int(np.argmax(np.abs(y[t_lo:t_hi])))
            amp = float(abs(y[tp]))
            if amp < T_MIN_AMPLITUDE_MV:
                continue
            # biphasic T: the end is that of the terminal lobe when it is large enough
            late = tp + int(0.04 * fs)
            late_hi = min(t_hi, tp + int(0.16 * fs))
            if late_hi - late > 2:
                opp = -np.sign(y[tp]) * y[late:late_hi]
                k2 = int(np.argmax(opp))
                if opp[k2] >= max(T_BIPHASIC_SHARE * amp, T_BIPHASIC_MIN_MV):
                    tp = late + k2
            lim_m = min(tp + int(0.2 * fs), width - 1)
            d = dbase[lead, tp:lim_m] * (-np.sign(y[tp]))
            if d.size < 2:
                continue
            xm = tp + int(np.argmax(d))
            xr = min(xm + int(T_AREA_SPAN_S * fs), width - 1)
            end = _trapezium(y, xm, xr)
            slope = dbase[lead, xm]
            if T_METHOD != "area" and slope != 0:
                tangent = int(round(xm - y[xm] / slope))
                tangent = min(max(tangent, xm), width - 1)
                end = tangent if T_METHOD == "tangent" else (end + tangent) // 2
            ends.append((amp, end))
        if ends:
            top = max(amp for amp, _ in ends)
            clear = [end for amp, end in ends if amp >= T_LEAD_MIN_SHARE * top]
            if T_COMBINE == "latest":
                t_end = max(clear)
            elif T_COMBINE == "median":
                t_end = int(np.median(clear))
            else:
                t_end = max(ends)[1]
    # P wave
    p_on: int | None = None
    p_amp = 0.0
    # P search: up to 280 ms before QRS onset but not back into the previous beat's T wave
    p_lo, p_hi = max(on - int(min(0.28, 0.45 * rr_s) * fs), 1), on - int(0.04 * fs)
    if p_hi - p_lo > int(0.05 * fs):
        onsets: list[tuple[float, int]] = []
        dbase = np.gradient(base, axis=1)
        for lead in range(n_leads):
            y = base[lead]
            inner = p_lo + int(0.02 * fs)
            pp = inner + int(np.argmax(np.abs(y[inner:p_hi])))
            amp = float(abs(y[pp]))
            # a P wave is a hump: larger than the signal where the search starts (not the tail
            # of the previous T wave running into the window)
            if amp < P_MIN_AMPLITUDE_MV or amp < 1.5 * abs(float(y[inner])):
                continue
            p_amp = max(p_amp, amp)
            lim_m = max(pp - int(0.1 * fs), 0)
            d = dbase[lead, lim_m:pp] * np.sign(y[pp])
            if d.size < 2:
                continue
            xm = lim_m + int(np.argmax(d))
            xr = max(xm - int(P_AREA_SPAN_S * fs), p_lo - int(0.04 * fs), 0)
            onsets.append((amp, _trapezium(y, xm, xr)))
        if onsets:
            top = max(amp for amp, _ in onsets)
            p_on = min(o for amp, o in onsets if amp >= 0.5 * top)
    return _Fiducials(on, off, t_end, p_on, p_amp, iso)


def _axis(template: np.ndarray, names: list[str], fd: _Fiducials) -> float | None:
    area = {}
    for i, name in enumerate(names):
        seg = template[i, fd.qrs_on : fd.qrs_off + 1] - fd.iso[i]
        area[name] = float(seg.sum())
    lead_i = area.get("I")
    if lead_i is None and "II" in area and "III" in area:
        lead_i = area["II"] - area["III"]
    if lead_i is None:
        return None
    if "aVF" in area:
        avf = area["aVF"]
    elif "II" in area:
        avf = area["II"] - lead_i / 2.0
    elif "III" in area:
        avf = area["III"] + lead_i / 2.0
    else:
        return None
    if lead_i == 0 and avf == 0:
        return None
    return float(math.degrees(math.atan2(avf, lead_i)))


# ---------------------------------------------------------------------------------------------
# rhythm


def _rr_stats(rr_s: np.ndarray) -> dict[str, float | None]:
    if rr_s.size < 2:
        return {"sdnn_ms": None, "rmssd_ms": None, "nrmssd": None, "median_abs_diff": None}
    diff = np.diff(rr_s)
    mean = float(rr_s.mean())
    return {
        "sdnn_ms": float(rr_s.std() * 1000),
        "rmssd_ms": float(np.sqrt(np.mean(diff**2)) * 1000),
        "nrmssd": float(np.sqrt(np.mean(diff**2)) / mean),
        "median_abs_diff": float(np.median(np.abs(diff)) / float(np.median(rr_s))),
    }


def _rhythm(
    rr_s: np.ndarray, peaks: np.ndarray, fs: float, hr: float | None, p_present: bool | None
) -> list[str]:
    findings: list[str] = []
    if hr is None:
        return ["No beats detected: rhythm not assessed"]
    stats = _rr_stats(rr_s)
    irregular = bool(
        rr_s.size >= 5
        and (stats["nrmssd"] or 0.0) > IRREGULAR_NRMSSD
        and (stats["median_abs_diff"] or 0.0) > IRREGULAR_MEDIAN_DIFF
    )
    if irregular:
        if p_present is False:
            findings.append(
                "Irregular rhythm, P waves not identified: possible atrial fibrillation"
            )
        else:
            findings.append("Irregular rhythm")
    elif p_present:
        if hr < BRADY_BPM:
            findings.append("Sinus bradycardia")
        elif hr > TACHY_BPM:
            findings.append("Sinus tachycardia")
        else:
            findings.append("Sinus rhythm")
    else:
        label = "Regular rhythm, P waves not identified"
        if hr < BRADY_BPM:
            label += ", bradycardia"
        elif hr > TACHY_BPM:
            label += ", tachycardia"
        findings.append(label)
    if irregular and hr < BRADY_BPM:
        findings.append("Bradycardia")
    elif irregular and hr > TACHY_BPM:
        findings.append("Tachycardia")
    for k in np.flatnonzero(rr_s > PAUSE_S):
        findings.append(f"Pause of {rr_s[k]:.1f} s at {peaks[k] / fs:.1f} s")
    return findings


# ---------------------------------------------------------------------------------------------
# entry point


def analyze(recording: Recording, window_s: tuple[float, float] | None = None) -> Analysis:
    """Measure a recording. `window_s` limits the median beat (intervals, axis) to a time span;
    beats, rate and rhythm always cover the whole recording."""
    fs0 = float(recording.sampling_rate_hz)
    names = list(recording.leads)
    raw = {name: _clean(recording.leads[name]) for name in names}
    fs = fs0
    if fs0 > MAX_INTERNAL_RATE_HZ:
        fs = INTERNAL_RATE_HZ
        frac = _ratio(fs0, fs)
        raw = {k: signal.resample_poly(v, frac[0], frac[1]) for k, v in raw.items()}
    scale = fs0 / fs
    n = len(next(iter(raw.values()))) if raw else 0

    quality = {name: _signal_quality(raw[name], fs) for name in names}
    for name in names:
        quality[name]["missing_share"] = round(
            1.0 - float(np.isfinite(np.asarray(recording.leads[name], dtype=float)).mean()), 4
        )
    usable = [name for name in names if _status(quality[name])[0] != "lead off"]
    first_good = [name for name in usable if _status(quality[name])[0] == "good"]
    detect_on = first_good or usable

    detections = {name: _detect(raw[name], fs) for name in detect_on}
    energies = {name: _qrs_energy(raw[name], fs) for name in detect_on}
    peaks, _ = fuse_peaks([detections[k] for k in detect_on], [energies[k] for k in detect_on], fs)

    # second quality pass: QRS amplitude (SNR) and agreement of each lead's beats with the fusion
    tol = int(0.15 * fs)
    half = max(int(0.06 * fs), 1)
    for name in usable:
        q = quality[name]
        if peaks.size:
            x = raw[name]
            hi = ndimage.maximum_filter1d(x, 2 * half + 1)[peaks]
            lo = ndimage.minimum_filter1d(x, 2 * half + 1)[peaks]
            amp = float(np.median(hi - lo))
            q["qrs_amplitude_mv"] = round(amp, 3)
            q["snr"] = round(amp / q["noise_mv"], 1) if q["noise_mv"] > 0 else None
        if name in detections and peaks.size:
            tp = _match_count(peaks, detections[name], tol)
            f1 = 2 * tp / (len(peaks) + len(detections[name]))
            q["beat_agreement"] = round(f1, 4)
    for name in names:
        status, reasons = _status(quality[name])
        quality[name]["status"] = status
        quality[name]["reasons"] = reasons
    good = [name for name in detect_on if quality[name]["status"] == "good"]
    if good and len(good) < len(detect_on):
        peaks, _ = fuse_peaks([detections[k] for k in good], [energies[k] for k in good], fs)
        detect_on = good

    rr_s = np.diff(peaks) / fs if peaks.size > 1 else np.zeros(0)
    hr = 60.0 / float(rr_s.mean()) if rr_s.size else None

    # median beat on the usable leads
    deline = [name for name in names if quality[name]["status"] == "good"] or usable
    pr = qrs = qt = qtc_b = qtc_f = axis = None
    p_present: bool | None = None
    n_template = 0
    median: dict[str, np.ndarray] = {}
    fiducials: dict[str, int] = {}
    lo, hi = 0, n
    if window_s is not None:
        lo, hi = int(window_s[0] * fs), int(window_s[1] * fs)
    if deline and peaks.size >= 3:
        sos = _sos("bandpass", (0.5, 40.0), fs)
        pad = int(2 * fs)
        a, b = max(lo - pad, 0), min(hi + pad, n)
        sig = np.stack([signal.sosfiltfilt(sos, raw[name][a:b]) for name in deline])
        built = _median_beat(sig, peaks - a, fs, lo - a, hi - a)
        if built is not None:
            template, fid, n_template, rr_mean = built
            fd = _delineate(template, fid, fs, rr_mean)
            qrs = (fd.qrs_off - fd.qrs_on) / fs * 1000
            if fd.t_end is not None:
                qt = (fd.t_end - fd.qrs_on) / fs * 1000
                qtc_b = qt / math.sqrt(rr_mean)
                qtc_f = qt / rr_mean ** (1 / 3)
            p_present = fd.p_on is not None
            if fd.p_on is not None:
                pr = (fd.qrs_on - fd.p_on) / fs * 1000
            axis = _axis(template, deline, fd)
            median = {name: template[i] for i, name in enumerate(deline)}
            fiducials = {"r": fid, "qrs_on": fd.qrs_on, "qrs_off": fd.qrs_off}
            if fd.t_end is not None:
                fiducials["t_end"] = fd.t_end
            if fd.p_on is not None:
                fiducials["p_on"] = fd.p_on

    r_peaks = np.round(peaks * scale).astype(int) if peaks.size else np.zeros(0, dtype=int)
    r_peaks = np.clip(r_peaks, 0, max(recording.n_samples - 1, 0))
    return Analysis(
        sampling_rate_hz=fs0,
        duration_s=recording.duration_s,
        heart_rate_bpm=hr,
        rr_ms=[float(v) for v in rr_s * 1000],
        mean_rr_ms=float(rr_s.mean() * 1000) if rr_s.size else None,
        pr_ms=pr,
        qrs_ms=qrs,
        qt_ms=qt,
        qtc_bazett_ms=qtc_b,
        qtc_fridericia_ms=qtc_f,
        axis_deg=axis,
        rhythm=_rhythm(rr_s, peaks, fs, hr, p_present),
        quality=quality,
        r_peaks=[int(v) for v in r_peaks],
        p_waves_present=p_present,
        leads_used=detect_on,
        interval_beats=n_template,
        interval_window_s=(lo / fs, hi / fs) if window_s is not None else None,
        rr_stats=_rr_stats(rr_s),
        median_beat=median,
        median_beat_rate_hz=fs,
        fiducials=fiducials,
    )


def _ratio(fs_from: float, fs_to: float) -> tuple[int, int]:
    from fractions import Fraction

    f = Fraction(fs_to / fs_from).limit_denominator(1000)
    return f.numerator, f.denominator

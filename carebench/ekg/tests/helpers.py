"""Test helpers: where the shared sample recordings are, and a small synthetic tracing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def ecg_data_dir() -> Path | None:
    env = os.environ.get("CAREBENCH_ECG_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[4] / "shared" / "data" / "ecg")
    return next((p for p in candidates if p.is_dir()), None)


def synthetic_csv(
    *, bpm: float = 72.0, seconds: float = 10.0, fs: int = 500, seed: int = 0
) -> bytes:
    """A plausible 2-lead (I, II) tracing as CSV: P, QRS and T waves as Gaussian bumps."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    beat = 60.0 / bpm
    lead_ii = np.zeros_like(t)
    for start in np.arange(0.3, seconds - 0.4, beat):
        for offset, width, height in (
            (-0.16, 0.025, 0.15),  # P
            (-0.02, 0.008, -0.1),  # Q
            (0.0, 0.010, 1.2),  # R
            (0.025, 0.010, -0.25),  # S
            (0.26, 0.045, 0.3),  # T
        ):
            lead_ii += height * np.exp(-(((t - start - offset) / width) ** 2) / 2)
    lead_ii += rng.normal(0, 0.01, t.size)
    lead_i = 0.6 * lead_ii + rng.normal(0, 0.01, t.size)
    lines = [f"# sampling_rate_hz={fs}", "time_s,I,II"]
    lines += [f"{tt:.4f},{a:.4f},{b:.4f}" for tt, a, b in zip(t, lead_i, lead_ii, strict=True)]
    return ("\n".join(lines) + "\n").encode()

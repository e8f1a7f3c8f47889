"""Piano rolls as sound: a tiny additive synthesizer whose waveform ``IPython.display.Audio`` plays in JupyterLab.

Each note (a run of consecutive frames of one pitch) is a sum of harmonics,
``s(t) = env(t) * sum_k a_k sin(2 pi k f t)`` with the equal-tempered frequency ``f = 440 * 2 ** ((m - 69) / 12)``
for MIDI pitch m, and an envelope with a short linear attack, an exponential decay and a short linear release
(no clicks). Frames are ``step_seconds`` long. The mix is scaled to a peak of 0.9.
"""

from __future__ import annotations

import numpy as np

from rnnlab.data.layout import LOWEST_PITCH


def midi_frequency(pitch: float) -> float:
    """Equal temperament, A4 = MIDI 69 = 440 Hz."""
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def note_runs(roll) -> list[tuple[int, int, int]]:
    """``(start frame, frame count, MIDI pitch)`` for every run of consecutive active frames of one pitch."""
    roll = np.asarray(roll) > 0
    padded = np.zeros((roll.shape[0] + 2, roll.shape[1]), dtype=np.int8)
    padded[1:-1] = roll
    change = np.diff(padded, axis=0)  # +1 where a run starts, -1 one past where it ends
    runs = []
    for column in range(roll.shape[1]):
        starts = np.flatnonzero(change[:, column] == 1)
        stops = np.flatnonzero(change[:, column] == -1)
        runs.extend((int(a), int(b - a), LOWEST_PITCH + column) for a, b in zip(starts, stops, strict=True))
    return sorted(runs)


def synthesize(roll, step_seconds: float = 0.4, sample_rate: int = 22050, harmonics=(1.0, 0.4, 0.2, 0.1),
               attack: float = 0.01, release: float = 0.04, decay: float = 1.5) -> np.ndarray:
    """Mono float32 waveform of a (T, 88) piano roll (see the module docstring)."""
    roll = np.asarray(roll)
    total = int(round(roll.shape[0] * step_seconds * sample_rate))
    out = np.zeros(total + int(release * sample_rate) + 1, dtype=np.float64)
    for start, frames, pitch in note_runs(roll):
        n = int(round(frames * step_seconds * sample_rate))
        t = np.arange(n) / sample_rate
        f = midi_frequency(pitch)
        audible = [(k, a) for k, a in enumerate(harmonics, start=1) if k * f < sample_rate / 2]  # below Nyquist
        tone = sum(a * np.sin(2 * np.pi * k * f * t) for k, a in audible)
        envelope = np.minimum(1.0, t / attack) * np.exp(-t / decay) * np.clip((t[-1] - t) / release, 0.0, 1.0)
        begin = int(round(start * step_seconds * sample_rate))
        out[begin:begin + n] += tone * envelope
    peak = np.abs(out).max()
    return (out * (0.9 / peak if peak > 0 else 1.0)).astype(np.float32)

"""Hearing and seeing a piano roll: the synthesizer's pitches, the MIDI file, the figures."""

from __future__ import annotations

import numpy as np
import torch

from rnnlab.data import Dataset
from rnnlab.data.audio import note_runs, synthesize
from rnnlab.data.midi import midi_download_html, roll_to_midi_bytes
from rnnlab.viz.datasets import (
    note_frequency_figure,
    note_name,
    piano_roll_figure,
    polyphony_histogram_figure,
)


def _roll(notes, frames):
    """(T, 88) roll from (start, length, MIDI pitch)."""
    roll = np.zeros((frames, 88), dtype=np.float32)
    for start, length, pitch in notes:
        roll[start:start + length, pitch - 21] = 1
    return roll


def test_note_runs_merge_consecutive_frames():
    roll = _roll([(0, 3, 60), (4, 1, 60), (1, 2, 108)], 6)
    assert note_runs(roll) == [(0, 3, 60), (1, 2, 108), (4, 1, 60)]


def _peaks(wave, rate, count):
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    freqs = np.fft.rfftfreq(len(wave), 1 / rate)
    peaks = [i for i in range(1, len(spectrum) - 1) if spectrum[i - 1] < spectrum[i] >= spectrum[i + 1]]
    return sorted(freqs[i] for i in sorted(peaks, key=lambda i: -spectrum[i])[:count])


def test_synthesizer_plays_equal_tempered_pitches():
    rate = 8000
    a4 = synthesize(_roll([(0, 4, 69)], 4), step_seconds=0.5, sample_rate=rate, harmonics=(1.0,))
    assert len(a4) >= 2 * rate and np.abs(a4).max() <= 0.9 + 1e-6
    [peak] = _peaks(a4, rate, 1)
    assert abs(peak - 440.0) < 1.0
    chord = synthesize(_roll([(0, 4, 60), (0, 4, 64)], 4), step_seconds=0.5, sample_rate=rate, harmonics=(1.0,))
    low, high = _peaks(chord, rate, 2)
    assert abs(low - 261.63) < 1.0 and abs(high - 329.63) < 1.0  # 440 * 2 ** ((m - 69) / 12)


def test_midi_file_holds_the_roll_notes():
    from music21 import converter

    roll = _roll([(0, 2, 60), (2, 1, 64), (1, 3, 43)], 4)
    data = roll_to_midi_bytes(roll, quarter_length=1.0)
    assert data[:4] == b"MThd"
    parsed = converter.parseData(data, format="midi")
    notes = sorted((float(n.offset), float(n.quarterLength), n.pitch.midi) for n in parsed.flatten().notes)
    assert notes == [(0.0, 2.0, 60), (1.0, 3.0, 43), (2.0, 1.0, 64)]
    assert midi_download_html(data, "x.mid").startswith('<a download="x.mid" href="data:audio/midi;base64,')


def test_figures_show_the_data():
    roll = _roll([(0, 2, 60), (1, 2, 64)], 3)
    heatmap = piano_roll_figure(roll).data[0]
    assert list(heatmap.y) == list(range(58, 67))  # used pitches 60..64, +-2
    assert np.array_equal(np.array(heatmap.z), roll[:, 58 - 21:67 - 21].T)
    ds = Dataset(name="toy", source="test", kind="music", splits={"train": [torch.tensor(roll)]}, n_in=88, n_out=88,
                 loss="bernoulli", metric="nll")
    freq = note_frequency_figure(ds).data[0]
    assert freq.y[60 - 21] == freq.y[64 - 21] == 0.5 and abs(sum(freq.y) - 1) < 1e-9
    poly = polyphony_histogram_figure([ds, ds]).data
    assert len(poly) == 2 and list(poly[0].y) == [0.0, 2 / 3, 1 / 3]  # steps with 1, 2, 1 notes
    assert note_name(60) == "C4" and note_name(21) == "A0" and note_name(108) == "C8"

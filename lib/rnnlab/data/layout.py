"""How every loaded dataset is laid out: its split names and the piano-roll columns of the music sets.

A leaf module (imports nothing of rnnlab), so the loaders, the statistics, the audio/MIDI helpers, the state
recordings and the figures can share these facts (and the pitch names) without importing one another.
"""

from __future__ import annotations

SPLITS = ("train", "valid", "test")
N_KEYS = 88  # piano keys A0..C8
LOWEST_PITCH = 21  # MIDI number of A0; column j of a piano roll is pitch 21 + j
HIGHEST_PITCH = LOWEST_PITCH + N_KEYS - 1  # 108 = C8
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI number: 60 -> 'C4', 21 -> 'A0', 108 -> 'C8'."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"

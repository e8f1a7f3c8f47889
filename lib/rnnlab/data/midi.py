"""A piano roll as MIDI, via music21: a file you can download from the notebook and open in any player.

Each run of consecutive active frames of one pitch becomes one note lasting the run (a frame is
``quarter_length`` quarter notes: 1 for JSB/bach-music21, 0.5 for the eighth-note sets).
"""

from __future__ import annotations

import base64
import html

from rnnlab.data.audio import note_runs


def roll_to_stream(roll, quarter_length: float = 1.0, bpm: float = 90.0):
    """A music21 ``Score`` with one part holding every note of ``roll`` (T x 88, column j = MIDI 21 + j)."""
    from music21 import note, stream, tempo

    part = stream.Part()
    part.insert(0, tempo.MetronomeMark(number=bpm))
    for start, frames, pitch in note_runs(roll):
        part.insert(start * quarter_length, note.Note(pitch, quarterLength=frames * quarter_length))
    score = stream.Score()
    score.insert(0, part)
    return score


def roll_to_midi_bytes(roll, quarter_length: float = 1.0, bpm: float = 90.0) -> bytes:
    """Standard MIDI file bytes of ``roll``."""
    from music21.midi.translate import streamToMidiFile

    midi_file = streamToMidiFile(roll_to_stream(roll, quarter_length, bpm))
    return midi_file.writestr()


def midi_download_html(data: bytes, filename: str = "piece.mid") -> str:
    """An HTML link that downloads ``data`` as a MIDI file (embedded, so no file is written)."""
    encoded = base64.b64encode(data).decode("ascii")
    name = html.escape(filename)
    return f'<a download="{name}" href="data:audio/midi;base64,{encoded}">download {name} ({len(data)} bytes)</a>'

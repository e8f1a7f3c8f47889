"""The sampler: a temperature knob, a seed and a length; the sampled piece redraws as a piano roll (a FigureWidget),
plays in the notebook and downloads as MIDI. A thin wrapper over :func:`rnnlab.generate.sample_music`."""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go
from IPython.display import Audio

from rnnlab.data.audio import synthesize
from rnnlab.data.midi import midi_download_html, roll_to_midi_bytes
from rnnlab.generate import sample_music
from rnnlab.viz.generation import generated_roll_figure

SAMPLE_RATE = 22050


def sampler(model, prime=None, steps: int = 64, temperature: float = 1.0, seed: int = 0,
            step_seconds: float = 0.35) -> widgets.VBox:
    """Sliders for temperature (0 = greedy), seed and length; redraws, re-synthesises and re-links the MIDI."""
    prime_steps = 0 if prime is None else len(prime)
    temperature_knob = widgets.FloatSlider(value=temperature, min=0.0, max=2.5, step=0.05, description="temperature",
                                           continuous_update=False)
    seed_knob = widgets.IntText(value=seed, description="seed")
    steps_knob = widgets.IntSlider(value=steps, min=8, max=256, step=8, description="steps", continuous_update=False)
    figure = go.FigureWidget(go.Figure())
    player = widgets.HTML()  # an <audio> element (HTML, not an Output widget: nothing to capture headless)
    link = widgets.HTML()

    def redraw(*_):
        roll = sample_music(model, steps_knob.value, temperature_knob.value, prime=prime, seed=seed_knob.value)
        fresh = generated_roll_figure(roll, prime_steps, title=f"temperature {temperature_knob.value:.2f}, "
                                      f"seed {seed_knob.value}: {roll[prime_steps:].sum(1).mean():.2f} notes/step")
        with figure.batch_update():
            figure.data = []
            figure.add_traces(list(fresh.data))
            figure.layout = fresh.layout
        player.value = Audio(synthesize(roll.numpy(), step_seconds=step_seconds, sample_rate=SAMPLE_RATE),
                             rate=SAMPLE_RATE)._repr_html_()
        link.value = midi_download_html(roll_to_midi_bytes(roll.numpy()),
                                        f"sample-T{temperature_knob.value:.2f}-seed{seed_knob.value}.mid")

    for knob in (temperature_knob, seed_knob, steps_knob):
        knob.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([temperature_knob, seed_knob, steps_knob]), figure, player, link])

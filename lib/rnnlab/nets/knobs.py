"""``model_config``: the knobs of a model (cell × architecture) and the rules they must satisfy.

``MODEL_KNOBS`` is the one list of the knobs (default, and who sets each: a training run, the dataset, or only a
caller of ``build_model``); ``model_config`` takes exactly those, and ``model_knobs_for`` reads a training run's
from its ``TrainConfig`` and data. ``build_model`` (``model.py``) builds what ``model_config`` resolves; the presets
themselves are ``archs.ARCHS``.
Every fact about a cell is asked of its class (``rnnlab.cells.CELLS[cell]``), never decided here by its name.

Rules (the project's decision):
* The preset (``ARCHS``) fixes which constructions are active. dt-/dts-/dot-/dots-rnn need transition_depth >= 2,
  do-/dot-/dots-rnn output_depth >= 2, srnn levels >= 2 (a depth of 1 is the plain ``rnn``).
* A knob the preset does not use is ignored only when left at its default (or set to the value the preset
  implies, e.g. levels=1 for dt-rnn); anything else is an error naming the knob and the archs that use it —
  so stacking a deep transition (levels=3 with arch="dt-rnn") is refused, not silently dropped.
* ``transition_hidden`` may differ from ``hidden`` only for a cell that allows it (``allows_width_change()``: the
  tanh cell): gated cells carry (h, c) through the chain of a deep transition, so the widths must agree.
* ``nonlinearity`` is φ of a cell that takes that option (the tanh cell) and of every dense layer (deep input, deep
  output); ``transition_nonlinearity`` (such a cell only) overrides it for the intermediate transition layers and
  ``output_nonlinearity`` for the deep-output layer (Pascanu's DOT(S)-RNN*: L_p in the transition, maxout in the
  output). ``pool_size`` and ``lp_p`` configure the L_p / maxout units.
* ``forget_bias`` applies to the cells with a forget gate (``has_forget_gate``; None = the cell's
  ``default_forget_bias``: 1 for lstm_b, else 0).
* ``equations`` applies only to a cell that takes that option: cell ``graph``, a cell written as equations (see
  ``rnnlab.cells.graph``; None or "" = its ``default_equations``, the GRU); the config keeps the text (key present
  only for that cell) and every layer of every level uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnlab.cells import CELLS, NONLINEARITIES
from rnnlab.errors import RnnlabError, check_choice, check_positive
from rnnlab.nets.archs import ARCHS, DEPTH_KNOBS

FUSED_CHOICES = ("auto", "never")
INIT_CHOICES = ("default", "pascanu")
SOURCES = ("run", "dataset", "caller")
REQUIRED = object()  # the default of a knob that has none


@dataclass(frozen=True)
class Knob:
    """One model knob: its default (``REQUIRED``: none) and who sets it. ``source``: ``run`` (a training run: a
    ``TrainConfig`` knob of the same name), ``dataset`` (the loaded Dataset's attribute of the same name:
    ``build_model_for`` sizes the model to the data) or ``caller`` (only callers of ``build_model``: notebooks, the
    CLI; a training run leaves it at its default)."""

    default: object
    source: str
    doc: str

    def __post_init__(self):
        check_choice("source", self.source, SOURCES)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


MODEL_KNOBS: dict[str, Knob] = {  # in the order of a model's config
    "arch": Knob("rnn", "run", "the preset: an ARCHS id"),
    "cell": Knob("tanh", "run", "the recurrent cell: a CELLS name"),
    "n_in": Knob(REQUIRED, "dataset", "input width (the vocabulary size with token_input)"),
    "n_out": Knob(REQUIRED, "dataset", "output width (logits)"),
    "hidden": Knob(REQUIRED, "run", "state units per level"),
    "transition_hidden": Knob(None, "run", "width of the intermediate transition layers (None: hidden)"),
    "output_hidden": Knob(None, "run", "width of the deep-output layers (None: hidden)"),
    "transition_depth": Knob(2, "caller", "layers of a deep transition (archs with one)"),
    "output_depth": Knob(2, "caller", "affine maps of a deep output (archs with one)"),
    "levels": Knob(2, "run", "stacked levels (stacked archs)"),
    "input_depth": Knob(0, "caller", "dense layers before the recurrence"),
    "input_hidden": Knob(None, "caller", "width of the deep-input layers (None: hidden)"),
    "nonlinearity": Knob("tanh", "run", "phi of a cell that takes it and of every dense layer"),
    "transition_nonlinearity": Knob(None, "caller", "phi of the intermediate transition layers (None: nonlinearity)"),
    "output_nonlinearity": Knob(None, "caller", "phi of the deep-output layers (None: nonlinearity)"),
    "forget_bias": Knob(None, "run", "forget-gate bias at init (None: the cell's default)"),
    "pool_size": Knob(2, "caller", "units pooled by an lp or maxout unit"),
    "lp_p": Knob(None, "caller", "p of the lp units (None: learned)"),
    "token_input": Knob(False, "dataset", "inputs are token ids (the input matrix is indexed)"),
    "dropout": Knob(0.0, "run", "non-recurrent dropout into and out of every level"),
    "fused": Knob("auto", "caller", "auto: plain levels train through fused torch.nn modules; never"),
    "init": Knob("default", "run", "default (PyTorch) or pascanu"),
    "equations": Knob(None, "run", "cell graph only: the cell written as equations (None or '': its default)"),
}
"""The one list of model knobs: ``model_config`` (and so ``build_model``) takes exactly these keywords, fills the
unset ones with their defaults and returns one key per knob; ``rnnlab.train`` builds a run's model from the
``run`` knobs of its ``TrainConfig`` and the ``dataset`` knobs of its data (:func:`model_knobs_for`), and
``TrainConfig.validate`` checks the same. A new knob is one line here, its rule in ``model_config`` and its use in
``RecurrentNet``; with source ``run`` also a ``TrainConfig`` knob of the same name."""


def knobs_from(source: str) -> tuple[str, ...]:
    """The names of the model knobs that ``source`` (``run``, ``dataset``, ``caller``) sets, in config order."""
    check_choice("source", source, SOURCES)
    return tuple(name for name, knob in MODEL_KNOBS.items() if knob.source == source)


def model_knobs_for(config, dataset=None) -> dict:
    """The ``build_model`` keywords of a training run: each ``run`` knob read from ``config`` (a ``TrainConfig``)
    and, with ``dataset``, each ``dataset`` knob read from it (without one, ``n_in = n_out = 1``: enough to check the
    rules, as ``TrainConfig.validate`` does)."""
    knobs = {name: getattr(config, name) for name in knobs_from("run")}
    lacking = [name for name in knobs_from("dataset") if dataset is not None and not hasattr(dataset, name)]
    if lacking:
        raise RnnlabError(f"the dataset sizing a model must give {', '.join(knobs_from('dataset'))} (a loaded "
                          f"rnnlab.data.Dataset does); this {type(dataset).__name__} lacks {', '.join(lacking)}")
    for name in knobs_from("dataset"):
        if dataset is not None:
            knobs[name] = getattr(dataset, name)
        elif MODEL_KNOBS[name].required:
            knobs[name] = 1
    return knobs


def _archs_with(flag: str) -> str:
    return ", ".join(name for name, arch in ARCHS.items() if getattr(arch, flag))


def _cells_where(fact) -> str:
    """The cell names whose class satisfies ``fact(cls)``, quoted: "'tanh'" or "'lstm', 'lstm_b'"."""
    return ", ".join(repr(name) for name, cls in CELLS.items() if fact(cls))


def _depth(name: str, value, default: int, arch: str, active: bool, flag: str) -> int:
    """Resolve a depth knob: >= 2 where the preset uses it, else its default or 1 (the value the preset implies)."""
    check_positive(name, value)
    if active:
        if value < 2:
            raise RnnlabError(f"{name} must be >= 2 for arch {arch!r} ({name}=1 is arch 'rnn'), got {value}")
        return value
    if value not in (default, 1):
        raise RnnlabError(
            f"{name}={value!r} does not apply to arch {arch!r}; it is used by: {_archs_with(flag)} "
            f"(leave it at {default})"
        )
    return 1


def _unused(name: str, value, default, reason: str) -> None:
    if value != default:
        raise RnnlabError(f"{name}={value!r} does not apply: {reason} (leave it at {default!r})")


def _width(name: str, value, hidden: int, active: bool, reason: str) -> int | None:
    if not active:
        _unused(name, value, None, reason)
        return None
    value = hidden if value is None else value
    check_positive(name, value)
    return value


def _check_nonlinearities(cell, arch, input_depth, nonlinearity, transition_nonlinearity, output_nonlinearity,
                          pool_size, lp_p) -> None:
    """Each φ knob must name a nonlinearity and be used by some layer (else left at its default)."""
    spec = ARCHS[arch]
    takes_phi = CELLS[cell].takes_option("nonlinearity")
    check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    uses_phi = takes_phi or input_depth > 0 or (spec.deep_output and output_nonlinearity is None)
    if not uses_phi:
        _unused("nonlinearity", nonlinearity, "tanh", f"cell {cell!r} with arch {arch!r} has no layer that uses it")
    if takes_phi and spec.deep_transition:
        if transition_nonlinearity is not None:
            check_choice("transition_nonlinearity", transition_nonlinearity, NONLINEARITIES)
    else:
        phi_cells = _cells_where(lambda cls: cls.takes_option("nonlinearity"))
        _unused("transition_nonlinearity", transition_nonlinearity, None,
                f"it needs cell {phi_cells} and a deep transition")
    if spec.deep_output:
        if output_nonlinearity is not None:
            check_choice("output_nonlinearity", output_nonlinearity, NONLINEARITIES)
    else:
        _unused("output_nonlinearity", output_nonlinearity, None,
                f"arch {arch!r} has no deep output (those that do: {_archs_with('deep_output')})")
    active = set()  # the nonlinearities some layer will use
    if takes_phi:
        active.add(nonlinearity)
        if spec.deep_transition:
            active.add(transition_nonlinearity or nonlinearity)
    if input_depth > 0:
        active.add(nonlinearity)
    if spec.deep_output:
        active.add(output_nonlinearity or nonlinearity)
    if active & {"lp", "maxout"}:
        check_positive("pool_size", pool_size)
    else:
        _unused("pool_size", pool_size, 2, "no layer uses lp or maxout units")
    if "lp" not in active:
        _unused("lp_p", lp_p, None, "no layer uses lp units")


def _resolve_forget_bias(cell: str, forget_bias) -> float | None:
    """The cell's forget-gate bias (its default when None); None for cells without a forget gate."""
    cls = CELLS[cell]
    if cls.has_forget_gate:
        return cls.default_forget_bias if forget_bias is None else float(forget_bias)
    if forget_bias not in (None, 0, 0.0):
        with_forget = ", ".join(name for name, c in CELLS.items() if c.has_forget_gate)
        raise RnnlabError(f"forget_bias={forget_bias!r} does not apply to cell {cell!r}; cells with a forget gate: "
                          f"{with_forget}")
    return None


def model_config(**knobs) -> dict:
    """Check every knob (:data:`MODEL_KNOBS`, the unset ones at their defaults) of ``arch`` (an ``ARCHS`` id) with
    ``cell`` (a ``CELLS`` name) against the rules of the module docstring and return the resolved config that
    ``RecurrentNet`` builds, one key per knob (``equations`` only for a cell that takes it). Nothing is built: this is
    the one place that decides whether a model description is valid (``TrainConfig.validate`` asks it too).

    Sizes: ``n_in`` inputs (the vocabulary size with ``token_input``), ``n_out`` logits, ``hidden`` state units;
    ``transition_hidden`` / ``output_hidden`` / ``input_hidden`` are the widths of the intermediate transition,
    deep-output and deep-input layers (default: ``hidden``). ``dropout`` drops the non-recurrent connections
    into and out of every level during training. ``init="pascanu"`` applies Pascanu et al.'s
    initialisation (``rnnlab.nets.init``).
    """
    unknown = sorted(set(knobs) - set(MODEL_KNOBS))
    if unknown:
        raise RnnlabError(f"unknown model knob {unknown[0]!r}; valid knobs: {', '.join(MODEL_KNOBS)}")
    missing = [name for name, knob in MODEL_KNOBS.items() if knob.required and name not in knobs]
    if missing:
        raise RnnlabError(f"model knob {missing[0]!r} is required (no default); required: "
                          f"{', '.join(n for n, k in MODEL_KNOBS.items() if k.required)}")
    c = {name: knobs.get(name, knob.default) for name, knob in MODEL_KNOBS.items()}
    arch, cell, hidden = c["arch"], c["cell"], c["hidden"]
    check_choice("arch", arch, ARCHS)
    check_choice("cell", cell, CELLS)
    for name in ("n_in", "n_out", "hidden"):
        check_positive(name, c[name])
    check_choice("fused", c["fused"], FUSED_CHOICES)
    check_choice("init", c["init"], INIT_CHOICES)
    spec = ARCHS[arch]
    for flag, name in DEPTH_KNOBS.items():
        c[name] = _depth(name, c[name], MODEL_KNOBS[name].default, arch, getattr(spec, flag), flag)
    check_positive("input_depth", c["input_depth"], allow_zero=True)

    no_dt = f"arch {arch!r} has no deep transition (those that do: {_archs_with('deep_transition')})"
    no_do = f"arch {arch!r} has no deep output (those that do: {_archs_with('deep_output')})"
    c["transition_hidden"] = _width("transition_hidden", c["transition_hidden"], hidden, spec.deep_transition, no_dt)
    if c["transition_hidden"] not in (None, hidden) and not CELLS[cell].allows_width_change():
        raise RnnlabError(
            f"transition_hidden={c['transition_hidden']} must equal hidden={hidden} for cell {cell!r}: gated cells "
            f"carry their state through the deep transition (only cell "
            f"{_cells_where(lambda cls: cls.allows_width_change())} allows another width)"
        )
    c["output_hidden"] = _width("output_hidden", c["output_hidden"], hidden, spec.deep_output, no_do)
    c["input_hidden"] = _width("input_hidden", c["input_hidden"], hidden, c["input_depth"] > 0, "input_depth is 0")

    _check_nonlinearities(cell, arch, c["input_depth"], c["nonlinearity"], c["transition_nonlinearity"],
                          c["output_nonlinearity"], c["pool_size"], c["lp_p"])
    c["forget_bias"] = _resolve_forget_bias(cell, c["forget_bias"])
    c["equations"] = _resolve_equations(cell, c["equations"])
    if not isinstance(c["token_input"], bool):
        raise RnnlabError(f"token_input must be True or False, got {c['token_input']!r}")
    dropout = c["dropout"]
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise RnnlabError(f"dropout must be a number in [0, 1), got {dropout!r}")
    c["dropout"] = float(dropout)
    if c["equations"] is None:  # the key is there only for a cell that takes equations
        del c["equations"]
    return c


def _resolve_equations(cell: str, equations) -> str | None:
    """The equations text of a cell that takes equations (checked by the cell class: ``resolve_equations``; its
    default when empty); None for every other cell."""
    cls = CELLS[cell]
    if not cls.takes_option("equations"):
        if equations not in (None, ""):
            raise RnnlabError(f"equations={equations!r} does not apply to cell {cell!r}; only cell "
                              f"{_cells_where(lambda c: c.takes_option('equations'))} takes equations")
        return None
    return cls.resolve_equations(equations)

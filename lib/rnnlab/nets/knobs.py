"""``model_config``: the knobs of a model (cell × architecture) and the rules they must satisfy.

``build_model`` (``model.py``) builds what ``model_config`` resolves; the presets themselves are ``archs.ARCHS``.
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

from rnnlab.cells import CELLS, NONLINEARITIES
from rnnlab.errors import RnnlabError, check_choice, check_positive
from rnnlab.nets.archs import ARCHS

FUSED_CHOICES = ("auto", "never")
INIT_CHOICES = ("default", "pascanu")


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


def model_config(
    *,
    arch: str = "rnn",
    cell: str = "tanh",
    n_in: int,
    n_out: int,
    hidden: int,
    transition_hidden: int | None = None,
    output_hidden: int | None = None,
    transition_depth: int = 2,
    output_depth: int = 2,
    levels: int = 2,
    input_depth: int = 0,
    input_hidden: int | None = None,
    nonlinearity: str = "tanh",
    transition_nonlinearity: str | None = None,
    output_nonlinearity: str | None = None,
    forget_bias: float | None = None,
    equations: str | None = None,
    pool_size: int = 2,
    lp_p: float | None = None,
    token_input: bool = False,
    dropout: float = 0.0,
    fused: str = "auto",
    init: str = "default",
) -> dict:
    """Check every knob of ``arch`` (an ``ARCHS`` id) with ``cell`` (a ``CELLS`` name) against the rules of the
    module docstring and return the resolved config that ``RecurrentNet`` builds. Nothing is built: this is the one
    place that decides whether a model description is valid (``TrainConfig.validate`` asks it too).

    Sizes: ``n_in`` inputs (the vocabulary size with ``token_input``), ``n_out`` logits, ``hidden`` state units;
    ``transition_hidden`` / ``output_hidden`` / ``input_hidden`` are the widths of the intermediate transition,
    deep-output and deep-input layers (default: ``hidden``). ``dropout`` drops the non-recurrent connections
    into and out of every level during training. ``init="pascanu"`` applies Pascanu et al.'s
    initialisation (``rnnlab.nets.init``).
    """
    check_choice("arch", arch, ARCHS)
    check_choice("cell", cell, CELLS)
    for name, value in (("n_in", n_in), ("n_out", n_out), ("hidden", hidden)):
        check_positive(name, value)
    check_choice("fused", fused, FUSED_CHOICES)
    check_choice("init", init, INIT_CHOICES)
    spec = ARCHS[arch]
    transition_depth = _depth("transition_depth", transition_depth, 2, arch, spec.deep_transition, "deep_transition")
    output_depth = _depth("output_depth", output_depth, 2, arch, spec.deep_output, "deep_output")
    levels = _depth("levels", levels, 2, arch, spec.stacked, "stacked")
    check_positive("input_depth", input_depth, allow_zero=True)

    no_dt = f"arch {arch!r} has no deep transition (those that do: {_archs_with('deep_transition')})"
    no_do = f"arch {arch!r} has no deep output (those that do: {_archs_with('deep_output')})"
    transition_hidden = _width("transition_hidden", transition_hidden, hidden, spec.deep_transition, no_dt)
    if transition_hidden is not None and transition_hidden != hidden and not CELLS[cell].allows_width_change():
        raise RnnlabError(
            f"transition_hidden={transition_hidden} must equal hidden={hidden} for cell {cell!r}: gated cells carry "
            f"their state through the deep transition (only cell {_cells_where(lambda c: c.allows_width_change())} "
            "allows another width)"
        )
    output_hidden = _width("output_hidden", output_hidden, hidden, spec.deep_output, no_do)
    input_hidden = _width("input_hidden", input_hidden, hidden, input_depth > 0, "input_depth is 0")

    _check_nonlinearities(cell, arch, input_depth, nonlinearity, transition_nonlinearity, output_nonlinearity,
                          pool_size, lp_p)
    forget_bias = _resolve_forget_bias(cell, forget_bias)
    equations = _resolve_equations(cell, equations)
    if not isinstance(token_input, bool):
        raise RnnlabError(f"token_input must be True or False, got {token_input!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise RnnlabError(f"dropout must be a number in [0, 1), got {dropout!r}")

    config = dict(
        arch=arch, cell=cell, n_in=n_in, n_out=n_out, hidden=hidden, transition_hidden=transition_hidden,
        output_hidden=output_hidden, transition_depth=transition_depth, output_depth=output_depth, levels=levels,
        input_depth=input_depth, input_hidden=input_hidden, nonlinearity=nonlinearity,
        transition_nonlinearity=transition_nonlinearity, output_nonlinearity=output_nonlinearity,
        forget_bias=forget_bias, pool_size=pool_size, lp_p=lp_p, token_input=token_input, dropout=float(dropout),
        fused=fused, init=init,
    )
    if equations is not None:
        config["equations"] = equations
    return config


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

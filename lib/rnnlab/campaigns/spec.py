"""The sweep spec format (``experiments/*.json``): datasets x models x grid x draws -> named, validated points.

A spec is one JSON object (every key but ``name`` optional; see docs/sweeps.md for a worked example)::

    {
      "name": "pascanu2014",                      # folder under the run store: <root>/<name>/...
      "description": "...",
      "base":     {TrainConfig knobs for every point},
      "datasets": {"jsb": {knobs for this dataset, "models": {"rnn": {knobs for rnn on jsb}}}, ...},
      "models":   {"rnn": {knobs}, "srnn": {knobs, "after": "rnn", "init_from": "{after}"}, ...},
      "grid":     {"seed": [0, 1]},                # every combination, on every dataset x model
      "draws":    {"count": 10, "seed": 2014, "digits": 3, "knobs": {"lr": {"exp_uniform": [-12, -6]}}},
      "smoke":    {knobs applied with --smoke, before the smoke caps (rnnlab.train.config.smoke_overrides)}
    }

Knobs of one point are merged in this order, later winning: ``base``, the dataset's knobs (its key is the
``dataset`` knob unless it sets one), the model's knobs, the dataset's ``models`` override for that model, the
grid values, the drawn values. ``task_knobs`` (a dict) is merged key by key. Every point is validated as a
``TrainConfig`` before anything runs; an error is one line naming the point.

Points are named ``<dataset>/<model>/<knob=value,...>`` (the grid and drawn knobs, sorted; a part is left out when
the spec has no datasets, no models, or no grid and draws): ``jsb/rnn/seed=0``, ``jsb/gru/lr=3.12e-04,seed=0``.
The name is also the point's run folder under ``<root>/<spec name>`` (``<spec name>-smoke`` with ``--smoke``).

Draws are reproducible: ``count`` settings drawn once per spec from ``random.Random(seed)`` (Python guarantees
that stream across versions), knobs in sorted order, floats rounded to ``digits`` significant digits (so the name
shows exactly the value that ran). Every dataset x model x grid combination gets the same ``count`` settings.
Distributions: ``uniform [lo, hi]``, ``log_uniform [lo, hi]``, ``exp_uniform [a, b]`` (``exp`` of a uniform in
``[a, b]``: Chung's "log-uniform from U(-12, -6)"), ``int_uniform [lo, hi]`` (inclusive), ``choice [values]``.

``"after": "<model>"`` makes each point of a model wait for the point of ``<model>`` with the same dataset, grid
values and draw; a string knob whose value is ``"{after}"`` becomes that parent's run folder (so
``"init_from": "{after}"`` initialises the child from its parent's best checkpoint). A child of a failed, diverged
or blocked parent is blocked, not run.

A dataset may change a model's parent (``"datasets": {"musedata": {"models": {"srnn": {"after": "rnn"}}}}``: on
MuseData Pascanu's RNN and sRNN levels are both 600 wide, so the sRNN starts from the trained RNN itself) and may
leave a model out (``"models": {"rnn-pretrain": null}``: no point of that model on that dataset).

A spec describes at most :data:`MAX_POINTS` points: the count (dataset x model pairs x grid values x draws) is
checked before any point is built, so a grid of millions is refused at once with its size. A spec of no points
(every model left out of every dataset) is refused too.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.train.config import TrainConfig, smoke_overrides

SPEC_KEYS = ("name", "description", "base", "datasets", "models", "grid", "draws", "smoke")
DRAW_KEYS = ("count", "seed", "digits", "knobs")
DISTRIBUTIONS = ("uniform", "log_uniform", "exp_uniform", "int_uniform", "choice")
AFTER = "{after}"
SPEC_FILE = "spec.json"  # a sweep's spec as last run, kept in its folder of the run store
MAX_POINTS = 100_000  # more is a typo or a runaway grid: each point is a training run
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class Point:
    """One training run of a sweep."""

    name: str  # jsb/rnn/seed=0
    dataset: str | None  # the dataset's label in the spec (None: the spec has no datasets)
    model: str | None  # the model's name in the spec (None: the spec has no models)
    values: dict  # the grid and drawn knobs (what the name shows)
    knobs: dict  # the full, validated TrainConfig of the run (smoke caps applied with --smoke)
    run_dir: Path  # absolute
    after: str | None = None  # the parent point's name

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.knobs)


def load_spec(path: str | Path) -> dict:
    """Read and check a sweep spec; one-line errors name the file (and line/column of a JSON syntax error)."""
    path = Path(path)
    if not path.exists():
        raise RnnlabError(f"sweep spec {str(path)!r} not found; specs live in experiments/*.json")
    if path.is_dir():
        raise RnnlabError(f"sweep spec {str(path)!r} is a directory; give a JSON file, e.g. experiments/*.json")
    try:
        spec = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RnnlabError(f"sweep spec {str(path)!r}: invalid JSON at line {err.lineno}, column {err.colno}: "
                          f"{err.msg}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RnnlabError(f"sweep spec {str(path)!r} is not readable ({err})") from None
    if not isinstance(spec, dict):
        raise RnnlabError(f"sweep spec {str(path)!r} holds {type(spec).__name__}, expected a JSON object")
    if "name" not in spec:
        raise RnnlabError(f"sweep spec {str(path)!r} lacks name; expected keys: {', '.join(SPEC_KEYS)}")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise RnnlabError(f"sweep spec {str(path)!r} has unknown key {unknown[0]!r}; expected keys: "
                          f"{', '.join(SPEC_KEYS)}")
    return spec


def expand(spec: dict, root: str | Path | None = None, smoke: bool = False) -> list[Point]:
    """Every point of ``spec``, validated, in spec order (datasets, models, grid, draws); parents before children.

    ``root`` is the run store (default ``runs/`` or ``$RNNLAB_RUNS``); run folders are absolute paths under it.
    """
    name = _check_name(spec)
    where = f"sweep {name!r}"
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise RnnlabError(f"{where}: unknown key {unknown[0]!r}; expected keys: {', '.join(SPEC_KEYS)}")
    base = _knob_dict(spec.get("base", {}), f"{where}: base")
    datasets = _entries(spec, "datasets", where, reserved=("models",))
    models = _entries(spec, "models", where, reserved=("after",))
    grid = _grid(spec, where)
    _check_after(models, datasets, where)
    _check_size(where, models, datasets, grid, _draw_count(spec, where))
    draws = _draws(spec, where)
    smoke_knobs = _knob_dict(spec.get("smoke", {}), f"{where}: smoke")
    clash = sorted(set(grid) & {k for d in draws for k in d})
    if clash:
        raise RnnlabError(f"{where}: knob {clash[0]!r} is both in grid and in draws; keep it in one")
    if not (datasets or models or grid or draws):
        raise RnnlabError(f"{where} describes no points: give datasets, models, grid or draws")

    sweep_dir = sweep_folder(spec, root, smoke)
    combos = [dict(zip(sorted(grid), values, strict=True)) for values in
              itertools.product(*(grid[k] for k in sorted(grid)))] or [{}]
    points: list[Point] = []
    by_key: dict[tuple, Point] = {}
    for label in (list(datasets) or [None]):
        for model in _model_order(models, datasets, label):
            for combo in combos:
                for index, drawn in enumerate(draws or [{}]):
                    point = _point(where, sweep_dir, base, datasets, models, label, model, combo, drawn, index,
                                   smoke, smoke_knobs, by_key)
                    by_key[(label, model, json.dumps(combo, sort_keys=True), index)] = point
                    points.append(point)
    seen: set[str] = set()
    duplicate = next((p.name for p in points if p.name in seen or seen.add(p.name)), None)
    if duplicate is not None:
        raise RnnlabError(f"{where}: two points share the name {duplicate!r} (a repeated grid value, or draws "
                          "that round to the same value: raise draws.digits)")
    return points


def point_name(values: dict, dataset: str | None = None, model: str | None = None) -> str:
    """``<dataset>/<model>/<knob=value,...>``, leaving out the parts that are None or empty."""
    tail = ",".join(f"{k}={_format(values[k])}" for k in sorted(values))
    return "/".join(part for part in (dataset, model, tail) if part)


def sweep_folder(spec: dict, root: str | Path | None = None, smoke: bool = False) -> Path:
    """The sweep's folder in the run store: ``<root>/<name>`` (``<name>-smoke`` for smoke runs), absolute."""
    from rnnlab.paths import runs_dir

    name = _check_name(spec)
    root = (Path(root) if root is not None else runs_dir()).resolve()
    return root / (f"{name}-smoke" if smoke else name)


def parent_points(spec: dict) -> set[str]:
    """Names of the points that other points of ``spec`` wait for (``after``), and so may start from
    (``init_from``)."""
    return set(dependents(expand(spec)))


def dependents(points: list[Point]) -> dict[str, list[str]]:
    """Parent name -> names of the points that wait for it."""
    out: dict[str, list[str]] = {}
    for point in points:
        if point.after:
            out.setdefault(point.after, []).append(point.name)
    return out


# ------------------------------------------------------------------------------------------------------ internals
def _check_name(spec: dict) -> str:
    name = spec.get("name")
    if not isinstance(name, str) or not _LABEL.match(name):
        raise RnnlabError(f"sweep name must be a non-empty string of letters, digits and _.+- (a folder of the "
                          f"run store), got {name!r}")
    return name


def _knob_dict(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise RnnlabError(f"{where} must be an object of training knobs, got {value!r}")
    unknown = sorted(set(value) - set(TrainConfig.knob_names()))
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], TrainConfig.knob_names(), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise RnnlabError(f"{where}: unknown training knob {unknown[0]!r}; {hint}valid knobs: "
                          f"{', '.join(sorted(TrainConfig.knob_names()))}")
    return value


def _entries(spec: dict, key: str, where: str, reserved: tuple[str, ...]) -> dict:
    entries = spec.get(key, {})
    if not isinstance(entries, dict):
        raise RnnlabError(f"{where}: {key} must be an object mapping names to knobs, got {entries!r}")
    for label, entry in entries.items():
        if not _LABEL.match(label):
            raise RnnlabError(f"{where}: {key} name {label!r} must be letters, digits and _.+- (it names folders)")
        if not isinstance(entry, dict):
            raise RnnlabError(f"{where}: {key}.{label} must be an object of knobs, got {entry!r}")
        _knob_dict({k: v for k, v in entry.items() if k not in reserved}, f"{where}: {key}.{label}")
    return entries


def _grid(spec: dict, where: str) -> dict:
    if "grid" not in spec:
        return {}
    grid = spec["grid"]
    if not isinstance(grid, dict) or not grid:
        raise RnnlabError(f"{where}: grid must map knobs to lists of values, got {grid!r}")
    _knob_dict(grid, f"{where}: grid")
    for knob, values in grid.items():
        if not isinstance(values, list) or not values:
            raise RnnlabError(f"{where}: grid knob {knob!r} needs a non-empty list of values, got {values!r} "
                              "(an empty grid would run nothing)")
    return grid


def _draw_count(spec: dict, where: str) -> int:
    """``draws.count`` (1 without draws), checked, before anything is drawn."""
    draws = spec.get("draws")
    if not isinstance(draws, dict):
        return 1  # no draws; or not an object, which _draws says
    count = draws.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise RnnlabError(f"{where}: draws.count must be an integer >= 1, got {count!r}")
    return count


def _check_size(where: str, models: dict, datasets: dict, grid: dict, draw_count: int) -> None:
    """Refuse a spec of no points, or of more than MAX_POINTS, from its shape alone (before expanding it)."""
    pairs = sum(len([m for m in models if _runs_on(datasets, label, m)]) if models else 1
                for label in (list(datasets) or [None]))
    combos = math.prod(len(values) for values in grid.values())
    total = pairs * combos * draw_count
    if pairs == 0:
        raise RnnlabError(f"{where} describes no points: every model is left out of every dataset "
                          f"({', '.join(datasets)}); keep at least one model on one dataset")
    if total > MAX_POINTS:
        shape = " x ".join([f"{pairs} dataset/model pair{'s' if pairs > 1 else ''}"]
                           + [f"{len(grid[k])} {k}" for k in sorted(grid)]
                           + ([f"{draw_count} draws"] if draw_count > 1 else []))
        raise RnnlabError(f"{where} has {total:,} points ({shape}); a sweep is limited to {MAX_POINTS:,}: "
                          "narrow the grid or the draws, or split the spec")


def _draws(spec: dict, where: str) -> list[dict]:
    """The spec's random settings: ``count`` dicts of knob -> value (empty without ``draws``)."""
    if "draws" not in spec:
        return []
    draws = spec["draws"]
    if not isinstance(draws, dict):
        raise RnnlabError(f"{where}: draws must be an object with keys {', '.join(DRAW_KEYS)}, got {draws!r}")
    unknown = sorted(set(draws) - set(DRAW_KEYS))
    if unknown:
        raise RnnlabError(f"{where}: draws has unknown key {unknown[0]!r}; expected keys: {', '.join(DRAW_KEYS)}")
    count, seed, digits = draws.get("count"), draws.get("seed"), draws.get("digits", 3)
    for key, value, low in (("count", count, 1), ("seed", seed, 0), ("digits", digits, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise RnnlabError(f"{where}: draws.{key} must be an integer >= {low}, got {value!r}")
    knobs = _knob_dict(draws.get("knobs"), f"{where}: draws.knobs") if "knobs" in draws else {}
    if not knobs:
        raise RnnlabError(f"{where}: draws.knobs must name at least one knob and its distribution, e.g. "
                          '{"lr": {"log_uniform": [1e-4, 1e-2]}}')
    for knob, dist in knobs.items():
        _check_distribution(f"{where}: draws.knobs.{knob}", dist)
    rng = random.Random(seed)
    return [{knob: _sample(knobs[knob], rng.random(), digits) for knob in sorted(knobs)} for _ in range(count)]


def _check_distribution(where: str, dist) -> None:
    if not isinstance(dist, dict) or len(dist) != 1 or next(iter(dist)) not in DISTRIBUTIONS:
        raise RnnlabError(f"{where} must be one of {', '.join(DISTRIBUTIONS)} with its arguments, e.g. "
                          f'{{"log_uniform": [1e-4, 1e-2]}}, got {dist!r}')
    kind, args = next(iter(dist.items()))
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise RnnlabError(f"{where}: choice needs a non-empty list of values, got {args!r}")
        return
    numbers = isinstance(args, list) and len(args) == 2 and all(
        isinstance(a, int | float) and not isinstance(a, bool) and math.isfinite(a) for a in args)
    if not numbers or not args[0] < args[1]:
        raise RnnlabError(f"{where}: {kind} needs [low, high] with low < high, got {args!r}")
    if kind == "log_uniform" and args[0] <= 0:
        raise RnnlabError(f"{where}: log_uniform needs positive bounds, got {args!r}")
    if kind == "int_uniform" and not all(isinstance(a, int) for a in args):
        raise RnnlabError(f"{where}: int_uniform needs integer bounds, got {args!r}")


def _sample(dist: dict, u: float, digits: int):
    kind, args = next(iter(dist.items()))
    if kind == "choice":
        return args[min(int(u * len(args)), len(args) - 1)]
    if kind == "int_uniform":
        return min(args[0] + int(u * (args[1] - args[0] + 1)), args[1])
    if kind == "uniform":
        value = args[0] + u * (args[1] - args[0])
    elif kind == "log_uniform":
        value = math.exp(math.log(args[0]) + u * (math.log(args[1]) - math.log(args[0])))
    else:  # exp_uniform
        value = math.exp(args[0] + u * (args[1] - args[0]))
    return float(f"{value:.{digits - 1}e}")


def _override(datasets: dict, label: str | None, model: str) -> dict | None:
    """Dataset ``label``'s override for ``model``: its knobs (and maybe ``after``), ``{}`` when it has none, None
    when it leaves the model out."""
    return datasets[label].get("models", {}).get(model, {}) if label is not None else {}


def _parent(models: dict, datasets: dict, label: str | None, model: str) -> str | None:
    """The model whose point ``model``'s point waits for on dataset ``label``: the dataset's override, else the
    model's own ``after``."""
    override = _override(datasets, label, model)
    if isinstance(override, dict) and "after" in override:
        return override["after"]
    return models[model].get("after")


def _runs_on(datasets: dict, label: str | None, model: str) -> bool:
    """False when dataset ``label`` leaves ``model`` out (``"models": {model: null}``)."""
    return _override(datasets, label, model) is not None


def _check_after(models: dict, datasets: dict, where: str) -> None:
    for label, entry in datasets.items():
        overrides = entry.get("models", {})
        if not isinstance(overrides, dict):
            raise RnnlabError(f"{where}: datasets.{label}.models must map model names to knobs or null, "
                              f"got {overrides!r}")
        for model, knobs in overrides.items():
            if model not in models:
                raise RnnlabError(f"{where}: datasets.{label}.models.{model}: no model {model!r}; models: "
                                  f"{', '.join(models) or 'none'}")
            if knobs is not None:
                _knob_dict({k: v for k, v in knobs.items() if k != "after"} if isinstance(knobs, dict) else knobs,
                           f"{where}: datasets.{label}.models.{model}")
    for label in (list(datasets) or [None]):
        running = [m for m in models if _runs_on(datasets, label, m)]
        on = f" on dataset {label!r}" if label is not None else ""
        runs = f" that runs{on}" if label is not None else ""
        for model in running:
            parent = _parent(models, datasets, label, model)
            if parent is None:
                continue
            source = f"datasets.{label}.models.{model}.after" if "after" in _override(datasets, label, model) \
                else f"models.{model}.after"
            if not isinstance(parent, str) or parent not in running or parent == model:
                raise RnnlabError(f"{where}: {source} must name another model{runs} "
                                  f"({', '.join(m for m in running if m != model) or 'none'}), got {parent!r}")
            seen = {model}
            while parent is not None:
                if parent in seen:
                    raise RnnlabError(f"{where}: {source} makes a cycle{on} through {parent!r}")
                seen.add(parent)
                parent = _parent(models, datasets, label, parent)


def _model_order(models: dict, datasets: dict, label: str | None) -> list[str | None]:
    """The models that run on dataset ``label``, in spec order, each parent before its children."""
    if not models:
        return [None]
    order: list[str] = []

    def visit(model: str) -> None:
        if model in order:
            return
        parent = _parent(models, datasets, label, model)
        if parent is not None:
            visit(parent)
        order.append(model)

    for model in models:
        if _runs_on(datasets, label, model):
            visit(model)
    return order


def _merge(into: dict, knobs: dict) -> dict:
    out = dict(into)
    for key, value in knobs.items():
        if key == "task_knobs" and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _point(where, sweep_dir, base, datasets, models, label, model, combo, drawn, draw_index, smoke, smoke_knobs,
           by_key) -> Point:
    values = {**combo, **drawn}
    point = point_name(values, label, model)
    knobs = dict(base)
    if label is not None:
        entry = datasets[label]
        knobs = _merge(knobs, {"dataset": label})
        knobs = _merge(knobs, {k: v for k, v in entry.items() if k != "models"})
    parent = None
    if model is not None:
        entry = models[model]
        knobs = _merge(knobs, {k: v for k, v in entry.items() if k != "after"})
        if label is not None:
            knobs = _merge(knobs, {k: v for k, v in _override(datasets, label, model).items() if k != "after"})
        parent_model = _parent(models, datasets, label, model)
        if parent_model:  # parents come first (_model_order)
            parent = by_key[(label, parent_model, json.dumps(combo, sort_keys=True), draw_index)]
    knobs = _merge(knobs, values)
    if smoke:
        knobs = _merge(knobs, smoke_knobs)
    run_dir = sweep_dir / point
    from_parent = [knob for knob, value in knobs.items() if value == AFTER]
    if from_parent and parent is None:
        raise RnnlabError(f"{where}, point {point}: knob {from_parent[0]} is {AFTER!r} but the model has no 'after'")
    try:
        config = TrainConfig.from_dict({**knobs, **{k: "" for k in from_parent}})
        if smoke:
            config = smoke_overrides(config)
        # The parent's folder does not exist before the sweep runs it, so a knob that names it is checked with
        # its neutral value (the kernel checks the folder when the child starts, after its parent ended ok).
        neutral = {"pretrained_lr_scale": 1.0} if "init_from" in from_parent else {}
        dataclasses.replace(config, **neutral).validate()
        config = dataclasses.replace(config, **{k: str(parent.run_dir) for k in from_parent})
    except (RnnlabError, TypeError) as err:
        raise RnnlabError(f"{where}, point {point}: {err}") from None
    return Point(name=point, dataset=label, model=model, values=values, knobs=config.to_dict(), run_dir=run_dir,
                 after=parent.name if parent is not None else None)


def _format(value) -> str:
    """A knob value as it appears in a point name (stable, readable, no '/')."""
    if isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, float):
        if value == 0 or 1e-3 <= abs(value) < 1e4:
            text = f"{value:.6g}"
        else:
            mantissa, exponent = f"{value:.6e}".split("e")
            mantissa = mantissa.rstrip("0").rstrip(".")
            text = f"{mantissa}e{int(exponent):+03d}"
    elif isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    else:
        text = str(value)
    return text.replace("/", "_")

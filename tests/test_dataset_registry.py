"""The dataset registry is the one source of dataset facts (issue 10): every registered set loads (smoke sizes) and
its loaded provenance agrees with its entry, old run records still read, and nothing outside ``rnnlab.data`` keeps
its own list of music sets or imports round in a circle inside it."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import pytest

from rnnlab.data import (
    DATASETS,
    MUSIC_SETS,
    Provenance,
    data_family,
    dataset_names,
    files_of,
    load_dataset,
    music_sets,
    paper_dataset,
    stand_in_for,
    stand_ins,
)
from rnnlab.data.registry import canonical_source, portable_source, record_path
from rnnlab.errors import RnnlabError
from rnnlab.train import TrainConfig, smoke_overrides
from rnnlab.train.portable import ABSOLUTE_PATH
from tests import _fixtures_data

LIB = Path(__file__).resolve().parents[1] / "lib" / "rnnlab"
offline = _fixtures_data.offline
STAND_IN_TEXT = "music21 stand-in (bach-music21): 390 chorales from music21 10.5.1, cache x.npz"


def _smoke_load(name: str, root):
    """``name`` as a smoke run loads it: the smoke profile's knobs, its cap on sequences, no fallback."""
    config = smoke_overrides(TrainConfig(dataset=name, device="cpu"))
    return load_dataset(name, root=root, fallback=False, seed=config.seed, max_sequences=config.max_eval_sequences,
                        **config.task_knobs)


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_loads_and_its_provenance_agrees_with_the_registry(name, request):
    spec = DATASETS[name]
    root = request.getfixturevalue("canonical_data") if spec.canonical else None  # skips without the data folder
    ds = _smoke_load(name, root)
    assert (ds.name, ds.kind, ds.metric, ds.loss) == (name, spec.kind, spec.metric, spec.loss)
    assert ds.description == spec.description or spec.kind != "music" or name == "bach-music21"
    assert all(len(ds.splits[s]) >= 1 for s in ("train", "valid", "test"))
    p = ds.provenance
    assert p is not None and (p.requested, p.loaded) == (name, name)
    assert p.origin == {"canonical": "canonical", "stand-in": "stand-in", "generated": "generated"}[spec.status]
    assert p.paper_dataset == paper_dataset(name) == (stand_in_for(name) or name)
    assert p.comparable == (spec.stand_in_for is None)
    if spec.kind == "synthetic":
        assert p.files == () and files_of(name) == ()
    else:
        assert p.files, f"{name}: no source file recorded"
    relpaths = {entry.relpath: entry.sha256 for entry in files_of(name)}
    for f in p.files:
        assert hashlib.sha256(Path(f.path).read_bytes()).hexdigest() == f.sha256  # the file actually read
        if spec.canonical:
            matching = [rel for rel in relpaths if f.path.endswith("/" + rel)]
            assert matching, f"{f.path} is none of the catalogued files of {name}"
            assert f.catalog_sha256 == relpaths[matching[0]]
        if f.catalog_sha256 is not None:
            assert f.sha256 == f.catalog_sha256 and f.verified
    # the run summary's fields rebuild the same provenance (its files named as a record names them: no folder of
    # this machine), and agree with the old text parse
    record = {"dataset": name, **ds.summary_fields()}
    assert record["data_source"] == ds.source
    assert not ABSOLUTE_PATH.search(json.dumps(record)), record
    assert record["data_files"] == {record_path(f.path): f.sha256 for f in p.files}
    if spec.canonical:
        assert ds.source == canonical_source(name, [f.path for f in p.files])
        assert set(record["data_files"]) <= set(relpaths)  # each file named as in a data folder
    assert Provenance.from_record(record) == p.as_recorded()
    assert [(f.sha256, f.catalog_sha256) for f in p.as_recorded().files] == [(f.sha256, f.catalog_sha256)
                                                                             for f in p.files]
    assert data_family(record) == data_family(ds) == p.family
    assert Provenance.from_source_text(name, ds.source).family == p.family


def test_a_missing_jsb_falls_back_with_structured_provenance(offline, tmp_path):
    with pytest.warns(UserWarning, match="FALLBACK"):
        ds = load_dataset("jsb", root=tmp_path / "empty", max_sequences=1)
    p = ds.provenance
    assert (p.origin, p.requested, p.loaded, p.paper_dataset, p.comparable) == (
        "fallback", "jsb", "bach-music21", "jsb", False)
    assert p.files and p.files[0].sha256 == hashlib.sha256(Path(p.files[0].path).read_bytes()).hexdigest()
    assert ds.source.endswith("-- fallback for jsb (canonical file missing)")  # the text old records hold
    fields = ds.summary_fields()
    assert (fields["data_origin"], fields["data_loaded"], fields["data_paper_dataset"]) == (
        "fallback", "bach-music21", "jsb")
    assert data_family({"dataset": "jsb", **fields}) == data_family({"dataset": "bach-music21",
                                                                     "data_source": STAND_IN_TEXT})
    assert not ABSOLUTE_PATH.search(json.dumps(fields)), fields


def test_old_run_records_are_read_from_their_text_and_new_ones_from_their_fields():
    old = {
        ("jsb", "canonical:/d/JSB Chorales.pickle"): ("canonical", "jsb", "canonical jsb", True),
        ("jsb", "canonical jsb (polyphonic/JSB Chorales.pickle)"): ("canonical", "jsb", "canonical jsb", True),
        ("ptb-char", "canonical ptb-char (ptb/ptb.char.train.txt, ptb/ptb.char.valid.txt, ptb/ptb.char.test.txt)"):
            ("canonical", "ptb-char", "canonical ptb-char", True),
        ("jsb", STAND_IN_TEXT + " -- fallback for jsb (canonical file missing)"):
            ("fallback", "jsb", "music21 stand-in (bach-music21)", False),
        ("jsb", "music21 stand-in (bach-music21)"): ("fallback", "jsb", "music21 stand-in (bach-music21)", False),
        ("bach-music21", STAND_IN_TEXT): ("stand-in", "jsb", "music21 stand-in (bach-music21)", False),
        ("arithmetic", "generated seed=0"): ("generated", "arithmetic", "generated arithmetic", True),
        ("ptb-char", "canonical:/d/ptb"): ("canonical", "ptb-char", "canonical ptb-char", True),
    }
    for (dataset, source), (origin, paper, family, comparable) in old.items():
        p = Provenance.from_record({"dataset": dataset, "data_source": source, "data_origin": float("nan")})
        assert (p.origin, p.paper_dataset, p.family, p.comparable) == (origin, paper, family, comparable), source
    odd = Provenance.from_record({"dataset": "nottingham", "data_source": "someone's copy: /x"})
    assert odd.family == "someone's copy" and not odd.comparable
    # structured fields win over the text (which is only a fallback for records written before them)
    new = {"dataset": "jsb", "data_source": "canonical:/d/JSB Chorales.pickle", "data_origin": "fallback",
           "data_loaded": "bach-music21", "data_files": {"/c/x.npz": "ab" * 32}}
    p = Provenance.from_record(new)
    assert (p.origin, p.loaded, p.family) == ("fallback", "bach-music21", "music21 stand-in (bach-music21)")
    assert p.files[0].path == "/c/x.npz" and p.files[0].verified is None
    with pytest.raises(RnnlabError, match="unknown origin"):
        Provenance("borrowed", "jsb", "jsb")


def test_records_name_data_files_as_a_data_folder_does_and_old_texts_are_rewritten_so():
    assert record_path("/srv/data/polyphonic/derived/Nottingham.pickle") == "polyphonic/derived/Nottingham.pickle"
    assert record_path("C:\\data\\polyphonic\\JSB Chorales.pickle") == "polyphonic/JSB Chorales.pickle"
    assert record_path("/home/me/.cache/rnnlab/bach-music21-all.npz") == "bach-music21-all.npz"  # not catalogued
    assert canonical_source("jsb", ["/x/polyphonic/JSB Chorales.pickle"]) == \
        "canonical jsb (polyphonic/JSB Chorales.pickle)"
    old_to_new = {
        ("jsb", "canonical:/work/shared/data/polyphonic/JSB Chorales.pickle"):
            "canonical jsb (polyphonic/JSB Chorales.pickle)",
        ("musedata", "canonical:/work/shared/data/polyphonic/derived/MuseData.pickle"):
            "canonical musedata (polyphonic/derived/MuseData.pickle)",
        ("ptb-char", "canonical:/d/ptb"):
            "canonical ptb-char (ptb/ptb.char.train.txt, ptb/ptb.char.valid.txt, ptb/ptb.char.test.txt)",
        ("nottingham", "canonical:/x/someone's copy.pickle"): "canonical nottingham (someone's copy.pickle)",
        ("jsb", "canonical jsb (polyphonic/JSB Chorales.pickle)"): "canonical jsb (polyphonic/JSB Chorales.pickle)",
        ("bach-music21", STAND_IN_TEXT): STAND_IN_TEXT,
        ("arithmetic", "generated seed=0"): "generated seed=0",
    }
    for (dataset, old), new in old_to_new.items():
        assert portable_source(dataset, old) == new, old
        assert portable_source(dataset, new) == new  # idempotent
        assert not ABSOLUTE_PATH.search(new)
        assert Provenance.from_source_text(dataset, new).family == Provenance.from_source_text(dataset, old).family
    assert portable_source("jsb", None) is None


def test_registry_helpers_answer_in_paper_order():
    assert MUSIC_SETS == music_sets() == ("jsb", "nottingham", "musedata", "pianomidi")
    assert music_sets(canonical_only=False) == ("jsb", "nottingham", "musedata", "pianomidi", "bach-music21")
    assert dataset_names("text") == ("ptb-word", "ptb-char")
    assert dataset_names("synthetic") == ("arithmetic", "xml", "memorize")
    assert dataset_names(canonical_only=True) == (*MUSIC_SETS, "ptb-word", "ptb-char")
    assert stand_ins() == {"bach-music21": "jsb"} and stand_in_for("jsb") is None
    assert paper_dataset("bach-music21") == "jsb" and paper_dataset("from-the-future") == "from-the-future"
    assert [DATASETS[n].quarter_length for n in music_sets(canonical_only=False)] == [1.0, 0.5, 0.5, 0.5, 1.0]
    assert {DATASETS[n].unit for n in dataset_names("synthetic")} == {"character"}
    for name, spec in DATASETS.items():
        assert spec.kind in ("music", "text", "synthetic") and spec.metric in ("nll", "ppl", "bpc", "accuracy")
        assert spec.stand_in_for is None or DATASETS[spec.stand_in_for].canonical, name
        assert bool(files_of(name)) == spec.canonical and spec.files == files_of(name), name  # catalog links
    with pytest.raises(RnnlabError, match="unknown kind"):
        dataset_names("audio")


def _music_name_literals(path: Path) -> list[str]:
    """Tuple/list/set literals in ``path`` naming two or more music sets (a hand-kept list of music sets)."""
    names = set(music_sets(canonical_only=False))
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            strings = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if len(names.intersection(strings)) >= 2:
                where = path.relative_to(LIB.parent) if path.is_relative_to(LIB.parent) else path.name
                found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_outside_data_keeps_its_own_list_of_music_sets():
    offenders = [hit for path in sorted(LIB.rglob("*.py")) if "data" not in path.relative_to(LIB).parts[:1]
                 for hit in _music_name_literals(path)]
    assert not offenders, "ask rnnlab.data (MUSIC_SETS, music_sets(), stand_in_for()) instead:\n" + "\n".join(
        offenders)
    assert _music_name_literals(Path(__file__)), "the check can fail: this file's own tuples name music sets"


def _data_imports() -> dict[str, set[str]]:
    """module -> the rnnlab.data modules it imports anywhere (functions included) inside ``rnnlab.data``."""
    folder = LIB / "data"
    modules = {("rnnlab.data" if p.stem == "__init__" else f"rnnlab.data.{p.stem}"): p for p in folder.glob("*.py")}
    edges = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnnlab.data"):
                subs = {f"{node.module}.{a.name}" for a in node.names} & set(modules)
                targets |= subs or {node.module}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name in modules}
        edges[name] = targets - {name}
    return edges


def test_no_import_cycles_inside_data_lazy_ones_included():
    edges = _data_imports()
    assert "rnnlab.data.stats" in edges["rnnlab.data.dataset"]  # the walk sees imports inside functions

    def reaches(start: str, goal: str, seen: set) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    cycles = sorted(f"{a} -> {b} -> ... -> {a}" for a, targets in edges.items() for b in targets
                    if reaches(b, a, set()))
    assert not cycles, "\n".join(cycles)

"""``rnnlab data``: list, fetch --from, stats, and one-line errors with exit status 2."""

from __future__ import annotations

import argparse

import pytest

from rnnlab.data import cli
from rnnlab.errors import RnnlabError
from tests import _fixtures_data

offline = _fixtures_data.offline


def run(argv) -> int:
    """Parse and run like ``rnnlab data ...`` (the top-level CLI prints RnnlabError as one line, exit 2)."""
    parser = argparse.ArgumentParser(prog="rnnlab data")
    cli.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cli.main(args)
    except RnnlabError as err:
        print(f"rnnlab data: error: {err}")
        return 2


def test_list_shows_every_dataset(offline, tmp_path, capsys):
    assert run(["list", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("jsb", "ptb-char", "bach-music21", "memorize"):
        assert name in out
    assert "missing" in out and "generated" in out


def test_stats_of_a_generated_task(capsys):
    assert run(["stats", "memorize", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "source: generated seed=1" in out and "10000" in out and "scored" in out


def test_fetch_from_folder_and_errors(offline, tmp_path, capsys):
    assert run(["fetch", "jsb", "--from", str(tmp_path / "none")]) == 2
    assert run(["stats", "cifar"]) == 2
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == 2 and "is not a folder" in lines[0] and "unknown dataset 'cifar'" in lines[1]
    assert run(["fetch", "xml"]) == 0 and "nothing to fetch" in capsys.readouterr().out


@pytest.mark.canonical
def test_fetch_from_the_shared_folder_then_stats(offline, canonical_data, capsys):
    assert run(["fetch", "pianomidi", "--from", str(canonical_data)]) == 0
    assert "verified" in capsys.readouterr().out
    assert run(["stats", "pianomidi", "--root", str(offline)]) == 0
    out = capsys.readouterr().out
    assert "75911" in out and "231089" in out  # docs/data.md §3.5: Piano-midi.de train steps and notes

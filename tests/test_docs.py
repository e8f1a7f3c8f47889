"""The repository stands alone: no file points outside it, and every link into docs/ resolves.

A user's clone has no ``../shared`` folder, so nothing may cite one; the only exceptions are the CI script and the
test fixture that read the CI machine's data folder through ``RNNLAB_DATA`` (and this file, which names the
pattern). Every relative Markdown link in the README and docs/ must reach an existing file (and heading, when it has
an anchor), and every ``docs/NAME.md`` or ``docs/NAME.md §N.N`` cited anywhere must exist.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = (b"../shared", b"shared/reference")
MAY_POINT_OUTSIDE = {".ci/run", "tests/conftest.py", "tests/test_docs.py"}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CITATION = re.compile(r"docs/([\w.-]+\.md)(?:[,:]? *§ *(\d+(?:\.\d+)*))?")


@cache
def repo_files() -> tuple[str, ...]:
    """Tracked files and untracked files git does not ignore (what a commit of this checkout would hold)."""
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                             check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    return tuple(sorted({p for p in out.decode().split("\0") if p and (ROOT / p).is_file()}))


def markdown_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@cache
def headings(path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(anchors, section numbers) of a Markdown file's headings, code blocks skipped."""
    anchors, numbers, seen, fenced = [], [], {}, False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match is None:
            continue
        text = match.group(1)
        anchor = slug(text)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.append(anchor if count == 0 else f"{anchor}-{count}")
        number = re.match(r"(\d+(?:\.\d+)*)\.?\s", text)
        if number:
            numbers.append(number.group(1))
    return tuple(anchors), tuple(numbers)


def test_no_file_points_outside_the_repository():
    offenders = []
    for name in repo_files():
        if name in MAY_POINT_OUTSIDE:
            continue
        data = (ROOT / name).read_bytes()
        for needle in OUTSIDE:
            if needle in data:
                line = data[: data.index(needle)].count(b"\n") + 1
                offenders.append(f"{name}:{line}: {needle.decode()}")
    assert not offenders, "files that point outside the repository (cite docs/ instead):\n" + "\n".join(offenders)


def prose(markdown: str) -> str:
    """The text outside code blocks and code spans, where a link is a link."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"^\s*```.*?^\s*```", "", markdown, flags=re.M | re.S))


def test_markdown_links_resolve():
    broken = []
    for page in markdown_pages():
        for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
                continue
            path_part, _, anchor = target.partition("#")
            destination = (page.parent / path_part).resolve() if path_part else page
            where = f"{page.relative_to(ROOT)} -> {target}"
            if not destination.exists():
                broken.append(f"{where}: no such file")
            elif anchor and destination.suffix == ".md" and anchor not in headings(destination)[0]:
                broken.append(f"{where}: no heading with that anchor")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_docs_citations_resolve():
    broken = []
    for name in repo_files():
        if name == "tests/test_docs.py" or not name.endswith((".py", ".md", ".ipynb", ".toml", ".json", ".txt")):
            continue
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        for page, section in CITATION.findall(text):
            target = ROOT / "docs" / page
            if not target.is_file():
                broken.append(f"{name}: docs/{page} does not exist")
            elif section and section not in headings(target)[1]:
                broken.append(f"{name}: docs/{page} has no section §{section}")
    assert not broken, "citations of docs/ that do not resolve:\n" + "\n".join(broken)

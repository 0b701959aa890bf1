"""docs/design.md stays true: the modules it names exist, its layer table is the enforced one, and
every type of its glossary lives where the glossary says."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from tests.test_layers import LAYERS

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "design.md"


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_module_the_design_names_exists():
    named = set(re.findall(r"leanagent/[\w/]+\.py", _text()))
    assert len(named) > 20
    assert sorted(p for p in named if not (REPO / p).is_file()) == []


def test_the_layer_table_is_the_enforced_one():
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", _text(), re.M)
    table = [set(re.findall(r"`(\w+)`", names)) for _, names in sorted(rows, key=lambda r: int(r[0]))]
    assert table == LAYERS


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.ClassDef, ast.FunctionDef))}


def test_every_glossary_type_lives_where_the_glossary_says():
    glossary = _text().split("## Glossary", 1)[1]
    rows = re.findall(r"^\| (.+?) \| (.+?) \| `(leanagent/[\w/]+\.py)` \|$", glossary, re.M)
    assert len(rows) >= 15
    missing = []
    for concept, name_cell, where in rows:
        for name in re.findall(r"`([A-Z]\w+)", re.sub(r"\(.*?\)", "", name_cell)):  # the row's own types
            if name not in _defined(REPO / where):
                missing.append(f"{concept}: {name} is not defined in {where}")
    assert missing == []


def test_the_readme_links_the_design_page():
    assert "docs/design.md" in (REPO / "README.md").read_text(encoding="utf-8")


def test_the_checks_can_fail(tmp_path, monkeypatch):
    # A page that names a module that is gone, and a glossary type in the wrong module, is caught.
    bad = tmp_path / "docs"
    bad.mkdir()
    (bad / "design.md").write_text(_text().replace("leanagent/prover/search.py", "leanagent/prover/gone.py")
                                   .replace("`RecordedStep` | `leanagent/data.py`", "`RecordedStep` | `leanagent/text.py`"))
    monkeypatch.setattr(sys.modules[__name__], "DOC", bad / "design.md")

    with pytest.raises(AssertionError, match="gone"):
        test_every_module_the_design_names_exists()
    with pytest.raises(AssertionError, match="RecordedStep is not defined in leanagent/text.py"):
        test_every_glossary_type_lives_where_the_glossary_says()

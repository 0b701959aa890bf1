"""repos.yaml: the three entry kinds, errors with file:line and key path, paths, env vars."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanagent.config import (
    GitEntry,
    PathEntry,
    TracedEntry,
    append_entries,
    entries_yaml,
    load_repos,
    parse_repos,
)
from leanagent.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, text: str, name: str = "repos.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_three_kinds_and_optional_fields(tmp_path):
    cfg = load_repos(_write(tmp_path, """\
repos:
  - url: https://github.com/teorth/pfr
    commit: fa398a5b853c7e94e3294c45e50c6aee013a2687
  - path: proj
    name: my-proj
    include: ["Proj/**"]
    exclude: "Proj/Test/**"
  - traced: data/set
    enabled: false
"""))
    git, path, traced = cfg.repos
    assert isinstance(git, GitEntry) and git.repo_name == "pfr" and git.commit.startswith("fa398a5b")
    assert isinstance(path, PathEntry) and path.repo_name == "my-proj"
    assert path.include == ["Proj/**"] and path.exclude == ["Proj/Test/**"]
    assert isinstance(traced, TracedEntry) and traced.enabled is False
    assert [e.repo_name for e in cfg.enabled()] == ["pfr", "my-proj"]


def test_relative_paths_resolve_against_the_yaml_folder(tmp_path, monkeypatch):
    sub = tmp_path / "conf"
    sub.mkdir()
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    cfg = load_repos(_write(sub, "repos:\n  - path: ../proj\n  - traced: data\n  - url: bare.git\n    commit: v1\n"))
    assert cfg.repos[0].path == (tmp_path / "proj").resolve()
    assert cfg.repos[1].traced == (sub / "data").resolve()
    assert cfg.repos[2].url == str((sub / "bare.git").resolve())  # a local remote, resolved too
    assert cfg.repos[2].repo_name == "bare"


def test_missing_commit_names_line_and_key_path(tmp_path):
    text = """\
# comment
repos:
  - traced: a
  - traced: b
    name: b
  - url: https://github.com/x/y
    name: y
"""
    with pytest.raises(ConfigError) as err:
        load_repos(_write(tmp_path, text))
    assert err.value.message.endswith("repos.yaml:6 repos[2].commit: field required")


def test_unknown_key_points_at_its_own_line(tmp_path):
    with pytest.raises(ConfigError) as err:
        parse_repos("repos:\n  - traced: a\n    includes: ['x']\n", "repos.yaml")
    assert err.value.message == "repos.yaml:3 repos[0].includes: unknown key (did you mean `include`?)"
    assert "include" in err.value.fix


def test_misspelt_kind_key_is_named_with_a_suggestion():
    # `trace:` for `traced:` used to say only "an entry needs exactly one of url, path, traced".
    with pytest.raises(ConfigError) as err:
        parse_repos("repos:\n  - name: a\n    trace: x\n", "repos.yaml")
    assert err.value.message.startswith("repos.yaml:3 repos[0].trace: unknown key (did you mean `traced`?)")
    assert "traced" in err.value.fix


def test_wrong_type_and_ambiguous_kind(tmp_path):
    with pytest.raises(ConfigError, match=r"repos.yaml:3 repos\[0\].enabled: Input should be a valid boolean"):
        parse_repos("repos:\n  - traced: a\n    enabled: maybe\n", "repos.yaml")
    with pytest.raises(ConfigError, match=r"repos.yaml:2 repos\[0\]: an entry needs exactly one of .* it has path, traced"):
        parse_repos("repos:\n  - path: a\n    traced: b\n", "repos.yaml")
    with pytest.raises(ConfigError, match=r"repos.yaml:1 foo: unknown key"):
        parse_repos("foo: 1\nrepos: []\n", "repos.yaml")


def test_invalid_yaml_and_duplicates(tmp_path):
    with pytest.raises(ConfigError, match=r"repos.yaml:3 .*invalid YAML"):
        parse_repos("repos:\n  - traced: a\n   - traced: b\n", "repos.yaml")
    with pytest.raises(ConfigError, match=r"repos.yaml:3 repos\[1\]: duplicate repository name 'a'"):
        parse_repos("repos:\n  - traced: x/a\n  - traced: y/a\n", "repos.yaml")
    with pytest.raises(ConfigError, match="no such file"):
        load_repos(tmp_path / "missing.yaml")


def test_env_var_expansion(tmp_path, monkeypatch):
    text = "repos:\n  - traced: ${DATA_DIR:-default/data}\n    name: a\n  - traced: ${DATA_DIR2}\n    name: b\n"
    monkeypatch.delenv("DATA_DIR", raising=False)
    monkeypatch.setenv("DATA_DIR2", str(tmp_path / "abs"))
    cfg = parse_repos(text, tmp_path / "repos.yaml")
    assert cfg.repos[0].traced == (tmp_path / "default" / "data").resolve()
    assert cfg.repos[1].traced == tmp_path / "abs"
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "over"))
    assert parse_repos(text, tmp_path / "repos.yaml").repos[0].traced == tmp_path / "over"
    monkeypatch.delenv("DATA_DIR2")
    with pytest.raises(ConfigError, match=r"repos.yaml:4 repos\[1\].traced: environment variable DATA_DIR2 is not set"):
        parse_repos(text, tmp_path / "repos.yaml")


def test_shipped_files_load():
    root = load_repos(ROOT / "repos.yaml")
    assert len(root.repos) == 23 and all(isinstance(e, GitEntry) for e in root.repos)
    assert all(len(e.commit) == 40 for e in root.repos)
    assert {e.repo_name for e in root.repos} >= {"SciLean", "FLT", "pfr", "miniF2F-lean4", "carleson"}
    sample = load_repos(ROOT / "examples" / "mathlib-sample.yaml")
    assert len(sample.repos) >= 4 and all(isinstance(e, TracedEntry) and e.include for e in sample.repos)
    assert any(g == "Mathlib/Topology/**" for e in sample.repos for g in e.include)
    assert {e.name: e.split for e in sample.repos}["minif2f"] == "test"  # evaluation-only (issue 27)
    example = load_repos(ROOT / "examples" / "repos.yaml")
    assert [e.traced for e in example.repos] == [ROOT / "examples" / "nat-list"] * 2


def test_append_keeps_comments_and_round_trips(tmp_path):
    p = _write(tmp_path, "# my repos\nrepos:\n    - traced: a\n")
    new = [GitEntry(url="https://github.com/x/y", commit="c" * 40), GitEntry(name="z", url="https://h/z.git", commit="v2")]
    append_entries(p, new)
    text = p.read_text()
    assert text.startswith("# my repos\n")
    cfg = load_repos(p)
    assert [e.repo_name for e in cfg.repos] == ["a", "y", "z"]
    assert cfg.repos[1].commit == "c" * 40
    fresh = tmp_path / "new.yaml"
    append_entries(fresh, new[:1])
    assert load_repos(fresh).repos[0].url == "https://github.com/x/y"
    assert entries_yaml([]) == ""


def test_append_refuses_when_repos_is_not_last(tmp_path):
    p = _write(tmp_path, "repos:\n  - traced: a\ncache: somewhere\n")
    before = p.read_text()
    with pytest.raises(ConfigError, match="not the last block"):
        append_entries(p, [GitEntry(url="https://github.com/x/y", commit="v1")])
    assert p.read_text() == before

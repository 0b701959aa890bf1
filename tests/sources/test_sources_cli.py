"""`leanagent trace | crawl | scan | curriculum`: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "repos.yaml"


def test_trace_examples_twice(run_cli, db_url):
    code, out, err = run_cli("--db", db_url, "trace", "--repos", EXAMPLES)
    assert code == 0, err
    assert "nat: created, 98 theorems" in out and "list: created, 52 theorems" in out
    code, out, _ = run_cli("--db", db_url, "trace", "--repos", EXAMPLES, "--only", "list")
    assert code == 0 and out.strip() == "list: unchanged, 52 theorems"
    code, out, _ = run_cli("--db", db_url, "--json", "trace", "--repos", EXAMPLES)
    last = json.loads(out.strip().splitlines()[-1])
    assert [r["action"] for r in last["repos"]] == ["unchanged", "unchanged"]


def test_trace_without_toolchain_is_one_line(run_cli, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty") + ":/usr/bin:/bin")
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "no-elan"))
    yaml = tmp_path / "repos.yaml"
    yaml.write_text("repos:\n  - url: https://github.com/teorth/pfr\n    commit: fa398a5b853c7e94e3294c45e50c6aee013a2687\n")
    code, out, err = run_cli("--db", db_url, "trace", "--repos", yaml)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leanagent: error: no Lean toolchain found")
    assert "install elan" in lines[0] and "Traceback" not in err


def test_config_error_names_line(run_cli, db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("repos.yaml").write_text("repos:\n  - traced: a\n  - url: https://github.com/x/y\n")
    code, _, err = run_cli("--db", db_url, "trace", "--repos", "repos.yaml")
    assert code == 1 and err.startswith("leanagent: error: repos.yaml:3 repos[1].commit: field required")


def test_scan(run_cli, tmp_path):
    (tmp_path / "A.lean").write_text("namespace N\ntheorem t : P := by\n  sorry\ndef d : Nat := sorry\nend N\n")
    code, out, _ = run_cli("scan", tmp_path)
    assert code == 0
    assert out.splitlines() == ["A.lean:2: theorem N.t (tactic)", "A.lean:4: def N.d (term)",
                                "2 declarations with sorry (1 tactic mode, 1 term mode, 0 both)"]
    code, out, _ = run_cli("--json", "scan", tmp_path)
    decls = json.loads(out)["declarations"]
    assert [(d["full_name"], d["kind"], d["mode"], d["line"]) for d in decls] == [
        ("N.t", "theorem", "tactic", 2), ("N.d", "def", "term", 4)]
    code, _, err = run_cli("scan", tmp_path / "missing")
    assert code == 1 and "no such file or directory" in err


def test_scan_include_that_selects_nothing_says_why(run_cli, tmp_path):
    """`scan examples --include 'NatList/List/**'` used to print [] silently: globs are relative to PATH."""
    (tmp_path / "proj" / "P").mkdir(parents=True)
    (tmp_path / "proj" / "P" / "A.lean").write_text("theorem t : P := by\n  sorry\n")
    code, out, err = run_cli("scan", tmp_path, "--include", "P/**")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "globs match paths relative to PATH, such as proj/P/A.lean" in err and "--include 'proj/P/**'" in err
    code, out, _ = run_cli("scan", tmp_path, "--include", "proj/P/**")
    assert code == 0 and out.startswith("proj/P/A.lean:1: theorem t")


def test_curriculum_examples(run_cli, db_url):
    code, out, err = run_cli("--db", db_url, "curriculum", "--repos", EXAMPLES)
    assert code == 0, err
    rows = [ln for ln in out.splitlines() if ln.startswith("│")]
    assert [r.split("│")[2].strip() for r in rows] == ["nat", "list"]
    code, out, _ = run_cli("--db", db_url, "--json", "curriculum", "--repos", EXAMPLES, "--order", "easy-fraction")
    data = json.loads(out)
    assert data["order"] == "easy-fraction"
    assert [(r["position"], r["repository"]) for r in data["repos"]] == [(1, "nat"), (2, "list")]
    for r in data["repos"]:
        assert r["easy"] + r["medium"] + r["hard"] + r["sorry"] == r["theorems"]

    from leanagent.db.curriculum_store import stored_order
    from leanagent.db.engine import open_db

    db = open_db(db_url)
    try:
        assert stored_order(db) == ["nat", "list"]
    finally:
        db.dispose()


def test_curriculum_on_the_real_sample(run_cli, db_url, sample_path, monkeypatch):
    monkeypatch.setenv("LEANAGENT_SAMPLE", str(sample_path))
    code, out, err = run_cli("--db", db_url, "--json", "curriculum", "--repos", ROOT / "examples" / "mathlib-sample.yaml")
    assert code == 0, err
    data = json.loads(out)
    repos = {r["repository"]: r for r in data["repos"]}
    assert sum(r["theorems"] for r in repos.values()) == 2000
    assert repos["minif2f"]["sorry"] == 7  # the sample's seven sorry theorems
    easy = [r["easy"] for r in data["repos"]]
    assert easy == sorted(easy, reverse=True)  # most Easy theorems first
    # Percentile boundaries over e^S: 33rd and 67th of the traced theorems' finite difficulties.
    assert data["percentiles"]["p33"] <= data["percentiles"]["p67"]


class _FakeClient:
    def search_repositories(self, query, sort, order):
        from types import SimpleNamespace

        def repo(name, stars):
            return SimpleNamespace(full_name=name, stargazers_count=stars, fork=False, default_branch="main",
                                   html_url=f"https://github.com/{name}",
                                   get_contents=lambda p, ref: SimpleNamespace(decoded_content=b"leanprover/lean4:v4.9.0"),
                                   get_branch=lambda b: SimpleNamespace(commit=SimpleNamespace(sha="c" * 40)))

        return iter([repo("a/one", 90), repo("b/two", 80)])


def test_crawl_prints_and_appends(run_cli, tmp_path, monkeypatch):
    from leanagent.config import load_repos
    from leanagent.sources import github

    monkeypatch.setattr(github, "default_client", lambda: _FakeClient())
    code, out, _ = run_cli("crawl", "--github", "--min-stars", "50")
    assert code == 0
    assert out.splitlines()[:3] == ["  - name: one", "    url: https://github.com/a/one", f"    commit: {'c' * 40}"]
    target = tmp_path / "found.yaml"
    target.write_text("# found on GitHub\nrepos:\n  - url: https://github.com/a/one\n    commit: v1\n")
    code, out, _ = run_cli("crawl", "--github", "--append", target)
    assert code == 0 and out.startswith("appended 1 entries")
    assert [e.repo_name for e in load_repos(target).repos] == ["one", "two"]

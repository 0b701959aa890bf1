import json
import shutil
import sqlite3

import pytest
from sqlalchemy import func, select

from leanagent.db.engine import open_db
from leanagent.db.models import Theorem


def _count(url):
    db = open_db(url)
    try:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(Theorem))
    finally:
        db.dispose()


def test_help_lists_every_subcommand(capsys):
    from leanagent.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    for name in ("learn", "nightly", "runs", "import", "export", "db", "trace", "crawl", "scan", "curriculum",
                 "train", "eval", "prove", "review", "export-proofs"):
        assert f"\n    {name} " in out or f"\n    {name}\n" in out, name
    assert "not yet available" not in out


def test_import_then_stats_json(run_cli, db_url, example_path):
    code, out, err = run_cli("--db", db_url, "import", example_path)
    assert code == 0, err
    assert "created repository nat-list: 150 theorems" in out
    code, out, _ = run_cli("db", "stats", "--db", db_url, "--json")
    row = json.loads(out)["repositories"][0]
    assert (row["repository"], row["theorems"], row["sorry"], row["steps"], row["with_proofs"]) == \
        ("nat-list", 150, 2, 200, 148)  # 200: le_add_both's `have ... := by` adds its nested step
    code, out, _ = run_cli("--db", db_url, "import", example_path)
    assert code == 0 and out.startswith("unchanged repository nat-list")


def test_import_include_as_separate_repository(run_cli, db_url, example_path):
    code, out, err = run_cli("--db", db_url, "--json", "import", example_path, "--name", "nat-only",
                             "--include", "NatList/Nat/**")
    assert code == 0, err
    data = json.loads(out)
    assert data["repo"] == "nat-only" and data["theorems"] == 98


def test_export_writes_leandojo_format_with_deterministic_splits(run_cli, any_db_url, example_path, tmp_path):
    db_url = any_db_url
    code, out, err = run_cli("--db", db_url, "import", example_path)
    assert code == 0, err
    code, out, err = run_cli("--db", db_url, "--json", "export", tmp_path / "a", "--seed", "7")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["theorems"] == 148  # open sorry theorems are left out
    assert sum(summary["random"].values()) == 148
    run_cli("--db", db_url, "export", tmp_path / "b", "--seed", "7")
    for kind in ("random", "novel_premises"):
        for split in ("train", "val", "test"):
            a = (tmp_path / "a" / kind / f"{split}.json").read_text()
            assert a == (tmp_path / "b" / kind / f"{split}.json").read_text()
    # The export reads back as a dataset.
    code, out, err = run_cli("--db", f"sqlite:///{tmp_path / 'round.sqlite'}", "import", tmp_path / "a")
    assert code == 0, err
    assert "148 theorems" in out


@pytest.mark.parametrize("case", ["missing", "not_dataset", "truncated", "no_full_name", "bad_tactics",
                                  "dotdot_path", "absolute_path", "option_commit", "branch_commit"])
def test_bad_input_is_one_line_and_changes_nothing(case, run_cli, db_url, example_path, tmp_path):
    run_cli("--db", db_url, "import", example_path)
    bad = tmp_path / "bad"
    if case == "missing":
        bad = tmp_path / "nope"
        expect = "no such file or directory"
    elif case == "not_dataset":
        bad.mkdir()
        (bad / "notes.txt").write_text("hi")
        expect = "not a LeanDojo dataset"
    else:
        shutil.copytree(example_path, bad)
        f = bad / "random" / "train.json"
        data = json.loads(f.read_text())
        if case == "truncated":
            f.write_text(f.read_text()[:500])
            expect = "invalid JSON at line"
        elif case == "no_full_name":
            del data[3]["full_name"]
            f.write_text(json.dumps(data))
            expect = "record 3: record without `full_name`"
        elif case in ("dotdot_path", "absolute_path"):  # with `--source`, it would be read into the database
            data[2]["file_path"] = "../../outside/Secret.lean" if case == "dotdot_path" else "/etc/passwd"
            f.write_text(json.dumps(data))
            expect = "unsafe `file_path`"
        elif case in ("option_commit", "branch_commit"):  # it reaches `git rev-list` when review checks upstream
            data[4]["commit"] = "--output=/tmp/pwned" if case == "option_commit" else "main"
            f.write_text(json.dumps(data))
            expect = "`commit` must be a 40-hex commit id"
        else:
            data[5]["traced_tactics"] = "simp"
            f.write_text(json.dumps(data))
            expect = "`traced_tactics` must be a list"
    code, out, err = run_cli("--db", db_url, "import", bad, "--name", "other")
    assert code == 1
    assert expect in err and err.count("\n") == 1 and "Traceback" not in err
    if case not in ("missing", "not_dataset"):
        assert "train.json" in err
    assert _count(db_url) == 150


def test_unknown_db_scheme(run_cli, example_path):
    code, out, err = run_cli("--db", "mongodb://localhost/x", "import", example_path)
    assert code == 1 and "unknown database scheme 'mongodb'" in err and err.count("\n") == 1


def test_unreadable_database_file(run_cli, tmp_path, example_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    code, out, err = run_cli("--db", f"sqlite:///{junk}", "import", example_path)
    assert code == 1 and "cannot use database" in err and err.count("\n") == 1


def test_locked_database(run_cli, db_url, tmp_path, example_path):
    run_cli("--db", db_url, "db", "migrate")
    holder = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, out, err = run_cli("--db", db_url, "import", example_path)
    finally:
        holder.rollback()
        holder.close()
    assert code == 1 and "locked" in err and err.count("\n") == 1
    assert _count(db_url) == 0


def test_migrate_upgrades_an_older_database(run_cli, db_url, example_path):
    db = open_db(db_url, check=False)
    db.migrate("0001")  # the schema of the first release: no runs/proofs tables
    db.dispose()
    code, out, err = run_cli("--db", db_url, "import", example_path)
    assert code == 1 and "leanagent db migrate" in err
    code, out, err = run_cli("--db", db_url, "db", "migrate")
    from leanagent.db.engine import head_revision

    assert code == 0 and f"upgraded from schema 0001 to {head_revision()}" in out
    code, out, err = run_cli("--db", db_url, "import", example_path)
    assert code == 0, err
    code, out, err = run_cli("--db", db_url, "db", "migrate")
    assert "already at the latest schema" in out


def test_stats_in_a_pipe_keeps_whole_headers(run_cli, db_url, example_path):
    """rich assumed 80 columns when stdout was not a terminal and cut `agent proofs` in two."""
    assert run_cli("--db", db_url, "import", example_path)[0] == 0
    code, out, _ = run_cli("--db", db_url, "db", "stats")
    assert code == 0
    header = next(line for line in out.splitlines() if "repository" in line)
    assert "with proofs" in header and "agent proofs" in header


def test_export_folder_is_readable_by_others(run_cli, db_url, example_path, tmp_path):
    import os
    import stat

    assert run_cli("--db", db_url, "import", example_path)[0] == 0
    old = os.umask(0o022)
    try:
        code, _, err = run_cli("--db", db_url, "export", tmp_path / "out", "--split", "random")
    finally:
        os.umask(old)
    assert code == 0, err
    # mkdtemp's 0700 used to survive the rename into place.
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "out" / "corpus.jsonl").stat().st_mode) == 0o644


def test_import_with_its_sources_stores_the_files(run_cli, db_url, example_path):
    code, out, err = run_cli("--db", db_url, "import", example_path, "--source", example_path.parent / "nat-list-src")
    assert code == 0, err
    db = open_db(db_url)
    try:
        from leanagent.db.models import SourceFile

        with db.session() as s:
            stored = {f.path for f in s.scalars(select(SourceFile)) if f.content}
    finally:
        db.dispose()
    assert stored == {"NatList/Nat/Basic.lean", "NatList/Nat/Order.lean", "NatList/List/Basic.lean"}

"""Helpers shared by the sources tests (imported by module name, like tests/review/review_data.py)."""

from __future__ import annotations

from pathlib import Path


def commit_files(repo, files: dict[str, str], message: str) -> str:
    root = Path(repo.working_tree_dir)
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    repo.index.add(list(files))
    return repo.index.commit(message).hexsha

"""Built training inputs cached per repository and content digest, so that stage i builds only repository i.

`learn`'s stage i trains the retriever and the generator over repositories
0..i (`train_progressive` skips the finished stages, but the stage list is made
for all of them: their examples feed replay). Building a repository's generator
examples runs BM25 (or the dense retriever) over every step; without a cache,
stage i repeats that for every earlier repository, and a run costs the square of
the number of repositories. Here each repository's built list is stored once, as
a JSON file (one row per example) under `<home>/cache/examples/`, keyed by:

- the repository's own data: its import digest (`Repository.digest`), commit and
  split policy (what fixes its train split and steps);
- the premise corpus and import graph the retriever searches (every repository's
  digest, the number and highest id of premises and of source files): adding or
  re-importing any repository changes BM25's statistics and accessibility, so
  every entry is rebuilt then;
- the agent's own proofs in the repository (they join the train split; a digest of
  their ids, states and tactics);
- what shapes the inputs: the kind (`generator` / `retriever`), the retrieval,
  the options' fields that change the text (number of premises, input bytes), the
  dense checkpoint when there is one, and the example class's fields.

A repository without an import digest is never cached (built every time, as
before). Entries are written atomically (temporary file + rename).
"""

from __future__ import annotations

import json
import logging
from dataclasses import fields
from pathlib import Path
from typing import Callable

from leanagent.files import atomic_write, json_digest

log = logging.getLogger("leanagent.training")

#: Bumped when what is cached changes meaning: older entries are ignored.
CACHE_FORMAT = 1


def cache_root() -> Path:
    from leanagent.settings import default_home

    return default_home() / "cache" / "examples"


def corpus_key(db) -> str | None:
    """Fingerprint of the premise corpus and import graph, from the repositories' import digests and
    the tables' sizes (no premise is read); None when some repository has no digest."""
    from leanagent.db.training_data import corpus_version

    version = corpus_version(db)
    if version is None:
        return None
    return json_digest([[list(r) for r in version.repos], list(version.premises), list(version.files)])


def repo_key(db, repo: str) -> str | None:
    """Fingerprint of one repository's data and the agent's proofs in it; None when it has no digest."""
    from leanagent.db.proofs import agent_proof_examples
    from leanagent.db.training_data import repo_version

    row = repo_version(db, repo)
    if row is None or row[0] is None:
        return None
    agent = [(e.step_id, e.theorem_id, e.state, e.tactic) for e in agent_proof_examples(db, repo)]
    return json_digest([repo, list(row), agent])


def _row(example) -> list:
    """One example as JSON-ready values, in field order (sets become sorted lists)."""
    return [sorted(v) if isinstance(v, (set, frozenset)) else v
            for v in (getattr(example, f.name) for f in fields(example))]


def _example(example_type, row: list):
    """The inverse of `_row`: JSON lists back into the field's container type (tuple, frozenset)."""
    values = []
    for f, v in zip(fields(example_type), row):
        kind = str(f.type)
        if isinstance(v, list):
            v = frozenset(v) if "frozenset" in kind else tuple(v) if "tuple" in kind else v
        values.append(v)
    return example_type(*values)


def cached(kind: str, db, repo: str, shape: dict, build: Callable[[], list], example_type,
           root: Path | None = None, corpus: str | None = None) -> list:
    """`build()` (repository `repo`'s examples of `kind`) through the cache; see the module docstring.

    `shape`: the options that shape the inputs (JSON-able); `example_type`: the dataclass of the
    examples (its field names join the key); `corpus`: `corpus_key(db)` when the caller has it.
    """
    rk = repo_key(db, repo)
    ck = corpus if corpus is not None else corpus_key(db)
    if rk is None or ck is None:
        return build()
    names = [(f.name, str(f.type)) for f in fields(example_type)]
    key = json_digest([CACHE_FORMAT, kind, rk, ck, shape, names])
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in repo)[:80]
    path = Path(root or cache_root()) / kind / f"{safe}-{key}.json"
    if path.is_file():
        try:
            return [_example(example_type, row) for row in json.loads(path.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable example cache %s: %s", path, exc)
    out = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps([_row(e) for e in out], ensure_ascii=False))
    except OSError as exc:  # a read-only home only costs time
        log.warning("cannot cache training examples in %s: %s", path.parent, exc)
    return out


def retriever_pairs(db, repo: str, row_of: dict[int, int], corpus: str | None = None) -> list:
    """`training_pairs(step_examples(db, repo, "train"), row_of)` through the cache (row_of follows the
    corpus, which the corpus key covers)."""
    from leanagent.db.training_data import step_examples
    from leanagent.retrieval.model import TrainPair, training_pairs

    return cached("retriever", db, repo, {}, lambda: training_pairs(step_examples(db, repo, "train"), row_of),
                  TrainPair, corpus=corpus)

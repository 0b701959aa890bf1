"""The starting models' rows of the lifelong matrices, shared by runs that would compute the same ones.

`learn`'s first steps (`evaluate/start`, and `prove/start` with prove_matrix)
evaluate the pretrained encoder and a new generator made from the seed. Their
result depends on the database's data, the model and evaluation options, the
seed, the environment and the device kind, and on nothing that the variants of
`leanagent ablate` compare (replay, EWC, orders): every variant of one seed
would compute the same rows, which on a CPU cost more than a whole stage (an
untrained generator decodes to its byte limit). `ablate` therefore passes a
folder where the first run of a seed stores them (JSON, written atomically) and
the others read them, storing the same cells in their own databases.

The key is a digest of exactly those inputs; a database whose repositories
lack an import digest gets no key (computed every time).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from leanagent.files import atomic_write, json_digest

#: The learn options that the starting rows read (everything else only acts from stage 0 on).
START_LEARN_FIELDS = ("eval_limit", "eval_beams", "generator_retrieval", "prove_matrix", "prove_limit", "num_tactics",
                      "max_expansions", "prove_timeout")


def start_key(db, cfg, env: str, device_kind: str, step: str) -> str | None:
    """Digest of what the starting row `step` (`evaluate` or `prove`) depends on; None: not shareable."""
    from leanagent.db.training_data import repo_names
    from leanagent.training.example_cache import corpus_key, repo_key

    corpus = corpus_key(db)
    if corpus is None:
        return None
    names = sorted(repo_names(db))
    repos = [repo_key(db, name) for name in names]
    if any(k is None for k in repos):
        return None
    learn = {f: getattr(cfg.learn, f) for f in START_LEARN_FIELDS}
    value = [step, env, device_kind, corpus, dict(zip(names, repos)), learn, asdict(cfg.retriever),
             asdict(cfg.generator), cfg.train.seed, cfg.train.precision]
    return json_digest(value)


def load(folder: Path | None, key: str | None) -> dict | None:
    if folder is None or key is None:
        return None
    path = Path(folder) / f"{key}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def save(folder: Path | None, key: str | None, payload: dict) -> None:
    if folder is None or key is None:
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / f"{key}.json", json.dumps(payload, sort_keys=True))

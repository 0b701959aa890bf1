"""Export the merged dataset of every repository in LeanDojo's benchmark format.

Layout written under the output folder:
  metadata.json
  random/{train,val,test}.json          theorem-level, hash of the seed (see splits.py)
  novel_premises/{train,val,test}.json  val/test theorems use a premise unseen in train
  corpus.jsonl                          premises grouped by defining file

Agent proofs are exported as traced tactics with the states along the found
path, so they become training data. `sorry` theorems that are still open are
left out: they have no proof to learn from.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from leanagent import __version__
from leanagent.db.engine import Database
from leanagent.db.models import (
    Premise,
    Proof,
    Repository,
    SourceFile,
    StepPremise,
    TacticStep,
    Theorem,
    TheoremStatus,
)
from leanagent.db.splits import DEFAULT_SEED, SPLIT_KINDS, SPLITS, novel_premises_split, random_split
from leanagent.errors import LeanAgentError
from leanagent.files import default_mode


def _premise_json(p: Premise) -> dict:
    d = {"full_name": p.full_name, "def_path": p.path}
    if p.start_line is not None:
        d["def_pos"] = [p.start_line, p.start_col]
    if p.end_line is not None:
        d["def_end_pos"] = [p.end_line, p.end_col]
    return d


def load_theorem_dicts(db: Database) -> tuple[list[tuple[tuple, dict, set]], dict[int, Premise]]:
    """Every exportable theorem as (split key, LeanDojo dict, premise ids), plus the premises used."""
    with db.session() as s:
        repos = dict(s.execute(select(Repository.id, Repository.name)).all())
        premises = {p.id: p for p in s.scalars(select(Premise))}
        links: dict[int, list[int]] = defaultdict(list)
        for sid, pid in s.execute(select(StepPremise.step_id, StepPremise.premise_id)
                                  .order_by(StepPremise.step_id, StepPremise.position)):
            links[sid].append(pid)
        steps: dict[int, list] = defaultdict(list)
        for st in s.execute(select(TacticStep.id, TacticStep.theorem_id, TacticStep.tactic,
                                   TacticStep.annotated_tactic, TacticStep.state_before, TacticStep.state_after)
                            .order_by(TacticStep.theorem_id, TacticStep.idx)):
            steps[st.theorem_id].append(st)
        agent: dict[int, Proof] = {}
        for proof in s.scalars(select(Proof).order_by(Proof.id)):
            agent.setdefault(proof.theorem_id, proof)  # the first proof found
        thms = s.execute(select(Theorem).where(Theorem.status != TheoremStatus.SORRY)
                         .order_by(Theorem.repo_id, Theorem.file_path, Theorem.start_line, Theorem.start_col)
                         ).scalars().all()
    out = []
    for t in thms:
        used: set[int] = set()
        tactics = []
        if t.status is TheoremStatus.PROVED_BY_AGENT and t.id in agent:
            p = agent[t.id]
            for i, tac in enumerate(p.tactics):
                tactics.append({"tactic": tac, "annotated_tactic": [tac, []],
                                "state_before": p.states[i], "state_after": p.states[i + 1]})
        else:
            for st in steps.get(t.id, []):
                pids = links.get(st.id, [])
                used.update(pids)
                tactics.append({"tactic": st.tactic,
                                "annotated_tactic": [st.annotated_tactic or st.tactic,
                                                     [_premise_json(premises[pid]) for pid in pids]],
                                "state_before": st.state_before, "state_after": st.state_after})
        d = {"url": t.url, "commit": t.commit, "file_path": t.file_path, "full_name": t.full_name,
             "start": [t.start_line, t.start_col], "end": [t.end_line, t.end_col], "traced_tactics": tactics}
        key = (repos[t.repo_id], t.file_path, t.full_name, t.start_line, t.start_col)
        out.append((key, d, used))
    return out, premises


def export_dataset(db: Database, out: str | Path, *, kinds: tuple[str, ...] = SPLIT_KINDS,
                   seed: int = DEFAULT_SEED) -> dict:
    """Write the dataset; returns counts per split kind and split. The folder appears whole or not at all."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LeanAgentError(f"{out} exists and is not an empty folder",
                             fix="choose a new output path, or remove the old export first")
    theorems, premises = load_theorem_dicts(db)
    summary: dict = {"theorems": len(theorems), "seed": seed}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(default_mode(directory=True))  # mkdtemp's 0700 would survive the rename into place
    try:
        for kind in kinds:
            if kind == "random":
                assign = {key: random_split(key, seed) for key, _, _ in theorems}
            else:
                assign = novel_premises_split({key: used for key, _, used in theorems}, seed)
            buckets: dict[str, list] = {s: [] for s in SPLITS}
            for key, d, _ in theorems:
                buckets[assign[key]].append(d)
            (tmp / kind).mkdir()
            for split, items in buckets.items():
                with (tmp / kind / f"{split}.json").open("w", encoding="utf-8") as fh:
                    json.dump(items, fh, ensure_ascii=False)
            summary[kind] = {s: len(v) for s, v in buckets.items()}
        _write_corpus(tmp / "corpus.jsonl", premises.values(), _imports(db))
        meta = {"dataset_name": "leanagent export", "creation_time": datetime.now(timezone.utc).isoformat(),
                "leanagent_version": __version__, "seed": seed, "split_kinds": list(kinds),
                "theorems": len(theorems), "premises": len(premises)}
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2))
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def _imports(db: Database) -> dict[str, list[str]]:
    with db.session() as s:
        return {path: imports for path, imports in s.execute(select(SourceFile.path, SourceFile.imports))
                if imports}


def _write_corpus(path: Path, premises, imports: dict[str, list[str]]) -> None:
    by_file: dict[str, list[Premise]] = defaultdict(list)
    for p in premises:
        by_file[p.path].append(p)
    with path.open("w", encoding="utf-8") as fh:
        for file_path in sorted(by_file):
            items = sorted(by_file[file_path], key=lambda p: (p.start_line or 0, p.start_col or 0, p.full_name))
            entry = {"path": file_path, "imports": imports.get(file_path, []), "premises": [
                {"full_name": p.full_name, "code": p.code or "", "kind": p.kind or "",
                 "start": [p.start_line, p.start_col] if p.start_line is not None else None,
                 "end": [p.end_line, p.end_col] if p.end_line is not None else None} for p in items]}
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

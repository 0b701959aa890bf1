"""Proving a set of theorems into the database: shared by `leanagent prove`, `learn` and `nightly`.

Theorems are chosen (`sorry`, `all` or the held-out `test` split), the ones
already attempted under the same model and budget are skipped unless asked,
the rest go to the workers, and every result is written by this process, the
one writer, as it arrives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from leanagent.db.engine import Database


@dataclass
class Campaign:
    """What to prove and how."""

    env: str = "replay"
    theorems: str = "sorry"           # sorry | all | test
    repos: Sequence[str] | None = None  # None: every repository
    retry: bool = False
    limit: int | None = None
    workers: int = 0
    ray_address: str | None = None
    deadline: float | None = None     # time.monotonic() after which no new theorem is started
    proposer: object = None           # ProposerOptions (resolved)
    search: object = None             # SearchConfig
    policy: object = None             # SafetyPolicy
    limits: object = None             # LeanLimits


@dataclass
class CampaignResult:
    proved: int = 0
    attempted: int = 0
    expansions: int = 0
    skipped: int = 0
    seconds: float = 0.0
    model: str = ""
    budget: str = ""
    per_repo: dict = field(default_factory=dict)  # repo -> {"proved", "attempted"}

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def run_campaign(db: Database, c: Campaign, *, run_id: int | None = None,
                 on_start: Callable[[int], None] | None = None,
                 on_result: Callable[[object, CampaignResult], None] | None = None) -> CampaignResult:
    """Prove the chosen theorems; `on_start(n)` gets the number to prove, `on_result` each result."""
    from leanagent.db.proofs import AttemptRecord, already_attempted, record_attempt, select_theorems
    from leanagent.generator.factory import proposer_name
    from leanagent.prover.env import TheoremRef
    from leanagent.prover.leandojo_env import LeanLimits
    from leanagent.prover.safety import SafetyPolicy
    from leanagent.prover.search import SearchConfig
    from leanagent.prover.workers import WorkerSpec, prove_theorems

    search = c.search or SearchConfig()
    out = CampaignResult(model=proposer_name(c.proposer), budget=search.budget())
    rows = []
    for repo in (c.repos if c.repos is not None else [None]):
        rows += select_theorems(db, c.theorems, repo, with_steps=c.env == "replay")
    if c.env == "replay" and c.theorems == "test":
        # A `sorry` theorem's only recorded step is `sorry` itself, which the safety policy refuses:
        # replay can never prove it, so it is not a held-out target.
        rows = [r for r in rows if r.status != "sorry"]
    if not c.retry:
        done = already_attempted(db, [r.id for r in rows], out.model, out.budget)
        out.skipped = sum(r.id in done for r in rows)
        rows = [r for r in rows if r.id not in done]
    if c.limit is not None:
        rows = rows[:c.limit]
    repo_of = {r.id: r.repo for r in rows}
    digests = _file_digests(db, [r.id for r in rows])
    refs = [TheoremRef(r.id, r.repo, r.file_path, r.full_name, (r.start_line, r.start_col), r.url, r.commit)
            for r in rows]
    if on_start:
        on_start(len(refs))

    def write(res) -> None:  # the one writer: runs in this process
        record_attempt(db, AttemptRecord(
            theorem_id=res.theorem.id, model=out.model, budget=out.budget, env=c.env, outcome=res.outcome,
            expansions=res.expansions, time_model=res.time_model, time_lean=res.time_lean,
            time_search=res.time_search, tactics=res.proof, states=res.states, error=res.error, run_id=run_id,
            file_digest=digests.get(res.theorem.id)))
        out.attempted += 1
        out.proved += res.outcome == "proved"
        out.expansions += res.expansions
        per = out.per_repo.setdefault(repo_of[res.theorem.id], {"proved": 0, "attempted": 0})
        per["attempted"] += 1
        per["proved"] += res.outcome == "proved"
        if on_result:
            on_result(res, out)

    t0 = time.perf_counter()
    if refs:
        spec = WorkerSpec(env=c.env, db_url=db.url, proposer=c.proposer, search=search,
                          policy=c.policy or SafetyPolicy(), limits=c.limits or LeanLimits())
        if c.deadline is not None:
            refs = _until(refs, c.deadline)
        prove_theorems(spec, refs, write, workers=c.workers, address=c.ray_address)
    out.seconds = round(time.perf_counter() - t0, 2)
    return out


def _until(refs, deadline: float):
    """Hand out theorems only while the time budget lasts (a search already started finishes)."""
    for ref in refs:
        if time.monotonic() >= deadline:
            return
        yield ref


def _file_digests(db: Database, theorem_ids: list[int]) -> dict[int, str]:
    """Digest of each theorem's file as the search sees it, read the way the patch export reads it
    (checkout first, then the stored text), so that the export can refuse a file changed since."""
    from leanagent.db.proofs import file_sources
    from leanagent.db.records import file_digest
    from leanagent.errors import LeanAgentError
    from leanagent.review.export import current_text

    out: dict[int, str] = {}
    cache: dict[tuple, str | None] = {}
    for tid, (repo_path, rel, stored) in file_sources(db, theorem_ids).items():
        key = (repo_path, rel)
        if key not in cache:
            try:
                text = current_text(repo_path, stored, rel)
            except (LeanAgentError, OSError, UnicodeDecodeError):  # an unsafe or unreadable path: no digest
                text = None
            cache[key] = file_digest(text) if text is not None else None
        if cache[key] is not None:
            out[tid] = cache[key]
    return out

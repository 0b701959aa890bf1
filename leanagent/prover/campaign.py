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
    pool: str = "auto"                # fork | ray | auto (leanagent.prover.forkpool.choose_pool)
    deadline: float | None = None     # time.monotonic() after which no new theorem is started
    proposer: object = None           # ProposerOptions (resolved)
    search: object = None             # SearchConfig
    policy: object = None             # SafetyPolicy
    limits: object = None             # LeanLimits
    repl: object = None               # ReplOptions (the LeanInteract backend)
    baselines: bool = False           # replay: also count frequency, one-step and oracle on the same theorems
    device: str = "auto"              # where the proposers' models run (leanagent.device)
    gpus_per_worker: float | None = None  # Ray's GPU share per worker (None: the GPUs shared evenly)
    searches: int | None = None       # theorems per worker at once (None: 8 on a GPU, 1 on the CPU)
    polish: object = None             # PolishOptions (None: the defaults; leanagent.prover.polish)


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
    rejected: int = 0                 # proofs found tactic by tactic that the whole-file re-check refused
    checks: dict = field(default_factory=dict)  # the re-check's status -> proofs (proved outcomes only)
    polished: int = 0                 # proofs for which polishing kept a variant (prover/polish.py)
    baselines: dict | None = None     # leanagent.prover.baselines.replay_baselines over the attempted theorems
    backends: dict = field(default_factory=dict)  # env="auto": repo -> the backend chosen (or why none)
    #: repo -> {reason: theorems of the chosen set not attempted}: "no_steps" (replay can only judge theorems
    #: with recorded tactic steps: term-mode proofs have none), "sorry" (replay cannot prove a sorry
    #: theorem), "no_backend", "done_before" (attempted before, same model and budget), "over_limit".
    left_out: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _targets(db: Database, c: Campaign, out: CampaignResult, env_of: Callable[[str], object]) -> list:
    """The theorem rows to attempt, in order; what is left out is counted in `out.left_out` (and
    `out.skipped`) by reason."""
    from leanagent.db.proofs import already_attempted, select_theorems

    rows = []
    for repo in (c.repos if c.repos is not None else [None]):
        rows += select_theorems(db, c.theorems, repo)
    # Replay judges a tactic only against recorded steps: a theorem without any cannot even start.
    rows = _leave_out(out, rows, lambda r: c.env == "replay" and r.num_steps == 0, "no_steps")
    rows = _leave_out(out, rows, lambda r: not env_of(r.repo), "no_backend")  # env=auto: no backend for its Lean
    # A `sorry` theorem's only recorded step is `sorry` itself, which the safety policy refuses: replay can
    # never prove it, so it is not a held-out target.
    rows = _leave_out(out, rows, lambda r: c.env == "replay" and c.theorems == "test" and r.status == "sorry",
                      "sorry")
    if not c.retry:
        done = already_attempted(db, [r.id for r in rows], out.model, out.budget)
        out.skipped = sum(r.id in done for r in rows)
        rows = _leave_out(out, rows, lambda r: r.id in done, "done_before")
    if c.limit is not None:
        kept = {r.id for r in rows[:c.limit]}
        rows = _leave_out(out, rows, lambda r: r.id not in kept, "over_limit")
    return rows


def _leave_out(out: CampaignResult, rows: list, drop: Callable[[object], bool], reason: str) -> list:
    """`rows` without those `drop` selects, counted per repository under `reason` in `out.left_out`."""
    kept = []
    for r in rows:
        if drop(r):
            per = out.left_out.setdefault(r.repo, {})
            per[reason] = per.get(reason, 0) + 1
        else:
            kept.append(r)
    return kept


def run_campaign(db: Database, c: Campaign, *, run_id: int | None = None,
                 on_start: Callable[[int], None] | None = None,
                 on_result: Callable[[object, CampaignResult], None] | None = None) -> CampaignResult:
    """Prove the chosen theorems; `on_start(n)` gets the number to prove, `on_result` each result."""
    from leanagent.db.proofs import AttemptRecord, record_attempt
    from leanagent.generator.options import proposer_name
    from leanagent.data import TheoremRef
    from leanagent.prover.leandojo_env import LeanLimits
    from leanagent.prover.polish import PolishOptions
    from leanagent.prover.safety import SafetyPolicy
    from leanagent.prover.search import SearchConfig
    from leanagent.prover.pool import prove_theorems
    from leanagent.prover.workers import WorkerSpec

    search = c.search or SearchConfig()
    out = CampaignResult(model=proposer_name(c.proposer), budget=search.budget())
    env_of = _backends(db, c, out)
    rows = _targets(db, c, out, env_of)
    repo_of = {r.id: r.repo for r in rows}
    # What the proposers may read: a proof found with held-out steps visible never becomes training data.
    source_splits = list(c.proposer.scope().splits) if c.proposer is not None else None
    digests = _file_digests(db, [r.id for r in rows])
    refs = [TheoremRef.of(r) for r in rows]
    if on_start:
        on_start(len(refs))

    done: set[int] = set()

    def write(res) -> None:  # the one writer: runs in this process
        record_attempt(db, AttemptRecord(
            theorem_id=res.theorem.id, model=out.model, budget=out.budget, env=env_of(res.theorem.repo),
            outcome=res.outcome, expansions=res.expansions, time_model=res.time_model, time_lean=res.time_lean,
            time_search=res.time_search, tactics=res.proof, states=res.states, error=res.error, run_id=run_id,
            # The file the re-check placed the proof into is the one the patch must find again.
            file_digest=res.checked_file_digest or digests.get(res.theorem.id), check_status=res.check_status,
            checked_by=res.checked_by, check_message=res.check_message, axioms=res.axioms,
            statement_digest=res.statement_digest, commit=res.theorem.commit, source_splits=source_splits,
            measures=res.measures, polished=res.polished, polish=res.polish))
        out.attempted += 1
        done.add(res.theorem.id)
        out.proved += res.outcome == "proved"
        out.rejected += res.outcome == "rejected"
        if res.outcome == "proved":
            out.checks[res.check_status or "none"] = out.checks.get(res.check_status or "none", 0) + 1
            out.polished += res.polished is not None
        out.expansions += res.expansions
        per = out.per_repo.setdefault(repo_of[res.theorem.id], {"proved": 0, "attempted": 0})
        per["attempted"] += 1
        per["proved"] += res.outcome == "proved"
        if on_result:
            on_result(res, out)

    t0 = time.perf_counter()
    for env in dict.fromkeys(env_of(r.repo) for r in refs):  # one backend after the other (env=auto)
        group = [r for r in refs if env_of(r.repo) == env]
        spec = WorkerSpec(env=env, db_url=db.url, proposer=c.proposer, search=search,
                          policy=c.policy or SafetyPolicy(), limits=c.limits or LeanLimits(), repl=c.repl,
                          device=c.device, gpus_per_worker=c.gpus_per_worker, searches=c.searches,
                          polish=c.polish or PolishOptions())
        prove_theorems(spec, group if c.deadline is None else _until(group, c.deadline), write,
                       workers=c.workers, address=c.ray_address, pool=c.pool)
    out.seconds = round(time.perf_counter() - t0, 2)
    if c.baselines and c.env == "replay" and done:
        from leanagent.prover.baselines import replay_baselines

        # The same theorems (those attempted before any deadline), the same budget and sources.
        out.baselines = replay_baselines(db, [r for r in rows if r.id in done], c.proposer.scope(), search,
                                         c.policy or SafetyPolicy())
    return out


def _backends(db: Database, c: Campaign, out: CampaignResult) -> Callable[[str], str | None]:
    """repository -> the environment that proves it: `c.env`, or with env="auto" the backend its Lean
    version calls for (prover/backend.py); None when no backend can run it (noted in `out.backends`)."""
    if c.env != "auto":
        return lambda repo: c.env
    from leanagent.prover.backend import backends_for

    choices = backends_for(db, c.repos)
    out.backends = {repo: ch.env or f"none: {ch.reason}" for repo, ch in choices.items()}
    return lambda repo: choices[repo].env if repo in choices else None


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
    from leanagent.lean.proof_text import current_text

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

"""Review app page render time with many agent proofs in the database.

Target (issue 7): every page renders in < 200 ms with 10,000 proofs.
Pages are requested in-process through the whole ASGI stack (FastAPI
TestClient: middleware, routing, queries, Jinja2). The baseline, measured in
the same run, is the app's cheapest response (the stylesheet), i.e. the
framework floor; the ratio says how much each page costs on top of it.

Polish figure (issue 28): proofs found with redundant tactics in a stand-in
project (tests/fake_repl: the stand-in REPL, no Lean), re-checked and polished
as a prover worker does; the mean proof length (tactics, lines) before and
after polishing, and the seconds polishing took per proof beside the re-check
of the unpolished proof, both measured in the same run.

    python bench/bench_review.py [--proofs 10000] [--repeat 30] [--polish-proofs 30] [--polish-only]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from sqlalchemy import insert

from leanagent.db.engine import open_db
from leanagent.db.models import Proof, Repository, Review, ReviewStatus, Run, SourceFile, Theorem, TheoremStatus
from leanagent.review import create_app
from leanagent.review.patch import file_digest

TARGET_MS = 200.0
REPOS = 10
FILES_PER_REPO = 50


def lean_file(n_theorems: int, tag: str) -> tuple[str, list[tuple[int, int]]]:
    """A file with `n_theorems` sorry theorems; returns (text, [(start line, end line)])."""
    lines, spans = ["import Mathlib", ""], []
    for i in range(n_theorems):
        start = len(lines) + 1
        lines += [f"theorem {tag}_t{i} (a b : Nat) : a + b + {i} = b + a + {i} := by", "  sorry", ""]
        spans.append((start, start + 1))
    return "\n".join(lines), spans


def populate(db, n_proofs: int) -> int:
    """n_proofs proofs on n_proofs sorry theorems; returns one proof id to open."""
    rng = random.Random(0)
    per_file = max(1, n_proofs // (REPOS * FILES_PER_REPO))
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    statuses = [s for s in ReviewStatus]
    with db.session() as s:
        runs = [s.execute(insert(Run).values(kind="prove", name=f"r{i}").returning(Run.id)).scalar() for i in range(5)]
        theorem_rows, file_rows, digests = [], [], {}
        for r in range(REPOS):
            repo_id = s.execute(insert(Repository).values(name=f"repo-{r}", kind="path").returning(Repository.id)).scalar()
            for f in range(FILES_PER_REPO):
                path = f"Repo{r}/File{f}.lean"
                text, spans = lean_file(per_file, f"r{r}f{f}")
                file_rows.append({"repo_id": repo_id, "path": path, "content": text})
                digests[(repo_id, path)] = file_digest(text)
                for i, (a, b) in enumerate(spans):
                    theorem_rows.append({"repo_id": repo_id, "file_path": path, "full_name": f"r{r}f{f}_t{i}",
                                         "start_line": a, "start_col": 1, "end_line": b, "end_col": 8,
                                         "proof_text": "by\n  sorry", "status": TheoremStatus.SORRY,
                                         "num_steps": 0})
        s.execute(insert(SourceFile), file_rows)
        ids = s.scalars(insert(Theorem).returning(Theorem.id, sort_by_parameter_order=True), theorem_rows).all()
        proof_rows = []
        for tid, t in zip(ids[:n_proofs], theorem_rows):
            proof_rows.append({"theorem_id": tid, "run_id": rng.choice(runs), "model": f"model-v{rng.randint(1, 4)}",
                               "tactics": ["intro h", "simp [Nat.add_comm]", "omega"],
                               "states": ["⊢ goal"] * 3 + ["no goals"], "env": rng.choice(["leandojo", "replay"]),
                               "expansions": rng.randint(1, 500), "review_status": rng.choice(statuses),
                               "file_digest": digests[(t["repo_id"], t["file_path"])],
                               "found_at": base + timedelta(minutes=rng.randint(0, 60 * 24 * 300)),
                               # What the re-check measures (issue 28), on most proofs; older ones have none.
                               "measures": {"found": {"seconds": rng.uniform(0.05, 5.0), "lines": rng.randint(1, 40)}}
                               if rng.random() < 0.8 else None})
        pids = s.scalars(insert(Proof).returning(Proof.id, sort_by_parameter_order=True), proof_rows).all()
        s.execute(insert(Review), [{"proof_id": p, "status": ReviewStatus.ACCEPTED, "reviewer": "bench",
                                    "comment": "ok"} for p in pids[: len(pids) // 10]])
    return pids[len(pids) // 2]


def measure(client: TestClient, url: str, repeat: int) -> list[float]:
    r = client.get(url)  # warm-up (templates compiled, caches filled)
    if r.status_code != 200:
        raise SystemExit(f"{url} answered {r.status_code}: {r.text[:300]}")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def polish_case(i: int, rng: random.Random) -> tuple[str, dict, list[str]]:
    """Theorem `i` of the stand-in project: (its goal, its moves, the proof found) where the proof needs
    `unfold`/`simp` then `rfl`, one in three also closes by `omega`, and 0-2 `skip`s are padding."""
    goal, mid = f"n : Nat\n⊢ f{i} n = n", f"n : Nat\n⊢ g{i} n = n"
    moves = {goal: {"skip": goal, f"unfold f{i}": mid, "simp": mid, "simp only [f]": mid},
             mid: {"skip": mid, "rfl": "no goals"}}
    if i % 3 == 0:
        moves[goal]["omega"] = "no goals"
    proof = ["simp" if i % 2 else f"unfold f{i}", "rfl"]
    for _ in range(rng.randint(0, 2)):
        proof.insert(rng.randint(0, len(proof) - 1), "skip")
    return goal, moves, proof


def polish_figures(n: int) -> None:
    """Re-check and polish `n` found proofs in one stand-in file; print length and time, before and after."""
    import os
    import sys
    from pathlib import Path

    import pytest

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from leanagent.data import TheoremRef
    from leanagent.db.proof_checks import TheoremSource
    from leanagent.prover.leandojo_env import LeanLimits
    from leanagent.prover.leaninteract_env import LeanInteractEnv
    from leanagent.prover.polish import PolishOptions, polish_result
    from leanagent.prover.recheck import Rechecker
    from leanagent.prover.search import SearchResult
    from tests.fake_repl.stand_in import install, project

    rng = random.Random(0)
    cases = [polish_case(i, rng) for i in range(n)]
    script = {"goals": {f"t{i}": g for i, (g, _, _) in enumerate(cases)},
              "moves": {k: v for _, m, _ in cases for k, v in m.items()},
              "simp_only": {g: "simp only [f]" for g, _, _ in cases}}
    text = "import Init\n\n" + "".join(f"theorem t{i} (n : Nat) : f{i} n = n := by\n  sorry\n\n" for i in range(n))
    rows = []
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        fake = install(Path(tmp), mp, script)
        root = project(Path(tmp) / "toy", {"Toy/A.lean": text})
        env = LeanInteractEnv(LeanLimits(init_timeout=60), fake.options)
        try:
            env.check_file(root, text)  # the REPL's start and the header, outside the figures
            for i, (_, _, found) in enumerate(cases):
                line = 3 + 3 * i
                src = TheoremSource(i, "toy", "path", str(root), "v4.15.0", "Toy/A.lean", (line, 1), (line + 1, 7),
                                    "by\n  sorry", None)
                checker = Rechecker(env, lambda r, s=src: s)
                ref = TheoremRef(id=i, repo="toy", file_path="Toy/A.lean", full_name=f"t{i}", start=(line, 1))
                t0 = time.perf_counter()
                res = checker.apply(SearchResult(theorem=ref, outcome="proved", proof=list(found)))
                t1 = time.perf_counter()
                res = polish_result(res, checker, {"omega", "simp", "rfl"}, PolishOptions())
                rows.append((res, t1 - t0, time.perf_counter() - t1))
        finally:
            env.close()
        os.environ.pop("FAKE_REPL_SCRIPT", None)
    verified = [r for r in rows if r[0].check_status == "verified"]
    before = [(len(r.proof), r.measures["found"]["lines"]) for r, _, _ in verified]
    after = [(len(r.polished or r.proof), (r.measures.get("polished") or r.measures["found"])["lines"])
             for r, _, _ in verified]
    recheck, polish = statistics.mean(t for _, t, _ in verified), statistics.mean(t for _, _, t in verified)
    kept = [k.split(":")[0].rstrip("0123456789 ") for r, _, _ in verified for k in r.polish.get("kept", [])]
    print(f"polish, stand-in REPL: {len(verified)} of {n} found proofs verified, {sum(r.polished is not None for r, _, _ in verified)} polished")
    print(f"{'':34} {'tactics':>8} {'lines':>8} {'s/proof':>8}")
    print(f"{'found (unpolished baseline)':34} {statistics.mean(b[0] for b in before):8.2f} "
          f"{statistics.mean(b[1] for b in before):8.2f} {recheck:8.3f}  (the re-check)")
    print(f"{'polished':34} {statistics.mean(a[0] for a in after):8.2f} {statistics.mean(a[1] for a in after):8.2f} "
          f"{polish:8.3f}  (polishing, {polish / recheck:.1f}x the re-check)")
    print("kept: " + ", ".join(f"{k} {kept.count(k)}" for k in sorted(set(kept))) +
          f"; variants tried per proof {statistics.mean(r.polish.get('tried', 0) for r, _, _ in verified):.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proofs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--polish-proofs", type=int, default=30, help="found proofs polished for the polish figure (0: no polish figure)")
    ap.add_argument("--polish-only", action="store_true", help="only the polish figure")
    args = ap.parse_args()
    if args.polish_proofs > 0:
        polish_figures(args.polish_proofs)
    if args.polish_only:
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(f"sqlite:///{tmp}/bench.sqlite")
        t0 = time.perf_counter()
        pid = populate(db, args.proofs)
        print(f"populated {args.proofs} proofs in {time.perf_counter() - t0:.1f} s (SQLite, {REPOS} repositories)")
        pages = {
            "baseline: /static/review.css": "/static/review.css",
            "repositories /": "/",
            "proof list /proofs": "/proofs",
            "list, last page": f"/proofs?page={max(1, -(-args.proofs // 50))}",
            "list, filtered": "/proofs?repo=repo-3&status=accepted&model=model-v2&since=2026-03-01",
            "list, name search": "/proofs?q=f7_t1",
            "list sorted by time": "/proofs?sort=time",
            "list sorted by flags": "/proofs?sort=flags",
            "proof page": f"/proofs/{pid}",
            "proof page, time queue": f"/proofs/{pid}?sort=time",
        }
        with TestClient(create_app(db), base_url="http://127.0.0.1") as client:
            results = {name: measure(client, url, args.repeat) for name, url in pages.items()}
            t0 = time.perf_counter()
            # force=1: most bench proofs carry flags (unchecked, unmeasured), and the figure is the patch's build time.
            patch = client.get("/patch?repo=repo-0&status=accepted&force=1")
            patch_ms = (time.perf_counter() - t0) * 1000
        db.dispose()
    floor = statistics.median(results["baseline: /static/review.css"])
    print(f"{'page':32} {'median ms':>10} {'p95 ms':>8} {'x floor':>8} {'target':>8}")
    worst = 0.0
    for name, times in results.items():
        med = statistics.median(times)
        p95 = sorted(times)[int(0.95 * (len(times) - 1))]
        ok = "ok" if p95 < TARGET_MS else "SLOW"
        if not name.startswith("baseline"):
            worst = max(worst, p95)
        print(f"{name:32} {med:10.1f} {p95:8.1f} {med / floor:8.1f} {ok:>8}")
    print(f"patch download (repo-0, {patch.text.count('diff --git')} files): {patch_ms:.0f} ms "
          f"(status {patch.status_code})")
    print(f"worst page p95 {worst:.1f} ms vs target {TARGET_MS:.0f} ms: ratio {worst / TARGET_MS:.2f}")


if __name__ == "__main__":
    main()

"""Review app page render time with many agent proofs in the database.

Target (issue 7): every page renders in < 200 ms with 10,000 proofs.
Pages are requested in-process through the whole ASGI stack (FastAPI
TestClient: middleware, routing, queries, Jinja2). The baseline, measured in
the same run, is the app's cheapest response (the stylesheet), i.e. the
framework floor; the ratio says how much each page costs on top of it.

    python bench/bench_review.py [--proofs 10000] [--repeat 30]
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
                    theorem_rows.append({"repo_id": repo_id, "file_path": path, "full_name": f"Repo{r}.File{f}.t{i}",
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proofs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
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
            "list, name search": "/proofs?q=File7.t1",
            "list sorted by time": "/proofs?sort=time",
            "list sorted by flags": "/proofs?sort=flags",
            "proof page": f"/proofs/{pid}",
            "proof page, time queue": f"/proofs/{pid}?sort=time",
        }
        with TestClient(create_app(db), base_url="http://127.0.0.1") as client:
            results = {name: measure(client, url, args.repeat) for name, url in pages.items()}
            t0 = time.perf_counter()
            patch = client.get("/patch?repo=repo-0&status=accepted")
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

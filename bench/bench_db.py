"""Database speed and memory, against a LeanAgent-style JSON store measured in the same run.

Targets (issue 2), on the shared real sample (2,000 theorems):
  import into SQLite < 3 s; unchanged re-import < 1 s; export < 2 s.
At scale (50 copies of the sample as 50 repositories, 100,000 theorems):
  recording one found proof < 20 ms; adding a 51st repository costs no more
  than the first; resident memory < 500 MB.
The baseline is a plain JSON store that loads everything, changes it and
writes everything back, which is how LeanAgent's JSON "dynamic database" works.

    python bench/bench_db.py [--copies 50] [--sample PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from leanagent.db.engine import open_db
from leanagent.db.export import export_dataset
from leanagent.db.ingest import holds, store_repo
from leanagent.db.proofs import AttemptRecord, record_attempt
from leanagent.settings import sample_path
from leanagent.sources.leandojo_format import read_dataset

JSON_UPDATE = r"""
import json, sys, time
path, name = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
with open(path) as fh:
    store = json.load(fh)
for repo in store["repositories"]:
    for thm in repo["theorems"]:
        if thm["full_name"] == name:
            thm["proof"] = ["simp"]
            break
with open(path, "w") as fh:
    json.dump(store, fh)
# VmHWM, this process's own peak: ru_maxrss would carry over the driver's peak through fork and exec.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024
print(json.dumps({"seconds": time.perf_counter() - t0, "max_rss_mb": peak}))
"""


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def json_add_repository(path: Path, repo: dict) -> float:
    """LeanAgent's way: load the whole store, add one repository, write the whole store back."""
    t0 = time.perf_counter()
    store = json.loads(path.read_text()) if path.exists() else {"repositories": []}
    store["repositories"].append(repo)
    path.write_text(json.dumps(store))
    return time.perf_counter() - t0


def json_single_proof_update(path: Path, name: str) -> dict:
    out = subprocess.run([sys.executable, "-c", JSON_UPDATE, str(path), name], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=50)
    ap.add_argument("--sample", type=Path, default=sample_path())
    args = ap.parse_args()
    if not (args.sample / "random" / "val.json").is_file():
        sys.exit(f"the shared sample is not at {args.sample}: pass --sample or set LEANAGENT_SAMPLE")
    raw_theorems = json.loads((args.sample / "random" / "val.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="leanagent-bench-db-"))
    db = open_db(f"sqlite:///{work / 'bench.sqlite'}")

    print("== the 2,000-theorem sample, SQLite")
    record, t_read = timed(read_dataset, args.sample, name="sample-0")
    res, t_store = timed(store_repo, db, record)
    t_import = t_read + t_store
    rec2, t_read2 = timed(read_dataset, args.sample, name="sample-0", is_known=holds(db))
    res2, t_store2 = timed(store_repo, db, rec2)
    assert res2.action == "unchanged"
    _, t_export = timed(export_dataset, db, work / "export")
    json_store = work / "store.json"
    t_json_add = json_add_repository(json_store, {"name": "sample-0", "theorems": raw_theorems})
    print(f"import          {t_import:7.3f} s   (target < 3 s)   JSON store add-repository {t_json_add:7.3f} s")
    print(f"re-import same  {t_read2 + t_store2:7.3f} s   (target < 1 s)")
    print(f"export          {t_export:7.3f} s   (target < 2 s)")

    print(f"\n== at scale: {args.copies} copies of the sample as {args.copies} repositories")
    first_cost = t_store
    costs = []
    for i in range(1, args.copies):
        rec = read_dataset(args.sample, name=f"sample-{i}")
        _, t = timed(store_repo, db, rec)
        costs.append(t)
        json_add_repository(json_store, {"name": f"sample-{i}", "theorems": raw_theorems})
    n_theorems = args.copies * len(raw_theorems)
    print(f"loaded {n_theorems:,} theorems; repository import times: first {first_cost:.3f} s, "
          f"median of the rest {statistics.median(costs):.3f} s")
    rec = read_dataset(args.sample, name=f"sample-{args.copies}")
    _, t_51 = timed(store_repo, db, rec)
    t_json_51 = json_add_repository(json_store, {"name": f"sample-{args.copies}", "theorems": raw_theorems})
    print(f"adding repository #{args.copies + 1}: leanagent {t_51:.3f} s vs its first {first_cost:.3f} s "
          f"(ratio {t_51 / first_cost:.2f}; target <= 1)   JSON store {t_json_51:.3f} s vs its first "
          f"{t_json_add:.3f} s")

    with db.session() as s:
        from sqlalchemy import select

        from leanagent.db.models import Repository, Theorem, TheoremStatus

        ids = s.scalars(select(Theorem.id).join(Repository).where(Theorem.status == TheoremStatus.SORRY)
                        .order_by(Theorem.id)).all()
        name = s.get(Theorem, ids[-1]).full_name
    times = []
    for tid in ids[-10:]:
        attempt = AttemptRecord(theorem_id=tid, model="bench", budget="bench", env="replay", outcome="proved",
                                tactics=["simp"], states=["⊢ x", "no goals"], expansions=1)
        _, t = timed(record_attempt, db, attempt)
        times.append(t)
    t_proof = statistics.median(times)
    rss = rss_mb()
    js = json_single_proof_update(json_store, name)
    size_mb = json_store.stat().st_size / 2**20
    print(f"\nrecord one found proof   leanagent {t_proof * 1000:8.2f} ms   JSON store {js['seconds'] * 1000:10.1f} ms"
          f"   ratio {js['seconds'] / t_proof:,.0f}x   (target < 20 ms; LeanAgent measured 20.7 s)")
    print(f"resident memory          leanagent {rss:8.1f} MB   JSON store {js['max_rss_mb']:10.1f} MB"
          f"   (target < 500 MB; LeanAgent measured 1.7 GB; JSON file {size_mb:.0f} MB)")
    db.dispose()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

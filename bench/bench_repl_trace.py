"""REPL tracer speed: records per second from the REPL's answers, against `import` of the same data in
LeanDojo's format, measured in the same run (issue 26; target: 2,000 steps/s).

The example's Lean sources (examples/nat-list-src) are elaborated once by the stand-in REPL
(tests/fake_repl, the same script as the parity test) and its answers are kept; the tracer is then
timed turning those answers into records (steps in LeanDojo's order, premise annotations, theorems,
corpus) with a session that replays them, so Lean's (or the stand-in's) own time is left out, as it
is for `import`, which reads what LeanDojo already traced. Both sides also store into SQLite.

    python bench/bench_repl_trace.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from leanagent.db.engine import open_db  # noqa: E402
from leanagent.db.ingest import store_repo  # noqa: E402
from leanagent.lean.repl import ReplSession  # noqa: E402
from leanagent.sources.leandojo_format import read_dataset  # noqa: E402
from leanagent.sources.repl_trace import repl_trace  # noqa: E402


class Recording(ReplSession):
    """A session that asks the REPL once per request and keeps the answer."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.answers: dict = {}

    def command(self, text, env=None, timeout=None, line_offset=0, asks=None):
        out = super().command(text, env, timeout, line_offset, asks)
        self.answers[(text, line_offset, asks)] = out
        return out


class Replaying:
    """The recorded answers, given back without any REPL."""

    def __init__(self, answers: dict):
        self.answers = answers

    def command(self, text, env=None, timeout=None, line_offset=0, asks=None):
        return self.answers[(text, line_offset, asks)]

    def check_text(self, text, timeout=None, asks=None):
        from leanagent.lean.repl import header_end

        h = header_end(text)
        return self.command(text[h:], 0, timeout, text.count("\n", 0, h), asks)

    def close(self):
        pass


def record_answers(work: Path):
    import json

    from tests.fake_repl.nat_list_script import script

    repl_dir = work / "repl"
    (repl_dir / ".lake" / "build" / "bin").mkdir(parents=True)
    (repl_dir / "lean-toolchain").write_text("leanprover/lean4:v4.9.0\n")
    (repl_dir / ".lake" / "build" / "bin" / "repl").symlink_to(ROOT / "tests" / "fake_repl" / "repl")
    (work / "script.json").write_text(json.dumps(script(), ensure_ascii=False))
    os.environ["FAKE_REPL_SCRIPT"] = str(work / "script.json")
    os.environ["PATH"] = f"{ROOT / 'tests' / 'fake_repl'}{os.pathsep}{os.environ['PATH']}"
    from leanagent.lean.repl import ReplOptions

    src = work / "nat-list-src"
    shutil.copytree(ROOT / "examples" / "nat-list-src", src)
    session = Recording(src, ReplOptions(path=str(repl_dir), lake=str(ROOT / "tests" / "fake_repl" / "lake")))
    try:
        repl_trace(src, "nat-list", session=session, lean_version="v4.9.0")
    finally:
        session.close()
    return src, session.answers


def timed(fn, rounds: int) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = None
    for _ in range(rounds):
        out = fn()
    return (time.perf_counter() - t0) / rounds, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src, answers = record_answers(work)
        replay = Replaying(answers)
        t_repl, (record, counts) = timed(lambda: repl_trace(src, "nat-list", session=replay,
                                                            lean_version="v4.9.0"), args.rounds)
        t_dojo, dataset = timed(lambda: read_dataset(ROOT / "examples" / "nat-list"), args.rounds)
        steps = sum(len(t.steps) for t in record.theorems)
        dojo_steps = sum(len(t.steps) for t in dataset.theorems)
        store = []
        for i, rec in enumerate((record, dataset)):
            db = open_db(f"sqlite:///{work / f'db{i}.sqlite'}")
            t0 = time.perf_counter()
            store_repo(db, rec)
            store.append(time.perf_counter() - t0)
            db.dispose()
    print(f"REPL answers -> records: {steps} steps, {len(record.theorems)} theorems in {t_repl * 1000:.1f} ms: "
          f"{steps / t_repl:,.0f} steps/s (target 2,000)")
    print(f"LeanDojo format -> records (import): {dojo_steps} steps in {t_dojo * 1000:.1f} ms: "
          f"{dojo_steps / t_dojo:,.0f} steps/s; ratio REPL/import {t_repl / t_dojo:.2f}x the time")
    print(f"storing into SQLite: REPL records {store[0] * 1000:.0f} ms, imported records {store[1] * 1000:.0f} ms; "
          f"with storing: REPL {steps / (t_repl + store[0]):,.0f} steps/s, import "
          f"{dojo_steps / (t_dojo + store[1]):,.0f} steps/s")


if __name__ == "__main__":
    main()

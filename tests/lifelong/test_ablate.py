"""`leanagent ablate`: the variants file, the comparison's rules, and a whole (tiny) study end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from leanagent.errors import ConfigError
from leanagent.lifelong.ablate import load_variants, planned_runs, variant_config
from leanagent.lifelong.ablation_report import Stat, deciding_repository, final_rows, gather, judge, stat, verdict

ROOT = Path(__file__).resolve().parents[2]
TINY = """\
base:
  learn: {prove_matrix: true, proposer: model, prove_limit: 1, prove_timeout: 2, max_expansions: 1,
          num_tactics: 2, eval_limit: 2, generator_epochs: null, generator_max_steps: 1}
  train: {max_minutes: null, epochs: 10, max_steps: 1, batch_size: 4, warmup_steps: 1}
  retriever: {encoder: tiny-bert}
  generator: {d_model: 8, num_layers: 1, num_heads: 2, d_ff: 16, max_output_bytes: 8, num_premises: 0}
variants:
  default: {}
  hard-first: {learn: {order: hard-first}, train: {within_repo_order: easy-first, rehearsal_fraction: 0.5}}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "variants.yaml"
    path.write_text(text)
    return path


def test_variants_file_errors_name_the_key_path(tmp_path):
    with pytest.raises(ConfigError, match=r"variants\.fast\.trian"):
        load_variants(_write(tmp_path, "variants:\n  fast: {trian: {max_steps: 1}}\n"))
    with pytest.raises(ConfigError, match=r"variants\.fast\.train.*max_step"):
        load_variants(_write(tmp_path, "variants:\n  fast: {train: {max_step: 1}}\n"))
    with pytest.raises(ConfigError, match="default: no variant named 'default'"):
        load_variants(_write(tmp_path, "variants:\n  fast: {}\n"))
    with pytest.raises(ConfigError, match="no such file"):
        load_variants(tmp_path / "missing.yaml")


def test_a_variant_is_the_base_then_its_own_options_and_runs_once_per_seed(tmp_path):
    spec = load_variants(_write(tmp_path, TINY.replace("  default: {}", "  default: {seeds: [1, 2]}")))
    cfg = variant_config(spec, "hard-first")
    assert (cfg.learn.order, cfg.train.rehearsal_fraction, cfg.train.within_repo_order) == ("hard-first", 0.5,
                                                                                          "easy-first")
    assert (cfg.train.max_steps, cfg.learn.prove_matrix, cfg.generator.d_model) == (1, True, 8)  # from base
    assert variant_config(spec, "default").learn.order == "easy-count"  # the loop's own default
    assert planned_runs(spec) == [("default", 1), ("default", 2), ("hard-first", 3407)]
    assert planned_runs(spec, ["hard-first"]) == [("hard-first", 3407)]
    with pytest.raises(ConfigError, match="no variant named nope"):
        planned_runs(spec, ["nope"])


def test_a_better_verdict_that_one_small_repository_decides_is_demoted():
    # Two big repositories tie; a tiny one swings from 0 to 50 (one or two test theorems).
    default = [{"big1": 30.0, "big2": 28.0, "tiny": 0.0}, {"big1": 29.0, "big2": 29.0, "tiny": 0.0}]
    variant = [{"big1": 29.5, "big2": 28.5, "tiny": 50.0}, {"big1": 29.0, "big2": 29.5, "tiny": 25.0}]
    assert deciding_repository(variant, default) == "tiny"
    robust = [{"big1": 35.0, "big2": 34.0, "tiny": 0.0}, {"big1": 36.0, "big2": 33.0, "tiny": 0.0}]
    assert deciding_repository(robust, default) is None
    assert final_rows({"repositories": ["a", "b"], "matrices": {"R@10": [[1.0, None], [2.0, 3.0]]}}) == \
        {"R@10": {"a": 2.0, "b": 3.0}}

    def run(variant, row):
        aa = sum(row.values()) / len(row)
        return {"variant": variant, "lifelong": {"R@10": {"average_accuracy": aa, "forgetting": 0.0}},
                "final": {"R@10": row}}

    runs = [run("default", r) for r in default] + [run("small", r) for r in variant] + \
        [run("robust", r) for r in robust]
    table = gather(runs)
    assert verdict(table["small"]["R@10"], table["default"]["R@10"]) == "better"  # the seed rule alone
    assert judge(runs, table, "small", "default", "R@10") == "within spread without tiny"
    assert judge(runs, table, "robust", "default", "R@10") == "better"
    # NaN is undefined, as in the metrics; runs without final rows (older reports) are not checked
    assert deciding_repository([{"a": 40.0, "b": float("nan")}], [{"a": 30.0, "b": 90.0}]) is None
    no_rows = [{**r, "final": {}} for r in runs]
    assert judge(no_rows, gather(no_rows), "small", "default", "R@10") == "better"
    # and symmetrically for `worse`: the default's tiny repository at 50, the variant's at 0
    flipped = [run("default", r) for r in variant] + [run("small", r) for r in default]
    table = gather(flipped)
    assert verdict(table["small"]["R@10"], table["default"]["R@10"]) == "worse"
    assert judge(flipped, table, "small", "default", "R@10") == "within spread without tiny"


def test_verdict_needs_more_than_the_defaults_spread():
    base = {"average_accuracy": stat([10.0, 14.0]), "forgetting": stat([2.0, 4.0])}
    assert verdict({"average_accuracy": stat([15.0]), "forgetting": stat([3.0])}, base) == "better"
    assert verdict({"average_accuracy": stat([15.0]), "forgetting": stat([5.0])}, base) == "within spread"
    assert verdict({"average_accuracy": stat([12.0]), "forgetting": stat([0.0])}, base) == "within spread"
    assert verdict({"average_accuracy": stat([9.0]), "forgetting": stat([0.0])}, base) == "worse"
    assert verdict({"average_accuracy": stat([None]), "forgetting": stat([])}, base) == "n/a"
    # Seed by seed: a mean above the default's best is not enough when one seed falls inside its spread.
    assert verdict({"average_accuracy": stat([20.0, 13.0]), "forgetting": stat([0.0, 0.0])}, base) == "within spread"
    assert verdict({"average_accuracy": stat([20.0, 15.0]), "forgetting": stat([0.0, 0.0])}, base) == "better"
    assert verdict({"average_accuracy": stat([20.0, 15.0]), "forgetting": stat([0.0, 6.0])}, base) == "within spread"
    assert verdict({"average_accuracy": stat([9.0, 11.0]), "forgetting": stat([0.0, 0.0])}, base) == "within spread"
    assert stat([1.0, None, 3.0]) == Stat(2.0, 1.0, 3.0, 2)
    runs = [{"variant": "a", "lifelong": {"R@10": {"average_accuracy": 10.0}}},
            {"variant": "a", "lifelong": {"R@10": {"average_accuracy": 20.0}}}]
    assert gather(runs)["a"]["R@10"]["average_accuracy"] == Stat(15.0, 10.0, 20.0, 2)


def _ablate(tmp_path: Path, *extra: str):
    cmd = [sys.executable, "-m", "leanagent", "ablate", "--repos", str(ROOT / "examples" / "repos.yaml"),
           "--variants", str(tmp_path / "variants.yaml"), "--out", str(tmp_path / "study"), *extra]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_a_tiny_study_end_to_end_then_resumes_without_work(tmp_path):
    from leanagent.db.engine import open_db
    from leanagent.db.models import Evaluation, Run, RunStep

    _write(tmp_path, TINY)
    res = _ablate(tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    report = tmp_path / "study" / "report" / "ablation.md"
    assert res.stdout.strip() == f"report: {report}"
    text = report.read_text()
    for heading in ("premise retrieval R@10", "held-out theorems proved in replay", "| hard-first | 1 |",
                    "beside the same runs' baselines", "| frequency | one-step own proofs | oracle ceiling |"):
        assert heading in text
    assert (tmp_path / "study" / "report" / "ablation.png").stat().st_size > 1000
    data = json.loads((tmp_path / "study" / "report" / "ablation.json").read_text())
    assert [(r["variant"], r["seed"]) for r in data["runs"]] == [("default", 3407), ("hard-first", 3407)]
    orders, start, shared = {}, {}, {}
    for name in ("default", "hard-first"):
        db = open_db(f"sqlite:///{tmp_path / 'study' / 'runs' / name / 'seed-3407' / 'leanagent.sqlite'}")
        try:
            with db.session() as s:
                runs = s.scalars(select(Run).where(Run.kind == "learn")).all()
                assert len(runs) == 1  # each variant's own database holds its run only
                cells = s.execute(select(Evaluation.trained_index, Evaluation.eval_repo_id)
                                  .where(Evaluation.run_id == runs[0].id, Evaluation.metric == "replay_proved")).all()
                orders[name] = runs[0].config["learn"]["order"]
                start[name] = sorted((e.metric, e.eval_repo_id, e.value) for e in s.scalars(
                    select(Evaluation).where(Evaluation.run_id == runs[0].id, Evaluation.trained_index == -1)))
                shared[name] = {st.key: "shared_from" in (st.details or {}) for st in s.scalars(
                    select(RunStep).where(RunStep.run_id == runs[0].id, RunStep.key.like("%/start")))}
        finally:
            db.dispose()
        # (T + 1) x T cells of the replay-proved matrix: the starting row and one per repository.
        assert len(set(cells)) == 3 * 2
    assert orders == {"default": "easy-count", "hard-first": "hard-first"}
    # One seed: the second run read the starting rows the first computed, and stored the same cells.
    assert shared == {"default": {"evaluate/start": False, "prove/start": False},
                      "hard-first": {"evaluate/start": True, "prove/start": True}}
    assert start["default"] == start["hard-first"] and any(m == "replay_proved" for m, _, _ in start["default"])
    # Again: every step is done, so nothing trains or proves; the report is rebuilt the same.
    again = _ablate(tmp_path, "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    events = [json.loads(line) for line in again.stdout.splitlines()]
    assert not [e for e in events if e.get("event") == "step" and e.get("status") == "done"]
    assert report.read_text() == text

"""The lifelong protocol: stage i of `learn` reads repositories 0..i only; resume needs the same options."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanagent.data import SourceScope
from leanagent.db.training_data import proposer_steps
from leanagent.errors import ConfigError
from leanagent.lifelong import learn_report, stage_evaluation
from leanagent.lifelong.learn import learn
from leanagent.lifelong.learn_options import LearnConfig, LearnOptions, cpu_defaults
from leanagent.lifelong.runs import config_differences

REPOS = Path(__file__).resolve().parents[2] / "examples" / "repos.yaml"


@pytest.fixture
def recorder(monkeypatch, tmp_path):
    """`learn` with its trainers, evaluation and proving replaced by recorders of what each stage saw."""
    import leanagent.prover.campaign as campaign_mod
    import leanagent.training.generator as gen_mod
    import leanagent.training.retriever as ret_mod

    seen = {"retriever": [], "generator": [], "scopes": []}

    def trainer(kind):
        def train(db, repos, *a, **k):
            seen[kind].append(list(repos))
            stage = {"folder": str(tmp_path / kind / repos[-1]), "stats": {}, "examples": 0}
            return {"by_repo": {repos[-1]: stage}}
        return train

    monkeypatch.setattr(ret_mod, "train_retriever", trainer("retriever"))
    monkeypatch.setattr(gen_mod, "train_generator", trainer("generator"))
    monkeypatch.setattr(stage_evaluation, "evaluate_stage", lambda run, *a, **k: {})
    monkeypatch.setattr(learn_report, "write_learn_report", lambda run, order: tmp_path / "summary.md")

    def run_campaign(db, c, **kw):
        seen["scopes"].append(c.proposer.scope())
        return campaign_mod.CampaignResult()

    monkeypatch.setattr(campaign_mod, "run_campaign", run_campaign)
    return seen


def _cfg(**learn_opts) -> LearnConfig:
    train, retr, gen = cpu_defaults()
    return LearnConfig(learn=LearnOptions(env="replay", proposer="frequency", **learn_opts), train=train,
                       retriever=retr, generator=gen)


def test_stage_i_never_sees_a_later_repository(db, tmp_path, recorder):
    learn(db, REPOS, tmp_path / "home", _cfg())
    order = recorder["retriever"][-1]
    assert len(order) == 2
    first, second = order
    assert recorder["retriever"] == recorder["generator"] == [[first], [first, second]]
    assert recorder["scopes"] == [SourceScope((first,), ("train",)), SourceScope((first, second), ("train",))]
    # What the proposers load for stage 0 holds no step of the second repository.
    from sqlalchemy import select

    from leanagent.db.models import Repository, TacticStep, Theorem

    with db.session() as s:
        later = set(s.scalars(select(TacticStep.id).join(Theorem).join(Repository).where(Repository.name == second)))
    stage0 = proposer_steps(db, recorder["scopes"][0])
    assert stage0 and not {st.key for st in stage0} & later


def test_resume_refuses_other_options_and_names_them(db, tmp_path, recorder):
    learn(db, REPOS, tmp_path / "home", _cfg())
    learn(db, REPOS, tmp_path / "home", _cfg())  # same options: resumes (here: nothing left to do)
    with pytest.raises(ConfigError, match=r"learn\.max_expansions.*differ") as exc:
        learn(db, REPOS, tmp_path / "home", _cfg(max_expansions=7))
    assert "--from-scratch" in exc.value.fix
    learn(db, REPOS, tmp_path / "home", _cfg(max_expansions=7), from_scratch=True)


def test_config_differences_are_dotted_keys():
    old = {"learn": {"a": 1, "b": [1, 2]}, "train": {"lr": 0.1}, "env": "replay"}
    new = {"learn": {"a": 2, "b": (1, 2)}, "train": {"lr": 0.1, "x": None}, "env": "replay"}
    assert config_differences(old, new) == ["learn.a"]
    assert config_differences(old, {**new, "env": "leandojo"}) == ["env", "learn.a"]

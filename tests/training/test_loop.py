"""The shared Lightning loop: fit, progressive stages, atomic checkpoints, resume, EWC."""

from __future__ import annotations

import json

import torch

from leanagent.training.ewc import EWC_FILE, EwcState, compute_fisher
from leanagent.training.loop import Stage, TrainOptions, fit, resolve_precision, train_progressive, warmup_factor


def _line(a: float, n: int = 32):
    return [(x / n, a * x / n) for x in range(n)]


def test_precision_and_warmup_are_pure():
    assert resolve_precision("auto") == ("bf16-mixed" if torch.cuda.is_available() else "32-true")
    assert resolve_precision("16-mixed") == "16-mixed"
    assert [warmup_factor(s, 4) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0


def test_fit_lowers_the_loss(toy):
    model = toy()
    data = _line(2.0)
    before = model.loss(model.collate(data)).item()
    stats = fit(model, data, TrainOptions(epochs=20, batch_size=8, lr=0.1, warmup_steps=0))
    assert stats["steps"] == 80 and model.loss(model.collate(data)).item() < before / 4
    assert not model.training


def test_progressive_stages_chain_checkpoints_and_resume(toy, tmp_path):
    built = []

    def build(prev):
        built.append(prev)
        return toy.load(prev)

    stages = [Stage("a", _line(1.0)), Stage("b", _line(-1.0))]
    seen = []
    opts = TrainOptions(epochs=2, batch_size=8, lr=0.05, warmup_steps=0, rehearsal_fraction=0.25)
    res = train_progressive(build, stages, opts, tmp_path, extra_config={"note": 1},
                            on_stage_end=lambda m, k, st, folder: seen.append((k, st.name, folder.name)) or {"k": k})
    assert built == [None]  # stage b continued from stage a's weights in memory
    assert [r.folder.name for r in res] == ["00-a", "01-b"] and not any(r.skipped for r in res)
    assert seen[0][2].startswith(".tmp-00-a")  # metrics written inside the temporary folder before the rename
    cfg = json.loads((tmp_path / "01-b" / "config.json").read_text())
    assert cfg["stage"]["from"].endswith("00-a") and cfg["train"]["rehearsal_fraction"] == 0.25 and cfg["note"] == 1
    assert json.loads((tmp_path / "01-b" / "metrics.json").read_text()) == {"k": 1}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]

    # Kill after stage a: rerunning reuses it and starts stage b from its checkpoint.
    import shutil

    shutil.rmtree(tmp_path / "01-b")
    built.clear()
    res = train_progressive(build, stages, opts, tmp_path)
    assert [r.skipped for r in res] == [True, False] and built == [tmp_path / "00-a"]


def test_ewc_penalty_and_fisher(toy, tmp_path):
    model = toy(w=1.0)
    data = _line(3.0)
    fisher = compute_fisher(model, data, batch_size=8, max_batches=4)
    assert all((f >= 0).all() for f in fisher.values()) and fisher["lin.weight"].item() > 0
    state = EwcState.combine(None, fisher, model)
    assert state.penalty(model).item() == 0.0
    with torch.no_grad():
        model.lin.weight.add_(1.0)
    assert state.penalty(model).item() > 0
    state.save(tmp_path)
    again = EwcState.load(tmp_path)
    assert torch.equal(again.fisher["lin.weight"], state.fisher["lin.weight"])
    doubled = EwcState.combine(again, fisher, model)  # online EWC: Fishers add up
    assert torch.allclose(doubled.fisher["lin.weight"], 2 * fisher["lin.weight"])


def test_ewc_runs_automatically_between_stages_and_pulls_towards_old_weights(toy, tmp_path):
    stages = [Stage("a", _line(1.0)), Stage("b", _line(-1.0))]
    base = dict(epochs=5, batch_size=8, lr=0.1, warmup_steps=0, rehearsal_fraction=0.0)
    plain = train_progressive(toy.load, stages, TrainOptions(**base), tmp_path / "plain")
    ewc = train_progressive(toy.load, stages, TrainOptions(**base, ewc_lambda=1000.0), tmp_path / "ewc")
    assert (ewc[0].folder / EWC_FILE).is_file() and not (plain[0].folder / EWC_FILE).exists()
    w_a = toy.load(ewc[0].folder).lin.weight.item()
    w_plain, w_ewc = (toy.load(r[1].folder).lin.weight.item() for r in (plain, ewc))
    assert abs(w_ewc - w_a) < abs(w_plain - w_a)


def test_replay_mixes_earlier_repositories_into_every_batch(toy, tmp_path):
    class Recording(toy):
        batches: list = []

        def collate(self, examples):
            Recording.batches.append(list(examples))
            return super().collate(examples)

    a, b = [(0.0, 1.0)] * 16, [(1.0, 2.0)] * 16
    opts = TrainOptions(epochs=1, batch_size=4, warmup_steps=0, rehearsal_fraction=0.25)
    train_progressive(lambda prev: Recording(), [Stage("a", a), Stage("b", b)], opts, tmp_path)
    first, second = Recording.batches[:4], Recording.batches[4:]
    assert all(ex == (0.0, 1.0) for batch in first for ex in batch)  # nothing to replay on the first repo
    assert len(second) == 6 and all(sum(ex == (0.0, 1.0) for ex in batch) == 1 for batch in second)


def test_ctrl_c_during_training_stays_a_keyboard_interrupt(toy):
    """Lightning turned Ctrl-C into sys.exit(1) and ignored SIGINT from then on: `learn` ended silently
    with code 1 and the run looked failed."""
    import signal

    import pytest

    model = toy()
    calls = []
    real_loss = model.loss

    def loss(batch):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_loss(batch)

    model.loss = loss
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        fit(model, _line(2.0), TrainOptions(epochs=5, batch_size=8, lr=0.1, warmup_steps=0))
    assert signal.getsignal(signal.SIGINT) is handler  # Ctrl-C works again afterwards

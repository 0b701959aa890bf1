"""`--device cuda:1` reaches every place that builds or runs a model, checked on the CPU.

Two bf16 GPUs are pretended (`device._cuda_facts`), so that `auto` would be `cuda:0`. `Placement.put` is
replaced by a recorder: nothing moves, the models stay on the CPU and run there, and each placement is
noted with the device it was asked for. Lightning's Trainer is replaced by one that notes where it would
train. Every place must be asked for `cuda:1`, never `cuda:0`.
"""

from __future__ import annotations

import pytest

from leanagent import device as dev
from leanagent.device import Placement
from leanagent.generator.options import ProposerOptions

TINY = dict(d_model=16, num_layers=2, num_heads=2, d_ff=32, max_output_bytes=8, max_input_bytes=64)


@pytest.fixture
def placed(monkeypatch) -> list[tuple[object, str]]:
    """(module, device) for every `Placement.put`, on a machine pretending two GPUs."""
    monkeypatch.setattr(dev, "_cuda_facts", lambda: (2, True))
    seen: list[tuple[object, str]] = []

    def put(self, module, *, inference: bool = False):
        seen.append((module, self.device))
        return module

    monkeypatch.setattr(Placement, "put", put)
    return seen


def _kinds(placed) -> dict[str, set[str]]:
    """{class name of a placed module: the devices it was put on}."""
    out: dict[str, set[str]] = {}
    for module, where in placed:
        out.setdefault(type(module).__name__, set()).add(where)
    return out


@pytest.fixture
def trainers(monkeypatch) -> list[tuple]:
    """(accelerator, devices, precision) of every Lightning Trainer made; none of them trains."""
    import pytorch_lightning

    made: list[tuple] = []

    class Trainer:
        def __init__(self, **kwargs):
            made.append((kwargs["accelerator"], kwargs["devices"], kwargs["precision"]))
            self.callback_metrics, self.global_step, self.interrupted = {}, 0, False

        def fit(self, module, loader):
            pass

    monkeypatch.setattr(pytorch_lightning, "Trainer", Trainer)
    return made


def test_the_prover_builds_its_shared_folder_and_its_workers_models_on_the_named_gpu(example_db, db_url, placed,
                                                                                      tmp_path):
    from leanagent.generator.model import GeneratorOptions, TacticModel
    from leanagent.prover import workers

    TacticModel.create(GeneratorOptions(**TINY)).save(tmp_path / "gen")
    options = ProposerOptions(proposer="merged", checkpoint=str(tmp_path / "gen"), knn_encoder="tiny-bert",
                              retrieval="none", source_split="all")
    spec = workers.WorkerSpec(env="replay", db_url=db_url, proposer=options, device="cuda:1")

    shared = workers.share_proposer_data(spec)  # the driver embeds the recorded states (the kNN encoder)
    assert _kinds(placed) == {"Encoder": {"cuda:1"}}
    for worker_spec in (shared, spec):  # a worker opening the shared folder, and one reading the database
        placed.clear()
        worker = workers.ProverWorker(worker_spec)
        try:
            assert _kinds(placed) == {"TacticModel": {"cuda:1"}, "Encoder": {"cuda:1"}}
            assert worker.searches == 8 and worker.search.config.expand_batch == 8  # a GPU's defaults
        finally:
            worker.close()


def test_training_and_the_ewc_fisher_run_on_the_named_gpu(example_db, placed, trainers, tmp_path, monkeypatch):
    from leanagent.retrieval.model import RetrieverOptions
    from leanagent.training import loop
    from leanagent.training.loop import TrainOptions
    from leanagent.training.retriever import train_retriever

    fisher_on = []
    real_fisher = loop.compute_fisher

    def compute_fisher(model, *args, **kwargs):
        fisher_on.append(next(where for module, where in reversed(placed) if module is model))
        return real_fisher(model, *args, **kwargs)

    monkeypatch.setattr(loop, "compute_fisher", compute_fisher)
    train_retriever(example_db, ["nat-list"], RetrieverOptions(encoder="tiny-bert"),
                    TrainOptions(max_steps=1, batch_size=4, ewc_lambda=0.1, ewc_batches=1), tmp_path / "run",
                    device="cuda:1")
    assert trainers == [("gpu", [1], "bf16-mixed")]
    assert fisher_on == ["cuda:1"]
    # Built, trained, and placed again for its premise index (`open_dense`): always on cuda:1.
    assert _kinds(placed) == {"DualEncoder": {"cuda:1"}} and len(placed) >= 3


def test_the_tactic_generator_trains_on_the_named_gpu(example_db, placed, trainers, tmp_path):
    from leanagent.generator.model import GeneratorOptions
    from leanagent.training.generator import train_generator
    from leanagent.training.loop import TrainOptions

    train_generator(example_db, ["nat-list"], GeneratorOptions(**TINY),
                    TrainOptions(max_steps=1, batch_size=4, loader_workers=0), tmp_path / "run", retrieval="none",
                    device="cuda:1")
    assert trainers == [("gpu", [1], "bf16-mixed")]
    assert _kinds(placed) == {"TacticModel": {"cuda:1"}}


def test_auto_still_means_the_first_gpu(example_db, db_url, placed):
    """The recorder tells the devices apart: without --device the driver's build is on cuda:0."""
    from leanagent.prover import workers

    options = ProposerOptions(proposer="knn", knn_encoder="tiny-bert", retrieval="none", source_split="all")
    workers.share_proposer_data(workers.WorkerSpec(env="replay", db_url=db_url, proposer=options))
    assert _kinds(placed) == {"Encoder": {"cuda:0"}}

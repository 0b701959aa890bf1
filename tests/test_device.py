"""The device policy (leanagent/device.py), on the CPU: a pretended GPU checks the CUDA decisions."""

from __future__ import annotations

import pytest
import torch

from leanagent import device as dev
from leanagent.device import (DEFAULTS, Placement, autocast_for, defaults_for, device_spec, driver_placement,
                              gpus_per_worker, inputs_to, placement)
from leanagent.errors import ConfigError


@pytest.fixture
def gpus(monkeypatch):
    """Pretend `n` visible CUDA devices (with or without bf16)."""
    def pretend(n: int, bf16: bool = True):
        monkeypatch.setattr(dev, "_cuda_facts", lambda: (n, bf16))
    return pretend


def test_auto_is_the_first_gpu_when_there_is_one_else_the_cpu(gpus):
    gpus(0)
    assert placement("auto") == placement(None) == Placement("cpu")
    gpus(2)
    assert placement("auto") == Placement("cuda:0", True)
    assert placement("CUDA:1") == Placement("cuda:1", True) and placement("cuda").index == 0
    assert placement("cpu") == Placement("cpu")  # asked for: the CPU even with GPUs
    assert placement(Placement("cuda:1")) == Placement("cuda:1")  # already resolved: unchanged


def test_bad_specs_and_missing_gpus_are_config_errors_naming_the_fix(gpus):
    gpus(0)
    with pytest.raises(ConfigError, match="no CUDA device") as exc:
        placement("cuda")
    assert "--device cpu" in exc.value.fix
    gpus(2)
    with pytest.raises(ConfigError, match="only 2 CUDA device"):
        placement("cuda:2")
    for bad in ("gpu", "cuda:x", "cuda:", "tpu:0"):
        with pytest.raises(ConfigError, match="unknown device"):
            device_spec(bad)
    assert device_spec(" Cuda:3 ") == "cuda:3" and device_spec(None) == "auto"


def test_precision_and_per_device_choices(gpus):
    cpu, gpu, old_gpu = Placement("cpu"), Placement("cuda:1", True), Placement("cuda:0", False)
    assert cpu.train_precision() == "32-true" and cpu.inference_dtype == "float32"
    assert gpu.train_precision() == "bf16-mixed" and gpu.inference_dtype == "bfloat16"
    assert old_gpu.train_precision() == "16-mixed" and old_gpu.inference_dtype == "float32"
    assert gpu.train_precision("32-true") == "32-true"  # an explicit option wins
    assert cpu.lightning() == ("cpu", 1) and gpu.lightning() == ("gpu", [1])
    assert cpu.defaults.expand_batch == 1 and gpu.defaults.expand_batch == 8
    assert cpu.defaults.searches == 1 and gpu.defaults.searches == 8  # concurrent searches per prover worker
    assert cpu.defaults.encode_batch == 16 and gpu.defaults.encode_batch == 512  # texts per encoder call
    assert cpu.defaults.fork_pool and not gpu.defaults.fork_pool  # CUDA does not survive fork: Ray on GPUs
    assert not cpu.defaults.pin_memory and gpu.defaults.pin_memory
    from leanagent.training.loop import TrainOptions, batch_tokens, loader_workers, resolve_precision

    assert batch_tokens(TrainOptions(), gpu) == 32768 and batch_tokens(TrainOptions(), cpu) == 16384
    assert batch_tokens(TrainOptions(batch_tokens=0), gpu) == 0
    assert loader_workers(TrainOptions(), gpu) == 4 and loader_workers(TrainOptions(), cpu) == 0
    gpus(1)
    assert resolve_precision("auto") == "bf16-mixed" and resolve_precision("auto", "cpu") == "32-true"


def test_defaults_for_a_device_that_is_named_but_not_resolved(gpus):
    gpus(0)
    assert defaults_for("cuda:3") == DEFAULTS["cuda"]  # a Ray cluster's workers may have what this machine lacks
    assert defaults_for("auto") == defaults_for(None) == defaults_for("cpu") == DEFAULTS["cpu"]
    assert defaults_for("auto", gpus=True) == DEFAULTS["cuda"]  # told: torch is not asked
    gpus(1)
    assert defaults_for("auto") == DEFAULTS["cuda"] and defaults_for("auto", gpus=False) == DEFAULTS["cpu"]
    assert defaults_for(torch.device("cpu")) == DEFAULTS["cpu"]  # where a module was placed
    assert defaults_for(torch.device("cuda", 1)) == DEFAULTS["cuda"]
    assert defaults_for(Placement("cuda:1")) == DEFAULTS["cuda"]
    with pytest.raises(ConfigError, match="unknown device"):
        defaults_for("gpu")


def test_the_driver_builds_on_the_named_device_where_this_machine_has_it(gpus, caplog):
    gpus(2)
    assert driver_placement("cuda:1") == Placement("cuda:1", True)
    assert driver_placement("cpu") == Placement("cpu") and driver_placement(None) == Placement("cuda:0", True)
    gpus(0)
    assert not caplog.records
    assert driver_placement("cuda:1") == Placement("cpu")  # a Ray cluster's driver without GPUs: auto
    assert [r.getMessage() for r in caplog.records] == [  # and it says so
        "--device cuda:1: this machine has no such device; the shared proposer folder is built on cpu "
        "(the workers still use cuda:1)"]
    with pytest.raises(ConfigError, match="unknown device"):
        driver_placement("gpu")


def test_gpus_per_worker_shares_the_gpus_evenly():
    assert gpus_per_worker(0, 4) == 0.0 and gpus_per_worker(1, 0) == 0.0
    assert gpus_per_worker(1, 3) == 0.3333 and 3 * gpus_per_worker(1, 3) <= 1
    assert gpus_per_worker(8, 16) == 0.5 and gpus_per_worker(4, 2) == 1.0 and gpus_per_worker(1, 1) == 1.0


def test_put_moves_and_casts_only_for_inference_on_a_bf16_gpu():
    lin = torch.nn.Linear(2, 2)
    assert Placement("cpu").put(lin, inference=True) is lin and lin.weight.dtype == torch.float32
    x = {"a": torch.ones(1), "n": 3}
    assert inputs_to(lin, x)["a"].device.type == "cpu" and inputs_to(lin, x)["n"] == 3
    with autocast_for(lin):  # a no-op on the CPU: fp32 stays fp32
        assert lin(torch.ones(1, 2)).dtype == torch.float32


def test_nothing_but_the_device_policy_branches_on_the_device_kind():
    """Issue 25: per-device defaults live in leanagent/device.py (DeviceDefaults) and nowhere else."""
    import re
    from pathlib import Path

    import leanagent

    root = Path(leanagent.__file__).parent
    branch = re.compile(r"\.is_cuda\b|[=!]= *[\"'](cuda|cpu)[\"']|[\"'](cuda|cpu)[\"'] *(if|==)|startswith\([\"']cuda"
                        r"|\.type *== |\.kind *== *[\"']")
    found = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py") if p.name != "device.py"
             for i, line in enumerate(p.read_text().splitlines(), 1) if branch.search(line)]
    assert found == []

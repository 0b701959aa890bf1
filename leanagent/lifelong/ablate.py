"""`leanagent ablate`: the lifelong loop once per variant, on one database snapshot, and one report.

    variants.yaml                          (examples/ablation.yaml is the full study)
      base:                  # applied to every variant: the sections of `learn --config`
        train: {max_steps: 20, max_minutes: null}
        learn: {prove_matrix: true, prove_limit: 4}
      default: default       # the variant the others are compared with
      variants:
        default: {seeds: [3407, 1]}      # two seeds: the run-to-run spread
        rehearsal-0: {train: {rehearsal_fraction: 0}}
        hard-first: {learn: {order: hard-first}}

The repositories are synced once into `snapshot.sqlite`; every (variant, seed)
run starts from its own copy of it, in its own folder
(`runs/<variant>/seed-<seed>/`, with its SQLite database, checkpoints and
`learn` report), so no variant ever sees another's proofs or checkpoints. A
run is an ordinary `learn` run: killed, it continues from its last finished
step when the same command runs again, and a finished one is only re-read. Runs
of one seed share the starting models' rows, which no compared option changes
(`leanagent.lifelong.start_rows`). The comparison
(`leanagent.lifelong.ablation_report`) is rebuilt from the runs' reports every
time.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leanagent.errors import ConfigError

Emit = Callable[..., None]
SNAPSHOT = "snapshot.sqlite"


class VariantSpec(BaseModel):
    """One variant: option sections over the base, and the seeds it runs with."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    learn: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict)
    retriever: dict[str, Any] = Field(default_factory=dict)
    generator: dict[str, Any] = Field(default_factory=dict)
    seeds: list[int] | None = None
    """Seeds of train.seed, one run each (None: the configured train.seed, one run)."""

    def sections(self) -> dict:
        return {k: v for k, v in self.model_dump(exclude={"seeds"}).items() if v}


class AblationFile(BaseModel):
    """The variants file of `leanagent ablate`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base: VariantSpec = Field(default_factory=VariantSpec)
    default: str = "default"
    variants: dict[str, VariantSpec] = Field(min_length=1)


def load_variants(path: str | Path) -> AblationFile:
    """Read and check a variants file; errors name the key path (`variants.rehearsal-0.train`)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", fix="check the --variants path") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        spec = AblationFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {where}: {err['msg']}",
                          fix="sections are base, default and variants; a variant has learn, train, retriever, "
                              "generator and seeds") from None
    for name in spec.variants:
        if not name or any(c in name for c in "/\\") or name.startswith("."):
            raise ConfigError(f"{path}: variants.{name}: not usable as a folder name")
    # Every variant's options are checked now, not after hours of earlier variants.
    for name in spec.variants:
        variant_config(spec, name, str(path))
    if spec.default not in spec.variants:
        raise ConfigError(f"{path}: default: no variant named {spec.default!r}",
                          fix=f"name one of {', '.join(spec.variants)}")
    return spec


def variant_config(spec: AblationFile, name: str, where: str = "variants"):
    """The LearnConfig of one variant: the loop's CPU defaults, then `base`, then the variant."""
    from leanagent.lifelong.learn_options import LearnConfig

    cfg = LearnConfig.cpu().updated(spec.base.sections(), where=f"{where}: base")
    return cfg.updated(spec.variants[name].sections(), where=f"{where}: variants.{name}")


def planned_runs(spec: AblationFile, only: list[str] | None = None) -> list[tuple[str, int]]:
    """(variant, seed) pairs in file order; `only` keeps the named variants."""
    if only:
        unknown = sorted(set(only) - set(spec.variants))
        if unknown:
            raise ConfigError(f"no variant named {', '.join(unknown)}", fix=f"use {', '.join(spec.variants)}")
    out = []
    for name, v in spec.variants.items():
        if only and name not in only:
            continue
        seeds = v.seeds or spec.base.seeds or [variant_config(spec, name).train.seed]
        out += [(name, seed) for seed in seeds]
    return out


def run_folder(out_dir: Path, name: str, seed: int) -> Path:
    return Path(out_dir) / "runs" / name / f"seed-{seed}"


def _copy_atomically(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".tmp-{dst.name}-{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def make_snapshot(repos_file: Path, out_dir: Path, emit: Emit) -> Path:
    """Sync every enabled entry once into `snapshot.sqlite` (kept: a rerun reuses it)."""
    from leanagent.config import load_repos
    from leanagent.db.engine import open_db
    from leanagent.sources.sync import cache_dir, sync_entry

    path = out_dir / SNAPSHOT
    if path.is_file():
        return path
    config = load_repos(repos_file)
    if not config.enabled():
        raise ConfigError(f"{repos_file}: enables no repository", fix="add an entry or set enabled: true")
    tmp = out_dir / f".tmp-{SNAPSHOT}-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    db = open_db(f"sqlite:///{tmp}")
    try:
        for entry in config.enabled():
            res = sync_entry(db, entry, cache=cache_dir(config, out_dir))
            emit(event="synced", repo=entry.repo_name, action=res.action)
    finally:
        db.dispose()
    os.replace(tmp, path)
    return path


def ablate(repos_file: str | Path, variants_file: str | Path, out_dir: str | Path, *,
           only: list[str] | None = None, emit: Emit | None = None, device: str | None = None) -> Path:
    """Run (or resume) every planned run, then write the comparison; returns its ablation.md."""
    from leanagent.config import load_repos
    from leanagent.db.engine import open_db
    from leanagent.lifelong.ablation_report import RunResult, write_ablation_report
    from leanagent.lifelong.learn import learn

    emit = emit or (lambda **_: None)
    repos_file, out_dir = Path(repos_file).resolve(), Path(out_dir)
    load_repos(repos_file)  # a bad repos.yaml fails before anything is written
    spec = load_variants(variants_file)
    runs = planned_runs(spec, only)
    out_dir.mkdir(parents=True, exist_ok=True)
    snapshot = make_snapshot(repos_file, out_dir, emit)
    results = []
    for k, (name, seed) in enumerate(runs, 1):
        folder = run_folder(out_dir, name, seed)
        folder.mkdir(parents=True, exist_ok=True)
        db_file = folder / "leanagent.sqlite"
        if not db_file.is_file():
            _copy_atomically(snapshot, db_file)
        cfg = variant_config(spec, name)
        cfg = replace(cfg, train=replace(cfg.train, seed=seed))
        emit(event="variant", variant=name, seed=seed, index=k, total=len(runs), folder=str(folder))
        db = open_db(f"sqlite:///{db_file}")
        try:
            summary = learn(db, repos_file, folder, cfg, emit=emit, device=device,
                            start_rows=out_dir / "start-rows")
        finally:
            db.dispose()
        results.append(RunResult(name, seed, summary.parent / "metrics.json"))
    report = write_ablation_report(results, out_dir / "report", default=spec.default,
                                   variants={n: spec.variants[n].sections() for n in dict.fromkeys(n for n, _ in runs)})
    emit(event="report", path=str(report))
    return report

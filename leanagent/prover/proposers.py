"""The prover's proposer: options resolved against the database, data loaded once, then built.

`leanagent.generator.build` knows no database; this is where the recorded
steps (under the options' `SourceScope`), the premise corpus, the import graph
and the checkpoints are read for it.
"""

from __future__ import annotations

from dataclasses import replace

from leanagent.db.engine import Database
from leanagent.errors import ModelError
from leanagent.generator.build import ProposerData, build_proposer, build_shared
from leanagent.generator.options import ProposerOptions


def resolve(options: ProposerOptions, db: Database) -> ProposerOptions:
    """Fill in the checkpoint from the database; merged without any checkpoint is kNN only."""
    from leanagent.db.runs import latest_checkpoint

    options.check()
    if options.proposer in ("merged", "model") and options.checkpoint is None:
        found = latest_checkpoint(db, "generator")
        if found is None and options.proposer == "model":
            raise ModelError("no generator checkpoint in the database",
                             fix="run `leanagent train generator`, pass --checkpoint, or use --proposer knn")
        options = replace(options, checkpoint=found)
    return options


def proposer_data(options: ProposerOptions, db: Database) -> ProposerData:
    """The plain data the proposer of `options` reads."""
    from leanagent.db.runs import latest_checkpoint
    from leanagent.db.training_data import import_graph, premise_corpus, proposer_steps
    from leanagent.settings import default_home

    needs_steps = options.proposer in ("knn", "frequency", "merged")
    needs_dense = options.retrieval == "dense" and options.proposer != "frequency"
    dense = latest_checkpoint(db, "retriever") if needs_dense else None
    if needs_dense and dense is None:
        raise ModelError("no trained retriever for --retrieval dense",
                         fix="run `leanagent train retriever`, or use --retrieval bm25")
    return ProposerData(steps=proposer_steps(db, options.scope()) if needs_steps else [],
                        corpus=premise_corpus(db) if options.proposer != "frequency" else [],
                        graph=import_graph(db), dense_folder=dense,
                        cache_dir=default_home() / "cache" / "knn")


def load_proposer(options: ProposerOptions, db: Database, device=None):
    """A ready `TacticProposer` for `options` over the database, its models on `device` (`leanagent.device`)."""
    options = resolve(options, db)
    return build_proposer(options, proposer_data(options, db), device)


def shared_root():
    """Where shared proposer folders live: under the home's cache, one folder per content digest."""
    from leanagent.settings import default_home

    return default_home() / "cache" / "proposer"


def prepare_shared(options: ProposerOptions, db: Database, device=None) -> tuple[ProposerOptions, str]:
    """(resolved options, shared folder): the driver's half of proving with several workers.

    The recorded steps, premises, kNN state index and BM25 index are built once here into a folder
    (`leanagent.generator.proposer_store`; found again by content digest), which every worker then opens
    read-only with `open_proposer`, without reading the database.
    """
    options = resolve(options, db)
    data = proposer_data(options, db)
    return options, str(build_shared(options, data, shared_root(), device))


def open_proposer(options: ProposerOptions, folder: str, device=None):
    """A ready `TacticProposer` for resolved `options` over a shared folder (no database access)."""
    from leanagent.generator.proposer_store import SharedData

    return build_proposer(options, ProposerData(shared=SharedData(folder)), device)

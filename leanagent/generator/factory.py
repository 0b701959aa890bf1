"""Building a proposer from options and the database: one place for every choice.

The default is `merged`: the ByT5 model (when a checkpoint exists) mixed with
the kNN proposer. The kNN and frequency proposers read recorded steps of the
`source_split` only, so that evaluating on the test split never sees test
proofs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from leanagent.errors import ConfigError, ModelError

log = logging.getLogger("leanagent.generator")

PROPOSERS = ("merged", "model", "knn", "frequency")
RETRIEVALS = ("bm25", "dense", "none")


@dataclass
class ProposerOptions:
    """Which tactic proposer the prover uses."""

    proposer: str = "merged"
    """`merged` (model + kNN, the default), `model`, `knn` or `frequency`."""
    checkpoint: str | None = None
    """Generator checkpoint folder or hub name (default: the newest generator checkpoint in the database)."""
    retrieval: str = "bm25"
    """Premise retrieval: `bm25`, `dense` (the newest trained retriever) or `none`. The model gets the
    premises prepended to its input; kNN fills the premise slots of its neighbours' tactics with them."""
    knn_encoder: str = "minilm"
    """Encoder that embeds proof states for kNN (any name `leanagent.retrieval.encoder` accepts)."""
    knn_neighbours: int = 64
    """Recorded states consulted per query (64 fills a 64-tactic expansion with distinct tactics)."""
    knn_weight: float = 0.5
    """Weight of kNN in the merged mixture (the model gets 1 - weight)."""
    frequency_top: int = 64
    """Tactics proposed by the frequency baseline."""
    source_split: str = "train"
    """Recorded steps that feed kNN and frequency: `train`, or `all` (proving sorry theorems)."""
    num_premises: int | None = None
    """Override the model's number of retrieved premises (None: the checkpoint's setting)."""

    def check(self) -> None:
        if self.proposer not in PROPOSERS:
            raise ConfigError(f"unknown proposer {self.proposer!r}", fix=f"use one of {', '.join(PROPOSERS)}")
        if self.retrieval not in RETRIEVALS:
            raise ConfigError(f"unknown retrieval {self.retrieval!r}", fix=f"use one of {', '.join(RETRIEVALS)}")
        if not 0.0 <= self.knn_weight <= 1.0:
            raise ConfigError("knn_weight must be in [0, 1]")


def resolve(options: ProposerOptions, db) -> ProposerOptions:
    """Fill in the checkpoint from the database; merged without any checkpoint is kNN only."""
    options.check()
    if options.proposer in ("merged", "model") and options.checkpoint is None:
        from leanagent.db.training_data import latest_checkpoint

        found = latest_checkpoint(db, "generator")
        if found is None and options.proposer == "model":
            raise ModelError("no generator checkpoint in the database",
                             fix="run `leanagent train generator`, pass --checkpoint, or use --proposer knn")
        options = replace(options, checkpoint=found)
    return options


def proposer_name(options: ProposerOptions) -> str:
    """The model string written to proofs and attempts (same options -> same string)."""
    o = options
    model = f"model[{o.checkpoint},{o.retrieval}{'' if o.num_premises is None else ',' + str(o.num_premises)}]"
    knn = f"knn[{o.knn_encoder},k={o.knn_neighbours},{o.source_split},{o.retrieval}]"
    if o.proposer == "frequency":
        return f"frequency[{o.frequency_top},{o.source_split}]"
    if o.proposer == "knn":
        return knn
    if o.proposer == "model":
        return model
    if o.checkpoint is None:
        return f"merged[{knn}]"
    return f"merged[{model}+{knn},w={o.knn_weight:g}]"


def recorded_steps(db, split: str):
    from leanagent.db.proofs import annotated_tactics
    from leanagent.db.training_data import repo_names, step_examples
    from leanagent.generator.knn import RecordedStep

    examples = [e for repo in repo_names(db) for e in step_examples(db, repo, split, with_premises_only=False)]
    annotated = annotated_tactics(db, [e.step_id for e in examples])
    return [RecordedStep(e.step_id, e.state, e.tactic, annotated.get(e.step_id)) for e in examples]


def make_retriever(db, kind: str):
    """(Retriever, {premise id: (full name, text)}) for `bm25` or `dense`; (None, {}) for `none`."""
    from leanagent.db.training_data import import_graph, latest_checkpoint, premise_corpus

    corpus = premise_corpus(db)
    if kind == "none" or not corpus:
        return None, {}
    texts = {p.id: (p.full_name, p.text) for p in corpus}
    if kind == "dense":
        from pathlib import Path

        from leanagent.training.retriever import open_retriever

        ckpt = latest_checkpoint(db, "retriever")
        if ckpt is None:
            raise ModelError("no trained retriever for --retrieval dense",
                             fix="run `leanagent train retriever`, or use --retrieval bm25")
        return open_retriever(db, Path(ckpt)), texts
    from leanagent.retrieval.access import Accessibility
    from leanagent.retrieval.bm25 import Bm25Retriever

    return Bm25Retriever(corpus, Accessibility(corpus, import_graph(db))), texts


def build_model_generator(options: ProposerOptions, db):
    from leanagent.generator.model import RetrievalAugmentedGenerator, TacticModel

    model = TacticModel.load(options.checkpoint)
    if options.num_premises is not None:
        model.options.num_premises = options.num_premises
    retriever, texts = make_retriever(db, options.retrieval if model.options.num_premises > 0 else "none")
    return RetrievalAugmentedGenerator(model, retriever, texts)


def cached_embed(embed, name: str, texts: list, cache_dir=None):
    """`embed(texts)` through a .npy cache keyed by the encoder name and the exact texts.

    Every Ray worker builds its own kNN index over the same recorded states;
    the cache makes that one encoder pass instead of one per worker. Written
    atomically (temporary file + rename), so concurrent workers are safe.
    """
    import hashlib
    import os

    import numpy as np

    from leanagent.settings import default_home

    h = hashlib.blake2b(name.encode(), digest_size=16)
    for t in texts:
        h.update(t.encode() + b"\x00")
    folder = Path(cache_dir) if cache_dir else default_home() / "cache" / "knn"
    path = folder / f"{h.hexdigest()}.npy"
    if path.is_file():
        emb = np.load(path)
        if emb.shape[0] == len(texts):
            return emb
    emb = np.asarray(embed(texts), dtype="float32")  # (N, d)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{path.name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            np.save(fh, emb)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home only costs speed
        log.warning("cannot cache kNN embeddings in %s: %s", folder, exc)
    return emb


def build_knn(options: ProposerOptions, db):
    from leanagent.generator.knn import KnnProposer
    from leanagent.retrieval.encoder import Encoder, EncoderSpec

    encoder = Encoder.load(EncoderSpec(encoder=options.knn_encoder))
    max_len = encoder.spec.max_state_len
    steps = recorded_steps(db, options.source_split)

    def embed(texts):
        return encoder.embed(texts, max_len)

    state_emb = cached_embed(embed, f"{options.knn_encoder}:{max_len}", [s.state for s in steps])
    retriever, texts = make_retriever(db, options.retrieval)
    return KnnProposer(embed, steps, neighbours=options.knn_neighbours, state_embeddings=state_emb,
                       retriever=retriever, premise_names={pid: name for pid, (name, _) in texts.items()})


def build_proposer(options: ProposerOptions, db):
    """A `TacticGenerator` for the options (resolved against the database)."""
    from leanagent.generator.frequency import FrequencyProposer
    from leanagent.generator.merged import MergedProposer

    options = resolve(options, db)
    name = proposer_name(options)
    if options.proposer == "frequency":
        gen = FrequencyProposer([s.tactic for s in recorded_steps(db, options.source_split)], options.frequency_top)
    elif options.proposer == "knn":
        gen = build_knn(options, db)
    elif options.proposer == "model":
        gen = build_model_generator(options, db)
    elif options.checkpoint is None:
        log.warning("no generator checkpoint: the merged proposer is kNN alone")
        gen = MergedProposer([build_knn(options, db)])
    else:
        gen = MergedProposer([build_model_generator(options, db), build_knn(options, db)],
                             [1.0 - options.knn_weight, options.knn_weight])
    gen.name = name
    return gen

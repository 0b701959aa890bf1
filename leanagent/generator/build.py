"""Building a proposer from its options and plain data: one place for every choice.

The default is `merged`: the tactic model (when a checkpoint exists) mixed with
the kNN proposer. The data come from the caller (`leanagent.prover.proposers`
loads them from the database): the recorded steps the scope allows, each with
its theorem id for leave-one-out, the premise corpus and the import graph for
accessibility, and the checkpoints to use. Every model it builds (the tactic
model, the kNN encoder, a dense retriever) is placed on the device the caller
names (`leanagent.device`), in the inference precision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from leanagent.data import ImportGraph, PremiseItem, RecordedStep
from leanagent.device import Placement, placement
from leanagent.errors import ModelError
from leanagent.generator.embed_cache import cached_embed
from leanagent.generator.options import ProposerOptions, proposer_name

if TYPE_CHECKING:
    from leanagent.generator.proposer_store import SharedData

log = logging.getLogger("leanagent.generator")


@dataclass
class ProposerData:
    """What a proposer is built from (plain data; see `leanagent.prover.proposers.proposer_data`)."""

    steps: list[RecordedStep] = field(default_factory=list)
    corpus: list[PremiseItem] = field(default_factory=list)
    graph: ImportGraph | None = None
    dense_folder: str | None = None   # the newest retriever checkpoint, for retrieval `dense`
    cache_dir: Path | None = None     # where kNN state embeddings are cached
    shared: "SharedData | None" = None  # a shared folder (leanagent.generator.proposer_store): then the rest is unused


def _retriever(kind: str, data: ProposerData, where: Placement):
    from leanagent.retrieval.build import make_retriever

    if data.shared is not None:
        return data.shared.retriever(kind, device=where)
    return make_retriever(kind, data.corpus, data.graph, data.dense_folder, device=where)


def build_model_generator(options: ProposerOptions, data: ProposerData, device: "str | Placement | None" = None):
    from leanagent.generator.model import RetrievalAugmentedGenerator
    from leanagent.generator.model_io import load_model

    if options.checkpoint is None:
        raise ModelError("no generator checkpoint", fix="train one with `leanagent train generator`")
    where = placement(device)
    model = where.put(load_model(options.checkpoint, device=where), inference=True)  # ByT5 or causal LM
    if options.num_premises is not None:
        model.options.num_premises = options.num_premises
    if hasattr(model, "max_tactic_bytes"):  # the T5 generator's cut (a causal LM keeps max_output_bytes)
        model.max_tactic_bytes = options.max_tactic_bytes
    retriever, texts = _retriever(options.retrieval if model.options.num_premises > 0 else "none", data, where)
    return RetrievalAugmentedGenerator(model, retriever, texts)


def _state_encoder(options: ProposerOptions, where: Placement):
    """(embed(texts) -> (N, d) unit rows, the embedding cache's name for it) for the kNN states."""
    from leanagent.retrieval.encoder import Encoder, EncoderSpec

    encoder = where.put(Encoder.load(EncoderSpec(encoder=options.knn_encoder), where), inference=True)
    max_len = encoder.spec.max_state_len

    def embed(texts):
        return encoder.embed(texts, max_len)

    return embed, f"{options.knn_encoder}:{max_len}"


def build_knn(options: ProposerOptions, data: ProposerData, device: "str | Placement | None" = None):
    from leanagent.generator.knn import KnnProposer

    where = placement(device)
    embed, name = _state_encoder(options, where)
    retriever, texts = _retriever(options.retrieval, data, where)
    if data.shared is not None:
        names = data.shared.premises.full_names() if texts else {}
        return KnnProposer.shared(embed, data.shared.steps, data.shared.state_index(), data.shared.spare,
                                  neighbours=options.knn_neighbours, retriever=retriever, premise_names=names)
    state_emb = cached_embed(embed, name, [s.state for s in data.steps], data.cache_dir)
    return KnnProposer(embed, data.steps, neighbours=options.knn_neighbours, state_embeddings=state_emb,
                       retriever=retriever, premise_names={pid: name for pid, (name, _) in texts.items()})


def build_shared(options: ProposerOptions, data: ProposerData, root: Path,
                 device: "str | Placement | None" = None) -> Path:
    """Write (or find, by content digest) the shared folder that workers open for `options` over `data`.

    The state embeddings are computed exactly as `build_knn` computes them (same texts, same cache), so
    a proposer built from the folder proposes exactly what one built from `data` does.
    """
    from leanagent.generator.proposer_store import data_digest, write_shared
    from leanagent.text import usable_tactic

    needs_knn = options.proposer in ("knn", "merged")
    digest = data_digest(options.proposer, options.knn_encoder if needs_knn else None, options.retrieval,
                         data.dense_folder, data.steps, data.corpus, data.graph)
    folder = Path(root) / digest
    if (folder / "meta.json").is_file():
        return folder
    keep = [i for i, s in enumerate(data.steps) if usable_tactic(s.tactic)]
    emb = None
    if needs_knn:
        embed, name = _state_encoder(options, placement(device))
        emb = cached_embed(embed, name, [s.state for s in data.steps], data.cache_dir)  # (N, d)
        emb = emb[keep] if len(emb) else emb  # (M, d)
    return write_shared(root, digest, steps=[data.steps[i] for i in keep], state_embeddings=emb,
                        corpus=data.corpus, graph=data.graph, bm25=options.retrieval == "bm25",
                        meta={"proposer": options.proposer, "knn_encoder": options.knn_encoder,
                              "retrieval": options.retrieval, "dense_folder": data.dense_folder})


def build_proposer(options: ProposerOptions, data: ProposerData, device: "str | Placement | None" = None):
    """A `TacticProposer` for resolved options (the checkpoint already chosen) over `data`, its models
    on `device` (the device policy; default auto)."""
    from leanagent.generator.frequency import FrequencyProposer
    from leanagent.generator.merged import MergedProposer

    options.check()
    where = placement(device)
    if options.proposer == "frequency":
        gen = FrequencyProposer(data.shared.steps.records() if data.shared is not None else data.steps,
                                options.frequency_top)
    elif options.proposer == "knn":
        gen = build_knn(options, data, where)
    elif options.proposer == "model":
        gen = build_model_generator(options, data, where)
    elif options.checkpoint is None:
        log.warning("no generator checkpoint: the merged proposer is kNN alone")
        gen = MergedProposer([build_knn(options, data, where)])
    elif (why := _not_worth_it(options.checkpoint)) is not None:
        log.warning("merged proposer: the generator %s is left out, %s; kNN alone (--proposer model uses it)",
                    options.checkpoint, why)
        gen = MergedProposer([build_knn(options, data, where)])
        options = replace(options, checkpoint=None)  # the name written to proofs says what proposed
    else:
        gen = MergedProposer([build_model_generator(options, data, where), build_knn(options, data, where)],
                             [1.0 - options.knn_weight, options.knn_weight],
                             asks=[where.defaults.merged_model_beams, None])
    gen.name = proposer_name(options)
    return gen


def _not_worth_it(checkpoint: str) -> str | None:
    """Why the merged proposer leaves a generator checkpoint out (`merged.learned_nothing` over the
    metrics.json stored with it at training time); None: it stays."""
    import json

    from leanagent.generator.merged import learned_nothing

    metrics = Path(checkpoint) / "metrics.json"
    try:
        return learned_nothing(json.loads(metrics.read_text())) if metrics.is_file() else None
    except (OSError, ValueError):  # unreadable metrics say nothing against the model
        return None

"""Per-repository example cache: built once per content digest, identical to building afresh."""

from __future__ import annotations

from leanagent.generator.model import GeneratorOptions
from leanagent.training import example_cache
from leanagent.training.generator import examples_for, generator_examples, generator_retriever, to_gen_examples


def _options():
    return GeneratorOptions(num_premises=3, max_input_bytes=400)


def test_generator_examples_equal_a_fresh_build_and_are_built_once(example_db, monkeypatch):
    options = _options()
    retriever, texts = generator_retriever(example_db, "bm25", options)
    fresh = to_gen_examples(examples_for(example_db, "nat-list", "train"), options, retriever, texts)
    assert fresh
    calls = []
    real = example_cache.cached

    def counting(kind, db, repo, shape, build, *args, **kwargs):
        return real(kind, db, repo, shape, lambda: calls.append(repo) or build(), *args, **kwargs)

    monkeypatch.setattr(example_cache, "cached", counting)
    first = generator_examples(example_db, "nat-list", options, "bm25", retriever, texts)
    second = generator_examples(example_db, "nat-list", options, "bm25", retriever, texts)
    assert first == second == fresh and calls == ["nat-list"]
    # Another input shape is another entry.
    other = GeneratorOptions(num_premises=1, max_input_bytes=400)
    generator_examples(example_db, "nat-list", other, "bm25", retriever, texts)
    assert calls == ["nat-list", "nat-list"]


def test_the_key_follows_the_repository_the_corpus_and_the_agent_proofs(example_db):
    from leanagent.db.models import Repository

    repo, corpus = example_cache.repo_key(example_db, "nat-list"), example_cache.corpus_key(example_db)
    assert repo and corpus
    with example_db.session() as s:
        r = s.query(Repository).filter_by(name="nat-list").one()
        r.digest = "changed"
        s.commit()
    assert example_cache.repo_key(example_db, "nat-list") != repo
    assert example_cache.corpus_key(example_db) != corpus  # every entry depends on the whole corpus
    with example_db.session() as s:
        s.query(Repository).filter_by(name="nat-list").one().digest = None
        s.commit()
    assert example_cache.repo_key(example_db, "nat-list") is None and example_cache.corpus_key(example_db) is None


def test_a_repository_without_digest_is_built_every_time(example_db):
    from leanagent.db.models import Repository
    from leanagent.generator.model import GenExample

    with example_db.session() as s:
        s.query(Repository).filter_by(name="nat-list").one().digest = None
        s.commit()
    calls = []
    for _ in range(2):
        example_cache.cached("generator", example_db, "nat-list", {}, lambda: calls.append(1) or [1], GenExample)
    assert len(calls) == 2


def test_retriever_pairs_equal_a_fresh_build(example_db):
    from leanagent.db.training_data import premise_corpus, step_examples
    from leanagent.retrieval.model import training_pairs

    row_of = {p.id: r for r, p in enumerate(premise_corpus(example_db))}
    fresh = training_pairs(step_examples(example_db, "nat-list", "train"), row_of)
    assert example_cache.retriever_pairs(example_db, "nat-list", row_of) == fresh
    assert example_cache.retriever_pairs(example_db, "nat-list", row_of) == fresh  # from the cache
    assert list((example_cache.cache_root() / "retriever").glob("nat-list-*.json"))

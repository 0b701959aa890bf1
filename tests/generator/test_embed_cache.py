"""The per-text embedding cache: adding texts embeds only those, and the rows are the encoder's."""

from __future__ import annotations

import numpy as np

from leanagent.generator.embed_cache import cached_embed, store_folder


def _encoder(width: int = 4):
    """A deterministic encoder whose row depends on the text alone, and the list of its calls."""
    calls: list[list[str]] = []

    def embed(texts):
        calls.append(list(texts))
        rows = [[len(t), sum(map(ord, t)) % 97, t.count("a"), 1.0][:width] for t in texts]
        return np.array(rows, dtype="float32").reshape(len(texts), width)

    return embed, calls


def test_a_growing_list_embeds_only_its_new_texts(tmp_path):
    embed, calls = _encoder()
    repo1 = [f"state {i}" for i in range(5)]
    repo2 = [f"other state {i}" for i in range(3)]
    first = cached_embed(embed, "minilm:256", repo1, tmp_path)
    both = cached_embed(embed, "minilm:256", repo1 + repo2, tmp_path)
    assert calls == [repo1, repo2]  # the second stage embedded the new repository only
    again = cached_embed(embed, "minilm:256", list(reversed(repo1 + repo2)), tmp_path)
    assert len(calls) == 2
    assert np.array_equal(both, embed(repo1 + repo2)) and np.array_equal(first, both[:5])
    assert np.array_equal(again, both[::-1])
    assert len(list(store_folder(tmp_path, "minilm:256").glob("chunk-*.npz"))) == 2


def test_duplicates_are_embedded_once_and_a_broken_chunk_is_embedded_again(tmp_path):
    embed, calls = _encoder()
    out = cached_embed(embed, "enc", ["a", "b", "a", "a"], tmp_path)
    assert calls == [["a", "b"]]
    assert np.array_equal(out, embed(["a", "b", "a", "a"]))
    for chunk in store_folder(tmp_path, "enc").glob("chunk-*.npz"):
        chunk.write_bytes(b"not a zip")  # a torn or corrupted chunk costs its re-embedding, not an error
    calls.clear()
    assert np.array_equal(cached_embed(embed, "enc", ["a", "b"], tmp_path), embed(["a", "b"]))
    assert calls[0] == ["a", "b"]


def test_a_new_width_under_the_same_name_never_mixes_rows(tmp_path):
    embed4, _ = _encoder(4)
    embed3, calls3 = _encoder(3)
    cached_embed(embed4, "enc", ["x", "y"], tmp_path)
    out = cached_embed(embed3, "enc", ["x", "z"], tmp_path)
    assert np.array_equal(out, embed3(["x", "z"]))
    assert calls3[:2] == [["z"], ["x", "z"]]  # found the width changed, then embedded the whole call again


def test_no_cache_dir_writes_nothing(tmp_path):
    embed, calls = _encoder()
    assert cached_embed(embed, "enc", ["q", "r"], None).shape == (2, 4) and len(calls) == 1
    assert not any(tmp_path.iterdir())

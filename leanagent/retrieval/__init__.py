"""Premise retrieval: encoder, dual encoder, FAISS index, BM25 baseline, metrics, kNN prior.

The public interface is `leanagent.retrieval.base.Retriever` (with `Query` and `Hit`).
"""

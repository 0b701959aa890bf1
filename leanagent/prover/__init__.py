"""Proving: the ProofEnv interface and backends, tactic safety, best-first search, Ray workers."""

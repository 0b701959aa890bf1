"""Which Lean backend proves a repository, and the driver's checks for it.

The rule itself (Lean version -> `leandojo` or `leaninteract`, the boundaries named once) is
`leanagent.lean.versions.choose_backend`. `prove`, `learn` and `nightly`
pass `env="auto"` down to `run_campaign`, which asks `backends_for` once per repository (the
version is the repository's `lean-toolchain`, recorded when it was synced) and proves each group of
repositories with its backend. `--env leandojo|leaninteract|replay` overrides the choice.
"""

from __future__ import annotations

from leanagent.lean.versions import BackendChoice, choose_backend

#: The environments that run real Lean, and what `--env` accepts.
LEAN_ENVS = ("leandojo", "leaninteract")
ENV_CHOICES = ("auto", "leandojo", "leaninteract", "replay")


def backends_for(db, repos: list[str] | None) -> dict[str, BackendChoice]:
    """{repository name: choice} for the named repositories (all when None)."""
    from leanagent.db.proof_checks import repo_lean_versions

    return {name: choose_backend(version) for name, version in repo_lean_versions(db, repos).items()}


def check_lean_toolchain(env: str) -> None:
    """Fail early, in the driver, when a Lean backend cannot launch Lean at all."""
    if env in ("leandojo", "auto"):
        from leanagent.prover.leandojo_env import check_toolchain

        check_toolchain()
    elif env == "leaninteract":
        from leanagent.prover.leaninteract_env import check_toolchain

        check_toolchain()

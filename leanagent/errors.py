"""The errors that the library raises for problems a user can fix.

Only `leanagent.cli` turns them into text: one line saying what is wrong,
followed by the fix, and exit code 1. Library code never prints them.
"""

from __future__ import annotations


class LeanAgentError(Exception):
    """Base class. `message` says what is wrong, `fix` says what to do about it."""

    fix: str | None = None

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        self.message = message
        if fix is not None:
            self.fix = fix

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        if self.fix:
            text += f" (fix: {' '.join(self.fix.split())})"
        return text


class UsageError(LeanAgentError):
    """The command line is wrong (an unknown option, a bad value). Exit code 1, like every other error."""


class ConfigError(LeanAgentError):
    """A config file or option is invalid."""


class DatabaseError(LeanAgentError):
    """The database cannot be opened, is locked, or has the wrong schema."""


class DatasetError(LeanAgentError):
    """A LeanDojo-format dataset is missing, malformed or inconsistent."""


class SourceError(LeanAgentError):
    """A repository cannot be cloned, fetched or read."""


class ToolchainError(LeanAgentError):
    """No usable Lean toolchain (or lean-dojo setup) was found."""


class ModelError(LeanAgentError):
    """A model or checkpoint cannot be built or loaded."""


class ProverError(LeanAgentError):
    """A proof environment or search cannot run."""


class LockHeldError(LeanAgentError):
    """Another run holds the lock. The CLI exits with code 2 for this one."""

    exit_code = 2

"""Dataclass options shared by the CLI, YAML and --help (generic: knows no model).

An options class is a plain `@dataclass` whose fields each carry a docstring
(a string literal right after the field, as in PEP 257's attribute
docstrings). `add_arguments` turns such a class into argparse options whose
help text is that docstring; `from_args` and `from_mapping` build the dataclass
back from parsed arguments or a YAML mapping. One class backs all three.

    @dataclass
    class MyOptions:
        lr: float = 1e-4
        \"\"\"Peak learning rate.\"\"\"

    add_arguments(parser, MyOptions)            # --lr (help: "Peak learning rate. (default: 0.0001)")
    opts = from_args(MyOptions, parser.parse_args())
    opts = from_mapping(MyOptions, yaml.safe_load(text))   # unknown keys -> ConfigError
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import textwrap
import typing
from functools import lru_cache
from typing import Any, Mapping, TypeVar

from leanagent.errors import ConfigError

T = TypeVar("T")


@lru_cache(maxsize=None)
def field_docs(cls: type) -> dict[str, str]:
    """{field name: its docstring} read from the class source (inherited classes included)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body  # the ClassDef's statements
        for stmt, nxt in zip(body, body[1:]):
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
                    and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) \
                    and isinstance(nxt.value.value, str):
                docs[stmt.target.id] = " ".join(nxt.value.value.split())
    return docs


def _base_type(tp: Any) -> tuple[type, bool]:
    """(the scalar type, optional?) of an annotation such as `float | None`."""
    args = typing.get_args(tp)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else str), True
    return tp, False


def _flag(name: str, prefix: str) -> str:
    return "--" + (prefix + name).replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, cls: type, *, prefix: str = "",
                  skip: tuple[str, ...] = (), title: str | None = None, base: Any = None) -> None:
    """Add one option per dataclass field. Defaults are SUPPRESSed, so that `from_args`
    can tell "given on the command line" from "not given" (and a YAML value wins over a default).
    `base` is the instance the command starts from when it is not `cls()` (learn's CPU sizes):
    --help then shows its values, the defaults that actually apply."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    group = parser.add_argument_group(title or f"{cls.__name__} options")
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        tp, optional = _base_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        if base is not None:
            default = getattr(base, f.name)
        help_text = f"{docs.get(f.name, '')} (default: {default})".strip()
        kwargs: dict[str, Any] = {"dest": prefix + f.name, "default": argparse.SUPPRESS, "help": help_text}
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(tp) in (list, tuple):
            inner = (typing.get_args(tp) or (str,))[0]
            kwargs.update(nargs="*", type=inner, metavar=f.name.upper())
        else:
            kwargs.update(type=_none_or(tp) if optional else tp, metavar=f.name.upper())
        group.add_argument(_flag(f.name, prefix), **kwargs)


def _none_or(tp: type):
    def convert(text: str):
        return None if text.lower() in ("none", "null", "") else tp(text)

    convert.__name__ = getattr(tp, "__name__", "value")
    return convert


def from_mapping(cls: type[T], data: Mapping[str, Any] | None, *, base: T | None = None) -> T:
    """Build `cls` from a mapping (YAML), over `base` or the defaults. Unknown keys are an error."""
    data = dict(data or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)} for {cls.__name__}",
                          fix=f"use only: {', '.join(sorted(names))}")
    start = base if base is not None else cls()
    try:
        return dataclasses.replace(start, **data)
    except TypeError as exc:
        raise ConfigError(f"invalid options for {cls.__name__}: {exc}") from None


def from_args(cls: type[T], args: argparse.Namespace, *, prefix: str = "", base: T | None = None) -> T:
    """Build `cls` from parsed arguments: only options given on the command line override `base`."""
    given = {f.name: getattr(args, prefix + f.name) for f in dataclasses.fields(cls)
             if hasattr(args, prefix + f.name)}
    return from_mapping(cls, given, base=base)


def to_dict(obj: Any) -> dict:
    """The resolved options as JSON-ready data (for the config written next to checkpoints)."""
    return dataclasses.asdict(obj)


@dataclasses.dataclass
class TrainOptions:
    """Options of the shared training loop (model-independent)."""

    epochs: int = 1
    """Epochs per repository. LeanAgent trains one epoch per repository."""
    batch_size: int = 16
    """Examples per batch, replayed ones included."""
    batch_tokens: int | None = None
    """Token budget per batch for models that report example sizes (the generator: input + target bytes):
    batches of similar lengths whose padded size stays under it, so memory is bounded by the budget, not by
    the longest example; batch_size then does not apply. None: 32768 on a GPU, 16384 on the CPU; 0: fixed
    batch_size batches (the retriever always uses those)."""
    loader_workers: int | None = None
    """DataLoader worker processes that collate batches (None: 4 on a GPU, 0 on the CPU, where they would
    take cores from training). Used for models with a picklable collator (the generator)."""
    lr: float = 5e-5
    """Peak learning rate of AdamW."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    warmup_steps: int = 50
    """Linear warm-up steps at the start of every repository (the optimizer is new each time)."""
    grad_clip: float = 1.0
    """Gradient norm clipping (0 disables)."""
    rehearsal_fraction: float = 0.25
    """Fraction of every batch drawn from earlier repositories' examples (0 disables replay)."""
    within_repo_order: str = "shuffled"
    """Order of a repository's examples within each epoch: `shuffled`, or `easy-first` (by the theorem's
    difficulty e^S, shuffled inside difficulty bands so that batches stay mixed; the TinyHelen idea)."""
    ewc_lambda: float = 0.0
    """Weight of the EWC penalty; 0 disables EWC. The Fisher is computed at the end of each repository."""
    ewc_batches: int = 32
    """Batches used to estimate the diagonal Fisher information at the end of a repository."""
    max_minutes: float | None = None
    """Wall-clock limit of the whole training command, in minutes: every repository's training and the
    evaluation after each (None: no limit). Each stage trains for its share and leaves time to evaluate."""
    max_steps: int = -1
    """Stop after this many optimizer steps per repository (-1: no limit)."""
    seed: int = 3407
    """Random seed (batch order, replay draws, negatives)."""
    precision: str = "auto"
    """`auto` (bf16-mixed on GPU, 32-true on CPU) or any Lightning precision string."""
    progress_bar: bool = False
    """Show Lightning's progress bar."""

    def check(self) -> None:
        from leanagent.errors import ConfigError

        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("epochs and batch_size must be at least 1")
        if (self.batch_tokens is not None and self.batch_tokens < 0) or \
                (self.loader_workers is not None and self.loader_workers < 0):
            raise ConfigError("batch_tokens and loader_workers must be >= 0")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ConfigError(f"max_minutes must be > 0, got {self.max_minutes}")
        if not 0.0 <= self.rehearsal_fraction < 1.0:
            raise ConfigError(f"rehearsal_fraction must be in [0, 1), got {self.rehearsal_fraction}")
        from leanagent.curriculum import WITHIN_ORDERS

        if self.within_repo_order not in WITHIN_ORDERS:
            raise ConfigError(f"unknown within_repo_order {self.within_repo_order!r}",
                              fix=f"use one of {', '.join(WITHIN_ORDERS)}")
        if self.ewc_lambda < 0:
            raise ConfigError(f"ewc_lambda must be >= 0, got {self.ewc_lambda}")

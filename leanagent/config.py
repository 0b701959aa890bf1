"""`repos.yaml`: the repositories to learn from, as typed pydantic models.

An entry is one of three kinds, chosen by the key it has:

- `url` + `commit`: a git repository (any remote, or a local bare repository) at a pinned commit or tag;
- `path`: a local Lean project (a folder with `lakefile.lean`/`lakefile.toml` and `lean-toolchain`);
- `traced`: a LeanDojo-format dataset folder.

Every entry may also have `name`, `include`/`exclude` globs over file paths and `enabled`.
Relative paths resolve against the yaml file's own folder, never the working directory.
String values of `url`, `path`, `traced` and `cache` may use `${VAR}` and `${VAR:-default}`.

Errors name the file, the line and the key path: `repos.yaml:7 repos[2].commit: field required`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, NoReturn, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from leanagent.errors import ConfigError

KINDS = ("url", "path", "traced")  # the key that decides an entry's kind
_ENV = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="repository name in the database (default: derived from the source)")
    include: list[str] = Field(default_factory=list, description="keep only files matching one of these globs")
    exclude: list[str] = Field(default_factory=list, description="drop files matching one of these globs")
    enabled: bool = Field(True, description="false skips the entry without deleting it")

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be empty")
        return v


class GitEntry(_Entry):
    """A git repository at a pinned commit (or tag)."""

    kind: Literal["git"] = "git"
    url: str = Field(description="git remote, GitHub URL or path of a local (bare) repository")
    commit: str = Field(description="commit hash or tag to check out")
    tracer: Literal["auto", "leandojo", "repl"] = Field(
        "auto", description="leandojo, repl (the Lean REPL) or auto: LeanDojo up to Lean 4.11, the REPL after")

    @property
    def repo_name(self) -> str:
        if self.name:
            return self.name
        tail = self.url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return tail[:-4] if tail.endswith(".git") else tail


class PathEntry(_Entry):
    """A local Lean project."""

    kind: Literal["path"] = "path"
    path: Path
    tracer: Literal["auto", "leandojo", "repl"] = Field(
        "auto", description="leandojo, repl (the Lean REPL) or auto: LeanDojo up to Lean 4.11, the REPL after")

    @property
    def repo_name(self) -> str:
        return self.name or self.path.name


class TracedEntry(_Entry):
    """A LeanDojo-format traced dataset folder."""

    kind: Literal["traced"] = "traced"
    traced: Path
    split: Literal["hash", "dataset", "test"] = Field(
        "hash", description="how theorems get their train/val/test split: hash (seeded per theorem), dataset "
                            "(the dataset's own split files) or test (evaluation-only, never trained on)")
    source: Path | None = Field(
        None, description="the Lean project the dataset was traced from: its files' text is stored with the "
                          "theorems, so review shows them and export-proofs patches them")

    @property
    def repo_name(self) -> str:
        return self.name or self.traced.name


RepoEntry = Union[GitEntry, PathEntry, TracedEntry]
_MODELS: dict[str, type[_Entry]] = {"url": GitEntry, "path": PathEntry, "traced": TracedEntry}
#: Every key some entry kind allows, for naming a misspelt one.
_ALL_KEYS = tuple(dict.fromkeys(k for m in _MODELS.values() for k in m.model_fields if k != "kind"))


class ReposConfig(BaseModel):
    """The whole file: `repos:` (a list of entries) and an optional clone `cache:` folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repos: list[RepoEntry] = Field(default_factory=list)
    cache: Path | None = Field(None, description="folder for git clones (default: <home>/repos)")
    source: Path | None = Field(None, exclude=True, description="the yaml file this was read from")

    def enabled(self) -> list[RepoEntry]:
        return [e for e in self.repos if e.enabled]

    def entry(self, name: str) -> RepoEntry:
        for e in self.repos:
            if e.repo_name == name:
                return e
        raise ConfigError(f"{self.source or 'repos.yaml'}: no repository named {name!r}",
                          fix="use one of: " + ", ".join(e.repo_name for e in self.repos))


# ---------------------------------------------------------------------------------------------
# Loading with line numbers


def _node_lines(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map every key path (('repos', 2, 'commit')) to its 1-based line in the file."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            out[path + (k,)] = key.start_mark.line + 1
            _node_lines(value, path + (k,), out)
            out[path + (k,)] = key.start_mark.line + 1  # a key's own line, not its value's
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, path + (i,), out)
    return out


def _did_you_mean(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _where(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _line_of(lines: dict[tuple, int], loc: tuple) -> int:
    # A missing key has no line of its own: use the deepest enclosing node that exists.
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return 1


def _expand(value: str, where: str) -> str:
    def sub(m: re.Match) -> str:
        env = os.environ.get(m["name"])
        if env:
            return env
        if m["default"] is not None:
            return m["default"]
        raise ConfigError(f"{where}: environment variable {m['name']} is not set",
                          fix=f"set {m['name']} or write ${{{m['name']}:-default}}")

    return _ENV.sub(sub, value)


def _looks_local(url: str) -> bool:
    return "://" not in url and not re.match(r"^[\w.-]+@[\w.-]+:", url)


def _resolve(base: Path, value: str) -> str:
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


class _Locator:
    """Names a key path of the file being parsed, with its line: `repos.yaml:7 repos[2].commit`."""

    def __init__(self, label: str, lines: dict[tuple, int]):
        self.label, self.lines = label, lines

    def at(self, loc: tuple) -> str:
        return f"{self.label}:{_line_of(self.lines, loc)} {_where(loc)}"

    def fail(self, loc: tuple, msg: str, fix: str | None = None) -> NoReturn:
        raise ConfigError(f"{self.at(loc)}: {msg}", fix=fix)


def parse_repos(text: str, source: Path | str = "repos.yaml") -> ReposConfig:
    """Parse the text of a repos.yaml. Relative paths resolve against `source`'s folder."""
    source = Path(source)
    label = source.name if str(source) == source.name else str(source)
    base = source.resolve().parent
    data, where = _top_level(text, label, base)
    data["repos"] = [_entry(raw, ("repos", i), where, base) for i, raw in enumerate(data["repos"])]
    try:
        config = ReposConfig.model_validate({**data, "source": str(source.resolve())})
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        where.fail(tuple(err["loc"]), msg, fix="top-level keys are `repos` and `cache`")
    seen: dict[str, int] = {}
    for i, e in enumerate(config.repos):
        if e.repo_name in seen:
            where.fail(("repos", i), f"duplicate repository name {e.repo_name!r} (also repos[{seen[e.repo_name]}])",
                       fix="give one of them a distinct `name:`")
        seen[e.repo_name] = i
    return config


def _load_yaml(text: str, label: str) -> tuple[Any, dict[tuple, int]]:
    """The parsed text and the line of every key path; invalid YAML is a ConfigError naming its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{label}{line} invalid YAML: {problem}",
                          fix="check indentation and quoting on that line") from None
    return data, _node_lines(root) if root is not None else {}


def _top_level(text: str, label: str, base: Path) -> tuple[dict, _Locator]:
    """The file's top-level mapping (a bare list of entries read as `repos:`), its `cache` expanded and
    resolved, and the locator of its keys; the entries are still raw."""
    data, lines = _load_yaml(text, label)
    if data is None:
        data = {}
    if isinstance(data, list):  # a bare list of entries is accepted as `repos:`
        data, lines = {"repos": data}, {("repos",) + k: v for k, v in lines.items()}
    where = _Locator(label, lines)
    if not isinstance(data, dict):
        where.fail((), "expected a mapping with a `repos:` list")
    data = dict(data)
    if "source" in data:  # set by the loader, not by the file
        where.fail(("source",), "unknown key", fix="top-level keys are `repos` and `cache`")
    if data.get("repos") is None:
        data["repos"] = []
    if not isinstance(data["repos"], list):
        where.fail(("repos",), "must be a list of entries")
    for key in ("cache",):
        if isinstance(data.get(key), str):
            data[key] = _resolve(base, _expand(data[key], where.at((key,))))
    return data, where


def _entry(raw: Any, loc: tuple, where: _Locator, base: Path) -> RepoEntry:
    """One entry of `repos:` at `loc`, its kind chosen by its key, variables expanded, paths resolved."""
    kind = _entry_kind(raw, loc, where)
    raw = dict(raw)
    for key in ("url", "path", "traced", "source"):
        if isinstance(raw.get(key), str):
            raw[key] = _expand(raw[key], where.at(loc + (key,)))
    if kind == "url" and isinstance(raw.get("url"), str) and _looks_local(raw["url"]):
        raw["url"] = _resolve(base, raw["url"])
    for key in ("path", "traced", "source") if kind in ("path", "traced") else ():
        if isinstance(raw.get(key), str):
            raw[key] = _resolve(base, raw[key])
    if "commit" in raw and not isinstance(raw["commit"], str) and raw["commit"] is not None:
        raw["commit"] = str(raw["commit"])  # an all-digit hash reads as a number in YAML
    for glob_key in ("include", "exclude"):
        if isinstance(raw.get(glob_key), str):
            raw[glob_key] = [raw[glob_key]]
    model = _MODELS[kind]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = "field required" if err["type"] == "missing" else (
            "unknown key" if err["type"] == "extra_forbidden" else err["msg"])
        allowed = [k for k in model.model_fields if k != "kind"]
        if err["type"] == "extra_forbidden" and err["loc"]:
            msg += _did_you_mean(str(err["loc"][-1]), allowed)
        where.fail(loc + tuple(err["loc"]), msg, fix=f"allowed keys for a `{kind}` entry: " + ", ".join(allowed))


def _entry_kind(raw: Any, loc: tuple, where: _Locator) -> str:
    """The one key of KINDS the entry has; a ConfigError naming a misspelt one when it has none."""
    if not isinstance(raw, dict):
        where.fail(loc, "an entry must be a mapping with one of `url`, `path`, `traced`")
    kinds = [k for k in KINDS if k in raw]
    if not kinds:  # usually a misspelt kind key (`trace:`): name it, and what it may have meant
        unknown = [str(k) for k in raw if str(k) not in _ALL_KEYS]
        if unknown:
            # No kind key: a kind key is the likeliest meaning (`trace:` is `traced:`, not `tracer:`).
            hint = _did_you_mean(unknown[0], ("url", "path", "traced")) or _did_you_mean(unknown[0], _ALL_KEYS)
            where.fail(loc + (unknown[0],), f"unknown key{hint}; an entry needs "
                       "exactly one of `url` (with `commit`), `path`, `traced`",
                       fix="allowed keys: " + ", ".join(_ALL_KEYS))
    if len(kinds) != 1:
        where.fail(loc, "an entry needs exactly one of `url` (with `commit`), `path`, `traced`"
                   + (f"; it has {', '.join(kinds)}" if kinds else ""))
    return kinds[0]


def load_repos(path: str | Path) -> ReposConfig:
    """Read and check a repos.yaml file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", fix="check the --repos path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_repos(text, path)


def dump_entry(entry: RepoEntry) -> dict[str, Any]:
    """The yaml form of one entry, without defaults, keys in a readable order."""
    data = entry.model_dump(mode="json", exclude_defaults=True, exclude={"kind"})
    order = ["name", "url", "commit", "path", "traced", "split", "source", "include", "exclude", "enabled"]
    return {k: data[k] for k in order if k in data}


def entries_yaml(entries: list[RepoEntry], indent: str = "  ") -> str:
    """List items for a `repos:` block."""
    text = yaml.safe_dump([dump_entry(e) for e in entries], sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=1000)
    return "".join(indent + line + "\n" if line else "\n" for line in text.splitlines()) if entries else ""


def append_entries(path: Path, entries: list[RepoEntry]) -> None:
    """Append entries to the `repos:` list of a yaml file (created if missing), keeping its comments.

    The list must be the file's last block. The result is parsed before it is written, so a
    file this cannot extend is left untouched with a ConfigError.
    """
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    before = parse_repos(old, path) if old.strip() else None
    if not old.strip():
        old = "repos:\n"
    m = re.search(r"^(\s*)- ", old[old.find("repos:"):] if "repos:" in old else "", re.M)
    indent = m.group(1) if m else "  "
    if re.search(r"^repos:\s*\[\s*\]\s*$", old, re.M):
        old = re.sub(r"^repos:\s*\[\s*\]\s*$", "repos:", old, flags=re.M)
    new = old + ("" if old.endswith("\n") else "\n") + entries_yaml(entries, indent)
    try:
        after = parse_repos(new, path)
    except ConfigError:
        after = None
    if after is None or len(after.repos) != len(before.repos if before else []) + len(entries):
        raise ConfigError(f"{path}: cannot append entries: `repos:` is not the last block of the file",
                          fix="move the `repos:` list to the end of the file, or print the entries without --append")
    path.write_text(new, encoding="utf-8")

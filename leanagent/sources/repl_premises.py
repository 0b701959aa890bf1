"""Premises of REPL-traced steps: which constants a tactic names, and where each is declared.

A step's premises are LeanDojo's: the identifiers written in the tactic that name a constant, in
order, one per occurrence (`rw [a, a]` has two), annotated `<a>NAME</a>` in the tactic text. The
REPL reports the constants each tactic's elaborated term used (`usedConstants`, which also holds
`Eq.mpr`, instances and the like): an identifier is a premise when it, or its longest dotted
prefix (`List.length_pos` of `List.length_pos.mpr`), is one of them, written in full or relative
to a namespace (`add_comm` for `Nat.add_comm`).

Where a premise is declared:
- a declaration of the file itself: the REPL's `declarations` answer (the name's own position is
  read from the source);
- anything imported (the repository's other modules, dependencies, Lean core): one REPL command per
  file, `PREMISE_PROGRAM`, a small Lean meta program shipped here that prints, for each name, its
  module (`findModuleOf?`), its declaration ranges (`findDeclarationRanges?`), its kind and its
  type. A module of the repository maps to its file; `Init`/`Std`/`Lean`/`Lake` to Lean's sources
  as LeanDojo writes them (`.lake/packages/lean4/src/lean/...`); any other module to the package
  under `.lake/packages/` that holds it.
- Fallback, when the program does not elaborate (a Lean whose meta API it does not fit): `#check`
  gives each name's type only; such premises get the path `UNRESOLVED` and no position, and the
  trace says so.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from leanagent.db.records import PremiseRecord
from leanagent.lean.lexer import mask

log = logging.getLogger("leanagent.sources")

UNRESOLVED = "<unresolved>"
CORE_PACKAGES = ("Init", "Std", "Lean", "Lake")
CORE_DIR = ".lake/packages/lean4/src/lean"
_IDENT = re.compile(r"(?<![\w.'])[^\W\d][\w'!?₀-₉]*(?:\.[^\W\d][\w'!?₀-₉]*)*")

PREMISE_PROGRAM = """open Lean Meta Elab Command in
#eval show CommandElabM Unit from do
  -- leanagent-premises: module, declaration ranges, kind and type of each name
  let env ← getEnv
  for s in #[{names}] do
    let n := s.toName
    match env.find? n with
    | none => logInfo m!"{{(Json.mkObj [("name", toJson s), ("module", Json.null)]).compress}}"
    | some ci =>
      let mod ← liftCoreM (findModuleOf? n)
      let ranges ← liftCoreM (findDeclarationRanges? n)
      let span := fun (r : DeclarationRange) => toJson [r.pos.line, r.pos.column, r.endPos.line, r.endPos.column]
      let kind := match ci with
        | .thmInfo _ => "theorem" | .defnInfo _ => "definition" | .axiomInfo _ => "axiom"
        | .inductInfo _ => "inductive" | .ctorInfo _ => "constructor" | .recInfo _ => "recursor"
        | .opaqueInfo _ => "opaque" | .quotInfo _ => "quotient"
      let type ← liftTermElabM do return toString (← ppExpr ci.type)
      logInfo m!"{{(Json.mkObj [("name", toJson s), ("module", toJson (mod.map toString)),
        ("kind", toJson kind), ("type", toJson type),
        ("range", (ranges.map fun r => span r.range).getD Json.null),
        ("selection", (ranges.map fun r => span r.selectionRange).getD Json.null)]).compress}}"
"""


@dataclass(frozen=True)
class Declared:
    """Where a constant is declared: path as LeanDojo writes it, LeanDojo positions (1-based column)."""

    name: str
    path: str
    selection: tuple[tuple[int, int], tuple[int, int]] | None = None  # the name in its declaration
    range: tuple[tuple[int, int], tuple[int, int]] | None = None      # the whole declaration
    kind: str | None = None
    type: str | None = None
    code: str | None = None  # the corpus's code; default `KIND NAME : TYPE`

    def premise(self) -> PremiseRecord:
        start, end = self.selection if self.selection else (None, None)
        return PremiseRecord(full_name=self.name, path=self.path, start=start, end=end)

    def corpus_entry(self) -> PremiseRecord:
        start, end = self.range if self.range else (None, None)
        code = self.code or (f"{self.kind or 'theorem'} {self.name} : {self.type}" if self.type else None)
        return PremiseRecord(full_name=self.name, path=self.path, start=start, end=end, kind=self.kind, code=code)


def program(names: list[str]) -> str:
    return PREMISE_PROGRAM.format(names=", ".join(json.dumps(n, ensure_ascii=False) for n in names))


def check_program(names: list[str]) -> str:
    return "".join(f"#check @{n}\n" for n in names)


def match_constant(ident: str, used: tuple[str, ...]) -> tuple[str, str] | None:
    """(constant, the identifier's prefix that names it) or None: the longest dotted prefix of
    `ident` that is a used constant, written in full or relative to a namespace."""
    parts = ident.split(".")
    for k in range(len(parts), 0, -1):
        written = ".".join(parts[:k])
        if written in used:
            return written, written
        tails = [c for c in used if c.endswith("." + written)]
        if tails:
            return min(tails, key=len), written
    return None


def annotate(tactic: str, used: tuple[str, ...]) -> tuple[str, list[str]]:
    """LeanDojo's annotated tactic (`rw [<a>Nat.add_comm</a>]`) and the constants, one per occurrence."""
    masked = mask(tactic)
    out, names, at = [], [], 0
    for m in _IDENT.finditer(masked):
        found = match_constant(m.group(0), used)
        if found is None:
            continue
        name, written = found
        out.append(tactic[at:m.start()] + f"<a>{tactic[m.start():m.start() + len(written)]}</a>")
        at = m.start() + len(written)
        names.append(name)
    out.append(tactic[at:])
    return "".join(out), names


def module_path(module: str, root: Path, own: dict[str, str]) -> str:
    """The file a module is in, as LeanDojo writes paths (see the module docstring)."""
    if module in own:
        return own[module]
    rel = module.replace(".", "/") + ".lean"
    if module.split(".")[0] in CORE_PACKAGES:
        return f"{CORE_DIR}/{rel}"
    packages = root / ".lake" / "packages"
    if packages.is_dir():
        for pkg in sorted(packages.iterdir()):
            if (pkg / rel).is_file():
                return f".lake/packages/{pkg.name}/{rel}"
    return f".lake/packages/{module.split('.')[0].lower()}/{rel}"


def _span(v: list | None) -> tuple[tuple[int, int], tuple[int, int]] | None:
    if not v or len(v) != 4:
        return None
    return (v[0], v[1] + 1), (v[2], v[3] + 1)  # Lean's 0-based columns -> LeanDojo's 1-based


def read_program_answer(messages: list, root: Path, own: dict[str, str]) -> dict[str, Declared]:
    """The program's info messages -> {name: Declared}; names Lean does not know are left out."""
    found: dict[str, Declared] = {}
    for m in messages:
        if m.severity != "info" or not m.text.startswith("{"):
            continue
        try:
            d = json.loads(m.text)
        except ValueError:
            continue
        if not d.get("module"):
            continue  # unknown, or declared in the file itself (answered from its declarations)
        found[d["name"]] = Declared(d["name"], module_path(d["module"], root, own), _span(d.get("selection")),
                                    _span(d.get("range")), d.get("kind"), d.get("type"))
    return found


def read_check_answer(messages: list, names: list[str]) -> dict[str, Declared]:
    """`#check @NAME` answers -> {name: Declared} with the type only (the fallback)."""
    found: dict[str, Declared] = {}
    for m in messages:
        if m.severity != "info":
            continue
        name, sep, type_ = m.text.partition(" : ")
        if sep and name in names:
            found[name] = Declared(name, UNRESOLVED, type=type_.strip())
    return found

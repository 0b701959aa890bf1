"""Review flags: the reasons maintainers gave when they declined LeanAgent's proofs, found beforehand.

| flag               | what it means                                                  | declined in                  |
| ------------------ | -------------------------------------------------------------- | ---------------------------- |
| `placeholder-def`  | the statement uses a definition that is itself `sorry`         | teorth/pfr#226               |
| `exercise`         | the file is an exercise sheet (path or header: exercises, solutions) | avigad/mathematics_in_lean_source#247 |
| `proven-upstream`  | the theorem has no `sorry` any more at the upstream branch head | fpvandoorn/carleson#145     |
| `trivial-proof`    | the whole proof is one `exact`/`apply` of an existing lemma    | mo271/FormalBook#67          |
| `stale-commit`     | found on a commit far behind the upstream head (how far)       | m4lvin/lean4-pdl#6           |
| `recheck-failed`   | Lean refused the file with the proof in it (whole-file re-check) | Pantograph issue 1         |
| `unchecked`        | a Lean backend found it, but no whole-file check gave a verdict | PyPantograph issue 106       |
| `native`           | the theorem depends on native evaluation (`Lean.ofReduceBool`) | prove2me/prove2me_workspace#2 |
| `axiom`            | the theorem depends on an axiom beyond the standard three      | lean4 `#print axioms`        |
| `statement-changed`| the file's theorem is not the statement the proof was checked under (or is gone) | issue 23 |
| `native-decide`    | the proof asks for native evaluation: `native_decide`, `decide +native`, `native := true` | prove2me/prove2me_workspace#2, leanprover/lean-eval#248 |
| `slow`             | the re-check measured over 1 s, or over 3 x the median of the file's proofs | leanprover-community/mathlib4#37891, dwrensha/compfiles#25 |
| `long`             | the proof has over 20 lines (measured, else counted in its text) | google-deepmind/formal-conjectures#3562 |
| `lint`             | the re-check saw a warning on the proof's lines                | FormalizedFormalLogic/Foundation#860 |
| `max-heartbeats`   | the proof sets `maxHeartbeats` above the value in force at the theorem (0: no limit) | dwrensha/compfiles#25 |
| `unmeasured`       | Lean checked it, but measured no time or warnings: `slow` and `lint` cannot be judged | issue 28 |

Flags are judged on the variant export uses (`Proof.chosen`: the polished proof unless the reviewer
picked the one found). `slow` and `lint` need the re-check's measures (`Proof.measures`); a proof a
Lean backend checked without them is `unmeasured`, never a silent pass (replay and proofs found before
re-checks have no measures and no verdict: the export's summary and PR.md say "not measured").

The review app shows them on the list and the proof page; `export-proofs` (and the download
button) refuse a flagged proof unless forced. This package reads the database only: the upstream
facts are stored per proof by `leanagent.sources.upstream.refresh_upstream`, which `leanagent review`
and `leanagent export-proofs` run first; when upstream is unknown nothing is flagged from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leanagent.db.engine import Database
from leanagent.db.models import ReviewStatus, chosen_parts
from leanagent.lean.proof_text import PatchError
from leanagent.lean.axioms import beyond_standard
from leanagent.lean.measure import proof_height
from leanagent.lean.options import (DEFAULT_MAX_HEARTBEATS, heartbeats_in_force, heartbeats_set, native_uses,
                                    raises_heartbeats)
from leanagent.text import identifiers

#: Commits between the proof's commit and the upstream head from which the proof counts as stale.
STALE_COMMITS = 50

#: A proof is slow above this many seconds, or above SLOW_FACTOR times the median proof of its file:
#: agent golf measured 72-481% slower than the proofs it replaced (mathlib4#37891).
SLOW_SECONDS = 1.0
SLOW_FACTOR = 3.0
#: Proofs longer than this need a discussion first (formal-conjectures#3562).
LONG_LINES = 20

FLAGS = {  # code -> (short label, the maintainers' discussion)
    "placeholder-def": ("placeholder definition", "teorth/pfr#226"),
    "exercise": ("exercise file", "avigad/mathematics_in_lean_source#247"),
    "proven-upstream": ("already proven upstream", "fpvandoorn/carleson#145"),
    "trivial-proof": ("one exact/apply", "mo271/FormalBook#67"),
    "stale-commit": ("stale commit", "m4lvin/lean4-pdl#6"),
    "recheck-failed": ("failed the re-check", "Pantograph issue 1"),
    "unchecked": ("no re-check verdict", "PyPantograph issue 106"),
    "native": ("native evaluation", "prove2me/prove2me_workspace#2"),
    "axiom": ("extra axiom", "lean4 #print axioms"),
    "statement-changed": ("statement changed", "the theorem in the file is not the one proved"),
    "native-decide": ("native_decide", "prove2me/prove2me_workspace#2, leanprover/lean-eval#248"),
    "slow": ("slow proof", "leanprover-community/mathlib4#37891, dwrensha/compfiles#25"),
    "long": (f"over {LONG_LINES} lines", "google-deepmind/formal-conjectures#3562"),
    "lint": ("linter warning", "FormalizedFormalLogic/Foundation#860"),
    "max-heartbeats": ("raises maxHeartbeats", "dwrensha/compfiles#25"),
    "unmeasured": ("not measured", "issue 28: slow and lint need the re-check's measures"),
}

_DEF = re.compile(r"^\s*(?:@\[[^\]]*\]\s*)*(?:(?:private|protected|noncomputable|partial|unsafe|scoped)\s+)*"
                  r"(def|abbrev|instance|opaque)\b")
_EXERCISE_PATH = re.compile(r"(?i)exercis|solution")
_EXERCISE_WORDS = re.compile(r"(?i)\b(exercises?|solutions?)\b")
# Mathematics in Lean's sources mark their sheets with comment lines like `/- EXAMPLES:` and `-- SOLUTIONS:`.
_EXERCISE_MARKER = re.compile(r"(?m)^\s*(?:/-|--)\s*(?:EXERCISES?|SOLUTIONS?)\b")
_FIRST_DECL = re.compile(r"(?m)^\s*(?:@\[[^\]]*\]\s*)*(?:(?:private|protected|noncomputable)\s+)*"
                         r"(?:theorem|lemma|def|example|instance|abbrev|structure|inductive|class)\b")
_ONE_LEMMA = re.compile(r"^(exact|apply)\s+@?(?P<name>[^\s()⟨⟩\[\]{},:;]+)(?:\s+[^;<>]*)?$")
_NOT_A_LEMMA = {"fun", "by", "λ", "show", "if", "match", "let", "have"}


@dataclass(frozen=True)
class Flag:
    code: str    # a key of FLAGS
    detail: str  # what was found, for this proof

    @property
    def label(self) -> str:
        return FLAGS[self.code][0]

    @property
    def source(self) -> str:
        return FLAGS[self.code][1]

    def __str__(self) -> str:
        return f"{self.label}: {self.detail} ({self.source})"


# -- the rules, one pure function each ------------------------------------------------------------


def placeholder_defs(statement: str | None, sorry_defs: list[str]) -> list[str]:
    """The `sorry` definitions (full names) that `statement` mentions, by full name or a dotted suffix
    (`Foo.bar` or `bar` for `A.Foo.bar`). One-letter names are not matched (they are binders)."""
    if not statement or not sorry_defs:
        return []
    used = identifiers(statement)
    found = []
    for full in sorry_defs:
        parts = full.split(".")
        names = {".".join(parts[i:]) for i in range(len(parts))}
        if any(n in used for n in names if len(n) > 1):
            found.append(full)
    return found


def exercise_reason(file_path: str, text: str | None) -> str | None:
    """Why the file looks like exercises (its path, its header, MIL-style markers), or None."""
    if _EXERCISE_PATH.search(file_path):
        return f"the path {file_path} names exercises or solutions"
    if not text:
        return None
    m = _FIRST_DECL.search(text)
    header = text[: m.start()] if m else text
    if w := _EXERCISE_WORDS.search(header):
        return f"the file header mentions {w.group(0).lower()}"
    if w := _EXERCISE_MARKER.search(text):
        return f"the file has exercise markers ({w.group(0).strip()})"
    return None


def trivial_lemma(tactics: list[str], statement: str | None = None) -> str | None:
    """The lemma when the whole proof is one `exact`/`apply` of it, else None.

    A hypothesis is not a lemma: names bound in the statement (`(h : p)`), `this`, and short names
    without a dot or underscore (`h`, `hx`, `h₁`) are taken for local hypotheses."""
    lines = [t.strip() for t in tactics if t.strip()]
    if len(lines) != 1 or "\n" in lines[0]:
        return None
    m = _ONE_LEMMA.match(lines[0])
    if not m:
        return None
    name = m["name"]
    if name in _NOT_A_LEMMA or name[:1].isdigit() or name == "this":
        return None
    if statement and re.search(rf"[(\[{{⦃][^:)]*(?<![\w.']){re.escape(name)}(?![\w'])[^:)]*:", statement):
        return None  # bound in the statement
    if "." not in name and "_" not in name and len(name) <= 3:
        return None
    return name


def check_flags(env: str | None, check: str | None, message: str | None, axioms: list | None) -> list[Flag]:
    """Flags from the whole-file re-check (`leanagent.prover.recheck`): everything but `verified`, except
    replay's `unchecked` (replay never claims Lean checked anything; its figures say "replay")."""
    out = []
    if check == "rejected":
        out.append(Flag("recheck-failed", message or "Lean refused the file with the proof"))
    elif check == "unchecked" and env != "replay":
        out.append(Flag("unchecked", message or "no whole-file check ran"))
    native, other = beyond_standard(axioms or [])
    if native:
        out.append(Flag("native", "depends on " + ", ".join(native) + ": it trusts the compiler (`native_decide`)"))
    if other:
        out.append(Flag("axiom", "depends on " + ", ".join(other)))
    return out


def statement_flag(text: str | None, full_name: str, line: int, file_path: str, digest: str | None) -> Flag | None:
    """`statement-changed` when the file as it is now has no single `full_name`, or its statement is not
    the one the proof was checked under (`Proof.statement_digest`; unknown for replay and older proofs)."""
    from leanagent.lean.proof_text import Location, place

    if text is None or digest is None:
        return None
    try:
        place(text, Location(full_name, line, file_path), digest)
    except PatchError as exc:
        return Flag("statement-changed", exc.message)
    return None


def native_flag(tactics: list[str]) -> Flag | None:
    """`native-decide` when the proof text asks for native evaluation (comments and names do not count)."""
    uses = native_uses("\n".join(tactics))
    if not uses:
        return None
    return Flag("native-decide", "the proof uses " + ", ".join(uses)
                + ": it trusts the compiler; maintainers replaced it with `decide`")


def proof_lines(tactics: list[str], measures: dict) -> int:
    """The proof's lines: as the re-check measured them, else as its tactics would take them in the file
    (the rule the re-check measures by)."""
    if measures.get("lines") is not None:
        return int(measures["lines"])
    return proof_height(tactics)


def slow_reason(measures: dict) -> str | None:
    seconds, median = measures.get("seconds"), measures.get("file_median_seconds")
    if seconds is None:
        return None
    if seconds > SLOW_SECONDS:
        return f"the re-check took {seconds:.2f} s (over {SLOW_SECONDS:g} s)"
    if median and seconds > SLOW_FACTOR * median:
        return f"the re-check took {seconds:.2f} s, over {SLOW_FACTOR:g} x the file's median {median:.2f} s"
    return None


def long_reason(tactics: list[str], measures: dict) -> str | None:
    n = proof_lines(tactics, measures)
    return f"{n} lines (over {LONG_LINES}): discuss it with the maintainers first" if n > LONG_LINES else None


def lint_reason(measures: dict) -> str | None:
    warnings = measures.get("warnings")  # the re-check stores a count, or the messages themselves
    n = len(warnings) if isinstance(warnings, (list, tuple)) else int(warnings or 0)
    if not n:
        return None
    first = f": {warnings[0]}" if isinstance(warnings, (list, tuple)) else ""
    return f"{n} warning(s) on the proof's lines{first}"


def unmeasured_reason(measures: dict, check: str | None, env: str, variant: str) -> str | None:
    """Why `slow`/`lint` could not be judged for a proof that Lean did check (verified or flagged)."""
    if check not in ("verified", "flagged") or env == "replay":
        return None
    missing = [what for key, what in (("seconds", "time"), ("warnings", "warnings")) if measures.get(key) is None]
    if not missing:
        return None
    return (f"the re-check recorded no {' or '.join(missing)} for the {variant} proof, so it is not known "
            "whether it is slow or warns: re-check it (prove again), or export with --force")


def heartbeats_reason(tactics: list[str], text: str | None, keyword: int | None) -> str | None:
    """`max-heartbeats`: the proof sets `maxHeartbeats` above the value in force at its declaration
    (`keyword`: the offset of its keyword in the file `text`; without them, Lean's default)."""
    values = heartbeats_set("\n".join(tactics))
    if not values:
        return None
    known = text is not None and keyword is not None
    in_force = heartbeats_in_force(text, keyword) if known else DEFAULT_MAX_HEARTBEATS
    raised = [v for v in values if raises_heartbeats(v, in_force)]
    if not raised:
        return None
    shown = ", ".join("0 (no limit)" if v == 0 else str(v) for v in raised)
    return (f"the proof sets maxHeartbeats {shown} where {in_force} is in force"
            + ("" if known else " (Lean's default: the theorem is not in the file text)"))


def variant_flags(tactics: list[str], measures: dict, check: str | None, env: str, variant: str,
                  text: str | None, keyword: int | None) -> list[Flag]:
    """The flags judged on the exported variant's text and measures (issue 28)."""
    out = [f] if (f := native_flag(tactics)) else []
    for code, why in (("slow", slow_reason(measures)), ("long", long_reason(tactics, measures)),
                      ("lint", lint_reason(measures)), ("max-heartbeats", heartbeats_reason(tactics, text, keyword)),
                      ("unmeasured", unmeasured_reason(measures, check, env, variant))):
        if why:
            out.append(Flag(code, why))
    return out


def upstream_flags(upstream: dict | None, file_path: str, stale_after: int = STALE_COMMITS) -> list[Flag]:
    if not upstream or upstream.get("state") != "known":
        return []
    out = []
    at = f"{upstream.get('branch')} ({(upstream.get('head') or '')[:12]})"
    if upstream.get("present") is False:
        out.append(Flag("proven-upstream", f"the theorem is no longer in {file_path} at {at}"))
    elif upstream.get("sorry_at_head") is False:
        out.append(Flag("proven-upstream", f"it has no `sorry` at {at}"))
    behind = upstream.get("behind")
    if behind is not None and behind >= stale_after:
        out.append(Flag("stale-commit", f"found on {(upstream.get('found_commit') or '?')[:12]}, "
                                        f"{behind} commits behind {at}"))
    return out


def upstream_summary(upstream: dict | None) -> str:
    """One line for the proof page: what upstream says, or why nobody knows."""
    if not upstream:
        return "upstream not checked yet (run `leanagent review` or `export-proofs`)"
    if upstream.get("state") != "known":
        return f"upstream unknown: {upstream.get('reason')}"
    behind = upstream.get("behind")
    sorry = ("the theorem is not in its file" if upstream.get("present") is False
             else {True: "still `sorry`", False: "no `sorry`", None: "unknown"}[upstream.get("sorry_at_head")])
    return (f"upstream {upstream.get('branch')} at {(upstream.get('head') or '')[:12]}: {sorry} there; "
            + (f"{behind} commits after the proof's commit" if behind is not None
               else f"commits behind unknown ({upstream.get('reason') or 'no commit recorded'})")
            + f"; checked {upstream.get('checked_at', '')}")


# -- over the database ----------------------------------------------------------------------------


def proof_flags(db: Database, proof_ids: list[int], *, stale_after: int = STALE_COMMITS) -> dict[int, list[Flag]]:
    """{proof id: its flags} (an empty list for a clean proof)."""
    from leanagent.db.review import flag_facts
    from leanagent.lean.proof_text import current_text

    ids = list(proof_ids)
    if not ids:
        return {}
    rows, defs = flag_facts(db, ids)
    sorry_defs: dict[int, list[str]] = {}
    for repo_id, name, statement in defs:
        if statement and _DEF.match(statement) and "<" not in name:  # `<instance@12>`: anonymous
            sorry_defs.setdefault(repo_id, []).append(name)
    texts: dict[tuple, str | None] = {}
    exercises: dict[tuple, str | None] = {}
    out: dict[int, list[Flag]] = {}
    for (pid, repo_id, full_name, file_path, statement, found, check, message, upstream, repo_path, stored,
         env, axioms, statement_digest, line, polished, picked, measures) in rows:
        flags = []
        # The variant export uses: every rule below judges that one.
        variant, tactics, chosen_measures = chosen_parts(found, polished, picked, measures)
        used = placeholder_defs(statement, [d for d in sorry_defs.get(repo_id, []) if d != full_name])
        if used:
            flags.append(Flag("placeholder-def", "the statement uses " + ", ".join(f"`{d}`" for d in used)
                              + ", defined with `sorry`"))
        key = (repo_path, file_path)
        if key not in texts:
            try:
                texts[key] = current_text(repo_path, stored, file_path)
            except (PatchError, OSError, UnicodeDecodeError):
                texts[key] = stored
            exercises[key] = exercise_reason(file_path, texts[key])  # once per file
        if why := exercises[key]:
            flags.append(Flag("exercise", why))
        flags += upstream_flags(upstream, file_path, stale_after)
        if lemma := trivial_lemma(list(tactics or []), statement):
            flags.append(Flag("trivial-proof", f"the whole proof applies `{lemma}`"))
        flags += check_flags(env, check, message, axioms)
        if moved := statement_flag(texts[key], full_name, line, file_path, statement_digest):
            flags.append(moved)
        # Locating the declaration lexes its file: only a proof that sets maxHeartbeats needs it.
        keyword = _keyword(texts[key], full_name, line, file_path) if heartbeats_set("\n".join(tactics)) else None
        flags += variant_flags(tactics, chosen_measures, check, env, variant, texts[key], keyword)
        out[pid] = flags
    return out


def _keyword(text: str | None, full_name: str, line: int, file_path: str) -> int | None:
    """The offset of the theorem's keyword in the file text, None when it is not there once."""
    from leanagent.lean.declarations import DeclarationNotFound, locate

    if text is None:
        return None
    try:
        return locate(text, full_name, line, file_path).keyword
    except DeclarationNotFound:
        return None


class FlaggedProofsError(PatchError):
    """The export would include flagged proofs (see `leanagent.review.flags`)."""


def check_export(db: Database, repo_name: str, status: ReviewStatus | str = ReviewStatus.ACCEPTED,
                 force: bool = False) -> dict[int, list[Flag]]:
    """The flags of the proofs an export of `repo_name` would contain; raises FlaggedProofsError
    when any is flagged, unless `force`."""
    from leanagent.db.review import export_rows

    with db.session() as s:
        _, rows = export_rows(s, repo_name, ReviewStatus(status))
        names = {p.id: t.full_name for p, t in rows}
    flags = proof_flags(db, list(names))
    flagged = {pid: f for pid, f in flags.items() if f}
    if flagged and not force:
        listed = "; ".join(f"proof {pid} {names[pid]}: " + ", ".join(str(x) for x in f)
                           for pid, f in sorted(flagged.items()))
        raise FlaggedProofsError(f"{len(flagged)} proof(s) are flagged: {listed}",
                                 fix="review them (`leanagent review`), or export anyway with --force")
    return flags

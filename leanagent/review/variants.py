"""The found proof beside the polished one: both tactic blocks, their diff, what polishing did, and
what the whole-file re-check measured for each (`Proof.polish`, `Proof.measures`).

Plain data only; the templates escape every string. A measure that was not recorded (proofs found
before measuring existed, or a variant the re-check did not time) reads as "—".
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from leanagent.db.review import VARIANTS, ProofDetail
from leanagent.lean.proof_text import PatchError, render_tactics
from leanagent.review.views import CodeBlock, diff_lines, numbered

MISSING = "—"
#: The measures shown, in order: (key in M, label, unit).
MEASURES = (("seconds", "Elaboration time", "s"), ("file_median_seconds", "File median per declaration", "s"),
            ("heartbeats", "Heartbeats", ""), ("lines", "Lines", ""), ("warnings", "Warnings", ""))


@dataclass
class MeasureRow:
    label: str
    values: dict[str, str]  # variant -> shown value


@dataclass
class Comparison:
    blocks: dict[str, CodeBlock]       # variant -> its tactic block (only the variants that exist)
    diff: list[tuple[str, str]]        # found -> polished, as (kind, line); empty without a polished variant
    measures: list[MeasureRow]         # empty when nothing was measured
    polish: list[str]                  # what polishing did, one sentence a line
    chosen: str                        # the variant export uses now


def show_measure(value, unit: str = "") -> str:
    """A measure for display: seconds with two decimals, counts as integers, "—" when missing."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return MISSING
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _block(tactics: list[str]) -> CodeBlock:
    try:
        return numbered(render_tactics(tactics, "  "))
    except PatchError as exc:
        return numbered(f"(cannot be shown: {exc.message})")


def polish_summary(polish: dict | None) -> list[str]:
    """`Proof.polish` in words; unknown keys are left out, missing ones are not invented."""
    if not polish:
        return []
    if polish.get("skipped"):
        skipped = polish["skipped"]
        return ["Polishing was skipped" + (f": {skipped}" if isinstance(skipped, str) else ".")]
    out = []
    tried, kept = polish.get("tried"), polish.get("kept")
    kept = [str(k) for k in kept] if isinstance(kept, list) else []
    if isinstance(tried, int) and not isinstance(tried, bool):
        out.append(f"Tried {tried} variant{'' if tried == 1 else 's'}, kept {len(kept)}.")
    out += [f"Kept: {k}" for k in kept]
    seconds = polish.get("seconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        out.append(f"Took {seconds:.1f} s" + (" and stopped at its time budget." if polish.get("budget_hit")
                                              else "."))
    elif polish.get("budget_hit"):
        out.append("Stopped at its time budget.")
    return out


def compare_variants(d: ProofDetail) -> Comparison:
    blocks = {"found": _block(d.tactics)}
    diff: list[tuple[str, str]] = []
    if d.polished_tactics:
        blocks["polished"] = _block(d.polished_tactics)
        old = [line for _, line in blocks["found"].lines]
        new = [line for _, line in blocks["polished"].lines]
        diff = diff_lines("\n".join(difflib.unified_diff(old, new, "found", "polished", lineterm="")))
    per_variant = {v: m for v, m in (d.measures or {}).items() if v in VARIANTS and isinstance(m, dict)}
    rows = []
    if per_variant:
        rows = [MeasureRow(label, {v: show_measure(per_variant.get(v, {}).get(key), unit) for v in blocks})
                for key, label, unit in MEASURES]
    return Comparison(blocks=blocks, diff=diff, measures=rows, polish=polish_summary(d.polish), chosen=d.chosen)

"""What an export tells maintainers: AI-use disclosure, the facts of each proof, and who reviewed it.

Mathlib asks that AI use be disclosed (and labels such pull requests); PrimeNumberTheoremAnd merges
AI proofs with a `Co-authored-by:` trailer for the person who vouched for them (#581, #800, #1068).
One set of pure text functions writes the same facts everywhere `export-proofs` writes: the
commit message of each file on `--branch`, the header of the `--out` patch, and PR.md. The facts
come from `leanagent.db.pr_facts.proof_facts`, the flags from `leanagent.review.flags`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leanagent import __version__
from leanagent.db.engine import Database
from leanagent.db.pr_facts import ProofFacts
from leanagent.lean.proof_text import PatchError
from leanagent.review.flags import Flag, proof_lines

TOOL = f"leanagent {__version__}"
#: `Name <email>`: the form git trailers take, in a reviewer's name or in --coauthor.
_IDENTITY = re.compile(r"^\s*(?P<name>[^<>\n]*?)\s*<(?P<email>[^<>\s@]+@[^<>\s@]+)>\s*$")
# Lines that `git apply` would take for the start of a diff: never in a patch header.
_DIFF_START = re.compile(r"^(diff |--- |\+\+\+ |@@ |Index: |index |\*\*\* )")

#: How each whole-file re-check status reads in summaries.
CHECK_LABELS = {"verified": "verified (the file elaborates with the proof; standard axioms only)",
                "rejected": "rejected by Lean", "flagged": "elaborates, but with native code or extra axioms",
                "unchecked": "not re-checked", None: "found before re-checks existed"}


class DisclosureError(PatchError):
    """An export cannot name the people or facts its disclosure needs (e.g. a co-author's email)."""


@dataclass
class Disclosure:
    """Everything one export discloses."""

    repo: str
    commit: str | None                 # the commit every proof was checked against (when one)
    facts: list[ProofFacts]            # the exported proofs, in file order
    waived: dict[int, list[Flag]] = field(default_factory=dict)  # flags --force waived, per proof
    force_reason: str | None = None
    coauthors: dict[str, str] = field(default_factory=dict)      # reviewer -> `Name <email>`


def check_counts(db: Database, proof_ids: list[int]) -> dict[str, int]:
    """{what the re-check said: number of proofs} for the given proofs."""
    from leanagent.db.proof_checks import check_statuses

    out: dict[str, int] = {}
    for st in check_statuses(db, list(proof_ids)) if proof_ids else []:
        label = CHECK_LABELS.get(st, st)
        out[label] = out.get(label, 0) + 1
    return out


def identity(text: str | None) -> tuple[str, str] | None:
    """(name, email) of `Name <email>`, else None."""
    m = _IDENTITY.match(text or "")
    return (m["name"], m["email"]) if m and m["name"] else None


def resolve_coauthors(reviewers: list[str], given: list[str], strict: bool = True) -> dict[str, str]:
    """{reviewer: `Name <email>`} for the Co-authored-by trailers. A reviewer who signed as `Name
    <email>` is taken as written; otherwise a `--coauthor "Name <email>"` with the reviewer's name
    gives the email. `strict`: a reviewer with neither is refused (a trailer without an email credits
    nobody); else he is named in the text only."""
    by_name = {}
    for text in given:
        ident = identity(text)
        if ident is None:
            raise DisclosureError(f"--coauthor {text!r} is not of the form `Name <email>`",
                                  fix='write it as --coauthor "Ann Smith <ann@example.org>"')
        by_name[ident[0].casefold()] = f"{ident[0]} <{ident[1]}>"
    out, missing = {}, []
    for reviewer in dict.fromkeys(reviewers):
        ident = identity(reviewer)
        if ident:
            out[reviewer] = f"{ident[0]} <{ident[1]}>"
        elif reviewer.strip().casefold() in by_name:
            out[reviewer] = by_name[reviewer.strip().casefold()]
        else:
            missing.append(reviewer)
    if missing and strict:
        raise DisclosureError("no email for the Co-authored-by trailer of reviewer(s) " + ", ".join(map(repr, missing)),
                              fix='pass --coauthor "NAME <email>" with the reviewer\'s name, once per reviewer')
    return out


# -- one proof ------------------------------------------------------------------------------------


def measured(f: ProofFacts) -> str:
    """The proof's size and time as measured, or "not measured" (never silence: silence reads as fast)."""
    lines = proof_lines(f.tactics, f.measures)
    seconds, median = f.measures.get("seconds"), f.measures.get("file_median_seconds")
    if seconds is None:
        return f"{lines} lines, time not measured"
    return f"{lines} lines, {seconds:.2f} s" + (f" (file median {median:.2f} s)" if median is not None else "")


def check_text(f: ProofFacts) -> str:
    if f.env == "replay":
        return "replayed against recorded steps only (no Lean ran)"
    text = CHECK_LABELS.get(f.check_status, f.check_status or "")
    if f.checked_by:
        text += f" by {f.checked_by}"
    if f.axioms is not None:
        text += "; axioms: " + (", ".join(f.axioms) or "none")
    return text


def waived_text(flags: list[Flag], reason: str | None) -> str:
    if not flags:
        return "none"
    return "; ".join(f"{fl.label} ({fl.detail}; {fl.source})" for fl in flags) \
        + f" -- waived because: {' '.join((reason or '').split()) or 'no reason given (--force-reason)'}"


def proof_line(f: ProofFacts, waived: list[Flag], reason: str | None) -> str:
    """One line per proof: theorem, file, lines and time, how it was found and checked, who accepted it,
    and the flags waived with --force and why."""
    return (f"`{f.full_name}` ({f.file_path}, {f.variant} variant): {measured(f)}; "
            f"model {f.model or 'unknown'}, search budget {f.budget or 'unknown'}; re-check: {check_text(f)}; "
            f"accepted by {f.reviewer or 'nobody (not accepted in review)'}; "
            f"flags waived with --force: {waived_text(waived, reason)}")


# -- the texts ------------------------------------------------------------------------------------


def disclosure_paragraph(facts: list[ProofFacts]) -> str:
    """The AI-use disclosure for these proofs (Mathlib asks for one on every AI-assisted pull request)."""
    models = ", ".join(sorted({f.model or "unknown" for f in facts}))
    budgets = ", ".join(sorted({f.budget or "unknown" for f in facts}))
    reviewers = sorted({f.reviewer for f in facts if f.reviewer})
    unreviewed = sum(1 for f in facts if not f.reviewer)
    review = (f"A person read and accepted {'each one' if not unreviewed else 'some of them'} in leanagent's "
              f"review app ({', '.join(reviewers)}); the reviewers are credited with Co-authored-by trailers."
              if reviewers else "")
    if unreviewed:  # say it plainly: an exported proof nobody accepted must not read as reviewed
        review += f" {unreviewed} of them were not accepted by anyone in review."
    return (f"AI use: these proofs were found by an AI system, {TOOL} (a premise retriever and a tactic "
            f"generator driving a best-first proof search), with the model checkpoint(s) {models} and the "
            f"search budget(s) {budgets}. No person wrote them. Each one's whole-file re-check by Lean is "
            f"stated below. {review}".strip())


def _facts(d: Disclosure, facts: list[ProofFacts]) -> list[str]:
    return [f"Tool: {TOOL}", f"Checked against commit: {d.commit or 'not recorded'}", "Proofs:"] \
        + ["- " + proof_line(f, d.waived.get(f.proof_id, []), d.force_reason) for f in facts]


def commit_message(d: Disclosure, file_path: str) -> str:
    """The message of the commit that puts the proofs of one file on the branch."""
    facts = [f for f in d.facts if f.file_path == file_path]
    names = [f.full_name for f in facts]
    title = (f"Prove {names[0].rsplit('.', 1)[-1]} in {file_path}" if len(names) == 1
             else f"Prove {len(names)} theorems in {file_path}")
    trailers = [f"Co-authored-by: {d.coauthors[r]}" for r in dict.fromkeys(f.reviewer for f in facts)
                if r and r in d.coauthors]
    body = [title, "", disclosure_paragraph(facts), "", *_facts(d, facts)]
    return "\n".join(body + ([""] + trailers if trailers else [])) + "\n"


def patch_header(d: Disclosure) -> str:
    """The text before the first `diff --git` of the --out patch (`git apply` skips it). A line that
    `git apply` could read as a diff's start is indented."""
    lines = [f"Proofs for {d.repo} exported by {TOOL}", "", disclosure_paragraph(d.facts), "", *_facts(d, d.facts)]
    lines += [f"Co-authored-by: {c}" for c in dict.fromkeys(d.coauthors.values())]
    lines = "\n".join(lines).split("\n")  # a fact with a newline in it is lines of its own
    return "".join(("  " + ln if _DIFF_START.match(ln) else ln) + "\n" for ln in lines) + "\n"


def pr_description(d: Disclosure, branch: str | None = None) -> str:
    """PR.md: a pull-request description with the same facts and one line per proof."""
    files = sorted({f.file_path for f in d.facts})
    waived = sum(1 for f in d.facts if d.waived.get(f.proof_id))
    out = [f"# Proofs of {len(d.facts)} `sorry` theorem(s) in {d.repo}", "",
           f"This pull request replaces the `sorry` of {len(d.facts)} theorem(s) in {len(files)} file(s) "
           f"with machine-found proofs, one commit per file"
           + (f" (branch `{branch}`)" if branch else "") + f", on top of commit {d.commit or '(not recorded)'}.",
           "", "## AI use", "", disclosure_paragraph(d.facts), "",
           "## Flags", "",
           (f"{waived} proof(s) carry review flags (reasons maintainers declined such proofs) that were "
            f"waived with --force, because: {d.force_reason or 'no reason given'}." if waived
            else "No proof carries a review flag (leanagent/review/flags.py lists them)."), "",
           "## Proofs", ""]
    out += ["- " + proof_line(f, d.waived.get(f.proof_id, []), d.force_reason) for f in d.facts]
    if d.coauthors:
        out += ["", "Co-authors (reviewers): " + ", ".join(dict.fromkeys(d.coauthors.values()))]
    return "\n".join(out) + "\n"

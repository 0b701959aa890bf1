"""lean-dojo traced objects built without Lean, shared by the tracing and sync tests.

They are built the way lean-dojo's `TracedFile.from_xml` builds them when it loads a cached
trace: a real `LeanGitRepo` (a local git repository), a real `LeanFile` read from disk, AST
nodes from `lean_dojo.data_extraction.ast`, then `TracedFile` and `TracedRepo`.
"""

from __future__ import annotations

from pathlib import Path

import lean_dojo as ld
from lean_dojo.data_extraction import ast as A
from lean_dojo.data_extraction.lean import LeanFile, Pos

BASIC = "Proj/Basic.lean"
STATE = "n : Nat\n⊢ n + 0 = n"


def span(lf: LeanFile, needle: str, nth: int = 0) -> tuple[Pos, Pos]:
    """LeanDojo positions (1-based line and column, end just past the text) of a substring."""
    text = "\n".join(lf.code)
    off = -1
    for _ in range(nth + 1):
        off = text.index(needle, off + 1)

    def pos(o: int) -> Pos:
        line = text.count("\n", 0, o) + 1
        return Pos(line, o - (text.rfind("\n", 0, o) + 1) + 1)

    return pos(off), pos(off + len(needle))


def atom(lf, needle, nth=0):
    s, e = span(lf, needle, nth)
    return A.AtomNode(lf, s, e, [], "", " ", needle)


def theorem_node(lf, name: str, decl: str, sig: str, proof):
    s, _ = span(lf, decl)
    ds, de = span(lf, name)
    ss, se = span(lf, sig)
    assign = atom(lf, ":=", nth=0 if name == "add_zero'" else 1)
    declval = A.CommandDeclvalsimpleNode(lf, assign.start, proof.end, [assign, proof])
    return A.CommandTheoremNode(lf, s, proof.end, [
        atom(lf, "theorem", 0 if name == "add_zero'" else 1),
        A.CommandDeclidNode(lf, ds, de, [A.IdentNode(lf, ds, de, [], "", " ", name, name)]),
        A.CommandDeclsigNode(lf, ss, se, []),
        declval,
    ], name, name)


def build_traced_repo(work: Path, commit: str):
    """A TracedRepo over the `lean_project` work tree with one traced file (and a dependency's file)."""
    repo = ld.LeanGitRepo(str(work), commit)
    lf = LeanFile(work.resolve(), Path(BASIC))

    # theorem add_zero' (n : Nat) : n + 0 = n := by
    #   rw [Nat.add_zero]
    ts, te = span(lf, "rw [Nat.add_zero]")
    ids, ide = span(lf, "Nat.add_zero")
    ident = A.IdentNode(lf, ids, ide, [], "", "", "Nat.add_zero", "Nat.add_zero", full_name="Nat.add_zero",
                        mod_name="Init.Core", def_path=".lake/packages/lean4/src/lean/Init/Core.lean",
                        def_start=Pos(1520, 1), def_end=Pos(1521, 30))
    tactic = A.OtherNode(lf, ts, te, [atom(lf, "rw"), ident], "Lean.Parser.Tactic.rwSeq",
                         state_before=STATE, state_after="no goals", tactic="rw [Nat.add_zero]")
    seq = A.TacticTacticseqNode(lf, ts, te, [A.TacticTacticseq1IndentedNode(lf, ts, te, [A.NullNode(lf, ts, te, [tactic])])])
    by = atom(lf, "by")
    proof1 = A.TermBytacticNode(lf, by.start, te, [by, seq])
    thm1 = theorem_node(lf, "add_zero'", "theorem add_zero'", "(n : Nat) : n + 0 = n", proof1)

    # theorem open_one : True := sorry          (term mode: LeanDojo records no tactic)
    sorry = atom(lf, "sorry")
    proof2 = A.OtherNode(lf, sorry.start, sorry.end, [sorry], "Lean.Parser.Term.sorry")
    thm2 = theorem_node(lf, "open_one", "theorem open_one", ": True", proof2)

    # def helper : Nat := by exact sorry        (a def: LeanDojo lists no theorem for it)
    ds, de = span(lf, "def helper : Nat := by exact sorry")
    helper = A.OtherNode(lf, ds, de, [], "Lean.Parser.Command.declaration")

    file_ast = A.FileNode(lf, lf.start_pos, lf.end_pos, [thm1, thm2, helper])
    tf = ld.TracedFile(work.resolve(), repo, lf, file_ast, [])

    files = [tf]
    if (work / ".lake/packages/dep/Dep.lean").is_file():  # a dependency's file, as lake checks it out
        dep_lf = LeanFile(work.resolve(), Path(".lake/packages/dep/Dep.lean"))
        files.append(ld.TracedFile(work.resolve(), repo, dep_lf,
                                   A.FileNode(dep_lf, dep_lf.start_pos, dep_lf.end_pos, []), []))
    traced = ld.TracedRepo(repo, {}, work.resolve(), files, None)
    traced._update_traced_files()
    return traced

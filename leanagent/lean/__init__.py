"""Everything that talks to Lean or reads Lean text, without a database.

- `versions`: the `lean-toolchain` file, release ordering, and which backend runs which Lean release;
- `repl`: the Lean REPL session through lean-interact (process start, restarts, memory limits, the
  header and context environments), shared by the LeanInteract prover, the REPL tracer and the
  whole-file check; the stand-in REPL of tests/fake_repl speaks the same protocol;
- `leandojo`: lean-dojo wrapped (the toolchain it needs, the releases it traces, one trace run);
- `check`: the whole-file check (`lake env lean` or a REPL command) and its fail-closed verdict;
- `measure`: what that check measures of a proof (Lean's profiler per declaration, the proof's lines and
  warnings, `simp?`'s suggestion), pure functions over Lean's messages;
- `lexer`, `declarations`, `proof_text`, `axioms`: reading Lean text (declarations by full name,
  the proof splice that the re-check, the patch and the review preview share, `#print axioms`).

This package sits below `db`, `sources` and `prover` (see tests/test_layers.py): it imports only
the base modules.
"""

"""What a checkpoint was trained on, and the refusal to evaluate it on that (issue 24).

Every stage folder that training writes gets `provenance.json`: the run and stage that made it, the
repositories, and a digest per theorem whose steps (or agent proofs) reached its training, counting
the checkpoint it started from. A theorem's digest is its full name and normalised statement
(`leanagent.db.training_data.theorem_keys`), so copies of it in other repositories, or a re-import
under another split, still match.

`check_overlap` is asked before a checkpoint is evaluated (`eval generator`, `eval retrieval`,
`prove --theorems test`): when its training theorems include evaluated ones (a repository re-split
with `--split test` after training, a theorem imported again as evaluation-only), it refuses in one
line that names the overlap and the fix, unless `--allow-overlap`, and then every report says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from leanagent.errors import LeanAgentError

FILE = "provenance.json"


class OverlapError(LeanAgentError):
    """A checkpoint would be evaluated on theorems it was trained on."""


@dataclass(frozen=True)
class Provenance:
    folder: str
    run_id: int | None
    stage: str | None
    repos: list[str]
    theorems: frozenset[str]     # digests of the theorems it trained on (with its start checkpoint's)

    def describe(self) -> str:
        """One line naming the checkpoint and the run that made it."""
        made = f"run {self.run_id}, stage {self.stage}" if self.run_id is not None else "no training run recorded"
        return f"{self.folder} ({made}; trained on {len(self.theorems)} theorems)"


def read(folder: str | Path | None) -> Provenance | None:
    """The provenance of a checkpoint folder; None when none was recorded (an older or foreign folder)."""
    if folder is None or not (Path(folder) / FILE).is_file():
        return None
    data = json.loads((Path(folder) / FILE).read_text())
    return Provenance(str(folder), data.get("run_id"), data.get("stage"), list(data.get("repos", [])),
                      frozenset(data.get("theorems", [])))


def write(db, folder: Path, run_id: int | None, stage: str, repos: Sequence[str], identities: Iterable[int],
          start_from: str | Path | None = None) -> Provenance:
    """Record what `folder` trained on: the theorems `identities` (plus its start checkpoint's)."""
    from leanagent.db.training_data import theorem_keys
    from leanagent.files import atomic_write

    keys = set(theorem_keys(db, identities).values())
    start = read(start_from)
    if start is not None:
        keys |= start.theorems
    out = {"run_id": run_id, "stage": stage, "repos": list(repos), "theorems": sorted(keys),
           "start_from": str(start_from) if start_from else None}
    atomic_write(Path(folder) / FILE, json.dumps(out, indent=1))
    return read(folder)


def record_stages(db, run_id: int, results: Sequence, stages: Sequence, start_from: Path | None) -> None:
    """`write` for every stage folder of one progressive training run (stage k saw stages 0..k)."""
    seen: set[int] = set()
    previous = start_from
    for res in sorted(results, key=lambda r: r.index):
        seen |= {e.theorem_id for e in stages[res.index].examples if getattr(e, "theorem_id", None) is not None}
        if not (Path(res.folder) / FILE).is_file():
            write(db, Path(res.folder), run_id, res.name, [s.name for s in stages[:res.index + 1]], seen, previous)
        previous = res.folder


def check_overlap(db, folder: str | Path | None, repos: Sequence[str], split: str, *,
                  allow: bool = False) -> dict:
    """What to report about evaluating the checkpoint in `folder` on `split` of `repos`; raises
    OverlapError when it trained on any of those theorems, unless `allow`. A train (or `all`) split is
    no held-out figure anyway: it is only named."""
    from leanagent.db.training_data import split_identities, theorem_keys

    if split not in ("val", "test"):
        return {"checkpoint": str(folder) if folder else None, "overlap": None}
    prov = read(folder)
    if prov is None:
        return {"checkpoint": str(folder) if folder else None, "provenance": "unknown", "overlap": None}
    evaluated = split_identities(db, repos, split)
    keys = theorem_keys(db, evaluated)
    both = sorted(evaluated[i] for i, k in keys.items() if k in prov.theorems)
    info = {"checkpoint": prov.describe(), "provenance": "recorded", "overlap": len(both),
            "evaluated": len(evaluated)}
    if both and not allow:
        shown = ", ".join(both[:3]) + (f" and {len(both) - 3} more" if len(both) > 3 else "")
        raise OverlapError(f"checkpoint {prov.folder} trained on {len(both)} of the {len(evaluated)} {split} "
                           f"theorems evaluated here ({shown})",
                           fix="retrain on the current splits, or pass --allow-overlap (every report then says so)")
    if both:
        info["warning"] = (f"the checkpoint trained on {len(both)} of the {len(evaluated)} evaluated theorems "
                           "(--allow-overlap): not a held-out figure")
    return info

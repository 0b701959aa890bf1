"""`review` (the web app for agent proofs) and `export-proofs` (accepted proofs as a patch)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from leanagent.db.models import ReviewStatus
from leanagent.review.security import TOKEN_ENV, check_bind

REVIEW_EPILOG = f"""\
Access: bound to 127.0.0.1 (the default) the app serves this machine only.
Binding to another address needs a token (--token or {TOKEN_ENV}); then every
request must carry it: open the printed URL ending in ?token=T once (the
browser keeps it in a cookie), or send the header `X-LeanAgent-Token: T`.
Decision forms carry a CSRF token. Pages load one script of the app's own
(keys: j/k next/previous, a accept, r reject, with a comment); everything
works without it.
"""


def register(subparsers, common) -> None:
    p = subparsers.add_parser("review", parents=[common], help="start the review web app for agent proofs",
                              description="Browse agent proofs, accept, reject or mark them "
                                          "'needs changes', and download patches.",
                              epilog=REVIEW_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--token", default=None,
                   help=f"access token required on every request (env {TOKEN_ENV}); "
                        "required when --host is not a loopback address")
    p.add_argument("--no-upstream", action="store_true",
                   help="do not fetch the repositories' remotes first (flags that need the upstream head stay "
                        "as last checked)")
    p.set_defaults(func=run_review)

    e = subparsers.add_parser("export-proofs", parents=[common],
                              help="write accepted proofs as a git-apply-able patch",
                              description="Write one patch that replaces each reviewed `sorry` proof of a "
                                          "repository with the agent's proof. Refuses files that changed "
                                          "since the proofs were found, and proofs the review app flags "
                                          "(see --force) unless forced. Says which whole-file re-check each "
                                          "exported proof passed, and writes PR.md: a pull-request "
                                          "description that discloses the AI use.")
    e.add_argument("--repo", required=True, metavar="NAME", help="repository name")
    e.add_argument("--status", default=ReviewStatus.ACCEPTED.value, choices=[s.value for s in ReviewStatus],
                   help="review status of the proofs to export (default accepted)")
    e.add_argument("--out", required=True, type=Path, metavar="FILE.patch", help="the patch file to write")
    e.add_argument("--force", action="store_true",
                   help="export flagged proofs too (the flags and the threads behind them: "
                        "leanagent/review/flags.py); PR.md, the patch header and the commits name each flag waived")
    e.add_argument("--force-reason", metavar="TEXT",
                   help="why the flags waived with --force do not apply; written beside them in PR.md and the commits")
    e.add_argument("--branch", metavar="NAME",
                   help="also make branch NAME in the repository's clone: the commit the proofs were checked "
                        "against plus one commit per file, with the disclosure and Co-authored-by trailers "
                        "(the checkout itself is not touched)")
    e.add_argument("--coauthor", action="append", default=[], metavar='"NAME <EMAIL>"',
                   help="the email for the Co-authored-by trailer of reviewer NAME (repeat per reviewer); "
                        "not needed for a reviewer who signed as `Name <email>`")
    e.add_argument("--pr", type=Path, metavar="FILE.md",
                   help="where to write the pull-request description (default: PR.md beside --out)")
    e.add_argument("--no-upstream", action="store_true",
                   help="do not fetch the remote to check the upstream head first")
    e.set_defaults(func=run_export)


def run_review(args, ctx) -> int:
    token = args.token or os.environ.get(TOKEN_ENV) or None
    check_bind(args.host, token)  # before opening anything: a refused bind changes nothing
    import uvicorn

    from leanagent.review import create_app

    db = ctx.db(create=False)
    upstream = None
    if not args.no_upstream:
        from leanagent.sources.upstream import refresh_upstream

        upstream = refresh_upstream(db)  # one fetch per repository; without network: "unknown", with the reason
    app = create_app(db, token, host=args.host)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{args.port}/" + ("?token=<your token>" if token else "")
    ctx.emit({"event": "review_started", "url": url, "token_required": bool(token), "upstream": upstream},
             f"leanagent review: serving {ctx.db_url} at {url} (Ctrl-C stops)")
    server = _interruptible_server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning"))
    server.run()
    if server.interrupted:  # uvicorn shuts down calmly on Ctrl-C; the exit code still says 130
        raise KeyboardInterrupt
    return 0


def _interruptible_server(config):
    """A uvicorn server that remembers a Ctrl-C (uvicorn is imported only when `review` runs)."""
    import signal

    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, remembering a Ctrl-C: after its graceful shutdown uvicorn re-raises the
        signal, which does nothing where SIGINT is ignored (a background job), so `review` exited 0."""

        interrupted = False

        def handle_exit(self, sig, frame) -> None:
            self.interrupted = self.interrupted or sig == signal.SIGINT
            super().handle_exit(sig, frame)

    return Server(config)


def run_export(args, ctx) -> int:
    from leanagent.review.disclosure import check_counts, patch_header, pr_description
    from leanagent.review.export import check_out_path, export_branch, export_disclosure, export_patch, write_patch
    from leanagent.review.flags import check_export

    db = ctx.db(create=False)
    out = check_out_path(args.out)
    pr = check_out_path(args.pr or out.parent / "PR.md", "--pr")
    if not args.no_upstream:
        from leanagent.sources.upstream import refresh_upstream

        refresh_upstream(db, [args.repo])
    flags = check_export(db, args.repo, args.status, force=args.force)  # refuses flagged proofs unless --force
    result = export_patch(db, args.repo, args.status)
    disclosure = export_disclosure(db, args.repo, result, flags, args.force_reason, args.coauthor,
                                   strict=bool(args.branch))
    commits = export_branch(result, disclosure, args.branch) if args.branch else []
    write_patch(result, out, patch_header(disclosure))
    pr.write_text(pr_description(disclosure, args.branch), encoding="utf-8")
    checks = check_counts(db, result.proofs)
    forced = {pid: [f.code for f in fl] for pid, fl in disclosure.waived.items()}
    unmeasured = [f.full_name for f in disclosure.facts if f.measures.get("seconds") is None]

    def human() -> None:
        print(f"wrote {len(result.proofs)} proof(s) in {len(result.files)} file(s) to {out}, "
              f"the pull-request description to {pr}")
        if result.unchanged:  # accepted, but the same as the file's own proof: nothing to change
            print(f"left out {len(result.unchanged)} accepted proof(s) already in the files: "
                  + ", ".join(result.unchanged))
        print("whole-file re-check: " + ", ".join(f"{n} {what}" for what, n in checks.items()))
        if unmeasured:  # slow and lint cannot be judged for these: say so, never let it read as a pass
            print(f"not measured (time, warnings): {len(unmeasured)} proof(s)")
        if forced:
            print(f"exported {len(forced)} flagged proof(s) because of --force: "
                  + "; ".join(f"{pid} ({', '.join(codes)})" for pid, codes in sorted(forced.items())))
        if commits:
            print(f"made branch {args.branch} in {result.repo_path}: {len(commits)} commit(s) on "
                  f"{disclosure.commit[:12]}")

    ctx.emit({"out": str(out), "pr": str(pr), "proofs": len(result.proofs), "files": result.files,
              "checks": checks, "flagged": forced, "unchanged": result.unchanged, "unmeasured": unmeasured,
              "branch": args.branch, "commits": commits}, human)
    return 0

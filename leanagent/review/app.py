"""The review web app: FastAPI routes rendering Jinja2 templates.

Pages: `/` repositories with proof counts, `/proofs` the filtered, sortable list,
`/proofs/{id}` one proof with its review form, `/patch?repo=R&status=S` the
patch download. Access rules live in `leanagent.review.security`. The only
script, `static/keys.js`, adds keyboard review (j/k/a/r); every page and form
works without it.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Mapping
from urllib.parse import quote, unquote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException as StarletteHTTPException

from leanagent.db.engine import Database
from leanagent.db.models import ReviewStatus
from leanagent.db.review import NotFoundError, ReviewInputError, proof_detail, record_review, repo_summaries
from leanagent.db.review_queue import filter_choices
from leanagent.errors import LeanAgentError
from leanagent.review.disclosure import patch_header
from leanagent.review.export import export_disclosure, export_patch
from leanagent.review.flags import check_export, proof_flags, upstream_summary
from leanagent.review.patch import PatchError
from leanagent.review.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SECURITY_HEADERS,
    TOKEN_COOKIE,
    Guard,
)
from leanagent.review.queue import Queue, after_decision, parse_queue, position, queue_page
from leanagent.review.variants import compare_variants, show_measure
from leanagent.review.views import build_preview

HERE = Path(__file__).parent
REVIEWER_COOKIE = "leanagent_reviewer"
PER_PAGE = 50
STATUS_LABELS = {"new": "new", "accepted": "accepted", "rejected": "rejected", "needs_changes": "needs changes"}
YEAR = 365 * 24 * 3600


class PageError(Exception):
    """Rendered as the error page with this HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def make_templates() -> Environment:
    # autoescape=True for every template, whatever its name: all Lean text is untrusted.
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _when
    env.filters["measure"] = show_measure
    env.globals["status_labels"] = STATUS_LABELS
    env.globals["statuses"] = [s.value for s in ReviewStatus]
    return env


def _queue(params: Mapping[str, str]) -> Queue:
    try:
        return parse_queue(params, PER_PAGE)
    except ReviewInputError as exc:
        raise PageError(400, exc.message) from None


def _proof_id_param(params: Mapping[str, str], name: str) -> int | None:
    raw = (params.get(name) or "").strip()
    try:
        return int(raw) if raw else None
    except ValueError:
        raise PageError(400, f"invalid {name}: {raw!r} is not a proof id") from None


def _reviewer(request: Request) -> str:
    return unquote(request.cookies.get(REVIEWER_COOKIE, ""))


def _saved(params: Mapping[str, str]) -> str | None:
    saved = params.get("saved")
    return saved if saved in STATUS_LABELS else None


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "repository"


def create_app(db: Database, token: str | None = None, *, host: str = "127.0.0.1",
               secret: bytes | None = None) -> FastAPI:
    """The review app over `db`. `token`: required on every request when given
    (and required when `host` is not a loopback address)."""
    guard = Guard(token, host=host, secret=secret)
    pages = _Pages(guard, make_templates())
    app = FastAPI(title="leanagent review", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _add_access_rules(app, guard, pages)
    _add_reading_routes(app, db, pages)
    _add_review_route(app, db, guard)
    _add_patch_route(app, db)
    return app


class _Pages:
    """Renders a template as an HTML response, with the CSRF token its forms need."""

    def __init__(self, guard: Guard, templates: Environment):
        self.guard, self.templates = guard, templates

    def page(self, request: Request, name: str, status_code: int = 200, **ctx) -> HTMLResponse:
        nonce, new = self.guard.csrf_nonce(request)
        html = self.templates.get_template(name).render(csrf_token=self.guard.csrf_for(nonce),
                                                        path=request.url.path, **ctx)
        response = HTMLResponse(html, status_code=status_code)
        if new:
            response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/")
        return response

    def error(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.page(request, "error.html", status_code=status, status=status, message=message)


def _add_access_rules(app: FastAPI, guard: Guard, pages: _Pages) -> None:
    """The Host and token checks on every request, the security headers on every response, and the error
    page for PageError and HTTP errors."""

    @app.middleware("http")
    async def access(request: Request, call_next):
        if not guard.host_ok(request):
            response: Response = PlainTextResponse("unknown Host header; open the app at http://127.0.0.1",
                                                   status_code=400)
        elif guard.token is not None:
            presented, where = guard.presented_token(request)
            if presented is None:
                response = pages.error(request, 401, "this review app needs its access token: open the URL "
                                       "printed by `leanagent review` (it ends in ?token=...), or send the "
                                       "X-LeanAgent-Token header")
            elif not guard.token_ok(presented):
                response = pages.error(request, 403, "wrong access token")
            elif where == "query" and request.method == "GET":
                # Keep the token in an HttpOnly cookie, out of the address bar and history.
                response = RedirectResponse(guard.url_without_token(request), status_code=303)
                response.set_cookie(TOKEN_COOKIE, presented, httponly=True, samesite="strict", path="/")
            else:
                response = await call_next(request)
        else:
            response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(PageError)
    async def on_page_error(request: Request, exc: PageError):
        return pages.error(request, exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException):
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return pages.error(request, exc.status_code, message)


def _add_reading_routes(app: FastAPI, db: Database, pages: _Pages) -> None:
    """The pages: `/` repositories, `/proofs` the filtered list, `/proofs/{id}` one proof and its form."""

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request):
        return pages.page(request, "index.html", repos=repo_summaries(db))

    @app.get("/proofs", response_class=HTMLResponse)
    def proofs(request: Request):
        q = _queue(request.query_params)
        f = q.f
        at = _proof_id_param(request.query_params, "at")  # the row to mark current (after a keyboard review)
        result = queue_page(db, q)
        if f.page > result.pages and result.total:
            raise PageError(404, f"page {f.page} is past the last page ({result.pages})")
        return pages.page(request, "proofs.html", q=q, f=f, result=result, choices=filter_choices(db),
                          flags=proof_flags(db, [r.id for r in result.rows]), query=q.query(),
                          prev_query=q.query(page=f.page - 1) if f.page > 1 else None,
                          next_query=q.query(page=f.page + 1) if f.page < result.pages else None,
                          at=at, saved=_saved(request.query_params), reviewer=_reviewer(request))

    @app.get("/proofs/{proof_id:int}", response_class=HTMLResponse)
    def proof(request: Request, proof_id: int):
        detail = proof_detail(db, proof_id)
        if detail is None:
            raise PageError(404, f"no proof with id {proof_id}")
        q = _queue(request.query_params)  # the queue the proof was opened from: next/previous walk it
        return pages.page(request, "proof.html", d=detail, preview=build_preview(detail), reviewer=_reviewer(request),
                          variants=compare_variants(detail), pos=position(db, q, proof_id), query=q.query(),
                          flags=proof_flags(db, [proof_id]).get(proof_id, []),
                          upstream=upstream_summary(detail.upstream),
                          # The commit a proof was found on means something only beside a known upstream head.
                          upstream_known=(detail.upstream or {}).get("state") == "known",
                          saved=_saved(request.query_params))


def _add_review_route(app: FastAPI, db: Database, guard: Guard) -> None:
    """`POST /proofs/{id}/review`: record a decision (CSRF-checked), remember the reviewer's name."""

    @app.post("/proofs/{proof_id:int}/review")
    async def review(request: Request, proof_id: int):
        form = await request.form()

        def text(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""  # an uploaded file is no answer

        problem = guard.csrf_problem(request, text(CSRF_FIELD))
        if problem:
            raise PageError(403, problem)
        # The queue the decision was made in (the list's or the proof page's query): the answer goes back
        # to it. Parsed before anything is stored, so a bad one stores nothing.
        queue = _queue(QueryParams(text("queue")))
        try:
            entry = record_review(db, proof_id, text("decision"), text("reviewer"), text("comment"),
                                  variant=text("variant") or None)
        except ReviewInputError as exc:
            raise PageError(404 if isinstance(exc, NotFoundError) else 400, exc.one_line()) from None
        target = (_list_after(db, queue, proof_id, entry.status) if text("back") == "list"
                  else f"/proofs/{proof_id}?{queue.query(saved=entry.status)}")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(REVIEWER_COOKIE, quote(entry.reviewer), max_age=YEAR, httponly=True,
                            samesite="strict", path="/")
        return response


def _list_after(db: Database, queue: Queue, proof_id: int, status: str) -> str:
    """The list to show after a decision taken on it: the next proof of the queue marked current, on
    its page (the reviewed one when it is still in the queue and last, else the one before it)."""
    at, page = after_decision(db, queue, proof_id)
    return "/proofs?" + queue.query(page=page if page > 1 else None, at=at, saved=status)


def _add_patch_route(app: FastAPI, db: Database) -> None:
    """`GET /patch?repo=R&status=S`: the reviewed proofs of a repository as a patch download."""

    @app.get("/patch")
    def patch(request: Request):
        repo = request.query_params.get("repo", "")
        status = request.query_params.get("status", ReviewStatus.ACCEPTED.value)
        force = request.query_params.get("force") == "1"  # download flagged proofs too, as --force does
        try:
            flags = check_export(db, repo, status, force=force)
            result = export_patch(db, repo, status)
            # The same disclosure header as `export-proofs` writes (git apply skips it).
            header = patch_header(export_disclosure(db, repo, result, flags))
        except ReviewInputError as exc:
            raise PageError(404 if isinstance(exc, NotFoundError) else 400, exc.one_line()) from None
        except PatchError as exc:
            raise PageError(409, exc.one_line()) from None
        except LeanAgentError as exc:
            raise PageError(500, exc.one_line()) from None
        filename = f"{_safe_filename(repo)}-{ReviewStatus(status).value}.patch"
        return Response(header + result.text, media_type="text/x-diff; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{filename}"'})

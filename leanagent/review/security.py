"""Access rules of the review app: bind address, access token, CSRF, Host check, headers.

Design (also in `leanagent review --help`):
- Bound to a loopback address without a token, the app answers only requests
  whose Host is a loopback name (a DNS-rebinding page cannot reach it).
- With a token (required off loopback), every request, static files included,
  must carry it: header `X-LeanAgent-Token: T` or `Authorization: Bearer T`,
  or the cookie set after opening `/?token=T` once (that GET is redirected to
  the same URL without the token, so it does not stay in the address bar).
  A missing token gets 401, a wrong one 403.
- Every form carries a CSRF token: HMAC(app secret, nonce) where the nonce is
  an HttpOnly SameSite=Strict cookie. A POST without it, or with a token that
  does not match the cookie, gets 403.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from leanagent.errors import ConfigError

if TYPE_CHECKING:  # annotations only: the CLI imports this module without the web stack loaded
    from starlette.requests import Request

TOKEN_ENV = "LEANAGENT_REVIEW_TOKEN"
TOKEN_HEADER = "x-leanagent-token"
TOKEN_COOKIE = "leanagent_review_token"
TOKEN_QUERY = "token"
CSRF_COOKIE = "leanagent_csrf"
CSRF_FIELD = "csrf_token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")

#: Sent with every response: scripts and styles only from the app's own files (no inline script), nothing
#: from elsewhere, no framing.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Binding beyond this machine without a token would let anyone on the network review."""
    if not is_loopback(host) and not token:
        raise ConfigError(f"binding the review app to {host} needs an access token",
                          fix=f"pass --token T (or set {TOKEN_ENV}), or bind to 127.0.0.1")
    if token is not None and len(token) < 8:
        raise ConfigError("the review token is shorter than 8 characters",
                          fix="use a longer random token, e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`")


class Guard:
    """Holds the token and the CSRF secret of one app instance."""

    def __init__(self, token: str | None, host: str = "127.0.0.1", secret: bytes | None = None):
        check_bind(host, token)
        self.token = token
        self.host = host
        self.secret = secret or secrets.token_bytes(32)

    # -- access token -------------------------------------------------------------------------

    def presented_token(self, request: Request) -> tuple[str | None, str]:
        """(token, where it came from) for the first place that carries one."""
        header = request.headers.get(TOKEN_HEADER)
        if header:
            return header, "header"
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), "header"
        query = request.query_params.get(TOKEN_QUERY)
        if query:
            return query, "query"
        cookie = request.cookies.get(TOKEN_COOKIE)
        if cookie:
            return cookie, "cookie"
        return None, ""

    def token_ok(self, presented: str) -> bool:
        return self.token is not None and hmac.compare_digest(presented.encode(), self.token.encode())

    def host_ok(self, request: Request) -> bool:
        """Without a token, only loopback Host names (or the bound address) are answered."""
        if self.token:
            return True
        host = request.headers.get("host", "")
        name = urlsplit(f"//{host}").hostname or ""
        return is_loopback(name) or name == self.host

    @staticmethod
    def url_without_token(request: Request) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != TOKEN_QUERY]
        return request.url.path + (f"?{urlencode(params)}" if params else "")

    # -- CSRF -----------------------------------------------------------------------------------

    def csrf_for(self, nonce: str) -> str:
        return hmac.new(self.secret, nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_nonce(self, request: Request) -> tuple[str, bool]:
        """(nonce, is_new): the cookie's nonce, or a fresh one that the response must set."""
        nonce = request.cookies.get(CSRF_COOKIE)
        if nonce and 16 <= len(nonce) <= 128:
            return nonce, False
        return secrets.token_urlsafe(32), True

    def csrf_problem(self, request: Request, submitted: str | None) -> str | None:
        """None when the form's CSRF token matches the cookie, else what is wrong."""
        nonce = request.cookies.get(CSRF_COOKIE)
        if not submitted or not nonce:
            return "the form has no CSRF token; reload the page and submit again"
        if not hmac.compare_digest(submitted.encode(), self.csrf_for(nonce).encode()):
            return "the form's CSRF token is not valid; reload the page and submit again"
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
            return "the form was sent from another site"
        return None

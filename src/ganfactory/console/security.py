"""Who may do what, and which files may be read.

Reads (GET) are open on a loopback server and need the token on any other; every state-changing request
needs the token in the X-Console-Token header (pages send it through htmx's hx-headers), so another web
site open in the same browser cannot submit, cancel or overwrite anything (a cross-site form cannot set
a header). On loopback the Host header must name this machine, which stops DNS-rebinding pages from
reading the console. Files are served only from inside a known run folder (see `resolve_inside`). Every answer carries a
Content-Security-Policy without inline script and refuses to be framed (`SecurityHeaders`).
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from http.cookies import SimpleCookie
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ganfactory.console.settings import ConsoleSettings, is_loopback

# No inline script and no eval: a string that reaches a page as markup cannot run (escaping is the first line of
# defence, this the second). Inline styles stay allowed: htmx adds its indicator <style> and templates colour the
# class swatches. frame-ancestors 'none' (and X-Frame-Options for older browsers) stops clickjacking.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
])
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
TOKEN_HEADER = "x-console-token"
TOKEN_COOKIE = "ganfactory_console_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class PathRefused(Exception):
    """A requested file path that would leave its run folder."""


def resolve_inside(root: Path, relative: str) -> Path:
    """The existing file `root/relative`, refusing anything that could leave `root`.

    Refused (PathRefused): empty paths, NUL bytes, backslashes, absolute paths, any `..` part (also after
    URL-decoding, which the server has done by now), and paths whose real location (symlinks followed)
    is outside the real `root`. Raises FileNotFoundError when the file does not exist."""
    if not relative or "\x00" in relative or "\\" in relative:
        raise PathRefused(relative)
    pure = PurePosixPath(relative)
    if pure.is_absolute() or any(part in ("..", "") for part in relative.split("/")) or ":" in pure.parts[0]:
        raise PathRefused(relative)
    real_root = root.resolve()
    target = (real_root / pure).resolve()
    if not target.is_relative_to(real_root):
        raise PathRefused(relative)  # a symlink inside the run folder that points out of it
    if not target.is_file():
        raise FileNotFoundError(relative)
    return target


def _tokens_of(scope: Scope) -> tuple[str | None, str | None, str | None]:
    """(header token, query token, cookie token) of a request."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[0]
    cookie = None
    if "cookie" in headers:
        jar = SimpleCookie()
        try:
            jar.load(headers["cookie"])
        except Exception:  # a malformed cookie header is just no cookie
            jar = SimpleCookie()
        cookie = jar[TOKEN_COOKIE].value if TOKEN_COOKIE in jar else None
    return headers.get(TOKEN_HEADER), query, cookie


def _host_of(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == b"host":
            text = value.decode("latin-1")
            return text.rsplit(":", 1)[0] if not text.endswith("]") else text
    return ""


class TokenGuard:
    """ASGI middleware applying the rules above; a valid ?token= also sets a same-site cookie for later reads."""

    def __init__(self, app: ASGIApp, *, settings: ConsoleSettings) -> None:
        self.app = app
        self.settings = settings

    def _ok(self, candidate: str | None) -> bool:
        return candidate is not None and secrets.compare_digest(candidate.encode(), self.settings.token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header, query, cookie = _tokens_of(scope)
        refusal = self._refusal(scope, header=header, query=query, cookie=cookie)
        if refusal is not None:
            await PlainTextResponse(refusal[1], status_code=refusal[0])(scope, receive, send)
            return
        if self._ok(query) and not self._ok(cookie):
            await self.app(scope, receive, _with_cookie(send, self.settings.token))
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, *, header: str | None, query: str | None,
                 cookie: str | None) -> tuple[int, str] | None:
        if self.settings.loopback and not is_loopback(_host_of(scope)):
            return 403, "This console only answers requests addressed to this machine (127.0.0.1 or localhost)."
        if scope["method"] not in SAFE_METHODS:
            if not self._ok(header):
                return 403, "Missing or wrong console token; reload the page (or open the URL printed at start)."
            return None
        if not self.settings.loopback and not (self._ok(query) or self._ok(cookie) or self._ok(header)):
            return 401, "This console needs its token: open the URL with ?token=... printed when it started."
        return None


def _with_cookie(send: Send, token: str) -> Send:
    async def wrapped(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            cookie = f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
        await send(message)

    return wrapped


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every HTTP answer (pages, fragments, files, refusals)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)

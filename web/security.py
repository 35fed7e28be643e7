"""Headers on every answer: a Content-Security-Policy that lets a page load only what this app
serves (no inline scripts, no inline handlers, no other origin), and the usual hardening.

The offline API docs are the one exception, and only for styles: Swagger UI sets inline styles
from its script. Its scripts are still only this app's files.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOC_PAGES = ("/docs",)


def policy(path: str, form_targets: tuple[str, ...] = ()) -> str:
    docs = path in DOC_PAGES
    forms = " ".join(("'self'", *form_targets))
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'" if docs else "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        f"form-action {forms}",
        "frame-ancestors 'none'",
    ])


HARDENING = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
             ("X-Frame-Options", "DENY"),
             ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"))


def raw_headers(path: str, form_targets: tuple[str, ...] = ()) -> list[tuple[bytes, bytes]]:
    """The headers as sent on an answer at `path`, in order."""
    return [(name.lower().encode(), value.encode()) for name, value in
            (("Content-Security-Policy", policy(path, form_targets)), *HARDENING)]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, form_targets: tuple[str, ...] = ()) -> None:
        self.app = app
        self.form_targets = form_targets
        # Made once for each kind of page (every answer carries them).
        self._raw = {docs: raw_headers(path, form_targets)
                     for docs, path in ((True, DOC_PAGES[0]), (False, ""))}
        self._names = frozenset(name for name, _ in self._raw[False])

    @staticmethod
    def api_answer_headers(form_targets: tuple[str, ...] = ()) -> list[tuple[bytes, bytes]]:
        """What this layer appends to an answer on the API's paths, set up with these
        arguments: api.fastpath appends the same when it answers in front of it (ADR 0038)."""
        return raw_headers("", form_targets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = self._raw[scope.get("path", "") in DOC_PAGES]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message["headers"] = list(message.get("headers", ()))
                if any(name in self._names for name, _ in headers):  # set inside: ours win
                    mutable = MutableHeaders(scope=message)
                    for name, value in raw:
                        mutable[name.decode()] = value.decode()
                else:
                    headers.extend(raw)
            await send(message)

        await self.app(scope, receive, with_headers)

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


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, form_targets: tuple[str, ...] = ()) -> None:
        self.app = app
        self.form_targets = form_targets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = policy(scope.get("path", ""), self.form_targets)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = csp
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
            await send(message)

        await self.app(scope, receive, with_headers)

"""A real OpenID Connect provider process for the browser tests: oidc-provider-mock (Authlib's
authorization server: discovery, authorization code, RS256 ID tokens, JWKS, userinfo), with
users whose claims carry an IMPRESS role and organisation.

oidc-provider-mock accepts PKCE parameters but does not check them (its maintainers say a
client's PKCE works with it all the same). So this process also writes every authorization and
token request's parameters to a JSON-lines file, and the test checks the client's PKCE itself:
S256(code_verifier) sent to the token endpoint equals the code_challenge sent to the
authorization endpoint.

    python -m tests.browser.oidc_provider PORT RECORD_FILE
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import parse_qsl

import werkzeug.serving
from oidc_provider_mock import User, app

USERS = [
    User(sub="finance-officer-vest", claims={"impress_role": "rhf_finance",
                                             "impress_org": "helse-vest", "name": "Finance"}),
    User(sub="auditor-one", claims={"impress_role": "auditor", "impress_org": "riksrevisjonen"}),
]


class Recorder:
    def __init__(self, wsgi: Any, path: str) -> None:
        self.wsgi, self.path = wsgi, path

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        route = environ.get("PATH_INFO", "")
        if route in ("/oauth2/authorize", "/oauth2/token"):
            params = dict(parse_qsl(environ.get("QUERY_STRING", "")))
            if environ.get("REQUEST_METHOD") == "POST":
                size = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(size)
                params |= dict(parse_qsl(body.decode()))
                import io

                environ["wsgi.input"] = io.BytesIO(body)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"route": route, "params": params}) + "\n")
        return self.wsgi(environ, start_response)


def main() -> None:
    port, record = int(sys.argv[1]), sys.argv[2]
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    provider = app(user_claims=USERS, require_nonce=True)
    provider.wsgi_app = Recorder(provider.wsgi_app, record)  # type: ignore[method-assign]
    werkzeug.serving.run_simple("127.0.0.1", port, provider, threaded=True)


if __name__ == "__main__":
    main()

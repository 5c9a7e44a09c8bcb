"""``netpersona serve``: the operator's service. Device reports in (durable, idempotent),
identities and tiers out, behind bearer tokens with scopes.

:func:`create_app` builds the ASGI app for any ASGI server; :func:`run` serves it with uvicorn;
:func:`create_token`, :func:`list_tokens` and :func:`revoke_token` manage the tokens kept (as
hashes) beside the workspace. See docs/serve.md.
"""

from netpersona.serve._app import create_app
from netpersona.serve._run import run
from netpersona.serve._settings import ServeSettings, make_settings
from netpersona.serve._tokens import (
    SCOPES,
    TokenRecord,
    create_token,
    list_tokens,
    revoke_token,
    tokens_path,
)

__all__ = [
    "SCOPES",
    "ServeSettings",
    "TokenRecord",
    "create_app",
    "create_token",
    "list_tokens",
    "make_settings",
    "revoke_token",
    "run",
    "tokens_path",
]

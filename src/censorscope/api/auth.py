"""Who may write: the bearer-token check of the write endpoints.

``Depends(require("analyst"))`` on an endpoint asks for ``Authorization: Bearer <token>``
(documented in the OpenAPI document as the ``bearerToken`` security scheme):

- no token (or another scheme) → **401** with ``WWW-Authenticate: Bearer realm="censorscope"``;
- a token no line of the token file has (or a server started without ``--tokens``) → **401**
  with ``error="invalid_token"``;
- a valid token whose role does not grant the endpoint's → **403**;
- a token file that became unreadable or malformed → **503** (fixed by fixing the file).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import APIError
from .tokens import Principal, TokenFile, TokenFileError

__all__ = ["BEARER", "require", "tokens_of"]

REALM = 'Bearer realm="censorscope"'
BEARER = HTTPBearer(auto_error=False, scheme_name="bearerToken", bearerFormat="opaque",
                    description="A token made by `censorscope token new --role ROLE --tokens "
                                "FILE` (roles: analyst, admin), given to `censorscope serve "
                                "--tokens FILE`. Reads need none.")


def tokens_of(request: Request) -> TokenFile:
    tokens: TokenFile = request.app.state.tokens
    return tokens


def require(role: str) -> Callable[..., Principal]:
    """A dependency that answers 401/403 unless the request bears a token granting
    ``role``; it gives the endpoint the token's :class:`Principal`."""

    def check(request: Request,
              credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
              ) -> Principal:
        if credentials is None or not credentials.credentials:
            raise APIError(401, "this needs a bearer token (Authorization: Bearer <token>)",
                           None, {"WWW-Authenticate": REALM})
        try:
            principal = tokens_of(request).check(credentials.credentials)
        except TokenFileError as exc:
            raise APIError(503, "the server's token file is unusable; try again later",
                           {"problem": str(exc)}) from None
        if principal is None:
            raise APIError(401, "the token is not valid", None,
                           {"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
        if not principal.may(role):
            raise APIError(403, f"a token of role {principal.role} may not do this "
                                f"(it needs {role})",
                           {"role": principal.role, "needs": role})
        return principal

    return check

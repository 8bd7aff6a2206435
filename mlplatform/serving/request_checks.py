"""What `/invocations` checks of a request before scoring it: the bearer token, the size of the
body (read here, up to the limit), and that it is UTF-8 JSON. Each check answers with the
refusal's message (the app turns it into a 401, 413 or 415), or None."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from mlplatform.serving.body import LOGGED_ERROR_BYTES


def authorized(request: Request, token: str | None) -> bool:
    """Whether the request carries `Authorization: Bearer <token>` (always, without a token)."""
    if not token:
        return True
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    # compared as bytes (Starlette decodes headers as latin-1, so this gives the sent bytes back):
    # a header with non-ASCII bytes is a wrong token, not an error
    given_bytes = value.strip(" \t").encode("latin-1")
    return scheme.lower() == "bearer" and hmac.compare_digest(given_bytes, token.encode())


class Received:
    """What was read of a request body: its chunks, its declared size, its decoded text."""

    __slots__ = ("chunks", "size", "text")

    def __init__(self):
        self.chunks: list[bytes] = []
        self.size: int | None = None  # Content-Length of a body refused unread
        self.text: str | None = None

    @property
    def body(self) -> bytes:
        if len(self.chunks) > 1:
            self.chunks = [b"".join(self.chunks)]
        return self.chunks[0] if self.chunks else b""


async def read_body(request: Request, max_bytes: int, received: Received) -> str | None:
    """Read the body into `received`, stopping once it is over `max_bytes` (then the refusal;
    a body declared too large keeps only its first bytes, for the log)."""
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > max_bytes:
        received.size = int(declared)
        async for chunk in request.stream():  # keep the first bytes for the log, no more
            received.chunks.append(chunk)
            if sum(map(len, received.chunks)) >= LOGGED_ERROR_BYTES:
                break
        return f"request body of {declared} bytes is over the limit of {max_bytes} bytes"
    size = 0
    async for chunk in request.stream():  # stop reading as soon as the limit is passed
        size += len(chunk)
        received.chunks.append(chunk)
        if size > max_bytes:
            return f"request body is over the limit of {max_bytes} bytes"
    return None


def media_type_refusal(content_type: str) -> str | None:
    """Why a body of `content_type` is refused (not JSON, or a charset other than UTF-8)."""
    ctype, _, params = content_type.partition(";")
    ctype = ctype.strip()
    if ctype.lower() not in ("application/json", ""):
        return f"content type {ctype!r} is not supported; send application/json"
    charset = _charset(params)
    if charset not in (None, "utf-8", "utf8"):
        return f"charset {charset!r} is not supported; send UTF-8 JSON"
    return None


def _charset(params: str) -> str | None:
    """The `charset` parameter of a Content-Type (lower case), None when there is none."""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None

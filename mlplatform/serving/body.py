"""The request body as text and as JSON, and the text the payload table keeps of it.

- Encoding: JSON is UTF-8 (RFC 8259 8.1). Like MLflow's scoring server, which hands the bytes to
  `json.loads`, the server also reads UTF-16 and UTF-32 bodies (with or without a byte order mark,
  told apart by the zero bytes of the first characters) and ignores a UTF-8 byte order mark. The
  payload table keeps the decoded text, so every accepted body unpacks into the inference table.
  Bytes that are not text in the detected encoding are a 400.
- JSON: `NaN`, `Infinity` and numbers beyond the double range are refused per column and row by
  the signature check (`payloads.validate`); nesting deeper than the parser allows is a 400; a
  lone UTF-16 surrogate escape (`"\\ud800"`, valid JSON syntax but no Unicode character, so no
  Delta string can hold it) anywhere in the document is a 400 naming where it is.
- Logged text: a 200 keeps the whole body (the inference table is built from it); any other answer
  keeps at most `LOGGED_ERROR_BYTES` bytes of it, and its row records the body's size in bytes
  (`request_bytes`) and whether it was cut (`request_truncated`). Bytes that are not text are
  logged with backslash escapes (`\\xff`).
"""

from __future__ import annotations

import codecs
import json
import re
import sys

from mlplatform.serving.errors import PayloadError

LOGGED_ERROR_BYTES = 64 * 1024
"""Bytes of the request body kept in the payload table for an answer other than 200."""

_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF16_LE, "utf-16"),
)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def encoding_of(body: bytes) -> str:
    """The body's encoding: a byte order mark, else the zero bytes of a UTF-16/32 text whose first
    characters are ASCII (as every JSON text's are), else UTF-8."""
    head = body[:4]
    if head[:1] not in (b"\x00", b"\xef", b"\xfe", b"\xff") and head[1:2] != b"\x00":
        return "utf-8"
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if head[:1] == b"\x00":
        return "utf-32-be" if head[:2] == b"\x00\x00" else "utf-16-be"
    if head[1:2] == b"\x00":
        return "utf-32-le" if head[2:4] == b"\x00\x00" else "utf-16-le"
    return "utf-8"


def decode(body: bytes) -> str:
    """The body as text (see the module docstring for the encodings read).

    Raises:
        PayloadError: an empty body or bytes that are not text in the detected encoding.
    """
    if not body.strip():
        raise PayloadError(400, "empty request body: send a JSON object")
    encoding = encoding_of(body)
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as err:
        raise PayloadError(
            400, f"request body is not valid JSON: it is not {encoding.upper()} text: {err}"
        ) from None


def parse_json(body: bytes | str) -> object:
    """The JSON document in a request body (bytes are decoded first).

    Raises:
        PayloadError: a body that is not JSON, nests too deep or holds a lone surrogate.
    """
    text = decode(body) if isinstance(body, bytes) else body
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise PayloadError(400, f"request body is not valid JSON: {err}") from None
    except RecursionError:
        raise PayloadError(
            400,
            "request body nests JSON arrays or objects too deep: "
            f"the limit is below {sys.getrecursionlimit()} levels",
        ) from None
    if _SURROGATE_ESCAPE.search(text):  # rare: only then walk the document
        where = lone_surrogate(doc)
        if where is not None:
            raise PayloadError(
                400,
                f"{where} holds a lone UTF-16 surrogate escape (\\ud800 to \\udfff without its "
                "pair): not a Unicode character; send valid text",
            )
    return doc


def lone_surrogate(doc: object) -> str | None:
    """Where in `doc` a string (value or key) holds a lone surrogate, e.g. `inputs[0].user_id`;
    None when none does. Iterative: any depth the parser accepted."""
    stack = [(doc, "body")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    return f"a key of {path}"
                stack.append((item, f"{path}.{key}" if path != "body" else key))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))
    return None


def logged_text(body: bytes, text: str | None, whole: bool, size: int | None = None):
    """The request as the payload table keeps it: (text, size in bytes, truncated).

    Args:
        body: The bytes read (for a refused oversized body, only its first bytes).
        text: The decoded body when it was decoded.
        whole: Keep all of it (a 200: the inference table is built from it).
        size: The body's size when more than `body` was sent (its Content-Length).
    """
    size = max(size or 0, len(body))
    if not body:
        return None, size, False
    if whole and text is not None:
        return text, size, False
    cut = body[:LOGGED_ERROR_BYTES]
    truncated = size > len(cut)
    if text is not None and not truncated:
        return text, size, False
    return cut.decode(_logged_encoding(cut), "backslashreplace"), size, truncated


def _logged_encoding(cut: bytes) -> str:
    encoding = encoding_of(cut)
    return encoding if encoding != "utf-8-sig" else "utf-8"

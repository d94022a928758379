"""Opaque page tokens (AIP-158): the sort key of the last item, bound to the query it came from."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from aiops.validation import invalid

# Tokens this module makes are far shorter; a longer one is not one of them (and nested JSON
# deep enough would exhaust the decoder's recursion).
MAX_TOKEN_LENGTH = 1024


def query_fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def encode_page_token(last_key: list[Any], fingerprint: str) -> str:
    payload = json.dumps({"k": last_key, "q": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_offset(token: str, fingerprint: str) -> int:
    """The position to continue from, for lists that page by position (in-memory ones)."""
    key = decode_page_token(token, fingerprint)
    if key is None:
        return 0
    offset = key[0] if len(key) == 1 else None
    if type(offset) is not int or offset < 0:  # a bool is an int to isinstance
        raise invalid("page_token", "not a page token returned by this method")
    return offset


def decode_page_token(token: str, fingerprint: str) -> list[Any] | None:
    """The sort key to continue after, None for the first page; raises on a bad token."""
    if not token:
        return None
    if len(token) > MAX_TOKEN_LENGTH:
        raise invalid("page_token", "not a page token returned by this method")
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        key, query = payload["k"], payload["q"]
        if not isinstance(key, list) or not isinstance(query, str):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error, RecursionError):
        raise invalid("page_token", "not a page token returned by this method") from None
    if query != fingerprint:
        raise invalid("page_token", "the page token belongs to a different parent or filter")
    return key

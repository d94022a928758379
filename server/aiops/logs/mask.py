"""Masking: a log line -> its shape, the token sequence with what varies replaced by a wildcard.

A whole batch of lines is masked at once by one `@njit` kernel over the concatenated UTF-8 bytes
and their offsets; the miner resolves most lines by a hash of the shape alone, and decodes the
tokens of the few shapes it has not seen.

The rules, applied to the first `max_line_bytes` bytes of a line (ASCII semantics; other bytes
are neither letters nor digits):

1. Tokens are separated by whitespace, control bytes and `|`; a comma ends a token (`a,b` is
   `a,` and `b`: compact JSON, lists).
2. A value quoted over several tokens (`"a b c"`, `'...'`, up to `MAX_GROUP` tokens) is one
   token: a wildcard if a token in it holds a variable (rule 3), else a constant (a klog
   message, `"Starting controller"`; the miner makes it a variable if it takes many values).
   A value quoted in one token is a token as others (`"user":"bob"`, `"id":7`), but a
   wildcard where rule 3 finds a variable and no key before it (`"curl/8.4.0"`). A bracketed
   value `[...]`, `(...)`, `{...}` that spans several tokens is one wildcard, unless it ends
   the line (a JSON object, a trailing parenthesis: then each token is masked).
3. In a token, a run of ASCII letters and digits that holds a digit (or 8+ hex letters) is a
   variable, with a sign before it; the token keeps what precedes its first variable:
   `core.2275` -> `core.<*>`, `uid=0` -> `uid=<*>`. The whole token is a wildcard when nothing
   before the variable is a letter or digit (`10.2.3.4:80`, `12ms`, `0x1f`, `[10.30`), when it
   opens with a bracket (`(uid=0)`), when it is an identifier with a numeric part
   (`blk_-123`, `node-7`, `"pod-7"`, `R02-M1-N0`), or an endpoint (`host.example.com:8080`).
   Paths (`/a/b`, `./a`, `~/a`, `scheme://...`, quoted too: `"/a/b"`) are wildcards.
4. A run of wildcards and date words (month and weekday names, AM/PM, time zones) that holds a
   wildcard is one wildcard (timestamps such as `Jun 14 15:16:01` or `Sun Dec 04 04:47:44
   2005`, wherever they are), and a unit right after a wildcard is part of it (`12 ms`,
   `1.5 KB`, `3 seconds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

WILDCARD = "<*>"
MAX_GROUP = 16  # tokens a quoted or bracketed value may span

CONST, WILD, PREFIX = 0, 1, 2  # token kinds: the bytes; a wildcard; the bytes then a wildcard

DATE_WORDS = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "am",
    "pm",
    "utc",
    "gmt",
    "z",
    "pdt",
    "pst",
    "edt",
    "est",
    "cdt",
    "cst",
    "mdt",
    "mst",
    "cet",
    "cest",
    "bst",
    "ist",
    "jst",
]
UNIT_WORDS = [
    "b",
    "kb",
    "mb",
    "gb",
    "tb",
    "pb",
    "kib",
    "mib",
    "gib",
    "tib",
    "byte",
    "bytes",
    "ns",
    "us",
    "ms",
    "s",
    "sec",
    "secs",
    "second",
    "seconds",
    "min",
    "mins",
    "minute",
    "minutes",
    "h",
    "hr",
    "hrs",
    "hour",
    "hours",
    "day",
    "days",
]


DATE, UNIT = 1, 2  # word kinds (bits)
WORD_TABLE = 256  # slots of the word table (a power of two)


def word_key(word: str) -> int:
    """A word of 1 to 9 ASCII letters, lower-cased, packed 5 bits a letter (exact, no
    collisions); 0 for anything else."""
    if not 1 <= len(word) <= 9 or not (word.isascii() and word.isalpha()):
        return 0
    key = 0
    for k, letter in enumerate(word.lower()):
        key |= (ord(letter) - 96) << (5 * k)
    return key


def _words() -> tuple[np.ndarray, np.ndarray]:
    """Open-addressing table of the date and unit words: keys (0 = empty) and kinds."""
    keys = np.zeros(WORD_TABLE, np.int64)
    kinds = np.zeros(WORD_TABLE, np.int64)
    for words, kind in ((DATE_WORDS, DATE), (UNIT_WORDS, UNIT)):
        for word in words:
            key = word_key(word)
            at = _slot(key)
            while keys[at] not in (0, key):
                at = (at + 1) % WORD_TABLE
            keys[at] = key
            kinds[at] |= kind
    return keys, kinds


def _slot(key: int) -> int:
    return (key ^ (key >> 13) ^ (key >> 29)) % WORD_TABLE


_WORD_KEYS, _WORD_KINDS = _words()


@dataclass(frozen=True)
class Batch:
    """Lines as the kernels take them: `data` uint8, line i is data[starts[i]:ends[i]] (already
    cut to max_line_bytes and stripped of trailing CR/LF)."""

    data: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)


def as_batch(lines: Sequence[str | bytes], max_line_bytes: int) -> Batch:
    """Encodes `lines` (str as UTF-8, bytes as they are) into one buffer. Raises ValueError for
    a max_line_bytes below 1 and TypeError for an item that is neither str nor bytes."""
    if max_line_bytes < 1:
        raise ValueError(f"max_line_bytes must be at least 1, got {max_line_bytes}")
    try:
        encoded = [line.encode() for line in lines]  # type: ignore[union-attr]
    except (AttributeError, UnicodeEncodeError):  # bytes among them, or lone surrogates
        encoded = []
        for line in lines:
            if isinstance(line, str):
                encoded.append(_encode(line))
            elif isinstance(line, bytes | bytearray | memoryview):
                encoded.append(bytes(line))
            else:
                raise TypeError(f"a line must be str or bytes, got {type(line).__name__}") from None
    lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
    starts = np.zeros(len(encoded), np.int64)
    if len(encoded):
        np.cumsum(lengths[:-1], out=starts[1:])
    data = np.frombuffer(b"".join(encoded), np.uint8)
    ends = np.empty_like(starts)
    _cut(data, starts, starts + lengths, max_line_bytes, ends)
    return Batch(data, starts, ends)


def _encode(line: str) -> bytes:
    """A str with lone surrogates as UTF-8: those of undecodable bytes (U+DC80 to U+DCFF,
    as `surrogateescape` decoding leaves them) as those bytes, others as their (invalid)
    3-byte sequences; both are replaced when decoded."""
    try:
        return line.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return line.encode("utf-8", "surrogatepass")


@njit(cache=True, nogil=True)
def _cut(data: Any, starts: Any, ends: Any, max_line_bytes: Any, out: Any) -> Any:
    for i in range(len(starts)):
        end = min(ends[i], starts[i] + max_line_bytes)
        while end > starts[i] and (data[end - 1] == 10 or data[end - 1] == 13):
            end -= 1
        out[i] = end


# --- byte classes ---------------------------------------------------------------------------


_SEP, _DIGIT, _ALPHA, _HEX, _OPEN, _CLOSE, _COMMA = 1, 2, 4, 8, 16, 32, 64


def _classes() -> np.ndarray:
    """Each byte's classes (bits): whitespace, control bytes and '|' separate tokens; ASCII
    digits and letters; hex letters; opening and closing brackets."""
    table = np.zeros(256, np.uint8)
    for b in range(256):
        if b <= 32 or b == 127 or b == ord("|"):
            table[b] |= _SEP
        if chr(b).isdigit() and b < 128:
            table[b] |= _DIGIT
        if b < 128 and chr(b).isalpha():
            table[b] |= _ALPHA
        if chr(b) in "abcdefABCDEF":
            table[b] |= _HEX
        if chr(b) in "[({":
            table[b] |= _OPEN
        if chr(b) in "])}":
            table[b] |= _CLOSE
        if b == ord(","):
            table[b] |= _COMMA
    return table


_CLASS = _classes()


@njit(cache=True, nogil=True, inline="always")
def _is_sep(b: Any) -> Any:
    return (_CLASS[b] & _SEP) != 0


@njit(cache=True, nogil=True, inline="always")
def _is_digit(b: Any) -> Any:
    return (_CLASS[b] & _DIGIT) != 0


@njit(cache=True, nogil=True, inline="always")
def _is_alpha(b: Any) -> Any:
    return (_CLASS[b] & _ALPHA) != 0


@njit(cache=True, nogil=True, inline="always")
def _is_alnum(b: Any) -> Any:
    return (_CLASS[b] & (_DIGIT | _ALPHA)) != 0


@njit(cache=True, nogil=True, inline="always")
def _is_hex_letter(b: Any) -> Any:
    return (_CLASS[b] & _HEX) != 0


@njit(cache=True, nogil=True, inline="always")
def _is_open(b: Any) -> Any:
    return (_CLASS[b] & _OPEN) != 0


@njit(cache=True, nogil=True, inline="always")
def _is_close(b: Any) -> Any:
    return (_CLASS[b] & _CLOSE) != 0


@njit(cache=True, nogil=True, inline="always")
def _lower(b: Any) -> Any:
    return b + 32 if 65 <= b <= 90 else b


@njit(cache=True, nogil=True, inline="always")
def _word_kind(key: Any) -> Any:
    """DATE and/or UNIT for a packed word key (see `word_key`), else 0."""
    if key == 0:
        return 0
    at = (key ^ (key >> 13) ^ (key >> 29)) % WORD_TABLE  # as _slot; keys < 2**45
    while _WORD_KEYS[at] != 0:
        if _WORD_KEYS[at] == key:
            return _WORD_KINDS[at]
        at = (at + 1) % WORD_TABLE
    return 0


@njit(cache=True, nogil=True)
def _ends_with_quote(data: Any, s: Any, e: Any, quote: Any) -> Any:
    """Whether data[s:e], without trailing `.,;:!?)]}`, ends with `quote`."""
    while e > s:
        b = data[e - 1]
        if b == 46 or b == 44 or b == 59 or b == 58 or b == 33 or b == 63 or _is_close(b):
            e -= 1
        else:
            break
    return e > s and data[e - 1] == quote


@njit(cache=True, nogil=True)
def _has_key(data: Any, s: Any, e: Any) -> Any:
    """Whether data[s:e] holds a key: a `=` or `:` after a letter or digit."""
    alnum = False
    for k in range(s, e):
        b = data[k]
        if (b == 58 or b == 61) and alnum:
            return True
        alnum = alnum or _is_alnum(b)
    return False


# --- one token ------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _mask_token(data: Any, s: Any, e: Any) -> Any:
    """(kind, end, word): kind CONST (data[s:e]), WILD, or PREFIX (data[s:end] then a
    wildcard); word: the word kinds (DATE, UNIT) of a CONST token without its leading
    brackets and trailing brackets and `,.;:` (see `word_key`). One pass over the token."""
    # the word's bounds
    ws = s
    while ws < e and _is_open(data[ws]):
        ws += 1
    we = e
    while we > ws and (_is_close(data[we - 1]) or data[we - 1] == 44 or data[we - 1] == 46
                       or data[we - 1] == 59 or data[we - 1] == 58):  # fmt: skip
        we -= 1
    key = 0
    word = 0 < we - ws <= 9
    slashes = 0
    scheme = False
    first = -1  # where the first variable starts
    run = -1  # where the current run of letters and digits starts
    digits = False
    hexes = True
    for k in range(s, e + 1):
        b = data[k] if k < e else 32
        if _is_alnum(b):
            if run < 0:
                run = k
                digits = False
                hexes = True
            if _is_digit(b):
                digits = True
            elif not _is_hex_letter(b):
                hexes = False
        else:
            if run >= 0:
                if first < 0 and (digits or (hexes and k - run >= 8)):
                    first = run
                    sign = run > s and (data[run - 1] == 45 or data[run - 1] == 43)
                    if sign and (run - 1 == s or not _is_alnum(data[run - 2])):  # not a joint
                        first = run - 1
                run = -1
            if b == 47:
                slashes += 1
                if k >= s + 1 and data[k - 1] == 58 and k + 1 < e and data[k + 1] == 47:
                    scheme = True  # ://
        if word and ws <= k < we:
            if _is_alpha(b):
                key |= (np.int64(_lower(b)) - 96) << (5 * (k - ws))
            else:
                word = False
    # paths: /a/b, ./a, ../a, ~/a, scheme://, after an opening quote too ("/a/b")
    c = data[s]
    q = s + 1 if (c == 34 or c == 39) and e > s + 1 else s
    n = e - q
    d = data[q]
    if (
        scheme
        or (d == 47 and slashes >= 2)
        or (n >= 2 and d == 46 and data[q + 1] == 47)
        or (n >= 3 and d == 46 and data[q + 1] == 46 and data[q + 2] == 47)
        or (n >= 2 and d == 126 and data[q + 1] == 47)
    ):
        return WILD, s, 0
    if e - s == 3 and c == 60 and data[s + 1] == 42 and data[s + 2] == 62:  # "<*>"
        return WILD, s, 0
    if first < 0:
        return CONST, e, _word_kind(key) if word else 0
    if _is_open(c):
        return WILD, s, 0
    p = first
    letters = False
    ident = True  # after an opening quote: "node-7" is node-7
    for k in range(q, p):
        b = data[k]
        if _is_alnum(b):
            letters = True
        elif b != 45 and b != 95:  # - _
            ident = False
    if not letters:
        return WILD, s, 0
    last = data[p - 1]
    if ident and (last == 45 or last == 95):  # node-7, blk_-1, attempt_1_2
        return WILD, s, 0
    if last == 58 and p - 1 > q:  # host:port
        endpoint = True
        for k in range(q, p - 1):
            b = data[k]
            if not (_is_alnum(b) or b == 45 or b == 95 or b == 46):
                endpoint = False
                break
        if endpoint:
            return WILD, s, 0
    return PREFIX, p, 0


# --- one line -------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _mask_line(
    data: Any,
    s: Any,
    e: Any,
    ts: Any,
    te: Any,
    mk: Any,
    me: Any,
    date: Any,
    unit: Any,
    kinds: Any,
    out_s: Any,
    out_e: Any,
) -> Any:  # numba types them from the call
    """Masks data[s:e] into kinds/out_s/out_e; returns the number of tokens. ts, te, mk, me,
    date, unit are scratch arrays at least as long as the line has tokens."""
    # 1. raw tokens
    n = 0
    k = s
    while k < e:
        while k < e and _is_sep(data[k]):
            k += 1
        if k >= e:
            break
        ts[n] = k
        while k < e and (_CLASS[data[k]] & (_SEP | _COMMA)) == 0:
            k += 1
        if k < e and data[k] == 44:  # a comma ends a token: a,b,c -> a, b, c
            k += 1
        te[n] = k
        n += 1
    # 2. groups and tokens -> masked tokens (kind in mk, end in me, start in ts)
    m = 0
    i = 0
    while i < n:
        a = ts[i]
        c = data[a]
        j = -1
        if c == 39 or c == 34:  # ' or ": a value quoted in one token is a token as others
            if not _ends_with_quote(data, a + 1, te[i], c):
                q = i + 1
                while q < n and q < i + MAX_GROUP:
                    if _ends_with_quote(data, ts[q], te[q], c):
                        j = q
                        break
                    q += 1
        elif _is_open(c):
            depth = 0
            q = i
            while q < n and q < i + MAX_GROUP:
                for x in range(ts[q], te[q]):
                    if _is_open(data[x]):
                        depth += 1
                    elif _is_close(data[x]):
                        depth -= 1
                if depth <= 0:
                    break
                q += 1
            if q < n - 1 and q < i + MAX_GROUP and q > i:
                j = q
        if j >= 0:  # a quoted value, or a bracketed one over several tokens
            kind = WILD
            if c == 39 or c == 34:  # quoted: one constant token unless a variable is in it
                kind = CONST
                for q in range(i, j + 1):
                    if _mask_token(data, ts[q], te[q])[0] != CONST:
                        kind = WILD
                        break
            ts[m] = a
            mk[m] = kind
            me[m] = a if kind == WILD else te[j]
            date[m] = False
            unit[m] = False
            m += 1
            i = j + 1
            continue
        kind, end, word = _mask_token(data, a, te[i])
        if (
            kind == PREFIX
            and (c == 39 or c == 34)
            and _ends_with_quote(data, a + 1, te[i], c)
            and not _has_key(data, a, end)
        ):  # a quoted variable: "curl/8.4"
            kind, end = WILD, a
        ts[m] = a
        mk[m] = kind
        me[m] = end
        date[m] = (word & DATE) != 0
        unit[m] = (word & UNIT) != 0
        m += 1
        i += 1
    # 3. runs of wildcards and date words -> one wildcard; units after a wildcard
    out = 0
    i = 0
    while i < m:
        if mk[i] == WILD or date[i]:
            j = i
            wild = False
            while j < m and (mk[j] == WILD or date[j]):
                wild = wild or mk[j] == WILD
                j += 1
            if wild:
                if out == 0 or kinds[out - 1] != WILD:
                    kinds[out] = WILD
                    out_s[out] = ts[i]
                    out_e[out] = ts[i]
                    out += 1
                i = j
                continue
            for x in range(i, j):
                kinds[out] = mk[x]
                out_s[out] = ts[x]
                out_e[out] = me[x]
                out += 1
            i = j
            continue
        if unit[i] and out > 0 and kinds[out - 1] == WILD:
            i += 1
            continue
        kinds[out] = mk[i]
        out_s[out] = ts[i]
        out_e[out] = me[i]
        out += 1
        i += 1
    return out


# --- hashing --------------------------------------------------------------------------------

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX_OFFSET = np.uint64(0x84222325CBF29CE4)
_MIX_PRIME = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, inline="always")
def _step(h1: Any, h2: Any, b: Any) -> Any:
    h1 = (h1 ^ np.uint64(b)) * _FNV_PRIME
    h2 = (h2 + np.uint64(b)) * _MIX_PRIME
    return h1, h2


@njit(cache=True, nogil=True)
def _hash_tokens(data: Any, kinds: Any, out_s: Any, out_e: Any, n: Any) -> Any:
    """Two independent 64-bit hashes of a masked token sequence: per token its kind, its
    length (4 bytes) and its bytes."""
    h1 = _FNV_OFFSET
    h2 = _MIX_OFFSET
    for t in range(n):
        h1, h2 = _step(h1, h2, kinds[t] + 1)
        length = out_e[t] - out_s[t]
        for shift in range(4):
            h1, h2 = _step(h1, h2, (length >> (8 * shift)) & 255)
        for x in range(out_s[t], out_e[t]):
            h1, h2 = _step(h1, h2, data[x])
    return h1, h2


def _scratch(batch: Batch) -> tuple[np.ndarray, ...]:
    longest = int((batch.ends - batch.starts).max(initial=0))
    size = longest + 2  # a token is at least one byte (`,,,` is three tokens)
    return (
        np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size, np.int64),
        np.empty(size, np.int64), np.empty(size, np.bool_), np.empty(size, np.bool_),
        np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size, np.int64),
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _shape_keys(
    data: Any,
    starts: Any,
    ends: Any,
    ts: Any,
    te: Any,
    mk: Any,
    me: Any,
    date: Any,
    unit: Any,
    kinds: Any,
    out_s: Any,
    out_e: Any,
    h1: Any,
    h2: Any,
    count: Any,
) -> Any:  # numba types them from the call
    for i in range(len(starts)):
        n = _mask_line(data, starts[i], ends[i], ts, te, mk, me, date, unit, kinds, out_s, out_e)
        h1[i], h2[i] = _hash_tokens(data, kinds, out_s, out_e, n)
        count[i] = n


@njit(cache=True, nogil=True)
def _shape_tokens(
    data: Any, starts: Any, ends: Any, rows: Any, ts: Any, te: Any, mk: Any, me: Any,
    date: Any, unit: Any, kinds: Any, out_s: Any, out_e: Any,
    first: Any, all_kinds: Any, all_s: Any, all_e: Any,
) -> Any:  # fmt: skip
    """The masked tokens of lines `rows`: those of rows[r] are at first[r]:first[r + 1]."""
    total = 0
    for r in range(len(rows)):
        i = rows[r]
        n = _mask_line(data, starts[i], ends[i], ts, te, mk, me, date, unit, kinds, out_s, out_e)
        first[r] = total
        for t in range(n):
            all_kinds[total] = kinds[t]
            all_s[total] = out_s[t]
            all_e[total] = out_e[t]
            total += 1
    first[len(rows)] = total


@dataclass(frozen=True)
class Keys:
    """Per line: the shape's two 64-bit hashes (uint64) and its number of tokens (int64)."""

    h1: np.ndarray
    h2: np.ndarray
    tokens: np.ndarray


def shape_keys(batch: Batch) -> Keys:
    """The key of each line's shape; equal shapes have equal keys, and different shapes equal
    keys with probability ~2^-128."""
    n = len(batch)
    h1 = np.empty(n, np.uint64)
    h2 = np.empty(n, np.uint64)
    count = np.empty(n, np.int64)
    if n:
        ts, te, mk, me, date, unit, kinds, out_s, out_e = _scratch(batch)
        _shape_keys(batch.data, batch.starts, batch.ends, ts, te, mk, me, date, unit, kinds,
                    out_s, out_e, h1, h2, count)  # fmt: skip
    return Keys(h1, h2, count)


def shapes(batch: Batch, rows: np.ndarray | None = None) -> list[tuple[str | None, ...]]:
    """The masked tokens of lines `rows` (all by default), decoded: a constant token is its
    text (UTF-8, invalid bytes replaced), a wildcard is None, and a token that keeps a prefix
    is the prefix followed by `WILDCARD`."""
    if rows is None:
        rows = np.arange(len(batch), dtype=np.int64)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    if not len(rows):
        return []
    scratch = _scratch(batch)
    raw = batch.data.tobytes()
    # rows in chunks of about SHAPE_BYTES bytes: the token arrays hold one slot a byte
    ends = np.cumsum(batch.ends[rows] - batch.starts[rows] + 1)
    out: list[tuple[str | None, ...]] = []
    start = 0
    while start < len(rows):
        stop = max(start + 1, int(np.searchsorted(ends, ends[start] + SHAPE_BYTES)))
        out.extend(_decode(batch, rows[start:stop], scratch, raw))
        start = stop
    return out


SHAPE_BYTES = 1 << 20  # bytes of lines decoded at once by `shapes`


def _decode(
    batch: Batch, rows: np.ndarray, scratch: tuple[np.ndarray, ...], raw: bytes
) -> list[tuple[str | None, ...]]:
    capacity = int((batch.ends[rows] - batch.starts[rows]).sum()) + len(rows) + 1
    first = np.empty(len(rows) + 1, np.int64)
    kinds = np.empty(capacity, np.int64)
    starts = np.empty(capacity, np.int64)
    ends = np.empty(capacity, np.int64)
    ts, te, mk, me, date, unit, scratch_kinds, out_s, out_e = scratch
    _shape_tokens(batch.data, batch.starts, batch.ends, rows, ts, te, mk, me, date, unit,
                  scratch_kinds, out_s, out_e, first, kinds, starts, ends)  # fmt: skip
    out = []
    kind_list, start_list, end_list = kinds.tolist(), starts.tolist(), ends.tolist()
    for r in range(len(rows)):
        tokens: list[str | None] = []
        for t in range(int(first[r]), int(first[r + 1])):
            kind = kind_list[t]
            if kind == WILD:
                tokens.append(None)
                continue
            text = raw[start_list[t] : end_list[t]].decode("utf-8", "replace")
            tokens.append(text + WILDCARD if kind == PREFIX else text)
        out.append(tuple(tokens))
    return out


# --- the shape cache: an open-addressing table keyed by (h1, h2, tokens) --------------------


@njit(cache=True, nogil=True)
def _lookup(
    h1: Any,
    h2: Any,
    count: Any,
    table1: Any,
    table2: Any,
    table_n: Any,
    table_id: Any,
    slot_of: Any,
    slot_id: Any,
    out: Any,
) -> Any:  # numba types them from the call
    """out[i] = the template id cached for line i's key, or -1 if none or if that template is
    no longer where it was cached (evicted or merged)."""
    mask = np.uint64(len(table1) - 1)
    for i in range(len(h1)):
        at = h1[i] & mask
        out[i] = -1
        while table_n[at] >= 0:
            if table1[at] == h1[i] and table2[at] == h2[i] and table_n[at] == count[i]:
                tid = table_id[at]
                slot = slot_of[at]
                if slot_id[slot] == tid:
                    out[i] = tid
                break
            at = (at + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def _insert(
    h1: Any,
    h2: Any,
    count: Any,
    tid: Any,
    slot: Any,
    table1: Any,
    table2: Any,
    table_n: Any,
    table_id: Any,
    slot_of: Any,
) -> Any:  # numba types them from the call
    """Caches (h1, h2, count) -> (tid, slot); returns 1 if the key is new, else 0."""
    mask = np.uint64(len(table1) - 1)
    at = h1 & mask
    while table_n[at] >= 0:
        if table1[at] == h1 and table2[at] == h2 and table_n[at] == count:
            table_id[at] = tid
            slot_of[at] = slot
            return 0
        at = (at + np.uint64(1)) & mask
    table1[at] = h1
    table2[at] = h2
    table_n[at] = count
    table_id[at] = tid
    slot_of[at] = slot
    return 1


class ShapeCache:
    """A bounded map from shape keys to (template id, slot); cleared when `max_shapes` keys
    are cached (the shapes are found again by the miner's slow path). `slot_id[slot]` holds
    the id of the template living in each slot (-1 when free): an entry is only valid while
    its template still lives in its slot."""

    def __init__(self, max_shapes: int, slots: int) -> None:
        self.max_shapes = max_shapes
        capacity = 1 << max(4, (2 * max_shapes - 1).bit_length())
        self.h1 = np.zeros(capacity, np.uint64)
        self.h2 = np.zeros(capacity, np.uint64)
        self.n = np.full(capacity, -1, np.int64)
        self.ids = np.zeros(capacity, np.int64)
        self.slot_of = np.zeros(capacity, np.int64)
        self.slot_id = np.full(slots, -1, np.int64)
        self.size = 0
        self.clears = 0

    def lookup(self, keys: Keys) -> np.ndarray:
        out = np.empty(len(keys.h1), np.int64)
        _lookup(keys.h1, keys.h2, keys.tokens, self.h1, self.h2, self.n, self.ids,
                self.slot_of, self.slot_id, out)  # fmt: skip
        return out

    def insert(self, h1: np.uint64, h2: np.uint64, tokens: int, tid: int, slot: int) -> None:
        if self.size >= self.max_shapes:
            self.clear()
        self.size += _insert(h1, h2, tokens, tid, slot, self.h1, self.h2, self.n, self.ids,
                             self.slot_of)  # fmt: skip

    def clear(self) -> None:
        self.n[:] = -1
        self.size = 0
        self.clears += 1

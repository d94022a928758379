"""Plain, slow reference implementations of the log miner, written for reading, not speed: the
masking kernel and the miner must agree with their counterparts here (stumpy's tests/naive.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiops.logs.levels import line_level
from aiops.logs.mask import DATE_WORDS, MAX_GROUP, UNIT_WORDS, WILDCARD
from aiops.logs.miner import EXAMPLE_CHARS, MinerConfig

CONST, WILD, PREFIX = 0, 1, 2
TOKEN = rb"[^\x00-\x20\x7f|]+"  # separators: whitespace, control bytes and |
DATES = {w.encode() for w in DATE_WORDS}
UNITS = {w.encode() for w in UNIT_WORDS}
OPEN, CLOSE = b"[({", b"])}"

Masked = tuple[int, bytes]  # (kind, bytes): the token; nothing; the prefix before a wildcard


def cut(line: bytes, max_line_bytes: int) -> bytes:
    return line[:max_line_bytes].rstrip(b"\r\n")


def word_of(token: bytes) -> bytes:
    """The token without leading brackets and trailing brackets and `,.;:`, lower-cased."""
    return token.lstrip(OPEN).rstrip(CLOSE + b",.;:").lower()


def is_alnum(b: int) -> bool:
    return chr(b).isascii() and chr(b).isalnum()


def first_variable(token: bytes) -> int:
    for run in re.finditer(rb"[A-Za-z0-9]+", token):
        text = run.group()
        hex_letters = all(c in b"abcdefABCDEF" for c in text)
        if any(c in b"0123456789" for c in text) or (hex_letters and len(text) >= 8):
            start = run.start()
            sign = start > 0 and token[start - 1] in b"-+"
            if sign and (start == 1 or not is_alnum(token[start - 2])):
                return start - 1
            return start
    return -1


def mask_token(token: bytes) -> tuple[int, bytes, str]:
    """(kind, bytes, word): word is 'date', 'unit' or '' for a constant token."""
    body = token[1:] if token[:1] in (b"'", b'"') and len(token) > 1 else token
    if (
        b"://" in token
        or (body.startswith(b"/") and body.count(b"/") >= 2)
        or body.startswith((b"./", b"../", b"~/"))
        or token == b"<*>"
    ):
        return WILD, b"", ""
    p = first_variable(token)
    if p < 0:
        word = word_of(token)
        return CONST, token, "date" if word in DATES else "unit" if word in UNITS else ""
    prefix = token[:p]
    if token[:1] in (b"[", b"(", b"{") or not any(is_alnum(c) for c in prefix):
        return WILD, b"", ""
    unquoted = prefix[1:] if prefix[:1] in (b"'", b'"') else prefix  # "node-7" is node-7
    if unquoted[-1:] in (b"-", b"_") and re.fullmatch(rb"[A-Za-z0-9_-]+", unquoted):
        return WILD, b"", ""
    if unquoted[-1:] == b":" and re.fullmatch(rb"[A-Za-z0-9._-]+:", unquoted):
        return WILD, b"", ""
    return PREFIX, prefix, ""


def ends_with_quote(token: bytes, quote: int) -> bool:
    stripped = token.rstrip(b".,;:!?" + CLOSE)
    return stripped[-1:] == bytes([quote])


def group_end(tokens: list[bytes], i: int) -> int:
    """The last token of a quoted value over several tokens, or of a bracketed value over
    several tokens that does not end the line, that starts at token i; -1 if none does."""
    first = tokens[i][0]
    last = min(len(tokens), i + MAX_GROUP)
    if first in b"'\"":
        if ends_with_quote(tokens[i][1:], first):
            return -1  # quoted in one token: a token as others
        for q in range(i + 1, last):
            if ends_with_quote(tokens[q], first):
                return q
    elif first in OPEN:
        depth = 0
        for q in range(i, last):
            depth += sum(tokens[q].count(bytes([c])) for c in OPEN)
            depth -= sum(tokens[q].count(bytes([c])) for c in CLOSE)
            if depth <= 0:
                return q if i < q < len(tokens) - 1 else -1
    return -1


def split(line: bytes) -> list[tuple[int, int]]:
    """The tokens' (start, end): runs of non-separators, each also ended by a comma."""
    spans = []
    for run in re.finditer(TOKEN, line):
        for part in re.finditer(rb"[^,]*,|[^,]+", run.group()):
            spans.append((run.start() + part.start(), run.start() + part.end()))
    return spans


def mask_line(line: bytes) -> list[Masked]:
    spans = split(line)
    tokens = [line[a:b] for a, b in spans]
    masked: list[tuple[int, bytes, str]] = []
    i = 0
    while i < len(tokens):
        end = group_end(tokens, i)
        if end >= 0:
            quoted = tokens[i][0] in b"'\""
            if quoted and all(mask_token(t)[0] == CONST for t in tokens[i : end + 1]):
                masked.append((CONST, line[spans[i][0] : spans[end][1]], ""))
            else:
                masked.append((WILD, b"", ""))
            i = end + 1
        else:
            token = tokens[i]
            kind, text, word = mask_token(token)
            quoted = token[:1] in (b"'", b'"') and ends_with_quote(token[1:], token[0])
            if kind == PREFIX and quoted and not re.search(rb"[A-Za-z0-9].*[=:]", text):
                kind, text = WILD, b""  # "curl/8.4": a quoted variable
            masked.append((kind, text, word))
            i += 1
    # runs of wildcards and date words holding a wildcard -> one wildcard; units after one
    out: list[Masked] = []
    i = 0
    while i < len(masked):
        kind, text, word = masked[i]
        if kind == WILD or word == "date":
            j = i
            while j < len(masked) and (masked[j][0] == WILD or masked[j][2] == "date"):
                j += 1
            if any(m[0] == WILD for m in masked[i:j]):
                if not out or out[-1][0] != WILD:
                    out.append((WILD, b""))
            else:
                out.extend((m[0], m[1]) for m in masked[i:j])
            i = j
            continue
        if word == "unit" and out and out[-1][0] == WILD:
            i += 1
            continue
        out.append((kind, text))
        i += 1
    return out


def shape(line: bytes, config: MinerConfig) -> tuple[str | None, ...]:
    out: list[str | None] = []
    for kind, text in mask_line(cut(line, config.max_line_bytes)):
        if kind == WILD:
            out.append(None)
        else:
            decoded = text.decode("utf-8", "replace")
            out.append(decoded + WILDCARD if kind == PREFIX else decoded)
    return tuple(out)


def hashes(masked: list[Masked]) -> tuple[int, int]:
    h1, h2 = 0xCBF29CE484222325, 0x84222325CBF29CE4
    for kind, text in masked:
        for b in bytes([kind + 1]) + len(text).to_bytes(4, "little") + text:
            h1 = ((h1 ^ b) * 0x100000001B3) % 2**64
            h2 = ((h2 + b) * 0x9E3779B97F4A7C15) % 2**64
    return h1, h2


# --- the miner ------------------------------------------------------------------------------

W, V = None, ""
Tokens = tuple[str | None, ...]


def unify(a: Tokens, b: Tokens, band: int, cover: bool = False) -> Tokens | None:
    """As `aiops.logs.miner.unify`, by plain recursion over every alignment in the same order
    of preference: match, skip a's W, skip b's W."""
    if abs(len(a) - len(b)) > band:
        return None

    def go(i: int, j: int) -> Tokens | None:
        if i == len(a) and j == len(b):
            return ()
        if abs(i - j) > band:
            return None
        if i < len(a) and j < len(b):
            x, y = a[i], b[j]
            token: str | int | None = 0
            if x == y:
                token = x
            elif x == V or (y == V and not cover):
                token = V
            elif covers(x, y):
                token = x
            elif covers(y, x) and not cover:
                token = y
            if token != 0:
                rest = go(i + 1, j + 1)
                if rest is not None:
                    return (token, *rest)  # type: ignore[arg-type]
        if i < len(a) and a[i] is W:
            rest = go(i + 1, j)
            if rest is not None:
                return (W, *rest)
        if j < len(b) and b[j] is W and not cover:
            rest = go(i, j + 1)
            if rest is not None:
                return (W, *rest)
        return None

    return go(0, 0)


def constants(tokens: Tokens) -> int:
    return sum(1 for t in tokens if t)


def covers(x: str | None, y: str | None) -> bool:
    """A key then a wildcard (`user=<*>`, `"id":<*>`) matches the constants and prefix tokens
    that start with that key."""
    if x is None or y is None or y == V or len(x) <= 4 or not x.endswith(("=<*>", ":<*>")):
        return False
    return y.startswith(x[:-3])


def generalise(values: list[str | None]) -> str:
    """A position's values -> the key they share then a wildcard, or V."""
    if not all(values):
        return V
    common = ""
    for chars in zip(*values, strict=False):
        if len(set(chars)) > 1:
            break
        common += chars[0]
    cut = max(common.rfind("="), common.rfind(":"))
    if cut < 0 or not any(c.isalnum() for c in common[:cut]):
        return V
    return common[: cut + 1] + WILDCARD


def needed(kept: int, config: MinerConfig) -> int | None:
    """Siblings that make a position a variable with `kept` constants left (None: never)."""
    if kept >= config.min_constants:
        return config.min_siblings
    if kept < 1:
        return None
    return int(config.min_siblings ** (1 + config.min_constants - kept))


def differences(a: Tokens, b: Tokens) -> list[int] | None:
    """Where a and b hold different constants; None if a W meets a constant."""
    out = []
    for p, (x, y) in enumerate(zip(a, b, strict=True)):
        if x == y or V in (x, y) or covers(x, y) or covers(y, x):
            continue
        if x is None or y is None:
            return None
        out.append(p)
    return out


@dataclass
class Entry:
    id: int
    tokens: Tokens
    count: int
    first_seen: int
    last_seen: int
    last_line: int
    example: str
    level: str | None


@dataclass
class NaiveMiner:
    """The miner's rules over plain lists and dicts: every search a full scan."""

    config: MinerConfig
    entries: dict[int, Entry] = field(default_factory=dict)
    cache: dict[Tokens, int] = field(default_factory=dict)
    aliases: dict[int, int] = field(default_factory=dict)
    next_id: int = 0
    lines: int = 0
    evictions: int = 0

    def learn(self, lines: Sequence[bytes | str], time: int | None = None) -> list[int]:
        raw = [line.encode() if isinstance(line, str) else line for line in lines]
        shapes = [shape(line, self.config) for line in raw]
        base = self.lines
        self.lines += len(lines)
        ids: list[int | None] = [self.cached(s) for s in shapes]
        # lines of known shapes first, each template once, by its last line
        last: dict[int, int] = {}
        for row, tid in enumerate(ids):
            if tid is not None:
                entry = self.entries[tid]
                entry.count += 1
                entry.last_seen = max(entry.last_seen, base + row if time is None else time)
                last[tid] = row
        for tid, row in last.items():
            self.entries[tid].last_line = max(self.entries[tid].last_line, base + row)
        # then each new shape, in order of first line
        new: dict[Tokens, list[int]] = {}
        for row, tid in enumerate(ids):
            if tid is None:
                new.setdefault(shapes[row], []).append(row)
        for s, rows in new.items():
            tokens = s[: self.config.max_tokens]
            tid = self.covering(tokens)
            if tid < 0:
                line = cut(raw[rows[0]], self.config.max_line_bytes)
                example = line[: 4 * EXAMPLE_CHARS].decode("utf-8", "replace")[:EXAMPLE_CHARS]
                tid = self.create(tokens, example, base + rows[0], time)
            entry = self.entries[tid]
            entry.count += len(rows)
            entry.first_seen = min(entry.first_seen, base + rows[0] if time is None else time)
            entry.last_seen = max(entry.last_seen, base + rows[-1] if time is None else time)
            entry.last_line = max(entry.last_line, base + rows[-1])
            if len(self.cache) >= self.config.max_shapes:
                self.cache.clear()
            self.cache[s] = tid
            for row in rows:
                ids[row] = tid
            self.evict()
        return [self.final(tid) for tid in ids if tid is not None]

    def match(self, lines: Sequence[bytes | str]) -> list[int]:
        raw = [line.encode() if isinstance(line, str) else line for line in lines]
        out = []
        for line in raw:
            s = shape(line, self.config)
            tid = self.cached(s)
            out.append(tid if tid is not None else self.covering(s[: self.config.max_tokens]))
        return out

    def cached(self, s: Tokens) -> int | None:
        tid = self.cache.get(s)
        return tid if tid in self.entries else None

    def covering(self, s: Tokens) -> int:
        best = None
        for entry in self.entries.values():
            if unify(entry.tokens, s, self.config.max_optional, cover=True) is not None:
                key = (-constants(entry.tokens), entry.id)
                if best is None or key < best[0]:
                    best = (key, entry.id)
        return -1 if best is None else best[1]

    def create(self, tokens: Tokens, example: str, line: int, time: int | None) -> int:
        tid = self.next_id
        self.next_id += 1
        seen = line if time is None else time
        self.entries[tid] = Entry(tid, tokens, 0, seen, seen, line, example, line_level(example))
        return self.settle(tid)

    def settle(self, tid: int) -> int:
        config = self.config
        while True:
            tokens = self.entries[tid].tokens
            best = None
            for other in self.entries.values():
                if other.id == tid:
                    continue
                merged = unify(tokens, other.tokens, config.max_optional)
                if merged is not None and constants(merged) >= config.min_constants - 1:
                    key = (-constants(merged), other.id)
                    if best is None or key < best[0]:
                        best = (key, other.id, merged)
            if best is not None:
                tid = self.merge([tid, best[1]], best[2])
                continue
            for i, token in enumerate(tokens):
                if not token:
                    continue
                siblings = [
                    e for e in self.entries.values()
                    if len(e.tokens) == len(tokens) and e.tokens[i]
                    and e.tokens[:i] == tokens[:i] and e.tokens[i + 1 :] == tokens[i + 1 :]
                ]  # fmt: skip
                value = generalise([e.tokens[i] for e in siblings])
                merged = (*tokens[:i], value, *tokens[i + 1 :])
                least = needed(constants(merged), config)
                if len(siblings) >= config.min_siblings and least and len(siblings) >= least:
                    tid = self.merge([e.id for e in siblings], merged)
                    break
            else:
                found = self.varying(tid)
                if found is None:
                    return tid
                tid = self.merge(*found)

    def varying(self, tid: int) -> tuple[list[int], Tokens] | None:
        """Positions P (up to max_varying) where templates otherwise equal to tid's differ,
        each taking min_siblings values, the templates at least as many as those values
        (for |P| > 1): the smallest P, then the first."""
        config = self.config
        tokens = self.entries[tid].tokens
        others = {}
        for e in self.entries.values():
            if e.id != tid and len(e.tokens) == len(tokens):
                diff = differences(tokens, e.tokens)
                if diff and len(diff) <= config.max_varying:
                    others[e.id] = diff
        for positions in sorted({tuple(d) for d in others.values()}, key=lambda d: (len(d), d)):
            group = [tid] + [o for o, d in others.items() if set(d) <= set(positions)]
            members = [self.entries[g].tokens for g in group]
            values = [{m[p] for m in members} for p in positions]
            if any(len(v) < config.min_siblings for v in values):
                continue
            if len(positions) > 1 and len(group) < sum(len(v) for v in values):
                continue
            columns = [[m[p] for m in members] for p in range(len(tokens))]
            merged = tuple(generalise(c) if len(set(c)) > 1 else c[0] for c in columns)
            if constants(merged) >= config.min_constants:
                return group, merged
        return None

    def merge(self, ids: list[int], tokens: Tokens) -> int:
        keep = min(ids)
        survivor = self.entries[keep]
        for tid in sorted(ids):
            if tid == keep:
                continue
            entry = self.entries.pop(tid)
            survivor.count += entry.count
            survivor.first_seen = min(survivor.first_seen, entry.first_seen)
            survivor.last_seen = max(survivor.last_seen, entry.last_seen)
            survivor.last_line = max(survivor.last_line, entry.last_line)
            self.aliases.pop(tid, None)
            self.aliases[tid] = keep
        while len(self.aliases) > 4 * self.config.max_templates:
            del self.aliases[next(iter(self.aliases))]
        survivor.tokens = tokens
        return keep

    def evict(self) -> None:
        while len(self.entries) > self.config.max_templates:
            oldest = min(self.entries.values(), key=lambda e: (e.last_line, e.id))
            del self.entries[oldest.id]
            self.evictions += 1

    def final(self, tid: int) -> int:
        seen = set()
        while tid in self.aliases and tid not in seen:
            seen.add(tid)
            tid = self.aliases[tid]
        return tid

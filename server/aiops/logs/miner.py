"""An online log template miner: lines -> template ids, with bounded memory and stable ids.

The algorithm (after Drain: He et al., "Drain: An Online Log Parsing Approach with Fixed Depth
Tree", ICWS 2017, and Brain's idea that a variable position is one that takes many values:
Yu et al., "Brain: Log Parsing with Bidirectional Parallel Tree", IEEE TSC 2023):

1. Mask (`mask.py`): a line becomes its shape, tokens with what varies replaced by a wildcard
   `W`. Most lines have a shape seen before; its key (128 bits of hash and the token count) is
   looked up in a bounded cache, a whole batch in one kernel call.
2. A new shape goes to the first template that covers it, the most specific (most constant
   tokens) one; templates are bucketed by length, as Drain's first tree level. In a template,
   `W` (a masked value) stands for zero or one token, and `V` (a position found to vary)
   for exactly one.
   A key prefix (`user=<*>`, `"id":<*>`: a key, `=` or `:`, then a wildcard) matches any
   value of that key.
3. A shape that no template covers becomes a template, which then settles:
   - it merges with a template of nearly its length that unifies with it: equal but for `W`s
     on either side, which may be absent (`chrome.exe *64 - x` and `chrome.exe - x`), and `V`s
     and key prefixes on either side, which take any token (any value of the key). This only
     combines variables already found, so it may leave one constant fewer than min_constants;
   - a position becomes a variable when `min_siblings` templates are equal but at that
     position (a user name, a host, a program), and they merge. Two values are not enough:
     `Failed password` and `Accepted password` stay apart. The variable keeps the key its
     values share (`user=alice`, `user=bob` -> `user=<*>`), else it is a `V`. A template left
     with fewer than `min_constants` constants needs `min_siblings` times more siblings for
     each constant short (9, then 27): `at <*>` needs 27 stack frames, a header and a short
     message (`<*> INFO [main] <*> <*>`) 9 messages;
   - else, a position where templates equal to it but there (a `V` or a key prefix matching
     anything) take `min_siblings` values becomes a variable; with `max_varying` above 1,
     up to that many positions at once, when the templates are at least as many as the values
     they hold there (values that recombine, as independent variables do, not the pairs of a
     state machine's transitions).
   A merge keeps the oldest id; the others become aliases of it (`resolve`). Each merge may
   enable another, until none applies.
4. At most `max_templates` templates live; creating one more evicts the least recently seen
   (`evictions` counts them). The shape cache holds at most `max_shapes` keys and is cleared
   when full.

Learning (`learn`) may add, generalise and merge templates; matching (`match`) only reads.
`state()` / `from_state()` keep templates, counts and ids across restarts (versioned JSON).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import operator
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from aiops.logs import mask
from aiops.logs.levels import line_level

# A template token: a constant (str, non-empty; a prefix token ends with mask.WILDCARD), W, V.
W = None  # a masked value: zero or one token
V = ""  # a position that varies: exactly one token
Token = str | None
Tokens = tuple[Token, ...]

STATE_FORMAT = "aiops.logs.TemplateMiner"
STATE_VERSION = 1
CHUNK = 1 << 16  # lines masked per kernel call
EXAMPLE_CHARS = 512


@dataclass(frozen=True)
class MinerConfig:
    """The miner's parameters; one configuration serves every log format.

    max_templates   N: templates kept; one more evicts the least recently seen
    max_line_bytes  M: bytes of a line considered (the rest is ignored)
    max_tokens      masked tokens of a line considered (the rest is ignored)
    max_shapes      shape keys cached before the cache is cleared
    min_siblings    templates equal but at one position that make it a variable
    min_constants   constant tokens a merge must leave in a template (with fewer, a position
                    needs min_siblings times more siblings for each constant short)
    max_optional    length difference between templates that may merge (absent `W`s)
    max_varying     positions that may become variables together in one merge (1: one at a
                    time; more finds values that vary together, at a cost when many
                    templates are new)
    """

    max_templates: int = 1000
    max_line_bytes: int = 4096
    max_tokens: int = 100
    max_shapes: int = 1 << 16
    min_siblings: int = 3
    min_constants: int = 3
    max_optional: int = 4
    max_varying: int = 1

    def __post_init__(self) -> None:
        minimum = {"min_siblings": 2, "min_constants": 0, "max_optional": 0, "max_varying": 0}
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{field.name} must be an integer, got {value!r}")
            if value < minimum.get(field.name, 1):
                raise ValueError(
                    f"{field.name} must be at least {minimum.get(field.name, 1)}, got {value}"
                )


@dataclass(frozen=True)
class Template:
    """A template as callers see it. `text`: the tokens joined by spaces, `<*>` where a value
    varies; `count`: lines learnt into it (merged templates' counts added); `first_seen`,
    `last_seen`: the `time` given to `learn`, or the line's sequence number (0-based, over the
    miner's life) when none was; `example`: the first line learnt into it (as considered:
    cut to max_line_bytes, invalid UTF-8 replaced; up to 512 characters); `level`:
    `line_level(example)`."""

    id: int
    text: str
    count: int
    first_seen: int
    last_seen: int
    example: str
    level: str | None


@dataclass
class _Entry:
    id: int
    tokens: Tokens
    count: int
    first_seen: int
    last_seen: int
    last_line: int  # sequence number of the last line learnt: the LRU order
    example: str
    level: str | None
    slot: int = -1
    constants: frozenset[str] = frozenset()  # its constants but key prefixes
    loose: int = 0  # its V and key prefix tokens


def text_of(tokens: Iterable[Token]) -> str:
    return " ".join(token if token else mask.WILDCARD for token in tokens)


def constants(tokens: Iterable[Token]) -> int:
    return sum(1 for token in tokens if token)


def unify(a: Tokens, b: Tokens, band: int, cover: bool = False) -> Tokens | None:
    """The most specific template matching what `a` and `b` match, or None.

    A `W` may match no token (it is then skipped) or one `W`; a `V` matches any one token;
    constants match themselves. With `cover`, `b` is a shape (no `V`) and the answer is `a`
    itself when `a` covers `b`: a `W` of `a` then matches no token or a `W`, and `b`'s tokens
    are not skipped. Alignments keep |i - j| <= band; the first alignment found, preferring
    a match over skipping `a`'s token over skipping `b`'s, is the answer."""
    n, m = len(a), len(b)
    if abs(n - m) > band:
        return None

    def options(i: int, j: int) -> list[tuple[Token, int, int]]:
        """The steps from (i, j), in order of preference: (token emitted, next i, next j)."""
        steps: list[tuple[Token, int, int]] = []
        x = a[i] if i < n else 0
        y = b[j] if j < m else 0
        if i < n and j < m:
            if x == y:
                steps.append((x, i + 1, j + 1))  # type: ignore[arg-type]
            elif x == V or (y == V and not cover):
                steps.append((V, i + 1, j + 1))
            elif _covers(x, y):
                steps.append((x, i + 1, j + 1))  # type: ignore[arg-type]
            elif not cover and _covers(y, x):
                steps.append((y, i + 1, j + 1))  # type: ignore[arg-type]
        if i < n and x is W:
            steps.append((W, i + 1, j))
        if j < m and y is W and not cover:
            steps.append((W, i, j + 1))
        steps.reverse()  # popped from the end
        return steps

    # a depth-first search with an explicit stack (lines of thousands of tokens would
    # overflow Python's), remembering the states that failed
    out: list[Token] = []
    failed: set[tuple[int, int]] = set()
    stack: list[tuple[int, int, list[tuple[Token, int, int]] | None]] = [(0, 0, None)]
    while stack:
        i, j, steps = stack[-1]
        if steps is None:
            if i == n and j == m:
                return tuple(out)
            if (i, j) in failed or abs(i - j) > band:
                stack.pop()
                if stack:
                    out.pop()
                continue
            steps = options(i, j)
            stack[-1] = (i, j, steps)
        if steps:
            token, i, j = steps.pop()
            out.append(token)
            stack.append((i, j, None))
        else:
            failed.add((i, j))
            stack.pop()
            if stack:
                out.pop()
    return None


class TemplateMiner:
    """Mines templates from log lines, online. Not thread-safe; one per detector.

    >>> miner = TemplateMiner()
    >>> users = ["admin", "root", "guest"]
    >>> ids = miner.learn([f"Invalid user {user} from 10.0.0.1" for user in users])
    >>> ids.tolist(), miner.templates()[0].text
    ([0, 0, 0], 'Invalid user <*> from <*>')
    """

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self.evictions = 0  # templates evicted to keep max_templates
        self.lines = 0  # lines learnt
        self._next_id = 0
        self._entries: dict[int, _Entry] = {}
        self._by_length: dict[int, set[int]] = {}
        self._loose: dict[int, set[int]] = {}  # by length: templates with a V or key prefix
        self._neighbours: dict[int, set[int]] = {}
        self._aliases: OrderedDict[int, int] = OrderedDict()
        self._lru: list[tuple[int, int]] = []  # (last_line, id), stale entries skipped
        self._free_slots = list(range(self.config.max_templates + 1, -1, -1))
        self._cache = mask.ShapeCache(self.config.max_shapes, self.config.max_templates + 2)

    # --- public API -------------------------------------------------------------------------

    def learn(self, lines: Sequence[str | bytes], time: int | None = None) -> np.ndarray:
        """Template ids of `lines` (int64, one per line), learning them: a line no template
        covers adds one, which may generalise or merge others. `time` (any integer, e.g.
        Unix seconds or a step; a float or numpy integer is made an int) is recorded as the
        lines' first/last seen; by default each line's sequence number. Returned ids are
        resolved through the merges made while learning; an id may belong to a template
        evicted within this same call. Within one call, lines of known shapes are counted
        before new shapes are learnt."""
        time = None if time is None else int(time)  # numpy integers and floats: JSON ints
        out = np.empty(len(lines), np.int64)
        for start in range(0, len(lines), CHUNK):
            chunk = lines[start : start + CHUNK]
            out[start : start + len(chunk)] = self._learn(chunk, time)
        return self.resolve(out)

    def match(self, lines: Sequence[str | bytes]) -> np.ndarray:
        """Template ids of `lines` (int64; -1 where no template covers the line), read-only:
        it changes neither templates, counts nor the cache."""
        out = np.empty(len(lines), np.int64)
        for start in range(0, len(lines), CHUNK):
            chunk = lines[start : start + CHUNK]
            batch = mask.as_batch(chunk, self.config.max_line_bytes)
            keys = mask.shape_keys(batch)
            found = self._cache.lookup(keys)
            missing = np.flatnonzero(found < 0)
            if len(missing):
                _, first, inverse = _unique_keys(keys, missing)
                shapes = mask.shapes(batch, missing[first])
                ids = np.array([self._covering(self._cut(s)) for s in shapes], np.int64)
                found[missing] = ids[inverse]
            out[start : start + len(chunk)] = found
        return out

    def resolve(self, ids: np.ndarray) -> np.ndarray:
        """`ids` with each merged-away id replaced by the id of the template it merged into
        (int64; ids it does not know are kept)."""
        ids = np.asarray(ids, np.int64)
        if not self._aliases:
            return ids.copy()
        old = np.fromiter(self._aliases.keys(), np.int64, len(self._aliases))
        new = np.array([self._final(int(t)) for t in old], np.int64)
        order = np.argsort(old)
        old, new = old[order], new[order]
        at = np.clip(np.searchsorted(old, ids), 0, len(old) - 1)
        return np.where(old[at] == ids, new[at], ids)

    def templates(self) -> list[Template]:
        """The live templates, by id."""
        return [self._public(entry) for _, entry in sorted(self._entries.items())]

    def template(self, template_id: int) -> Template | None:
        entry = self._entries.get(self._final(template_id))
        return None if entry is None else self._public(entry)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def cache_clears(self) -> int:
        """Times the shape cache filled up and was cleared."""
        return self._cache.clears

    def state(self) -> bytes:
        """Templates, counts, ids, aliases and counters as UTF-8 JSON (no shapes: they are
        found again). `{"format", "version": 1, "config", "next_id", "lines", "evictions",
        "templates": [{"id", "tokens", "count", "first_seen", "last_seen", "last_line",
        "example", "level"}], "aliases": [[old, new], ...]}`; in `tokens` a constant is a
        string, a masked value (zero or one token) null, a varying position ""."""
        return json.dumps(
            {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "config": asdict(self.config),
                "next_id": self._next_id,
                "lines": self.lines,
                "evictions": self.evictions,
                "templates": [
                    {
                        "id": e.id,
                        "tokens": list(e.tokens),
                        "count": e.count,
                        "first_seen": e.first_seen,
                        "last_seen": e.last_seen,
                        "last_line": e.last_line,
                        "example": e.example,
                        "level": e.level,
                    }
                    for _, e in sorted(self._entries.items())
                ],
                "aliases": [[old, new] for old, new in self._aliases.items()],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_state(cls, state: bytes | str, config: MinerConfig | None = None) -> TemplateMiner:
        """A miner from `state()`'s bytes, with `config` (the state's own when None); ids,
        counts and the LRU order are kept. A config with fewer max_templates keeps the most
        recently seen and counts the others as evicted. Raises ValueError, saying why, for
        anything that is not such a state: not JSON, another format or version, a field
        missing or of the wrong type, ids that repeat or that the next id does not exceed."""
        try:
            data = json.loads(state)
        except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
            raise ValueError(f"not a template miner state: not JSON ({error})") from None
        try:
            return cls._from_data(data, config)
        except KeyError as error:
            raise ValueError(f"not a template miner state: {error} missing") from None
        except (TypeError, ValueError, OverflowError) as error:
            raise ValueError(f"not a template miner state: {error}") from None

    @classmethod
    def _from_data(cls, data: Any, config: MinerConfig | None) -> TemplateMiner:
        if not isinstance(data, dict):
            raise ValueError(f"a JSON object expected, got {type(data).__name__}")
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {STATE_FORMAT!r}")
        if data.get("version") != STATE_VERSION:
            raise ValueError(
                f"version {data.get('version')!r}, this miner reads version {STATE_VERSION}"
            )
        own = _typed(data, "config", dict)
        miner = cls(config or MinerConfig(**own))
        next_id = _integer(data, "next_id")
        miner._next_id = next_id
        miner.lines = _integer(data, "lines")
        miner.evictions = _integer(data, "evictions")
        entries = []
        for t in _typed(data, "templates", list):
            if not isinstance(t, dict):
                raise TypeError(f"a template must be an object, got {type(t).__name__}")
            level = t["level"]
            if level is not None and not isinstance(level, str):
                raise TypeError(f"level must be a string or null, got {level!r}")
            entry = _Entry(
                _integer(t, "id"), tuple(_token(x) for x in _typed(t, "tokens", list)),
                _integer(t, "count"), _integer(t, "first_seen"), _integer(t, "last_seen"),
                _integer(t, "last_line"), _typed(t, "example", str), level,
            )  # fmt: skip
            if not 0 <= entry.id < next_id:
                raise ValueError(f"template id {entry.id} outside [0, next_id={next_id})")
            entries.append(entry)
        ids = {entry.id for entry in entries}
        if len(ids) != len(entries):
            raise ValueError("a template id repeats")
        aliases = []
        for pair in _typed(data, "aliases", list):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise TypeError(f"an alias must be [old, new], got {pair!r}")
            old, new = (_int(x, "an alias id") for x in pair)
            if old in ids or not (0 <= old < next_id and 0 <= new < next_id):
                raise ValueError(f"alias {old} -> {new}: a live id, or outside [0, next_id)")
            aliases.append((old, new))
        # the most recently seen first: a smaller max_templates keeps those
        entries.sort(key=lambda e: -e.last_line)
        miner.evictions += max(0, len(entries) - miner.config.max_templates)
        for entry in entries[: miner.config.max_templates]:
            miner._add(entry)
        for old, new in aliases:
            miner._aliases[old] = new
        while len(miner._aliases) > 4 * miner.config.max_templates:
            miner._aliases.popitem(last=False)
        return miner

    # --- learning ---------------------------------------------------------------------------

    def _learn(self, lines: Sequence[str | bytes], time: int | None) -> np.ndarray:
        batch = mask.as_batch(lines, self.config.max_line_bytes)
        keys = mask.shape_keys(batch)
        found = self._cache.lookup(keys)
        base = self.lines
        self.lines += len(lines)
        hits = np.flatnonzero(found >= 0)
        if len(hits):
            self._count(found[hits], hits, base, time)
        missing = np.flatnonzero(found < 0)
        if not len(missing):
            return found
        unique, first, inverse = _unique_keys(keys, missing)
        counts = np.bincount(inverse)
        last = np.zeros(len(unique), np.int64)
        np.maximum.at(last, inverse, missing)
        shapes = mask.shapes(batch, missing[first])
        ids = np.empty(len(unique), np.int64)
        for u, shape in enumerate(shapes):
            row = int(missing[first[u]])
            tid = self._covering(self._cut(shape))
            if tid < 0:
                line = batch.data[batch.starts[row] : batch.ends[row]].tobytes()
                example = line[: 4 * EXAMPLE_CHARS].decode("utf-8", "replace")
                tid = self._create(self._cut(shape), example, base + row, time)
            entry = self._entries[tid]
            entry.count += int(counts[u])
            seen_first = base + row if time is None else time
            seen_last = base + int(last[u]) if time is None else time
            entry.first_seen = min(entry.first_seen, seen_first)
            entry.last_seen = max(entry.last_seen, seen_last)
            self._touch(entry, base + int(last[u]))
            key = int(missing[first[u]])
            self._cache.insert(keys.h1[key], keys.h2[key], int(keys.tokens[key]), tid, entry.slot)
            ids[u] = tid
            self._evict()
        found[missing] = ids[inverse]
        return found

    def _count(self, ids: np.ndarray, rows: np.ndarray, base: int, time: int | None) -> None:
        reverse = ids[::-1]
        unique, last_at, counts = np.unique(reverse, return_index=True, return_counts=True)
        last = rows[len(rows) - 1 - last_at]
        for tid, n, row in zip(unique.tolist(), counts.tolist(), last.tolist(), strict=True):
            entry = self._entries[tid]
            entry.count += n
            entry.last_seen = max(entry.last_seen, base + row if time is None else time)
            self._touch(entry, base + row)

    def _cut(self, shape: tuple[str | None, ...]) -> Tokens:
        return shape[: self.config.max_tokens]

    def _covering(self, shape: Tokens) -> int:
        """The most specific live template covering `shape` (ties: the oldest), or -1."""
        best, best_constants = -1, -1
        present = set(shape)
        band = self.config.max_optional
        for length in range(len(shape), len(shape) + band + 1):
            for tid in self._by_length.get(length, ()):
                entry = self._entries[tid]
                if not entry.constants <= present:
                    continue
                count = constants(entry.tokens)
                if count < best_constants or (count == best_constants and tid > best):
                    continue
                if unify(entry.tokens, shape, band, cover=True) is not None:
                    best, best_constants = tid, count
        return best

    def _create(self, tokens: Tokens, example: str, line: int, time: int | None) -> int:
        tid = self._next_id
        self._next_id += 1
        seen = line if time is None else time
        entry = _Entry(tid, tokens, 0, seen, seen, line, example[:EXAMPLE_CHARS],
                       line_level(example[:EXAMPLE_CHARS]))  # fmt: skip
        self._add(entry)
        return self._settle(tid)

    def _settle(self, tid: int) -> int:
        """Applies the merge rules around template `tid` until none applies; returns the id
        the template ends up with."""
        config = self.config
        while True:
            tokens = self._entries[tid].tokens
            partner = self._unifiable(tid)
            if partner is not None:
                other, merged = partner
                tid = self._merge([tid, other], merged)
                continue
            for i, token in enumerate(tokens):
                if not token:
                    continue
                key = (*tokens[:i], V, *tokens[i + 1 :])
                kept = constants(key)
                if _needed(kept + 1, config) < 0:
                    continue  # not even a key prefix would leave a constant
                siblings = [
                    s for s in self._neighbours.get(hash(key), ())
                    if _equal_but(self._entries[s].tokens, key, i)
                ]  # fmt: skip
                if len(siblings) < config.min_siblings:
                    continue
                value = _generalise([self._entries[s].tokens[i] for s in siblings])
                needed = _needed(kept + (value != V), config)
                if 0 <= needed <= len(siblings):
                    tid = self._merge(siblings, (*key[:i], value, *key[i + 1 :]))
                    break
            else:
                found = self._varying(tid)
                if found is None:
                    return tid
                tid = self._merge(*found)

    def _varying(self, tid: int) -> tuple[list[int], Tokens] | None:
        """Templates of `tid`'s length equal to it but at a few positions P (at most
        max_varying; a `V` equals anything, a key prefix any value of its key), each of which
        takes at least min_siblings values among them; for more than one position, the
        templates at least as many as those values summed. (Their ids, the template with a
        variable at P and wherever one of them has one), if that keeps min_constants
        constants; the smallest P first, then the first in order of positions."""
        config = self.config
        tokens = self._entries[tid].tokens
        n = len(tokens)
        # P may hold no more positions than leave min_constants constants, counting those
        # that may keep a key (`user=<*>`)
        keys = sum(1 for t in tokens if t and _key_end(t) > 0)
        limit = min(config.max_varying, constants(tokens) - config.min_constants + keys)
        if limit < 1:
            return None
        loose = self._entries[tid].loose
        others: Iterable[int] = self._by_length.get(n, ())
        if limit == 1 and not loose:
            # one difference: the others are equal but at one position (indexed), or have a V
            # or a key prefix somewhere
            near = set(self._loose.get(n, ()))
            for i, token in enumerate(tokens):
                if token:
                    near.update(self._neighbours.get(hash((*tokens[:i], V, *tokens[i + 1 :])), ()))
            others = [t for t in near if len(self._entries[t].tokens) == n]
        found: dict[int, tuple[int, ...]] = {}
        for other in others:
            if other != tid:
                entry = self._entries[other]
                diff = _differences(tokens, entry.tokens, limit, loose + entry.loose)
                if diff:
                    found[other] = diff
        # a position where fewer than min_siblings values occur at all fails every P holding
        # it: drop the templates that differ there, until none is dropped (a quick filter)
        while found:
            seen: dict[int, set[Token]] = {}
            for other, diff in found.items():
                theirs = self._entries[other].tokens
                if loose or self._entries[other].loose:  # where a V or a key prefix matched
                    diff = tuple(p for p in range(n) if theirs[p] != tokens[p])
                for p in diff:
                    seen.setdefault(p, {tokens[p]}).add(theirs[p])
            poor = {p for p, values in seen.items() if len(values) < config.min_siblings}
            kept = {o: d for o, d in found.items() if poor.isdisjoint(d)}
            if len(kept) == len(found):
                break
            found = kept
        by_diff: dict[tuple[int, ...], list[int]] = {}
        for other, diff in found.items():
            by_diff.setdefault(diff, []).append(other)
        for positions in sorted(by_diff, key=lambda d: (len(d), d)):
            group = [tid]
            for subset in _subsets(positions):
                group.extend(by_diff.get(subset, ()))
            members = [self._entries[t].tokens for t in group]
            values = [{m[p] for m in members} for p in positions]
            if any(len(v) < config.min_siblings for v in values):
                continue
            if len(positions) > 1 and len(group) < sum(map(len, values)):
                continue
            # V at P, and wherever a member has a V or a key prefix that the others lack
            merged = tuple(
                _generalise(column) if len(set(column)) > 1 else column[0]
                for column in ([m[p] for m in members] for p in range(n))
            )
            if constants(merged) >= config.min_constants:
                return group, merged
        return None

    def _unifiable(self, tid: int) -> tuple[int, Tokens] | None:
        """The template that unifies with `tid` into the most specific template (ties: the
        oldest), if that keeps min_constants constants."""
        entry = self._entries[tid]
        tokens = entry.tokens
        band = self.config.max_optional
        present = set(tokens)
        varying = entry.loose
        best: tuple[int, Tokens] | None = None
        best_constants = self.config.min_constants - 2
        for length in range(max(0, len(tokens) - band), len(tokens) + band + 1):
            for other in self._by_length.get(length, ()):
                if other == tid:
                    continue
                candidate = self._entries[other]
                # every constant of one side meets the same constant or a V on the other
                if len(candidate.constants - present) > varying:
                    continue
                if len(entry.constants - candidate.constants) > candidate.loose:
                    continue
                merged = unify(tokens, candidate.tokens, band)
                if merged is None:
                    continue
                count = constants(merged)
                if count > best_constants or (
                    count == best_constants and best is not None and other < best[0]
                ):
                    best, best_constants = (other, merged), count
        return best

    def _merge(self, ids: Sequence[int], tokens: Tokens) -> int:
        """Merges templates `ids` into the oldest, which takes `tokens`."""
        keep = min(ids)
        survivor = self._entries[keep]
        for tid in sorted(ids):
            if tid == keep:
                continue
            entry = self._remove(tid)
            survivor.count += entry.count
            survivor.first_seen = min(survivor.first_seen, entry.first_seen)
            survivor.last_seen = max(survivor.last_seen, entry.last_seen)
            survivor.last_line = max(survivor.last_line, entry.last_line)
            self._aliases[tid] = keep
            self._aliases.move_to_end(tid)
        while len(self._aliases) > 4 * self.config.max_templates:
            self._aliases.popitem(last=False)
        self._unindex(survivor)
        survivor.tokens = tokens
        self._index(survivor)
        heapq.heappush(self._lru, (survivor.last_line, keep))
        return keep

    def _touch(self, entry: _Entry, line: int) -> None:
        if line > entry.last_line:
            entry.last_line = line
            heapq.heappush(self._lru, (line, entry.id))
            if len(self._lru) > 4 * (self.config.max_templates + 16):
                self._lru = [(e.last_line, e.id) for e in self._entries.values()]
                heapq.heapify(self._lru)

    def _evict(self) -> None:
        while len(self._entries) > self.config.max_templates:
            line, tid = heapq.heappop(self._lru)
            entry = self._entries.get(tid)
            if entry is None or entry.last_line != line:
                continue  # stale
            self._remove(tid)
            self.evictions += 1

    # --- bookkeeping ------------------------------------------------------------------------

    def _add(self, entry: _Entry) -> None:
        entry.slot = self._free_slots.pop()
        self._cache.slot_id[entry.slot] = entry.id
        self._entries[entry.id] = entry
        self._index(entry)
        heapq.heappush(self._lru, (entry.last_line, entry.id))

    def _remove(self, tid: int) -> _Entry:
        entry = self._entries.pop(tid)
        self._unindex(entry)
        self._cache.slot_id[entry.slot] = -1
        self._free_slots.append(entry.slot)
        return entry

    def _index(self, entry: _Entry) -> None:
        tokens = entry.tokens
        entry.constants = frozenset(t for t in tokens if t and not _is_prefix(t))
        entry.loose = sum(1 for t in tokens if t == V or _is_prefix(t))
        if entry.loose:
            self._loose.setdefault(len(tokens), set()).add(entry.id)
        self._by_length.setdefault(len(tokens), set()).add(entry.id)
        for i, token in enumerate(tokens):
            if token:
                key = hash((*tokens[:i], V, *tokens[i + 1 :]))
                self._neighbours.setdefault(key, set()).add(entry.id)

    def _unindex(self, entry: _Entry) -> None:
        tokens = entry.tokens
        bucket = self._by_length[len(tokens)]
        bucket.discard(entry.id)
        if not bucket:
            del self._by_length[len(tokens)]
        loose = self._loose.get(len(tokens))
        if loose is not None:
            loose.discard(entry.id)
            if not loose:
                del self._loose[len(tokens)]
        for i, token in enumerate(tokens):
            if token:
                key = hash((*tokens[:i], V, *tokens[i + 1 :]))
                siblings = self._neighbours[key]
                siblings.discard(entry.id)
                if not siblings:
                    del self._neighbours[key]

    def _final(self, tid: int) -> int:
        for _ in range(len(self._aliases) + 1):
            nxt = self._aliases.get(tid)
            if nxt is None:
                return tid
            tid = nxt
        return tid

    def _public(self, entry: _Entry) -> Template:
        return Template(entry.id, text_of(entry.tokens), entry.count, entry.first_seen,
                        entry.last_seen, entry.example, entry.level)  # fmt: skip


def _integer(data: dict[str, Any], key: str) -> int:
    return _int(data[key], key)


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    return value


def _typed(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data[key]
    if not isinstance(value, kind):
        raise TypeError(f"{key} must be a {kind.__name__}, got {type(value).__name__}")
    return value


def _token(value: Any) -> Token:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"a token must be a string or null, got {value!r}")


KEYS = ("=" + mask.WILDCARD, ":" + mask.WILDCARD)


def _is_prefix(token: Token) -> bool:
    """Whether `token` is a key then a wildcard (`uid=<*>`, `"user":<*>`): it matches any
    value of that key."""
    return token is not None and len(token) > len(KEYS[0]) and token.endswith(KEYS)


def _covers(x: object, y: object) -> bool:
    """Whether template token `x`, a key prefix, matches token `y`: a constant or a prefix
    token that starts with `x`'s key (`user=<*>` matches `user=root` and `user=<*>`)."""
    if not (isinstance(x, str) and isinstance(y, str) and y and _is_prefix(x)):
        return False
    return y.startswith(x[: -len(mask.WILDCARD)])


def _generalise(values: Sequence[Token]) -> Token:
    """The token that a position taking `values` becomes: the key they share, up to its last
    `=` or `:`, then a wildcard (`user=alice`, `user=bob` -> `user=<*>`), else `V`."""
    texts = [value for value in values if value]
    if len(texts) < len(values):
        return V
    first, last = min(texts), max(texts)
    size = 0  # their common prefix is that of the first and the last in order
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    common = first[:size]
    end = _key_end(common)
    return common[:end] + mask.WILDCARD if end > 0 else V


def _key_end(text: str) -> int:
    """Where the key of `text` ends: after its last `=` or `:` with a letter or digit before
    it; 0 if none."""
    cut = max(text.rfind("="), text.rfind(":"))
    return cut + 1 if cut > 0 and any(c.isalnum() for c in text[:cut]) else 0


def _needed(kept: int, config: MinerConfig) -> int:
    """Siblings needed to make a position a variable when `kept` constants are left:
    min_siblings, and min_siblings times more for each constant short of min_constants (a
    template with few constants needs more evidence); -1 (never) when none is left."""
    if kept >= config.min_constants:
        return config.min_siblings
    if kept < 1:
        return -1
    return int(config.min_siblings ** (1 + config.min_constants - kept))


def _differences(a: Tokens, b: Tokens, limit: int, loose: int = 0) -> tuple[int, ...]:
    """The positions where templates `a` and `b` (of one length) hold different constants;
    () when they differ elsewhere (a `W` against a constant) or at more than `limit`.
    `loose`: how many of their tokens are `V`s or key prefixes (which may match others)."""
    raw = list(itertools.compress(range(len(a)), map(operator.ne, a, b)))
    if len(raw) > limit + loose:
        return ()
    out: list[int] = []
    for p in raw:
        x, y = a[p], b[p]
        if loose and (x == V or y == V or _covers(x, y) or _covers(y, x)):
            continue
        if x is W or y is W or len(out) == limit:
            return ()
        out.append(p)
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _subsets(positions: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The non-empty subsets of `positions`, each in order."""
    out: list[tuple[int, ...]] = []
    for bits in range(1, 1 << len(positions)):
        out.append(tuple(p for k, p in enumerate(positions) if bits >> k & 1))
    return out


def _equal_but(tokens: Tokens, key: Tokens, i: int) -> bool:
    return len(tokens) == len(key) and tokens[:i] == key[:i] and tokens[i + 1 :] == key[i + 1 :]


def _unique_keys(keys: mask.Keys, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct keys among lines `rows`: (keys as a structured array, the position in
    `rows` of each key's first line, each row's key index), keys in order of first line."""
    table = np.empty(len(rows), [("h1", np.uint64), ("h2", np.uint64), ("n", np.int64)])
    table["h1"], table["h2"], table["n"] = keys.h1[rows], keys.h2[rows], keys.tokens[rows]
    unique, first, inverse = np.unique(table, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return unique[order], first[order], rank[inverse.reshape(-1)]

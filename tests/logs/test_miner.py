"""The template miner: learning apart from matching, ids, eviction, state, bad input, and the
fast miner against the plain reference."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops.logs import MinerConfig, TemplateMiner
from tests.logs import naive

USERS = ["admin", "root", "guest", "oracle", "test"]


def texts(miner: TemplateMiner) -> list[str]:
    return [t.text for t in miner.templates()]


def test_a_position_that_takes_many_values_becomes_a_variable() -> None:
    miner = TemplateMiner()
    ids = miner.learn([f"Invalid user {u} from 10.0.0.{i}" for i, u in enumerate(USERS)])
    assert set(ids.tolist()) == {0}
    assert texts(miner) == ["Invalid user <*> from <*>"]
    assert miner.templates()[0].count == 5


def test_two_values_are_not_enough() -> None:
    miner = TemplateMiner()
    ids = miner.learn(["Failed password for root from 1.2.3.4 port 22 ssh2",
                       "Accepted password for root from 1.2.3.5 port 23 ssh2"])  # fmt: skip
    assert ids.tolist() == [0, 1]


def test_optional_values_merge() -> None:
    miner = TemplateMiner()
    ids = miner.learn(["[10.30 16:49:07] chrome.exe *64 - a.b:80 close, 0 bytes sent",
                       "[10.30 16:49:08] chrome.exe - c.d:443 close, 1190 bytes (1.16 KB) sent",
                       "[10.30 16:49:08] chrome.exe - c.d:443 close, 5 bytes sent"])  # fmt: skip
    assert len(set(ids.tolist())) == 1


def test_a_key_value_keeps_its_key() -> None:
    miner = TemplateMiner()
    ids = miner.learn([f"ts=1 level=info msg=login user={u}" for u in USERS])
    assert set(ids.tolist()) == {0}
    assert texts(miner) == ["ts=<*> level=info msg=login user=<*>"]
    # the key prefix matches any value of that key, a masked one too
    assert miner.match(["ts=2 level=info msg=login user=x9"]).tolist() == [0]
    assert miner.match(["ts=2 level=info msg=login uid=zed"]).tolist() == [-1]


def test_few_constants_need_more_evidence() -> None:
    frames = [f"at com.acme.{c}.{m}(X.java:1)" for c in "abcdefghij" for m in "pqr"]
    miner = TemplateMiner()
    ids = miner.learn(frames[:8]).tolist()
    assert len(set(ids)) == 8  # one constant left: 3 values are not enough
    miner.learn(frames[8:])
    assert texts(miner) == ["at <*>"]  # but 27 are (min_siblings ** 3)
    short = TemplateMiner()  # two constants left: 6 short messages after a header stay apart
    words = ("ATTEMPT_START", "JOB_CREATE", "KILLING", "Launching", "Cleaning", "Done")
    short.learn([f"2015-10-18 18:01:47,978 INFO [main] {w} task_{i}" for i, w in enumerate(words)])
    assert len(short) == 6


@pytest.mark.parametrize("varying", [1, 3])
def test_values_that_vary_together(varying: int) -> None:
    config = MinerConfig(max_varying=varying)
    # host and unit vary at once: few templates differ at one position only
    pairs = [(h, u) for i, h in enumerate(USERS) for u in USERS[i % 2 :: 2]]
    miner = TemplateMiner(config)
    miner.learn([f"<1> {h} systemd: Started unit {u} now" for h, u in pairs])
    assert texts(miner) == ["<*> <*> systemd: Started unit <*> now"]
    # values that recombine, no three templates differing at one position: with max_varying
    # above 1, a variable at each (6 templates, 3 + 3 values)
    grid = TemplateMiner(config)
    pairs = [("ann", "x"), ("bob", "y"), ("cyd", "z"), ("ann", "y"), ("bob", "z"), ("cyd", "x")]
    grid.learn([f"copy {a} to {b} done ok" for a, b in pairs])
    assert len(grid) == (1 if varying > 1 else 6)
    # the states of a state machine do not: each pair of values comes once
    fsm = TemplateMiner(config)
    steps = ["NEW", "ASSIGNED", "RUNNING", "SUCCEEDED", "DONE", "GONE"]
    fsm.learn([f"task moved from {a} to {b} ok" for a, b in itertools.pairwise(steps)])
    assert len(fsm) == 5


def test_quoted_messages_are_constants() -> None:
    miner = TemplateMiner()
    controllers = ["job", "cron", "node", "pod", "ns", "rs", "ds", "sts", "hpa"]
    for message in ("Starting controller", "Shutting down controller"):
        miner.learn([f'I1201 10:00:0{i}.1 1 c.go:1] "{message}" ctl="{c}"'
                     for i, c in enumerate(controllers)])  # fmt: skip
    assert texts(miner) == ['<*> "Starting controller" ctl=<*>',
                            '<*> "Shutting down controller" ctl=<*>']  # fmt: skip


def test_json_lines() -> None:
    miner = TemplateMiner()
    lines = [f'{{"t":"2024-01-0{i}","level":"info","msg":"{m}","user":"{u}","n":{i}}}'
             for i, u in enumerate(USERS) for m in ("user signed up", "order placed")]  # fmt: skip
    ids = miner.learn(lines).tolist()
    assert ids[0::2] == [ids[0]] * 5 and ids[1::2] == [ids[1]] * 5 and ids[0] != ids[1]


def test_generalising_keeps_the_id() -> None:
    miner = TemplateMiner()
    first = miner.learn(["Invalid user admin from 10.0.0.1"])[0]
    assert texts(miner) == ["Invalid user admin from <*>"]
    miner.learn([f"Invalid user {user} from 10.0.0.1" for user in USERS[1:3]])
    assert [(t.id, t.text) for t in miner.templates()] == [(first, "Invalid user <*> from <*>")]
    for user in USERS[3:]:
        assert miner.learn([f"Invalid user {user} from 10.0.0.1"])[0] == first


def test_merged_ids_resolve_to_the_oldest() -> None:
    miner = TemplateMiner()
    ids = [int(miner.learn([f"Invalid user {u} from 10.0.0.1"])[0]) for u in USERS[:3]]
    assert miner.resolve(np.array([0, 1, 2, 99])).tolist() == [0, 0, 0, 99]
    assert ids == [0, 1, 0]  # the third line's template merged into the first at once
    assert miner.template(1) == miner.template(0)


def test_match_is_read_only() -> None:
    miner = TemplateMiner()
    ids = miner.learn(
        [f"Invalid user {u} from 10.0.0.1" for u in USERS] + ["disk full on /dev/sda1"]
    )
    disk = int(ids[-1])
    before = miner.state()
    probe = ["Invalid user zed from 10.9.9.9", "something never seen", "disk full on /x/y"]
    found = miner.match([*probe, "Invalid user admin from 10.0.0.1"])
    assert found.tolist() == [0, -1, disk, 0]
    assert miner.state() == before
    assert miner.match(["something never seen"]).tolist() == [-1]  # still unknown


def test_counts_and_times() -> None:
    miner = TemplateMiner()
    miner.learn(["a b c 1", "a b c 2"], time=100)
    miner.learn(["a b c 3", "x y z"], time=160)
    first, second = miner.templates()
    assert (first.count, first.first_seen, first.last_seen) == (3, 100, 160)
    assert (second.count, second.first_seen, second.last_seen) == (1, 160, 160)
    steps = TemplateMiner()
    steps.learn(["a b c 1", "x y z", "a b c 2"])
    assert [(t.first_seen, t.last_seen) for t in steps.templates()] == [(0, 2), (1, 1)]
    ids = steps.learn(["a b c 5", "a b c 6", "x y z"])
    unique, counts = np.unique(ids, return_counts=True)  # a detector's counts per template
    assert dict(zip(unique.tolist(), counts.tolist(), strict=True)) == {0: 2, 1: 1}


def test_levels_and_examples() -> None:
    miner = TemplateMiner()
    miner.learn(["2015-10-18 18:01:47,978 ERROR [main] Foo: boom 1"])
    (template,) = miner.templates()
    assert template.level == "error"
    assert template.example == "2015-10-18 18:01:47,978 ERROR [main] Foo: boom 1"


def test_least_recently_seen_is_evicted_and_counted() -> None:
    miner = TemplateMiner(MinerConfig(max_templates=2))
    a, b = miner.learn(["alpha one", "beta two"]).tolist()
    miner.learn(["alpha one"])  # beta two is now the least recently seen
    (c,) = miner.learn(["gamma three"]).tolist()
    assert [t.id for t in miner.templates()] == [a, c]
    assert miner.evictions == 1
    assert miner.match(["beta two"]).tolist() == [-1]
    (again,) = miner.learn(["beta two"]).tolist()  # learnt anew, under a new id
    assert again not in (a, b, c) and miner.evictions == 2


def test_state_keeps_ids_counts_and_order() -> None:
    miner = TemplateMiner(MinerConfig(max_templates=3))
    miner.learn([f"Invalid user {u} from 10.0.0.1" for u in USERS])
    miner.learn(["disk full on /dev/sda1", "a b c", "a b c", "x y z"])
    state = miner.state()
    restored = TemplateMiner.from_state(state)
    assert restored.templates() == miner.templates()
    assert restored.state() == state
    assert restored.evictions == miner.evictions and restored.lines == miner.lines
    # one line a call: within a call, lines of cached shapes go first, and the restored
    # miner has not cached any shape yet
    for line in ["Invalid user zed from 1.1.1.1", "a b c", "new line here", "x y z"]:
        assert restored.learn([line]).tolist() == miner.learn([line]).tolist()
    assert restored.state() == miner.state()
    data = json.loads(state)
    assert data["version"] == 1 and data["format"] == "aiops.logs.TemplateMiner"


def test_state_with_a_smaller_bound_keeps_the_most_recent() -> None:
    miner = TemplateMiner()
    miner.learn(["alpha one", "beta two", "gamma three"])
    restored = TemplateMiner.from_state(miner.state(), MinerConfig(max_templates=1))
    assert [t.text for t in restored.templates()] == ["gamma three"]
    assert restored.evictions == 2


@pytest.mark.parametrize(
    "state",
    [
        b"",
        b"{}",
        b"[1]",
        b"null",
        b'{"format": "other"}',
        b"\xff",
        b"[" * 100_000,  # nested too deep for the JSON parser
        b'{"format": "aiops.logs.TemplateMiner", "version": 99}',
        b'{"format": "aiops.logs.TemplateMiner"}',  # no version
    ],
)
def test_bad_state(state: bytes) -> None:
    with pytest.raises(ValueError, match="not a template miner state"):
        TemplateMiner.from_state(state)


def _good_state() -> dict[str, object]:
    miner = TemplateMiner()
    miner.learn([f"Invalid user {u} from 10.0.0.1" for u in USERS] + ["a b c", "d e f"])
    data: dict[str, object] = json.loads(miner.state())
    assert data["aliases"] and len(data["templates"]) == 3  # type: ignore[arg-type]
    return data


def _set(path: str, value: object) -> dict[str, object]:
    data = _good_state()
    node: object = data
    *keys, last = path.split(".")
    for key in keys:
        node = node[int(key)] if isinstance(node, list) else node[key]  # type: ignore[index]
    if value is _DELETE:
        del node[last]  # type: ignore[attr-defined]
    else:
        node[int(last) if isinstance(node, list) else last] = value  # type: ignore[index]
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "why"),
    [
        ("version", 0, "version 0"),
        ("templates", {"a": 1}, "templates must be a list"),
        ("templates.0", "x", "a template must be an object"),
        ("templates.0.tokens", "abc", "tokens must be a list"),
        ("templates.0.tokens", [1], "a token must be"),
        ("templates.0.count", "many", "count must be an integer"),
        ("templates.0.count", 1e999, "count must be an integer"),
        ("templates.0.last_line", True, "last_line must be an integer"),
        ("templates.0.example", None, "example must be a str"),
        ("templates.0.level", 3, "level must be"),
        ("templates.0.first_seen", _DELETE, "'first_seen' missing"),
        ("templates.1.id", 0, "repeats"),
        ("templates.0.id", -5, "outside"),
        ("next_id", 1, "outside"),
        ("aliases", [[1]], "an alias must be"),
        ("aliases", [[0, 0]], "a live id"),
        ("aliases", [[1, "x"]], "alias id must be an integer"),
        ("config", [], "config must be a dict"),
        ("config.bogus", 1, "bogus"),
        ("config.max_templates", 0, "max_templates"),
        ("lines", _DELETE, "'lines' missing"),
    ],
)  # fmt: skip
def test_corrupt_state_says_why(path: str, value: object, why: str) -> None:
    with pytest.raises(ValueError, match="not a template miner state") as raised:
        TemplateMiner.from_state(json.dumps(_set(path, value)).encode())
    assert why in str(raised.value)


def test_truncated_state() -> None:
    state = json.dumps(_good_state()).encode()
    for end in range(0, len(state), 7):
        with pytest.raises(ValueError, match="not a template miner state"):
            TemplateMiner.from_state(state[:end])


def test_older_state_without_new_config_fields() -> None:
    data = _good_state()
    del data["config"]["max_varying"]  # type: ignore[attr-defined]
    assert TemplateMiner.from_state(json.dumps(data)).config == MinerConfig()


def test_state_round_trip_after_evictions_and_merges() -> None:
    rng = np.random.default_rng(5)
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
    lines = [f"{rng.choice(words)} {rng.choice(words)} x={rng.choice(words)} {i} end"
             for i in range(3000)]  # fmt: skip
    miner = TemplateMiner(MinerConfig(max_templates=20, max_shapes=64))
    for start in range(0, 2000, 100):
        miner.learn(lines[start : start + 100])
    assert miner.evictions > 0 and miner._aliases
    restored = TemplateMiner.from_state(miner.state())
    assert restored.state() == miner.state()
    assert restored.templates() == miner.templates()
    ids = np.arange(miner._next_id)
    assert restored.resolve(ids).tolist() == miner.resolve(ids).tolist()
    assert restored.match(lines).tolist() == miner.match(lines).tolist()
    for line in lines[2000:2300]:  # one a call: the restored miner has no cached shape
        assert restored.learn([line]).tolist() == miner.learn([line]).tolist()
    assert restored.state() == miner.state()


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_templates", 0), ("max_line_bytes", -1), ("min_siblings", 1), ("max_shapes", 1.5),
     ("max_optional", -1), ("max_tokens", True)],
)  # fmt: skip
def test_config_errors_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        MinerConfig(**{field: value})  # type: ignore[arg-type]


# --- bad input ------------------------------------------------------------------------------


def test_binary_junk_and_invalid_utf8() -> None:
    rng = np.random.default_rng(1)
    junk: list[str | bytes] = [
        rng.integers(0, 256, int(n), dtype=np.uint8).tobytes() for n in rng.integers(0, 300, 500)
    ]
    junk += [b"\xc3\x28 invalid \xa0\xa1 utf8 \xf0\x28\x8c\x28", b"\x00" * 50]
    junk += ["lone \udc80 surrogate"]
    miner = TemplateMiner(MinerConfig(max_templates=50))
    ids = miner.learn(junk)
    assert len(ids) == len(junk) and len(miner) <= 50
    assert (miner.match(junk) >= -1).all()
    for template in miner.templates():
        template.text.encode()  # always valid text
    assert TemplateMiner.from_state(miner.state()).templates() == miner.templates()


def test_surrogates_and_numpy_inputs() -> None:
    miner = TemplateMiner()
    ids = miner.learn(["high \ud800 surrogate 1", "low \udcff one 2", b"\xed\xa0\x80 x"])
    assert len(ids) == 3
    for template in miner.templates():
        template.text.encode()
        template.example.encode()
    # surrogateescape'd bytes mask as the bytes they came from
    raw = b"caf\xe9 closed 3"
    escaped = raw.decode("utf-8", "surrogateescape")
    assert miner.learn([raw]).tolist() == miner.learn([escaped]).tolist()
    miner.learn(np.array(["numpy str 1", "numpy str 2"]), time=np.int64(7))  # type: ignore[arg-type]
    assert json.loads(miner.state())["templates"][-1]["last_seen"] == 7  # a JSON integer
    assert TemplateMiner.from_state(miner.state()).templates() == miner.templates()


def test_commas_and_many_tokens() -> None:
    # a comma ends a token: a line of commas is as many tokens as bytes
    lines = ["," * 4096, "a," * 3000, ",x" * 2048, "1,2," * 1024]
    for config in (MinerConfig(), MinerConfig(max_tokens=5000, max_line_bytes=8192)):
        miner = TemplateMiner(config)
        assert len(miner.learn(lines)) == 4
        assert miner.match(lines).tolist() == miner.learn(lines).tolist()
    # thousands of tokens unify without overflowing Python's stack
    body = " ".join(f"k{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(1500))
    long = TemplateMiner(MinerConfig(max_tokens=5000, max_line_bytes=100_000))
    assert long.learn([f"{body} 12", body, f"{body} x 12"]).tolist() == [0, 0, 1]


def test_unicode_whitespace_and_line_ends() -> None:
    miner = TemplateMiner()
    lines = [
        "用户 张三 登录 成功 3",
        "שלום עולם 12",
        "e\u0301\u0301 x 3",
        "👩‍👩‍👧 5 items 🚀",
        "a\tb\tc 1",
        "a b c 2\r\n",
        "a b\rc 3\r",
        "\u200f\u202e rtl 4",
        "x" * 100_000,
    ]
    ids = miner.learn(lines).tolist()
    assert ids[4] == ids[5] == ids[6]  # tabs, CR LF and CR are whitespace
    texts_ = [t.text for t in miner.templates()]
    assert "用户 张三 登录 成功 <*>" in texts_ and "👩‍👩‍👧 <*> items 🚀" in texts_
    # a line cut in the middle of a multi-byte character
    cut = TemplateMiner(MinerConfig(max_line_bytes=7))
    cut.learn(["é" * 100])
    assert cut.templates()[0].text == "ééé\ufffd"


def test_megabyte_lines_are_cut() -> None:
    config = MinerConfig(max_line_bytes=4096)
    miner = TemplateMiner(config)
    huge = ["word " * 200_000 + str(i) for i in range(3)] + ["x" * 1_000_000]
    started = time.perf_counter()
    ids = miner.learn(huge)
    assert time.perf_counter() - started < 5
    assert ids[0] == ids[1] == ids[2]
    assert all(len(t.text) <= 4096 + 10 for t in miner.templates())
    assert all(len(t.example) <= 512 for t in miner.templates())


def test_empty_lines() -> None:
    miner = TemplateMiner()
    ids = miner.learn(["", "\r\n", "   ", "\t", "a b c", ""])
    assert ids[0] == ids[1] == ids[2] == ids[3] == ids[5] != ids[4]
    assert miner.templates()[0].text == ""
    assert miner.learn([]).tolist() == [] and miner.match([]).tolist() == []


def test_a_stream_of_distinct_templates_stays_bounded() -> None:
    rng = np.random.default_rng(3)
    words = ["".join(w) for w in rng.choice(list("abcdefghijklmnopqrstuvwxyz"), (30_000, 7))]
    lines = [f"{w} {w[::-1]} {w[1:]}q" for w in words]
    config = MinerConfig(max_templates=100, max_shapes=256)
    miner = TemplateMiner(config)
    for start in range(0, len(lines), 1000):
        miner.learn(lines[start : start + 1000])
        assert len(miner) <= 100
        assert miner._cache.size <= 256
        assert len(miner._aliases) <= 400
    assert miner.evictions == 30_000 - len(miner)
    assert miner.cache_clears > 0


def test_a_million_distinct_lines() -> None:
    rng = np.random.default_rng(4)
    numbers = rng.integers(0, 10**9, 1_000_000).tolist()
    letters = str.maketrans("0123456789abcdef", "ghijklmnopqrstuv")  # no digits, no hex
    words = [f"{n:x}".translate(letters) for n in numbers]
    lines = [
        f"req {n} from 10.{n % 256}.{n % 7}.1 took {n % 1000} ms"
        if i % 50
        else f"{w} {w[::-1]}x {w[1:]}y"  # a template of its own: no two share a word
        for i, (n, w) in enumerate(zip(numbers, words, strict=True))
    ]
    miner = TemplateMiner(MinerConfig(max_templates=64, max_shapes=1024))
    started = time.perf_counter()
    for start in range(0, len(lines), 100_000):
        miner.learn(lines[start : start + 100_000])
        assert len(miner) <= 64
    assert time.perf_counter() - started < 30
    assert miner.evictions > 1000
    assert miner.lines == 1_000_000
    assert any(t.text == "req <*> from <*> took <*>" for t in miner.templates())


def _snapshot(miner: TemplateMiner) -> tuple[object, ...]:
    """Everything a learn() may change: state, cache, LRU heap, indexes."""
    cache = miner._cache
    return (
        miner.state(), cache.size, cache.clears, cache.n.tobytes(), cache.ids.tobytes(),
        cache.slot_id.tobytes(), sorted(miner._lru), list(miner._aliases.items()),
        {k: sorted(v) for k, v in miner._neighbours.items()},
        {k: sorted(v) for k, v in miner._by_length.items()},
    )  # fmt: skip


# --- the fast miner against the plain reference ---------------------------------------------

VOCABULARY = [
    *("alpha", "beta", "gamma", "user", "from", "port", "INFO", "ERROR", "[main]", "x=1"),
    *("12", "10.0.0.1", "ms", "Jun", "'q'", "(a", "b)", "*64", "-", "core.7"),
    *("x=a", "x=b", "x=c", "k:v", "k:w", '"id":"u"', '"id":7,', "'a", "b'", "c,d"),
]


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[list[str]], MinerConfig]:
    lines = draw(st.lists(st.lists(st.sampled_from(VOCABULARY), max_size=7).map(" ".join),
                          min_size=1, max_size=60))  # fmt: skip
    cuts = sorted(draw(st.lists(st.integers(0, len(lines)), max_size=4)))
    batches = [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]
    config = MinerConfig(
        max_templates=draw(st.integers(1, 12)), max_shapes=draw(st.integers(1, 16)),
        min_siblings=draw(st.integers(2, 3)), min_constants=draw(st.integers(0, 3)),
        max_optional=draw(st.integers(0, 3)), max_tokens=draw(st.integers(1, 8)),
        max_varying=draw(st.integers(0, 3)),
    )  # fmt: skip
    return batches, config


@settings(max_examples=200, deadline=None)
@given(streams(), st.none() | st.integers(0, 10))
def test_miner_matches_reference(
    stream: tuple[list[list[str]], MinerConfig], t: int | None
) -> None:
    batches, config = stream
    fast, slow = TemplateMiner(config), naive.NaiveMiner(config)
    for batch in batches:
        assert fast.learn(batch, time=t).tolist() == slow.learn(batch, time=t)
        probe = [line for b in batches for line in b]
        before = _snapshot(fast)
        assert fast.match(probe).tolist() == slow.match(probe)
        assert _snapshot(fast) == before  # match() never mutates
    expected = [
        (e.id, e.tokens, e.count, e.first_seen, e.last_seen, e.example, e.level)
        for _, e in sorted(slow.entries.items())
    ]
    got = [(e.id, e.tokens, e.count, e.first_seen, e.last_seen, e.example, e.level)
           for _, e in sorted(fast._entries.items())]  # fmt: skip
    assert got == expected
    assert fast.evictions == slow.evictions

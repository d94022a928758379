"""The masking kernel against its plain reference, and what each rule masks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops.logs import mask
from aiops.logs.miner import MinerConfig
from tests.logs import naive

CONFIG = MinerConfig()


def fast_shapes(
    lines: list[bytes], max_line_bytes: int = CONFIG.max_line_bytes
) -> list[tuple[str | None, ...]]:
    return mask.shapes(mask.as_batch(lines, max_line_bytes))


def fast_keys(lines: list[bytes]) -> list[tuple[int, int, int]]:
    keys = mask.shape_keys(mask.as_batch(lines, CONFIG.max_line_bytes))
    return list(zip(keys.h1.tolist(), keys.h2.tolist(), keys.tokens.tolist(), strict=True))


def text(line: str) -> str:
    """The shape of one line as text, `<*>` for wildcards."""
    (shape,) = fast_shapes([line.encode()])
    return " ".join(mask.WILDCARD if t is None else t for t in shape)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # numbers, signs, and tokens that keep what precedes their first number
        ("took 12 steps, -3 left", "took <*> steps, <*> left"),
        ("generating core.2275", "generating core.<*>"),
        ("uid=0 euid=1000", "uid=<*> euid=<*>"),
        ("sshd[24200]: ok", "sshd[<*> ok"),
        ("illegal instruction......0", "illegal instruction......<*>"),
        # IPv4, IPv6, endpoints, hosts with numbers
        ("from 173.234.31.186 port 22", "from <*> port <*>"),
        ("from fe80::1ff:fe23:4567:890a and ::1", "from <*> and <*>"),
        ("to proxy.cse.cuhk.edu.hk:5070 now", "to <*> now"),
        ("node R02-M1-N0-C:J12-U11 and node-7", "node <*> and <*>"),
        # hex, UUIDs, identifiers with numeric parts
        ("at 0x0b85eee0 mask deadbeefcafe", "at <*> mask <*>"),
        ("req 38101a0b-2096-447d-96ea-a692162415ae done", "req <*> done"),
        ("block blk_-6952295868487656571 and appattempt_1445_0020_000001", "block <*> and <*>"),
        # paths and URLs
        ("open /etc/httpd/conf/workers2.properties ./run ~/x hdfs://a/b", "open <*>"),
        # durations and sizes: a number with its unit
        ("in 12ms or 1.5s or 12 ms or 3 seconds", "in <*> or <*> or <*> or <*>"),
        ("sent 1190 bytes (1.16 KB) total", "sent <*> total"),
        # quoted values: a variable when they hold one, else one constant token
        (
            "service 'sparkExecutorActorSystem' on \"a b c\" now",
            "service 'sparkExecutorActorSystem' on \"a b c\" now",
        ),
        ('task \'attempt_1_2 x\' and "pod-7" and "a, b" ok', 'task <*> and <*> and "a, b" ok'),
        ('"Starting controller" controller="job"', '"Starting controller" controller="job"'),
        # bracketed values over several tokens, unless they end the line (a JSON object)
        ("[AsyncDispatcher event handler] done", "<*> done"),
        ("[main] done (uid=0)", "[main] done <*>"),
        ("done [AsyncDispatcher event handler]", "done [AsyncDispatcher event handler]"),
        # a comma ends a token: compact JSON and comma-separated lists
        (
            '{"level":"info","msg":"user signed up","id":42}',
            '{"level":"info", "msg":"user signed up", "id":<*>',
        ),
        ("a,b,c and 1,234,567", "a, b, c and <*>"),
        # what does not vary stays
        ("Connection closed by peer [preauth]", "Connection closed by peer [preauth]"),
        ("", ""),
    ],
)
def test_masks(line: str, expected: str) -> None:
    assert text(line) == expected


@pytest.mark.parametrize(
    "stamp",
    [
        "2015-10-18T18:01:47.978Z",  # ISO-8601
        "2015-10-18T18:01:47+02:00",
        "Jun 14 15:16:01",  # syslog
        "Jun  4 05:06:01",
        "2015-07-29 17:41:44,747",  # log4j
        "1117838570",  # epoch seconds
        "1117838570.123",
        "[Sun Dec 04 04:47:44 2005]",  # Apache
        "17/06/09 20:10:40",
        "081109 203615 148",  # HDFS: date, time, pid
        "[10.30 16:49:06]",
        "Thu Aug 04 15:29:45 PDT 2005",
    ],
)
def test_leading_timestamps_are_one_wildcard(stamp: str) -> None:
    assert text(f"{stamp} INFO Server started") == "<*> INFO Server started"


def test_month_names_alone_stay() -> None:
    assert text("scheduled for May or June") == "scheduled for May or June"


def test_units_only_after_a_number() -> None:
    assert text("KB of memory") == "KB of memory"
    assert text("size 5 KB") == "size <*>"


def test_lines_are_cut_and_stripped() -> None:
    assert fast_shapes([b"alpha beta gamma\r\n"]) == [("alpha", "beta", "gamma")]
    assert fast_shapes([b"alpha beta gamma"], max_line_bytes=8) == [("alpha", "be")]


def test_str_and_bytes_agree() -> None:
    line = "użytkownik Zoë zalogowany 3 razy"
    assert fast_keys([line.encode()]) == fast_keys([line.encode()])
    batch = mask.as_batch([line, line.encode()], 4096)
    keys = mask.shape_keys(batch)
    assert keys.h1[0] == keys.h1[1] and keys.h2[0] == keys.h2[1]


def test_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        mask.as_batch([1], 100)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="max_line_bytes"):
        mask.as_batch(["a"], 0)


SAMPLES = [
    b"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
    b"[10.30 16:49:07] chrome.exe *64 - proxy.cse.cuhk.edu.hk:5070 close, 1190 bytes "
    b"(1.16 KB) sent, lifetime <1 sec",
    b"2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:Fast@774] - x",
    b"- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction......0",
    b"20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
    b"x 'a b' (c d) \"q\" [e [f] g] {h} 'unclosed \"also",
    b"\x00\xff\xfe binary \x80junk\x01\x02 \xc3\x28 caf\xc3\xa9 12",
    b"",
    b"   ",
    b"<*> <*>x [<*>] -5 +x -- 1-2 a-1 a+1 _1 ::: ://",
]
ALPHABET = [*b"aAbBfFzZ019 .,;:-+_/=[](){}'\"|*<>\t\x00\xc3\xa9\xff~"]
WORDS = [b"Jun", b"Mon", b"ms", b"KB", b"sec", b"pm", b"UTC", b"deadbeefcafe", b"0x1f", b"a.b:80"]


def test_kernel_matches_reference_on_samples() -> None:
    expected = [naive.shape(line, CONFIG) for line in SAMPLES]
    assert fast_shapes(SAMPLES) == expected
    assert fast_keys(SAMPLES) == [
        (*naive.hashes(naive.mask_line(line)), len(naive.mask_line(line))) for line in SAMPLES
    ]


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    parts = draw(
        st.lists(
            st.one_of(
                st.binary(min_size=1, max_size=4).map(
                    lambda b: bytes(ALPHABET[x % len(ALPHABET)] for x in b)
                ),
                st.sampled_from(WORDS),
                st.just(b" "),
            ),
            max_size=24,
        )
    )
    return b"".join(parts)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines(), min_size=1, max_size=8), st.integers(1, 64))
def test_kernel_matches_reference(batch: list[bytes], max_line_bytes: int) -> None:
    config = MinerConfig(max_line_bytes=max_line_bytes)
    assert fast_shapes(batch, max_line_bytes) == [naive.shape(line, config) for line in batch]
    keys = mask.shape_keys(mask.as_batch(batch, max_line_bytes))
    for i, line in enumerate(batch):
        masked = naive.mask_line(naive.cut(line, max_line_bytes))
        assert (int(keys.h1[i]), int(keys.h2[i])) == naive.hashes(masked)
        assert keys.tokens[i] == len(masked)


def test_cache_keys_need_both_hashes_and_the_count() -> None:
    cache = mask.ShapeCache(max_shapes=8, slots=4)
    cache.slot_id[:] = [10, 11, 12, 13]
    h = np.uint64(12345)
    cache.insert(h, np.uint64(1), 3, 10, 0)
    cache.insert(h, np.uint64(2), 3, 11, 1)  # same h1, different h2: another shape
    cache.insert(h, np.uint64(1), 4, 12, 2)  # same hashes, other token count: another shape
    keys = mask.Keys(
        np.array([h, h, h, h], np.uint64),
        np.array([1, 2, 1, 3], np.uint64),
        np.array([3, 3, 4, 3], np.int64),
    )
    assert cache.lookup(keys).tolist() == [10, 11, 12, -1]
    cache.slot_id[1] = -1  # template 11 left its slot: its entries no longer count
    assert cache.lookup(keys).tolist() == [10, -1, 12, -1]


def test_cache_is_bounded() -> None:
    cache = mask.ShapeCache(max_shapes=4, slots=1)
    for i in range(10):
        cache.insert(np.uint64(i), np.uint64(i), 1, 0, 0)
        assert cache.size <= 4
    assert cache.clears == 2

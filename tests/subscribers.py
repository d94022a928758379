"""The Go subscribers of bench/fanout.py (`bench/fanout-sub`), driven as the benchmark drives
them: N streams opened (gRPC to an address, or grpc-web to an Envoy), then every event from
`first` to `last` awaited and counted."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

HARNESS = Path(__file__).parents[1] / "bench" / "fanout-sub"


def build(directory: Path) -> Path:
    """The harness built into `directory` (it needs Go, which `make setup` checks for)."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("no `go` on the PATH: the Go subscribers need it")
    binary = directory / "fanout-sub"
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=HARNESS, check=True, timeout=300)
    return binary


class Subscribers:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def _line(self, seconds: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), seconds)
        if not line:
            raise AssertionError("the subscribers exited (their stderr is above)")
        return dict(json.loads(line))

    async def up(self) -> int:
        """How many streams have their first heartbeat, once every one has or has failed."""
        return int((await self._line(60))["up"])

    async def receive(self, first: int, last: int, grace: float = 10) -> dict[str, Any]:
        """Their report once every stream has event `last` (or `grace` seconds have passed):
        received, first_min, last_max, disorder, errors, incomplete, counts (see main.go)."""
        assert self.process.stdin is not None
        command = {"first": first, "last": last, "grace": grace}
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        return await self._line(grace + 30)


@asynccontextmanager
async def subscribing(binary: Path, *target: str, streams: int) -> AsyncIterator[Subscribers]:
    """`streams` streams to `target` (`-address host:port` or `-grpcweb URL`), killed after."""
    process = await asyncio.create_subprocess_exec(
        str(binary),
        *target,
        *("-streams", str(streams), "-connections", "2"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield Subscribers(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()

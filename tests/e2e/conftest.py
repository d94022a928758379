"""End-to-end fixtures: the real stack on loopback (tests/e2e/stack.py), one Chromium for the
session (Debian's, through Playwright), one page per test, and where screenshots go.

Screenshots go to a temporary folder, or to AIOPS_SCREENSHOTS (`make screenshots` sets it to
docs/screenshots). A failed test shows the server's log and where a screenshot of its page is.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from tests.e2e.stack import ROOT, AiopsServer, Exporter, snapshot_ui, start_prometheus
from tests.e2e.ui import E2eApi, Shoot, connect
from tests.prometheus import PrometheusServer

# Playwright's default, 5 s, is short for a step that waits on the pipeline on two busy cores.
expect.set_options(timeout=15_000)
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}  # a laptop: docs/screenshots are this size
FAILED = pytest.StashKey[bool]()
SCREENSHOTS = pytest.StashKey[Path]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(scope="session")
def ui_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """web/dist, built once per run when it is missing or older than web/src, and copied."""
    return snapshot_ui(tmp_path_factory.mktemp("ui") / "dist")


def chromium_path() -> str:
    path = os.environ.get("AIOPS_CHROMIUM") or shutil.which("chromium")
    if path is None:
        raise RuntimeError(
            "Chromium not found: run `make setup` (scripts/setup --all installs Debian's "
            "chromium) or set AIOPS_CHROMIUM"
        )
    return path


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless; Playwright never downloads a browser of its own here."""
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses root
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=chromium_path(), args=args)
        yield chromium
        await chromium.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    folder = terminalreporter.config.stash.get(SCREENSHOTS, None)
    if folder is not None and any(folder.glob("*.png")):
        terminalreporter.write_line(f"e2e: screenshots in {folder}")


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    configured = os.environ.get("AIOPS_SCREENSHOTS")
    if configured:
        folder = Path(configured)
        folder = folder if folder.is_absolute() else ROOT / folder
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("screenshots")
    pytestconfig.stash[SCREENSHOTS] = folder
    return folder


@pytest.fixture(scope="session")
def shoot(screenshots: Path) -> Shoot:
    """Writes a screenshot of the page (the viewport) as NAME.png."""

    async def take(page: Page, name: str) -> Path:
        path = screenshots / f"{name}.png"
        await page.mouse.move(0, VIEWPORT["height"] - 1)  # no hover effects in the picture
        await page.screenshot(path=path, animations="disabled", caret="hide")
        return path

    return take


@pytest.fixture(scope="session")
def exporter() -> Iterator[Exporter]:
    served = Exporter()
    yield served
    served.stop()


@pytest.fixture(scope="session")
async def prometheus(exporter: Exporter) -> AsyncIterator[PrometheusServer]:
    server = await asyncio.to_thread(start_prometheus, exporter)
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture(scope="module")
async def aiops(
    ui_dir: Path, prometheus: PrometheusServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AiopsServer]:
    """`aiops serve` with its Envoy, one per test module (tests in a module share it)."""
    server = AiopsServer(tmp_path_factory.mktemp("aiops"), ui_dir)
    try:
        await asyncio.to_thread(server.start)
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture(scope="module")
async def api(aiops: AiopsServer) -> AsyncIterator[E2eApi]:
    """The server's gRPC API, to arrange and check what the UI cannot."""
    async with connect(aiops) as stubs:
        yield stubs


@pytest.fixture(scope="session")
def failures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots of failed tests' pages: never in docs/screenshots."""
    return tmp_path_factory.mktemp("failures")


@pytest.fixture
async def page(
    browser: Browser, aiops: AiopsServer, request: pytest.FixtureRequest, failures: Path
) -> AsyncIterator[Page]:
    """A fresh tab (its own context: no storage shared with other tests) at a laptop's size,
    in UTC and English. Errors the page throws fail the test."""
    context = await browser.new_context(
        viewport=VIEWPORT,
        color_scheme="light",
        locale="en-GB",
        timezone_id="UTC",
    )
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    try:
        yield tab
        if request.node.stash.get(FAILED, False):
            path = failures / f"{request.node.name.replace('/', '_')}.png"
            await tab.screenshot(path=path)
            print(f"the page when the test failed: {path}\n{aiops.log_tail()}")
        assert errors == [], "the page threw"
    finally:
        await context.close()

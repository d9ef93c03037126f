"""The served page in a real headless browser: Debian's Chromium driven by Playwright.

``make install`` installs ``chromium`` with apt-get; Playwright's own browser download is never
used (``executable_path``). On a machine without Chromium the test skips, except under CI,
where a missing browser is a failure of the install step.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tts_pipeline.serve.server import LibraryServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless as root, with no network but loopback: without the background-networking flags
# Chromium keeps trying to reach its update and sync services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not Path(CHROMIUM).is_file():
        missing = "playwright" if sync_playwright is None else CHROMIUM
        if os.environ.get("CI"):  # there, `make install` must have provided both
            pytest.fail(f"{missing} is missing: `make install` installs chromium and playwright")
        pytest.skip(f"{missing} is not installed (`make install` installs it)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture(scope="module")
def server(media_library: Any) -> Iterator[LibraryServer]:
    with LibraryServer(media_library.library, config=media_library.config, port=0) as running:
        yield running


def click_and_seek(page: Any, audio: Any, link: Any) -> float:
    """Click ``link``; return the player's position when its seek completes."""
    # A promise, not wait_for_function: the page's CSP rightly forbids eval.
    audio.evaluate(
        "a => { window.seeked = new Promise(ok => a.addEventListener("
        "'seeked', () => ok(a.currentTime), {once: true})); }"
    )
    link.click()
    position: float = page.evaluate("() => window.seeked")
    return position


def test_page_plays_and_chapter_links_seek(
    browser_page: Any, server: LibraryServer, media_library: Any
) -> None:
    page = browser_page
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"{message.text} {message.location}")
            if message.type == "error"
            else None
        ),
    )
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    page.goto(server.url)

    # Every episode is listed, hostile title shown as text.
    articles = page.locator("article.episode")
    assert articles.count() == len(media_library.episodes)
    headings = [h.strip() for h in page.locator("article.episode h2").all_inner_texts()]
    assert headings == [e.title for e in media_library.episodes]
    assert page.locator("article.episode h2 script").count() == 0

    # The audio element loads the MP3's metadata: its duration is the episode's.
    episode = media_library.episodes[0]
    article = page.locator(f"#episode-{episode.id}")
    audio = article.locator("audio")
    audio.evaluate(
        "a => a.readyState >= 1 || new Promise(ok => a.addEventListener('loadedmetadata', ok))"
    )
    duration = audio.evaluate("a => a.duration")
    assert duration == pytest.approx(episode.duration_s, abs=0.1)

    # Clicking a chapter seeks to its start time.
    starts = media_library.chapter_starts[episode.id]
    links = article.locator(".chapters a")
    assert links.count() == len(starts)
    for number in (2, len(starts)):
        seeked_at = click_and_seek(page, audio, links.nth(number - 1))
        assert seeked_at == pytest.approx(starts[number - 1], abs=0.05), number
    assert links.nth(len(starts) - 1).get_attribute("class") == "current"  # marked as heard

    # The transcript is on the page, and a transcript line seeks too.
    transcript = article.locator("details.transcript")
    transcript.locator("summary").click()
    assert "A preview lets you hear a post" in transcript.inner_text()
    cue = transcript.locator("a").nth(3)
    cue_start = float(cue.get_attribute("data-start") or "nan")
    assert cue_start > 0
    assert click_and_seek(page, audio, cue) == pytest.approx(cue_start, abs=0.05)
    audio.evaluate("a => a.pause()")
    assert problems == [], problems

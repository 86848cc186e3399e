"""The Groove page in a real browser, on the shipped GrooVAE: the drawn beat plays with its
timing and velocities and stops by itself at its end, humanize gives a played beat, and that one
plays and stops. Needs what ``test_studio_browser.py`` needs; skipped without chromium."""

from __future__ import annotations

import pytest
from studio_helpers import browser_page, studio_server, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page():
    with studio_server("gmd-groovae-2bar-humanize") as address, \
            browser_page(address) as page:
        yield page


def test_the_drawn_beat_plays_to_its_end_and_stops_by_itself(page):
    page.click("nav button[data-page='groove']")
    page.wait_for_selector("#groove-input-info:has-text('hits')")
    page.click("#groove-input-play")
    page.wait_for_selector("body[data-playing='1']")  # the hits are scheduled, the playhead runs
    # two bars at the default 120 bpm are 4 s: the playback ends without a click
    page.wait_for_selector("body[data-playing='']", timeout=15_000)


def test_humanize_then_play_the_played_beat_and_stop_it(page):
    page.click("#groove-go")
    page.wait_for_selector("#groove-output-info:has-text('hits in')", timeout=60_000)
    wait_until(page, "/\\d+ hits in, [1-9]\\d* out/.test("
                     "document.getElementById('groove-output-info').textContent)")
    page.click("#groove-output-play")
    page.wait_for_selector("body[data-playing='1']")
    page.click("#stop")
    page.wait_for_selector("body[data-playing='']")

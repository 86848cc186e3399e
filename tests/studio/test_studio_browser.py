"""End to end in a real browser: the studio server as a subprocess, headless Chromium driven by
Playwright. Samples, walks between a data file and an uploaded one, downloads the walk's MIDI,
shows a bad upload's message, and clicks a point of the map.

Needs Debian's ``chromium`` (``apt-get install chromium``) and ``pip install playwright``
(never ``playwright install``: the system browser is used). Skipped when /usr/bin/chromium is
absent. ``STUDIO_SCREENSHOTS=DIR`` keeps screenshots of each page there.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pretty_midi
import pytest
from midi_files import instrument, scale_walk, write_midi
from studio_helpers import browser_page, studio_server, wait_until

from symusic.data.midi_io import melody_notes

STEP_S = 0.125  # a 16th at the page's default 120 BPM

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(checkpoint, data_dir):
    """The studio on a free port; yields its address (read from what it prints)."""
    with studio_server(str(checkpoint), "--data", str(data_dir)) as address:
        yield address


@pytest.fixture(scope="module")
def page(server):
    """A Chromium page on the studio; fails the test on any uncaught script error."""
    with browser_page(server) as page:
        yield page


def screenshot(page, name: str) -> None:
    folder = os.environ.get("STUDIO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def set_range(page, selector: str, value: float) -> None:
    page.eval_on_selector(selector, "(el, v) => { el.value = v; "
                          "el.dispatchEvent(new Event('input', {bubbles: true})); }", value)


def test_the_server_listens_on_loopback_only(server):
    assert server.startswith("http://127.0.0.1:")


def test_the_sample_page_opens_on_samples(page):
    """The first page shows a first set of samples without a click (it opened empty)."""
    wait_until(page, "document.querySelectorAll('#sample-results .card').length === 4")


def test_sample_and_play(page):
    page.fill("#sample-count", "3")
    page.click("#sample-go")
    wait_until(page, "document.querySelectorAll('#sample-results .card').length === 3")
    page.click("#sample-results .card button.play")
    page.wait_for_selector("body[data-playing='1']")  # the Web Audio synth runs
    page.click("#stop")
    page.wait_for_selector("body[data-playing='']")
    screenshot(page, "sample")


def test_a_sample_goes_to_the_mixer(page):
    z = page.evaluate("document.querySelectorAll('#sample-results .card')[1].melody.z")
    page.click("#sample-results .card:nth-child(2) button.to-mix")
    page.wait_for_selector("#page-mix:visible #mix-start .preview h3:has-text('sample 2')")
    page.wait_for_selector("#mix-result .card")
    assert page.evaluate("document.querySelector('#mix-result .card').melody.z") == z


def test_walk_from_a_data_file_to_an_upload_and_download_it(page, tmp_path):
    page.click("nav button[data-page=walk]")
    page.wait_for_selector("#walk-from .preview .card h3:has-text('duet.mid, track 0, bar 0')")
    upload = write_midi(tmp_path / "my_upload.mid", instrument(scale_walk(21, 4), name="lead"))
    page.set_input_files("#walk-to input[type=file]", str(upload))
    page.wait_for_selector("#walk-to .preview .card h3:has-text('my_upload.mid')")
    page.select_option("#walk-to select.bar", "1")
    page.wait_for_selector("#walk-to .preview .card h3:has-text('my_upload.mid, track 0, bar 1')")

    page.fill("#walk-steps", "5")
    set_range(page, "#walk-temperature", 1.0)  # sampling: an untrained model's argmax is silence
    page.click("#walk-go")
    wait_until(page, "document.querySelectorAll('#walk-results .card').length === 5")
    titles = page.locator("#walk-results .card h3").all_inner_texts()
    assert titles == [f"step {i} of 5" for i in range(1, 6)]
    screenshot(page, "walk")

    with page.expect_download() as download:
        page.click("#walk-download")
    assert download.value.suggested_filename == "walk.mid"
    midi = pretty_midi.PrettyMIDI(io.BytesIO(Path(download.value.path()).read_bytes()))
    shown = page.evaluate("[...document.querySelectorAll('#walk-results .card')]"
                          ".map((card) => card.melody.tokens)")
    expected = [(p, s + 32 * i, e + 32 * i)
                for i, tokens in enumerate(shown) for p, s, e in melody_notes(tokens)]
    notes = [(n.pitch, round(n.start / STEP_S), round(n.end / STEP_S))
             for n in midi.instruments[0].notes]
    assert expected and notes == expected


def test_a_bad_upload_shows_a_message_and_the_page_goes_on(page, tmp_path):
    page.click("nav button[data-page=walk]")
    bad = tmp_path / "not_midi.mid"
    bad.write_text("this is not a MIDI file")
    page.set_input_files("#walk-from input[type=file]", str(bad))
    banner = page.locator("#message")
    banner.wait_for(state="visible")
    assert "not_midi.mid is not a readable MIDI file" in banner.inner_text()
    screenshot(page, "bad-upload")
    page.click("#walk-go")  # the server is still up; a good request clears the message
    banner.wait_for(state="hidden")


def test_map_point_shows_original_and_reconstruction(page):
    page.click("nav button[data-page=map]")
    page.wait_for_selector("text=24 windows")
    # where point 3 is drawn: the page's own mapping of [-1, 1] onto the 560 px canvas
    x, y = page.evaluate("""async () => {
        const m = await (await fetch('/api/map')).json();
        return [16 + (m.x[3] + 1) / 2 * 528, 560 - 16 - (m.y[3] + 1) / 2 * 528];
    }""")
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    wait_until(page, "document.querySelectorAll('#map-detail .card').length === 2")
    assert page.locator("#map-detail .card h3").first.inner_text().startswith("original:")
    screenshot(page, "map")


def test_mix_and_attribute_pages_decode_on_change(page):
    page.click("nav button[data-page=mix]")
    wait_until(page, "document.querySelectorAll('#mix-sliders input').length === 12")
    page.wait_for_selector("#mix-result .card")
    before = page.evaluate("document.querySelector('#mix-result .card').melody.z")
    first = "#mix-sliders input"
    set_range(page, first, 3.5)
    dim = int(re.search(r"z\[(\d+)\]", page.locator("#mix-sliders .name").first.inner_text())[1])
    wait_until(page,
        f"document.querySelector('#mix-result .card').melody.z[{dim}] === 3.5")
    after = page.evaluate("document.querySelector('#mix-result .card').melody.z")
    assert before[dim] != 3.5 and [a for i, a in enumerate(after) if i != dim] == \
        [b for i, b in enumerate(before) if i != dim]
    screenshot(page, "mix")

    page.click("nav button[data-page=steer]")
    wait_until(page, "document.querySelectorAll('#steer-table tr').length === 5")
    page.wait_for_selector("#steer-result .card")
    page.click("#steer-sweep")
    wait_until(page, "document.querySelectorAll('#steer-sweep-result .card').length === 5")
    screenshot(page, "attributes")

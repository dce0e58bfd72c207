"""Issue 15: the studio's page in headless Chromium, served by uvicorn as ``tarjama studio`` serves it."""

import shutil
import threading
from pathlib import Path

import pytest

from tarjama.memory.store import default_memory_path, open_memory
from tarjama.publish.publisher import output_paths
from tarjama.record.reader import read_record
from tarjama.studio.app import create_app
from tarjama.studio.server import listen
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import DecodingOptions
from tests.test_report import CHROMIUM
from tests.test_studio import STEM, published  # noqa: F401 (the module's fixture)


@pytest.fixture
def studio_url(published, tmp_path, tiny_marian, glossary_path):  # noqa: F811
    import uvicorn

    out = Path(shutil.copytree(published[1], tmp_path / "out"))
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    settings = RunSettings(model=str(tiny_marian), glossary=glossary_path, threads=1,
                           decoding=DecodingOptions(beam_size=2, max_output_tokens=6))
    server = uvicorn.Server(uvicorn.Config(create_app(out, port=port, settings=settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", out
    server.should_exit = True
    thread.join(10)


def test_edit_confirm_reload_alternative_and_publish_in_a_browser(studio_url):
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is needed for this test: setup.sh installs it (Debian: apt-get install chromium)")
    base, out = studio_url
    errors, requests = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                                   "--disable-background-networking", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("request", lambda request: requests.append(request.url))
        record = read_record(output_paths(out, STEM).record)
        third = record.segments[2]
        near = third.source + " أمس"  # an approval of a sentence one word longer: the third's fuzzy match
        with open_memory(default_memory_path(out)) as memory:
            memory.approve([(near, "The near sentence's English")], origin="test")
        page.goto(f"{base}/articles/{STEM}")
        directions = page.eval_on_selector_all(".arabic", "cells => cells.map(c => getComputedStyle(c).direction)")
        first = page.locator("[data-segment]").first
        first.locator("textarea").fill("The browser's title")
        first.locator("textarea").press("Control+Enter")
        page.wait_for_function("document.querySelector('[data-segment] .version').textContent === '2'")
        moved_on = page.evaluate("document.activeElement === document.querySelectorAll('[data-segment] textarea')[1]")
        # The chips follow the typing: a term's chip turns red without its English, green with it.
        termed = page.locator("[data-segment]:has(.chip)").first
        chip = termed.locator(".chip").first
        termed.locator("textarea").fill("Nothing of the glossary")
        page.wait_for_function("c => c.classList.contains('miss')", arg=chip.element_handle())
        warned = termed.locator(".warnings").text_content()
        termed.locator("textarea").fill("With " + chip.get_attribute("data-target"))
        page.wait_for_function("c => c.classList.contains('hit')", arg=chip.element_handle())
        page.reload()
        kept = page.locator("[data-segment] textarea").first.input_value()
        fuzzy = page.locator(f'[data-segment="{third.id}"]')
        fuzzy.locator(".ask-fuzzy").click()
        fuzzy.locator(".choices li").first.wait_for()
        fuzzy_offered = fuzzy.locator(".choices li").first.text_content()
        fuzzy.locator(".choices li").first.click()
        fuzzy_taken = fuzzy.locator("textarea").input_value()
        fuzzy.locator("textarea").press("Control+Enter")
        page.wait_for_function(f"document.querySelector('[data-segment=\"{third.id}\"] .origin').dataset.origin"
                               " === 'approved'")
        page.locator("button.undo").click()
        page.wait_for_function("document.querySelector('.published').textContent.startsWith('undone')")
        undone = fuzzy.locator("textarea").input_value()
        second = page.locator("[data-segment]").nth(1)
        second.locator(".ask-alternatives").click()
        second.locator(".choices li").first.wait_for()
        offered = second.locator(".choices li").first.text_content()
        second.locator(".choices li").first.click()
        filled = second.locator("textarea").input_value()
        page.locator("button.publish").click()
        page.wait_for_function("document.querySelector('.published').textContent.startsWith('published')")
        said = page.locator(".published").text_content()
        # An edit not confirmed is not lost by leaving the page: the browser asks first.
        page.locator("[data-segment] textarea").last.click()  # a user's gesture: browsers ask only after one
        page.keyboard.type("Typed, not confirmed")
        edited = page.locator("[data-segment]").last.get_attribute("class")
        # (Headless Chromium shows no beforeunload dialog: the page's handler is asked as the browser would ask it.)
        leaving = ("() => { const e = new Event('beforeunload', {cancelable: true}); dispatchEvent(e); "
                   "return e.defaultPrevented; }")
        asked = page.evaluate(leaving)
        page.locator("[data-segment] textarea").last.press("Control+Enter")
        page.locator("[data-segment]").last.locator(".message").filter(has_text="confirmed").wait_for()
        confirmed_class = page.locator("[data-segment]").last.get_attribute("class")
        still_edited = page.eval_on_selector_all(".segment.edited", "found => found.map(s => s.dataset.segment)")
        asked_after_confirm = page.evaluate(leaving)
        browser.close()
    assert errors == []
    assert all(url.startswith(base) for url in requests)  # nothing leaves the machine
    assert directions and set(directions) == {"rtl"}
    assert kept == "The browser's title"
    assert moved_on  # Ctrl+Enter went on to the next segment
    assert "glossary term missing" in warned
    assert "The near sentence's English" in fuzzy_offered and fuzzy_taken == "The near sentence's English"
    assert undone == third.target  # the fuzzy match's confirm undone: the run's English is back
    assert filled and offered.startswith(filled)
    assert "p0.s0" in said
    assert "edited" in edited and asked is True and "edited" not in confirmed_class
    # The second segment's alternative was picked, never confirmed: leaving still asks.
    assert still_edited == [record.segments[1].id] and asked_after_confirm is True
    assert "The browser's title" in output_paths(out, STEM).english.read_text(encoding="utf-8")

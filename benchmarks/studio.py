"""The studio's two speed figures (issue 15): a 200-sentence article's page, and the model's alternatives.

    .venv/bin/python benchmarks/studio.py [--sentences 200] [--repeats 5] [--output-tokens 8] [--json PATH]

In a temporary folder: a tiny random MarianMT (what ``tarjama models random`` builds), the bench's article
(``tarjama bench``'s sentences of the sample, five to a paragraph), published with the newsroom glossary through
the library's ``translate_and_publish`` (what ``tarjama translate`` runs, without Prefect) with the output capped
at a few tokens a sentence so that it takes seconds. Then ``tarjama studio OUT --model MODEL --glossary G --port 0``
runs as a process of its own (uvicorn and the real server), and:

- **page**: the article's page, loaded ``--repeats`` times in headless Chromium (a fresh browser context each time,
  after one warm-up): navigation start to DOMContentLoaded, to load, and to "usable" (the DOMContentLoaded handlers
  have run, and the last segment's ``textarea`` is there and takes the focus), with the server's own answer time
  (a GET of the HTML with httpx) and the HTML's size;
- **alternatives**: ``POST /api/articles/STEM/segments/ID/alternatives`` with the page's token, once cold (the
  model loads: reported on its own), then ``--repeats`` warm calls, each on another sentence of typical length.

Prints the figures as JSON and a short summary; there is no pass or fail: a figure is only as quiet as the machine.
The studio process is always stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path

from tarjama.dev.bench import GLOSSARY, SAMPLE, _write_article, bench_sentences, cpu_features

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-sync"]
ARTICLE = "studio-bench.ar.txt"
START_TIMEOUT_S = 60
# Runs in the page before its own script: once the DOMContentLoaded handlers have all run (a task queued from
# the first of them runs after the rest), wait for the expected number of boxes, focus the last and note the time.
USABLE_SCRIPT = """
window.__usable = null;
document.addEventListener("DOMContentLoaded", function () {
  setTimeout(function check() {
    const boxes = document.querySelectorAll("[data-segment] textarea");
    const last = boxes[boxes.length - 1];
    if (boxes.length < %d || !last) { setTimeout(check, 1); return; }
    last.focus();
    if (document.activeElement !== last) { setTimeout(check, 1); return; }
    window.__usable = {at: performance.now(), boxes: boxes.length};
  }, 0);
});
"""
TIMING_SCRIPT = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const boxes = document.querySelectorAll("[data-segment] textarea");
  return {response_start: nav.responseStart, response_end: nav.responseEnd,
          dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
          usable: window.__usable && window.__usable.at, boxes: boxes.length,
          last_focused: document.activeElement === boxes[boxes.length - 1], now: performance.now()};
}"""


@dataclass(frozen=True)
class Spread:
    """Median and maximum of some measurements, in milliseconds, and the measurements themselves."""

    median_ms: float
    max_ms: float
    all_ms: list[float]

    @classmethod
    def of(cls, milliseconds: list[float]) -> Spread:
        """The spread of ``milliseconds`` (at least one)."""
        rounded = [round(value, 1) for value in milliseconds]
        return cls(round(statistics.median(milliseconds), 1), max(rounded), rounded)


@dataclass(frozen=True)
class Published:
    """What the studio is started over: the model and the outputs folder holding the article."""

    model: Path
    out_dir: Path
    publish_s: float


class _TokenReader(HTMLParser):
    """The page's write token, from ``<meta name="tarjama-token" content="…">`` (the contract's)."""

    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and found.get("name") == "tarjama-token":
            self.token = found.get("content")


def page_token(html: str) -> str:
    """The write token a studio page embeds."""
    reader = _TokenReader()
    reader.feed(html)
    if not reader.token:
        raise SystemExit("the page has no <meta name=\"tarjama-token\">")
    return reader.token


def publish_article(folder: Path, sentences: int, output_tokens: int) -> Published:
    """A tiny random model and the bench's article published with the newsroom glossary into ``folder/out``."""
    from tarjama.dev.random_models import build_random_model
    from tarjama.runs.article import translate_and_publish
    from tarjama.translate.settings import RunSettings
    from tarjama.translate.types import DecodingOptions

    model = build_random_model(folder / "tiny-marian", "marian", source_text=SAMPLE, target_glossary=GLOSSARY)
    article = _write_article(folder / ARTICLE, bench_sentences(sentences))
    settings = RunSettings(model=str(model), glossary=GLOSSARY,
                           decoding=DecodingOptions(max_output_tokens=output_tokens))
    started = time.perf_counter()
    translate_and_publish(article, settings, folder / "out")
    return Published(model, folder / "out", time.perf_counter() - started)


@contextmanager
def running_studio(published: Published, log: Path) -> Iterator[str]:
    """``tarjama studio`` over the outputs on any free port, as a process of its own; yields its address."""
    # ``-m`` from the checkout's root: this checkout's tarjama, as the script's own
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"}
    command = [sys.executable, "-m", "tarjama.cli", "studio", str(published.out_dir), "--model", str(published.model),
               "--glossary", str(GLOSSARY), "--port", "0"]
    with log.open("w", encoding="utf-8") as errors:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            yield _first_line_url(process, log)
        finally:
            process.send_signal(signal.SIGINT)  # uvicorn's own graceful stop
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _first_line_url(process: subprocess.Popen, log: Path) -> str:
    """The address in the studio's first line, ``studio: http://HOST:PORT/`` (waiting at most a minute)."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(START_TIMEOUT_S):
            raise SystemExit(f"the studio printed nothing in {START_TIMEOUT_S} s")
    line = process.stdout.readline()
    if not line.startswith("studio: "):
        raise SystemExit(f"the studio did not start: {line!r}\n{log.read_text(encoding='utf-8')[-2000:]}")
    return line.removeprefix("studio: ").strip().rstrip("/")


def measure_page(base: str, stem: str, repeats: int, boxes: int) -> dict:
    """The page's server time, size and browser timings: median and maximum over ``repeats`` after a warm-up."""
    import httpx
    from playwright.sync_api import sync_playwright

    url = f"{base}/articles/{stem}"
    server, seen = [], []
    with httpx.Client(timeout=60) as client, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for n in range(repeats + 1):  # the first round warms the server, its templates and the browser
                started = time.perf_counter()
                answer = client.get(url)
                answer.raise_for_status()
                elapsed = 1000 * (time.perf_counter() - started)
                context = browser.new_context(viewport={"width": 1200, "height": 900})
                try:
                    page = context.new_page()
                    page.add_init_script(USABLE_SCRIPT % boxes)
                    page.goto(url, wait_until="load")
                    page.wait_for_function("window.__usable !== null", timeout=30_000)
                    page.locator("[data-segment] textarea").last.focus()
                    timing = page.evaluate(TIMING_SCRIPT)
                finally:
                    context.close()
                if not timing["last_focused"] or timing["boxes"] != boxes:
                    raise SystemExit(f"the page was not usable as expected: {timing}")
                if n:
                    server.append(elapsed)
                    seen.append(timing)
        finally:
            browser.close()
    return {"url_path": f"/articles/{stem}", "html_bytes": len(answer.content), "textareas": boxes,
            "server_response": asdict(Spread.of(server)),
            "response_end": asdict(Spread.of([t["response_end"] for t in seen])),
            "dom_content_loaded": asdict(Spread.of([t["dom_content_loaded"] for t in seen])),
            "load": asdict(Spread.of([t["load"] for t in seen])),
            "usable": asdict(Spread.of([t["usable"] for t in seen])),
            "focused_from_playwright": asdict(Spread.of([t["now"] for t in seen]))}


def typical_segments(segments: list[dict], count: int) -> list[dict]:
    """``count`` body segments of distinct sentences, those nearest the article's median length first."""
    body = [s for s in segments if s.get("kind", "body") == "body"]
    median = statistics.median(len(s["source"]) for s in body)
    distinct: dict[str, dict] = {}
    for segment in sorted(body, key=lambda s: abs(len(s["source"]) - median)):
        # bench_sentences numbers a sentence " (1)" when the sample's sentences come round again
        distinct.setdefault(re.sub(r" \(\d+\)", "", segment["source"]), segment)
    if len(distinct) < count:
        raise SystemExit(f"the article has {len(distinct)} distinct sentences, not {count}")
    return list(distinct.values())[:count]


def measure_alternatives(base: str, stem: str, token: str, segments: list[dict], repeats: int) -> dict:
    """One cold alternatives call (the model loads), then ``repeats`` warm ones, each on another sentence."""
    import httpx

    chosen = typical_segments(segments, repeats + 1)
    host = base.removeprefix("http://")
    calls = []
    with httpx.Client(timeout=300, headers={"X-Tarjama-Token": token, "Host": host}) as client:
        for segment in chosen:
            started = time.perf_counter()
            answer = client.post(f"{base}/api/articles/{stem}/segments/{segment['id']}/alternatives")
            elapsed = 1000 * (time.perf_counter() - started)
            if answer.status_code != 200:
                raise SystemExit(f"alternatives of {segment['id']}: {answer.status_code} {answer.text[:500]}")
            calls.append({"segment": segment["id"], "source_chars": len(segment["source"]),
                          "source_words": len(segment["source"].split()),
                          "alternatives": len(answer.json()["alternatives"]), "ms": round(elapsed, 1)})
    cold, warm = calls[0], calls[1:]
    return {"cold_ms": cold["ms"], "cold": cold, "warm": asdict(Spread.of([c["ms"] for c in warm])),
            "warm_calls": warm}


def run(sentences: int, repeats: int, output_tokens: int) -> dict:
    """Publish the article, start the studio, measure both figures; the studio is stopped whatever happens."""
    import httpx

    with tempfile.TemporaryDirectory(prefix="tarjama-studio-bench-") as temp:
        folder = Path(temp)
        published = publish_article(folder, sentences, output_tokens)
        with running_studio(published, folder / "studio.log") as base:
            (listed,) = httpx.get(f"{base}/api/articles", timeout=60).json()["articles"]
            stem = listed["stem"]
            article = httpx.get(f"{base}/api/articles/{stem}", timeout=60).json()
            token = page_token(httpx.get(f"{base}/articles/{stem}", timeout=60).text)
            page = measure_page(base, stem, repeats, len(article["segments"]))
            alternatives = measure_alternatives(base, stem, token, article["segments"], repeats)
    return {"settings": {"sentences": sentences, "segments": len(article["segments"]), "repeats": repeats,
                         "model": "tiny random MarianMT (tarjama models random: d_model 32, 1+1 layers)",
                         "publish_output_tokens": output_tokens, "publish_s": round(published.publish_s, 2),
                         "studio": "tarjama studio OUT --model MODEL --glossary glossaries/news-ar-en.tsv --port 0 "
                                   "(transformers, beam 4, the default output budget, all cores)",
                         "browser": f"headless {CHROMIUM}, a fresh context per load, 1200x900"},
            "machine": {**cpu_features(), "platform": platform.platform(), "load_average": os.getloadavg()},
            "page": page, "alternatives": alternatives}


def summary(figures: dict) -> list[str]:
    """The figures in a few lines."""
    page, alternatives = figures["page"], figures["alternatives"]

    def spread(item: dict) -> str:
        return f"median {item['median_ms']:.0f} ms, max {item['max_ms']:.0f} ms"

    return [f"page {page['url_path']}: {page['textareas']} segments, {page['html_bytes']:,} bytes of HTML",
            f"  server answer {spread(page['server_response'])}",
            f"  DOMContentLoaded {spread(page['dom_content_loaded'])}; load {spread(page['load'])}",
            f"  usable (handlers run, last box focused) {spread(page['usable'])}",
            f"alternatives: cold (model load) {alternatives['cold_ms']:.0f} ms; "
            f"warm {spread(alternatives['warm'])} over {len(alternatives['warm_calls'])} sentences"]


def main() -> None:
    """Measure and print the figures (JSON, then the summary); ``--json PATH`` also writes the JSON there."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=200, help="sentences of the article (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="page loads and warm alternatives (default %(default)s)")
    parser.add_argument("--output-tokens", type=int, default=8,
                        help="output cap a sentence when publishing the article (default %(default)s)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args()
    if not shutil.which(CHROMIUM):
        raise SystemExit("Chromium is needed: setup.sh installs it (Debian: apt-get install chromium)")
    figures = run(args.sentences, args.repeats, args.output_tokens)
    encoded = json.dumps(figures, indent=2, ensure_ascii=False)
    if args.json:
        args.json.write_text(encoded + "\n", encoding="utf-8")
    print(encoded)
    print("\n".join(summary(figures)))


if __name__ == "__main__":
    main()

"""The reviewer report: self-contained, escaped, and rendering in headless Chromium."""

import io
import shutil
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from test_publishing import HOSTILE, make_record

from tarjama.publish.publisher import publish
from tarjama.publish.report import render_report, scores_markdown
from tarjama.scores.scoring import corpus_scores, sentence_chrf
from tarjama.terms.glossary import load_glossary
from tarjama.text.articles import read_article, segment_text

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "table", "tr", "th", "td", "div",
                "b", "p", "span", "mark", "figure", "figcaption", "svg", "line", "text", "rect"}


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.urls, self.rtl_text, self._rtl_depth = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        self.urls += [v for k, v in attributes.items() if k in ("href", "src") and v]
        if tag == "span" and attributes.get("dir") == "rtl":
            self._rtl_depth += 1
            self.rtl_text.append("")
        elif self._rtl_depth and tag == "span":
            self._rtl_depth += 1

    def handle_endtag(self, tag):
        if tag == "span" and self._rtl_depth:
            self._rtl_depth -= 1

    def handle_data(self, data):
        if self._rtl_depth:
            self.rtl_text[-1] += data


def sample_record(sample_path, glossary_path, with_reference=True):
    document = read_article(sample_path)
    record = make_record(document, lambda s: f"English of {s.id}, Kremlin" if s.paragraph % 2 else "",
                         load_glossary(glossary_path))
    if not with_reference:
        return record
    english = record.paragraph_english()
    references = [f"Reference paragraph {n} about the Kremlin." for n in range(len(english))]
    scores = replace(record.scores, reference=corpus_scores(english, references),
                     paragraph_chrf=tuple(sentence_chrf(english, references)))
    return replace(record, scores=scores, reference_lines=tuple(references), reference_path="ref.txt")


def test_report_is_self_contained_and_escapes_everything(sample_path, glossary_path):
    text = "عنوان\n" + "\n".join(HOSTILE) + "\n"
    record = make_record(segment_text(text, "hostile.txt"), lambda s: s.text.replace("عمود", "column"))
    html = render_report(record)
    parsed = Collector()
    parsed.feed(html)
    assert set(parsed.tags) <= ALLOWED_TAGS and "script" not in parsed.tags
    assert parsed.urls == []  # nothing to fetch: no links, images, fonts or scripts
    for line in HOSTILE:
        assert any(line.split()[0].strip("\u202e") in fragment for fragment in parsed.rtl_text)
    assert "\u202e" not in html  # a bidi override could reorder the page around it
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html


def test_report_shows_scores_signatures_chart_terms_and_flags(sample_path, glossary_path):
    record = sample_record(sample_path, glossary_path)
    html = render_report(record)
    for signature in record.scores.reference.signatures.values():
        assert signature in html
    assert html.count("<rect ") == len(record.document.paragraphs)  # one bar per paragraph
    assert "chrF++ per paragraph" in html
    assert all(f">{term.target}<" in html for term in record.scores.terms)
    assert "no English came out" in html  # the empty paragraphs are flagged
    without = render_report(sample_record(sample_path, glossary_path, with_reference=False))
    assert "No reference was given" in without and "glossary terms with their target, per paragraph" in without


def test_scores_markdown_for_the_prefect_artifact(sample_path, glossary_path):
    record = sample_record(sample_path, glossary_path)
    markdown = scores_markdown(record)
    assert f"| BLEU | {record.scores.reference.bleu:.2f} |" in markdown
    assert f"{record.scores.terms_hit}/{record.scores.terms_matched}" in markdown
    assert record.scores.reference.signatures["chrf"] in markdown


def test_report_renders_in_headless_chromium(tmp_path, sample_path, glossary_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is needed for this test: setup.sh installs it (Debian: apt-get install chromium)")
    paths = publish(sample_record(sample_path, glossary_path), tmp_path / "out")
    errors, requests = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("request", lambda request: requests.append(request.url))
        page.goto(paths.report.as_uri())
        directions = page.eval_on_selector_all("span[dir=rtl]",
                                               "spans => spans.map(s => getComputedStyle(s).direction)")
        bars = page.eval_on_selector_all("svg rect", "rects => rects.map(r => r.getBoundingClientRect().height)")
        screenshot = page.screenshot(full_page=True)
        browser.close()
    assert errors == []
    assert requests == [paths.report.as_uri()]  # the page fetched nothing else
    assert directions and set(directions) == {"rtl"}
    assert len(bars) == 24 and max(bars) > 0
    image = Image.open(io.BytesIO(screenshot)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 16)
    assert image.height > 900 and (colours is None or len(colours) > 50)  # not blank: text, tables, a chart
    (tmp_path / "report.png").write_bytes(screenshot)


def test_editor_approved_sentences_are_not_counted_as_problems(sample_path):
    from tarjama.publish.record import count_terms

    record = make_record(segment_text("عنوان\nقال الكرملين.\nوصل الوفد.\n", "a.txt"), lambda s: f"English {s.id}.")
    segments = tuple(replace(s, flags=("approved",)) if s.id == "p1.s0" else s for s in record.segments)
    record = replace(record, segments=segments, scores=count_terms(segments))
    html = render_report(record)
    assert "Flagged sentences<b>0</b>" in html.replace("</span>", "").replace("<span>", "")
    assert "No sentence is flagged." in html
    assert "flagged sentences | 0" in scores_markdown(record)

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from tarjama.errors import RunError
from tarjama.files import write_atomically
from tarjama.publish.publisher import output_paths, publish, render_bilingual, render_english
from tarjama.publish.record import RunRecord, build_segment_records, count_terms
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import find_terms
from tarjama.text.articles import read_article, segment_text
from tarjama.translate.enforcement import settle_terms, term_flags
from tarjama.translate.pipeline import SegmentTranslation
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.types import DecodingOptions

MODEL = ResolvedModel(name="test/model", path=__import__("pathlib").Path("/models/test"),
                      architecture="marian", source_lang="ar", target_lang="en")
HOSTILE = [
    "<script>alert('x')</script> | عمود | `code` *نجمة* _خط_",
    "# عنوان مزيف [رابط](http://evil.example) ![صورة](x.png)",
    "\u202eنص معكوس\u202c &amp; <b>غامق</b> ~~شطب~~ \\ نهاية",
    "- قائمة؟ 1. مرقمة > اقتباس",
]
SPAN_OPEN = '<span dir="rtl" lang="ar">'


def render_tokens(markdown):
    return MarkdownIt("commonmark", {"html": True}).enable("table").parse(markdown)


def make_record(document, english_for, glossary=None, strict=False):
    matches = find_terms(document, glossary)
    translations = []
    for s in document.segments:
        english, outcomes = settle_terms(english_for(s), [m for m in matches if m.segment == s.id], strict=strict,
                                         segment_start=s.start, segment_length=len(s.text))
        translations.append(SegmentTranslation(s.id, english, 1, tuple(term_flags(outcomes)), tuple(outcomes)))
    segments = build_segment_records(document, translations)
    return RunRecord(document=document, model=MODEL, backend="transformers", decoding=DecodingOptions(),
                     glossary=glossary, strict_terms=strict, segments=segments, scores=count_terms(segments))


def cells_by_row(tokens):
    rows, row, cell = [], None, None
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type in ("td_open", "th_open"):
            cell = []
        elif token.type == "inline" and cell is not None:
            cell.append(token)
        elif token.type in ("td_close", "th_close"):
            row.append(cell)
            cell = None
        elif token.type == "tr_close":
            rows.append(row)
    return rows


def cell_text(inline_tokens):
    return "".join(child.content for token in inline_tokens for child in token.children
                   if child.type == "text")


def hostile_document():
    text = "عنوان: " + HOSTILE[0] + "\n" + "\n".join(HOSTILE[1:]) + "\nشاهد ايضاً: <i>خبر</i> | آخر\n"
    return segment_text(text, "hostile.txt")


def test_hostile_text_cannot_inject_html_or_markdown():
    document = hostile_document()
    record = make_record(document, lambda s: "EN " + s.text.replace("ا", "a"))
    tokens = render_tokens(render_bilingual(record))
    html_inline = [c.content for t in tokens if t.type == "inline" for c in t.children if c.type == "html_inline"]
    assert set(html_inline) == {SPAN_OPEN, "</span>"}
    assert not [t for t in tokens if t.type == "html_block"]
    children = {c.type for t in tokens if t.type == "inline" for c in t.children}
    assert not children & {"link_open", "image", "em_open", "strong_open", "code_inline", "s_open"}
    body = render_tokens(render_bilingual(record).split("\n---\n", 1)[1])  # as front-matter renderers do
    assert [t.tag for t in body if t.type == "heading_open"] == ["h1", "h2", "h2"]
    body_rows = [row for row in cells_by_row(tokens) if cell_text(row[0]).startswith("p")]
    assert len(body_rows) == len(document.segments)
    in_reading_order = [s for s in record.segments if s.kind != "related"] + [
        s for s in record.segments if s.kind == "related"]
    for row, segment in zip(body_rows, in_reading_order, strict=True):
        assert cell_text(row[0]) == segment.id
        assert cell_text(row[1]) == segment.source.replace("\u202e", "").replace("\u202c", "")
        assert cell_text(row[2]) == segment.target.replace("\u202e", "").replace("\u202c", "")
    assert "<script" not in MarkdownIt("commonmark", {"html": True}).enable("table").render(
        render_bilingual(record))


def test_english_markdown_is_plain_paragraphs_without_teasers():
    document = hostile_document()
    record = make_record(document, lambda s: s.text)
    markdown = render_english(record)
    tokens = render_tokens(markdown)
    assert not [t for t in tokens if t.type in ("html_block", "bullet_list_open", "ordered_list_open",
                                                 "blockquote_open", "table_open", "hr")]
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h1"]
    paragraphs = [t for t in tokens if t.type == "paragraph_open"]
    assert len(paragraphs) == len([p for p in document.paragraphs if p.kind == "body"])
    assert "خبر" not in markdown  # the teaser


def test_bilingual_front_matter_and_alignment_on_the_sample(sample_path, glossary_path):
    document = read_article(sample_path)
    glossary = load_glossary(glossary_path)
    record = make_record(document, lambda s: f"English of {s.id}, Kremlin", glossary)
    markdown = render_bilingual(record)
    front = yaml.safe_load(markdown.split("---\n")[1])
    assert front["source"] == str(sample_path)
    assert front["model"] == "test/model"
    assert front["glossary_sha256"] == glossary.sha256
    assert front["scores"]["term_success_rate"] == record.scores.term_success_rate
    assert {"date", "title", "backend"} <= set(front)
    rows = cells_by_row(render_tokens(markdown))
    arabic_cells = [cell_text(row[1]) for row in rows if cell_text(row[0]).startswith("p")]
    for segment in document.segments:
        assert arabic_cells.count(segment.text) == 1
    english = {cell_text(row[0]): cell_text(row[2]) for row in rows}
    assert english["p3.s0"] == "English of p3.s0, Kremlin"
    related_section = markdown.split("## Related")[1]
    assert "p12.s0" in related_section and "p16.s0" in related_section and "p11.s0" not in related_section


def test_missed_terms_are_visible_to_editors(sample_path, glossary_path):
    record = make_record(read_article(sample_path), lambda s: "nothing", load_glossary(glossary_path))
    row = next(line for line in render_bilingual(record).splitlines() if line.startswith("| p5.s0 "))
    assert "glossary term missing: Friday, Russia, Crocus City Hall, concert" in row
    assert '<mark class="missed" title="Crocus City Hall">قاعة كروكوس سيتي</mark>' in row


def test_terms_are_marked_on_both_sides_and_summarised(sample_path, glossary_path):
    document = read_article(sample_path)
    record = make_record(document, lambda s: "The Kremlin | <b>and the kremlin</b> said" if s.id == "p1.s0"
                         else "nothing", load_glossary(glossary_path))
    markdown = render_bilingual(record)
    rows = {cell_text(row[0]): row for row in cells_by_row(render_tokens(markdown))}
    arabic_html = "".join(child.content for token in rows["p1.s0"][1] for child in token.children)
    english_html = "".join(child.content for token in rows["p1.s0"][2] for child in token.children)
    # Arabic: every matched term marked with its English; hits plain, misses with class "missed".
    assert '<mark title="Kremlin">' in arabic_html and '<mark class="missed" title="Moscow">' in arabic_html
    assert arabic_html.count("<mark") == len(record.segments[1].terms)
    # English: each occurrence of a hit target marked; hostile text stays text and the row stays one row.
    assert english_html.count('<mark title="glossary: Kremlin">') == 2
    assert cell_text(rows["p1.s0"][2]) == "The Kremlin | <b>and the kremlin</b> said"
    assert len(rows["p1.s0"]) == 4
    summary = markdown.split("## Glossary terms")[1]
    kremlin = next(line for line in summary.splitlines() if "| Kremlin |" in line)
    assert kremlin.endswith("| 4 | 1 | 75% |")
    front = yaml.safe_load(markdown.split("---\n")[1])
    assert front["scores"]["term_consistency"] == record.scores.term_consistency


def test_quality_flags_are_marked_for_editors(sample_path):
    document = read_article(sample_path)
    english = {"p5.s0": "134 people died", "p7.s0": "", "p8.s0": "It said said said said so."}
    record = make_record(document, lambda s: english.get(s.id, "Plain English text of a sentence in the story."))
    segments = {s.id: s for s in build_segment_records(document, [
        SegmentTranslation(s.id, english.get(s.id, "Plain English text of a sentence in the story."), 1)
        for s in document.segments])}
    assert "number_mismatch" in segments["p5.s0"].flags and segments["p7.s0"].flags == ("empty_output",)
    assert "repetition" in segments["p8.s0"].flags
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in render_bilingual(record).splitlines()
            if line.startswith("| p")}
    assert "⚠ numbers differ from the Arabic" in rows["p5.s0"]
    assert "⚠ no English came out" in rows["p7.s0"]
    assert "repeated words" in rows["p8.s0"]
    assert record.scores.flags["empty_output"] == 1


def test_english_marks_survive_case_folding_that_changes_length(sample_path, glossary_path):
    record = make_record(read_article(sample_path), lambda s: "İİ said Moscow." if s.id == "p1.s0" else "",
                         load_glossary(glossary_path))
    row = next(line for line in render_bilingual(record).splitlines() if line.startswith("| p1.s0 "))
    assert 'İİ said <mark title="glossary: Moscow">Moscow</mark>.' in row


def test_publish_writes_four_files_and_nothing_else(tmp_path, sample_path):
    record = make_record(read_article(sample_path), lambda s: "text")
    paths = publish(record, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name != ".tarjama") == sorted(
        ["crocus-city-hall.ar.bilingual.md", "crocus-city-hall.ar.en.md", "crocus-city-hall.ar.run.json",
         "crocus-city-hall.ar.report.html"])
    assert paths == output_paths(tmp_path / "out", "crocus-city-hall.ar")
    assert paths.run is record  # what was published comes back with the paths
    assert json.loads(paths.record.read_text(encoding="utf-8"))["source"] == str(sample_path)


def failing_call_on(monkeypatch, name, failing_call, module=os):
    real = getattr(module, name)
    calls = []

    def fail_once(src, dst):
        calls.append(dst)
        if len(calls) == failing_call:
            raise OSError("disk full")
        real(src, dst)

    monkeypatch.setattr(module, name, fail_once)


@pytest.mark.parametrize("failing_call", [1, 2, 3])
def test_a_failed_write_leaves_no_file_behind(tmp_path, monkeypatch, failing_call):
    failing_call_on(monkeypatch, "replace", failing_call)
    paths = [tmp_path / "a.md", tmp_path / "b.json", tmp_path / "c.md"]
    with pytest.raises(RunError) as caught:  # the OSError, told as the file that was not written and why
        write_atomically({path: path.stem for path in paths})
    failed = paths[failing_call - 1]
    assert caught.value.describe() == f"{failed}: not written (the earlier outputs are as they were): disk full"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("call", "failing_call"), [("replace", 1), ("replace", 2), ("replace", 3),
                                                     ("copy2", 1), ("copy2", 2)])
def test_a_failed_rewrite_keeps_the_previous_outputs(tmp_path, monkeypatch, call, failing_call):
    paths = [tmp_path / "a.md", tmp_path / "b.json", tmp_path / "c.md"]
    for path in paths:
        path.write_text("old " + path.name, encoding="utf-8")
    if call == "copy2":  # a file system without hard links: backups are copies, which may fail too
        monkeypatch.setattr(os, "link", lambda src, dst: (_ for _ in ()).throw(OSError("no hard links")))
        failing_call_on(monkeypatch, "copy2", failing_call, module=shutil)
    else:
        failing_call_on(monkeypatch, call, failing_call)
    with pytest.raises(RunError) as caught:  # the OSError, told as the file that was not written and why
        write_atomically({path: "new" for path in paths})
    failed = paths[failing_call - 1]
    assert caught.value.describe() == f"{failed}: not written (the earlier outputs are as they were): disk full"
    assert sorted(tmp_path.iterdir()) == sorted(paths)
    assert [p.read_text(encoding="utf-8") for p in paths] == ["old " + p.name for p in paths]


def test_a_published_file_never_goes_missing_while_the_new_one_is_swapped_in(tmp_path, monkeypatch):
    # A reader (or a kill -9) at any moment finds every output, old or new, never a gap.
    paths = [tmp_path / "a.md", tmp_path / "b.json"]
    for path in paths:
        path.write_text("old", encoding="utf-8")
    real_replace, seen = os.replace, []

    def replace(src, dst):
        seen.append(all(p.exists() for p in paths))
        real_replace(src, dst)
        seen.append(all(p.exists() for p in paths))

    monkeypatch.setattr(os, "replace", replace)
    write_atomically({path: "new" for path in paths})
    assert seen == [True] * 4  # before and after each of the two swaps
    assert [p.read_text(encoding="utf-8") for p in paths] == ["new", "new"]
    assert sorted(tmp_path.iterdir()) == sorted(paths)  # no backup left


def test_publish_swaps_the_record_in_last_and_clears_a_killed_run_s_leftovers(tmp_path, sample_path, monkeypatch):
    record = make_record(read_article(sample_path), lambda s: "text")
    out = tmp_path / "out"
    paths = publish(record, out)
    runs = out / ".tarjama" / "runs" / record.document.stem
    leftovers = [out / f".{paths.english.name}.x1.tmp", out / f".{paths.record.name}.x2.bak",
                 runs / f".{record.run_id}.json.x3.tmp"]
    for leftover in leftovers:
        leftover.write_text("from a killed run", encoding="utf-8")
    real_replace, order = os.replace, []
    monkeypatch.setattr(os, "replace", lambda src, dst: (order.append(Path(dst).name), real_replace(src, dst)))
    publish(record, out)
    assert order[-1] == paths.record.name and len(order) == 5  # the four outputs and the run remembered
    # The run is remembered before the bilingual file naming it is swapped in: a kill between the two never
    # leaves a file tied to a run that is not remembered.
    assert order.index(f"{record.run_id}.json") < order.index(paths.bilingual.name)
    assert not any(leftover.exists() for leftover in leftovers)


def test_only_the_newest_runs_of_an_article_are_remembered(tmp_path, sample_path, monkeypatch):
    from dataclasses import replace

    from tarjama.publish import publisher as publishing

    monkeypatch.setattr(publishing, "KEPT_RUNS", 2)
    record = make_record(read_article(sample_path), lambda s: "text")
    out = tmp_path / "out"
    ids = [f"run-{n}" for n in range(4)]
    for number, run_id in enumerate(ids):
        publish(replace(record, run_id=run_id), out)
        remembered = out / ".tarjama" / "runs" / record.document.stem / f"{run_id}.json"
        os.utime(remembered, ns=(number * 10**9, number * 10**9))  # publish order, even on a coarse clock
    kept = sorted(path.stem for path in (out / ".tarjama" / "runs" / record.document.stem).glob("*.json"))
    assert kept == ids[-2:]
    assert publishing.published_run([out], record.document.stem, ids[0]) is None
    assert publishing.published_run([out], record.document.stem, ids[-1]) is not None


def test_an_article_changed_during_its_run_is_not_published(tmp_path, sample_path):
    source = tmp_path / "story.txt"
    source.write_bytes(sample_path.read_bytes())
    record = make_record(read_article(source), lambda s: "text")
    source.write_text(sample_path.read_text(encoding="utf-8")[:200], encoding="utf-8")  # still uploading
    with pytest.raises(RunError, match="changed while it was being translated"):
        publish(record, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("story.*"))


def test_english_marks_only_whole_terms(tmp_path):
    from tarjama.terms.entries import Glossary, GlossaryEntry

    glossary = Glossary(path=Path("g.tsv"), sha256="0", entries=(GlossaryEntry("داعش", "ISIS"),))
    document = segment_text("عنوان\nقال مسؤولون إن داعش وراء الأزمة. وتبنى داعش الهجوم.\n", "a.txt")
    record = make_record(document, lambda s: "Daesh was behind the crisis." if s.id == "p1.s0"
                         else "ISIS claimed the attack.", glossary)
    rows = {line.split(" | ")[0].strip("| "): line for line in render_bilingual(record).splitlines()
            if line.startswith("| p1.")}
    assert "<mark" not in rows["p1.s0"].split(" | ")[2]  # no "cr<mark>isis</mark>"
    assert "glossary term only inside a longer word" in rows["p1.s0"]
    assert '<mark title="glossary: ISIS">ISIS</mark> claimed' in rows["p1.s1"]

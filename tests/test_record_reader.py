"""The one reader of run records: what the writer wrote reads back typed; any damage is one InputError."""

import json
import os
from dataclasses import replace

import pytest
from test_publishing import make_record

from tarjama.errors import InputError
from tarjama.publish.publisher import render_run_record
from tarjama.publish.record import Scores
from tarjama.record.reader import (
    HarvestView,
    MemoryView,
    ParagraphView,
    SegmentView,
    SetAsideView,
    TermView,
    parse_record,
    read_record,
)
from tarjama.scores.scoring import ReferenceScores
from tarjama.terms.glossary import load_glossary
from tarjama.text.articles import read_article
from tarjama.translate.pipeline import SetAsideApproval

MEMORY = {"path": "out/.tarjama/memory.sqlite", "approved": 1, "approvals_set_aside": 1, "reused": 2,
          "translated": 3, "model_inputs": 4, "harvested": 1,
          "harvest": {"approved": ["p1.s0"], "withdrawn": ["p2.s0"], "warnings": ["a warning"]}}


@pytest.fixture(scope="module")
def written(sample_path, glossary_path):
    """A run record as the writer makes it: glossary, memory, reference scores and a set-aside approval."""
    document = read_article(sample_path)
    record = make_record(document, lambda s: f"English of {s.id}.", load_glossary(glossary_path))
    segments = list(record.segments)
    segments[1] = replace(segments[1], flags=(*segments[1].flags, "approval_set_aside"),
                          set_aside=SetAsideApproval("The editor's English.", ("Kremlin",)))
    references = tuple(f"Reference {n}." for n in range(len(document.paragraphs)))
    scores = replace(record.scores, reference=ReferenceScores(10.5, 40.25, 80.0, {"bleu": "B", "chrf": "C",
                                                                                  "ter": "T"}),
                     paragraph_chrf=tuple(float(n) for n in range(len(references))))
    return replace(record, segments=tuple(segments), scores=scores, reference_path="ref.en.txt",
                   reference_lines=references, memory=MEMORY)


def test_a_record_reads_back_as_the_writer_wrote_it(tmp_path, written):
    path = tmp_path / "story.run.json"
    path.write_text(render_run_record(written, "the bilingual text"), encoding="utf-8")
    data = json.loads(path.read_text(encoding="utf-8"))
    view = read_record(path)
    assert (view.path, view.run_id, view.created, view.tarjama_version) == (
        path, written.run_id, written.created, data["tarjama"])
    assert (view.source, view.source_sha256) == (str(written.document.path), written.document.sha256)
    assert view.bilingual_sha256 == data["bilingual_sha256"]
    assert (view.model.name, view.model.backend, view.model.revision, view.model.fingerprint) == (
        "test/model", "transformers", data["model"]["revision"], data["model"]["fingerprint"])
    assert view.decoding.beam_size == 4 and view.decoding.term_rerank_margin == 0.25
    assert (view.glossary.path, view.glossary.sha256, view.glossary.entries) == (
        str(written.glossary.path), written.glossary.sha256, len(written.glossary.entries))
    assert view.strict_terms is False and view.reference == "ref.en.txt"
    assert view.memory == MemoryView(MEMORY, "out/.tarjama/memory.sqlite", 1, 1, 2, 3, 4, 1,
                                     HarvestView(("p1.s0",), ("p2.s0",), ("a warning",)))
    assert len(view.segments) == len(written.segments) and any(s.terms for s in view.segments)
    for segment, entry in zip(view.segments, data["segments"], strict=True):
        assert segment == SegmentView(
            id=entry["id"], source=entry["source"], target=entry["target"], paragraph=entry["paragraph"],
            kind=entry["kind"], start=entry["start"], end=entry["end"], origin=entry["origin"],
            terms=tuple(TermView(t["surface"], t["source"], t["target"], t["start"], t["end"],
                                 tuple(t["proclitics"]), t["hit"], t["how"]) for t in entry["terms"]),
            flags=tuple(entry["flags"]),
            set_aside=SetAsideView(entry["set_aside_approval"]["target"],
                                   tuple(entry["set_aside_approval"]["missing_terms"]))
            if "set_aside_approval" in entry else None)
    assert view.segments[1].set_aside == SetAsideView("The editor's English.", ("Kremlin",))
    assert view.segments_by_id["p0.s0"] is view.segments[0]
    assert view.paragraphs == tuple(ParagraphView(p["english"], p["reference"], p["index"], p["kind"], p["chrf"])
                                    for p in data["paragraphs"])
    scores: Scores = written.scores
    assert (view.scores.term_success_rate, view.scores.terms_matched, view.scores.terms_hit) == (
        scores.term_success_rate, scores.terms_matched, scores.terms_hit)
    assert (view.scores.terms_by_how, view.scores.flags, view.scores.approved) == (
        scores.terms_by_how, scores.flags, scores.approved)
    assert ReferenceScores.from_record(view.scores) == scores.reference


def test_an_older_record_lacking_optional_keys_reads_with_none(tmp_path):
    # What an exchange test or an older tarjama writes: segments with their id, Arabic and English only.
    path = tmp_path / "old.run.json"
    path.write_text(json.dumps({"segments": [{"id": "p0.s0", "source": "نص", "target": "Text."}],
                                "model": {"name": "m"}, "scores": {"term_success_rate": None},
                                "glossary": None, "memory": None}), encoding="utf-8")
    view = read_record(path)
    assert view.segments == (SegmentView("p0.s0", "نص", "Text."),)
    segment = view.segments[0]
    assert (segment.paragraph, segment.kind, segment.start, segment.end, segment.set_aside) == (None,) * 5
    assert (segment.origin, segment.terms, segment.flags, segment.term_targets) == ("model", (), (), ())
    assert (view.run_id, view.created, view.source, view.source_sha256, view.bilingual_sha256) == (None,) * 5
    assert (view.decoding, view.glossary, view.memory, view.paragraphs, view.strict_terms) == (None,) * 5
    assert view.model.name == "m" and view.model.backend is None
    assert view.scores.term_success_rate is None and view.scores.terms_matched is None
    assert ReferenceScores.from_record(view.scores) is None


def test_a_reader_of_other_parts_reads_a_record_without_segments(tmp_path):
    path = tmp_path / "compare.run.json"
    path.write_text(json.dumps({"paragraphs": [{"english": "A.", "reference": None}]}), encoding="utf-8")
    view = read_record(path, segments_required=False)
    assert view.segments == () and view.paragraphs == (ParagraphView("A.", None),)
    with pytest.raises(InputError, match="not a run record: no segments"):
        read_record(path)


GOOD = {"run_id": "r1", "segments": [{"id": "p0.s0", "source": "نص", "target": "Text.", "flags": [],
                                      "terms": [{"surface": "نص", "target": "Text", "hit": True, "how": "model"}]}]}


def changed(**top):
    """The good record with top-level keys replaced (``None``: removed)."""
    data = json.loads(json.dumps(GOOD))
    for key, value in top.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    return json.dumps(data).encode()


def segment_with(**keys):
    """The good record, its segment's keys replaced (``None``: removed)."""
    segment = dict(GOOD["segments"][0])
    for key, value in keys.items():
        if value is None:
            segment.pop(key)
        else:
            segment[key] = value
    return changed(segments=[segment])


@pytest.mark.parametrize(("content", "message", "line"), [
    (None, "no such run record", None),  # no file at all
    ("folder", "is a directory, not a regular file: give the run record itself", None),
    ("fifo", "is a named pipe (FIFO), not a regular file: give the run record itself", None),  # never a hang
    (b'{"segments": []}\n\xff', "not a run record: not valid UTF-8 (byte 0xff)", 2),
    (b'{"segments": [', "not a run record: invalid JSON (Expecting value)", 1),
    (b"\n\n{not json", "not a run record: invalid JSON (Expecting property name enclosed in double quotes)", 3),
    (b"[" * 100_000, "not a run record: nested too deeply", None),
    (b'{"segments": [], "end": ' + b"9" * 5000 + b"}", "not a run record: invalid JSON", None),
    (b"[]", "not a run record: not a JSON object", None),
    (b'"a record"', "not a run record: not a JSON object", None),
    (changed(segments=None), "not a run record: no segments", None),
    (changed(segments={"p0.s0": {}}), "not a run record: segments is not a list", None),
    (changed(segments=["p0.s0"]), "not a run record: segments[0] is not an object", None),
    (segment_with(target=None), "not a run record: segments[0] has no target", None),
    (segment_with(id=3), "not a run record: segments[0].id is not text", None),
    (segment_with(flags="approved"), "not a run record: segments[0].flags is not a list", None),
    (segment_with(flags=[1]), "not a run record: segments[0].flags[0] is not text", None),
    (segment_with(paragraph=True), "not a run record: segments[0].paragraph is not a whole number", None),
    (segment_with(terms=[{"hit": "yes"}]), "not a run record: segments[0].terms[0].hit is not true or false", None),
    (segment_with(set_aside_approval=["x"]), "not a run record: segments[0].set_aside_approval is not an object",
     None),
    (changed(run_id=5), "not a run record: run_id is not text", None),
    (changed(strict_terms="yes"), "not a run record: strict_terms is not true or false", None),
    (changed(model="opus-mt"), "not a run record: model is not an object", None),
    (changed(decoding={"beam_size": "4"}), "not a run record: decoding.beam_size is not a whole number", None),
    (changed(scores={"term_success_rate": "high"}), "not a run record: scores.term_success_rate is not a number",
     None),
    (changed(scores={"flags": {"repetition": 1.5}}), "not a run record: scores.flags.repetition is not a whole number",
     None),
    (changed(memory={"harvest": {"approved": [1]}}), "not a run record: memory.harvest.approved[0] is not text",
     None),
    (changed(paragraphs=[{"reference": "R."}]), "not a run record: paragraphs[0] has no english", None),
])
def test_each_kind_of_damage_is_one_input_error_naming_the_file(tmp_path, content, message, line):
    path = tmp_path / "story.run.json"
    if content == "folder":
        path.mkdir()
    elif content == "fifo":
        os.mkfifo(path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as raised:
        read_record(path)
    error = raised.value
    assert error.message.startswith(message), error.message
    assert (error.path, error.line) == (str(path), line)
    assert error.exit_code == 2


def test_parse_record_reads_text_already_read(tmp_path):
    path = tmp_path / "a.run.json"
    assert parse_record(json.dumps(GOOD), path).segments_by_id["p0.s0"].term_targets == ("Text",)
    with pytest.raises(InputError, match="invalid JSON") as raised:
        parse_record("{", path)
    assert raised.value.path == str(path)


def test_each_reader_keeps_its_own_answer_to_a_damaged_record(tmp_path, written):
    # The inbox translates again, the publisher takes the bilingual file for an edit, the exchange refuses.
    from tarjama.exchange.interchange import export_articles
    from tarjama.publish.publisher import edited_bilingual, output_paths
    from tarjama.runs.inbox import _recorded, up_to_date

    out = tmp_path / "out"
    out.mkdir()
    paths = output_paths(out, "story")
    for path in (paths.bilingual, paths.english, paths.report):
        path.write_text("x", encoding="utf-8")
    paths.record.write_text(render_run_record(written, "x"), encoding="utf-8")
    article = tmp_path / "story.txt"
    article.write_bytes(written.document.path.read_bytes())
    wanted = _recorded(read_record(paths.record))
    assert up_to_date(article, out, wanted) and edited_bilingual(out, "story") is None
    paths.record.write_text('{"segments": [}', encoding="utf-8")
    assert not up_to_date(article, out, wanted)
    assert edited_bilingual(out, "story") == paths.bilingual
    with pytest.raises(InputError, match="not a run record: invalid JSON"):
        export_articles([paths.record])


def test_the_decoding_view_reads_every_option_the_record_writes():
    """A decoding option added to the settings but not to the reader would make every article look changed."""
    import dataclasses

    from tarjama.record.reader import DecodingView
    from tarjama.translate.types import BatchingOptions, DecodingOptions

    written = set(DecodingOptions(min_output_tokens=1, max_output_tokens=9).to_json(BatchingOptions()))
    written.add("term_search")  # a strict record's, always
    assert written == {field.name for field in dataclasses.fields(DecodingView)}

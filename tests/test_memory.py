"""The translation memory: what reaches the model, editor approvals, exchange formats, concurrency."""

import json
import multiprocessing
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from test_enforcement import ScriptedTranslator
from test_publishing import make_record

from tarjama.exchange.bilingual import corrections, harvest_corrections, read_bilingual
from tarjama.exchange.tmx import read_tmx, write_tmx
from tarjama.exchange.xliff import write_xliff
from tarjama.memory.store import TranslationMemory, normalise_source, open_memory, segment_key
from tarjama.publish.publisher import output_paths, publish
from tarjama.terms.entries import Glossary, GlossaryEntry
from tarjama.terms.matching import find_terms
from tarjama.text.articles import segment_text
from tarjama.translate.incremental import prepare
from tarjama.translate.settings import RunSettings

ARTICLE = ("عنوان عن الكرملين\n"
           "قال الكرملين إن موسكو رفضت التحذير. ولم يعلق الملف على التقرير.\n"
           "وصل الوفد إلى كابول صباح الأحد.\n")
GLOSSARY = (GlossaryEntry("الكرملين", "Kremlin"), GlossaryEntry("موسكو", "Moscow"),
            GlossaryEntry("الملف", "Dossier Center"))


def english(text):
    return [f"English of {len(text)} characters."]


def run_article(memory, text=ARTICLE, entries=GLOSSARY, strict=False):
    """One run through the memory with a fake model; returns (translations, texts the model received)."""
    document = segment_text(text, "a.txt")
    glossary = Glossary(path=Path("g.tsv"), sha256="0", entries=tuple(entries))
    translator = ScriptedTranslator(english)
    work = prepare(document.segments, find_terms(document, glossary), translator, RunSettings(strict_terms=strict),
                   memory=memory)
    results = work.run()
    return {t.segment_id: t for t in results}, [text for call in translator.calls for text in call[0]], work.stats


def test_an_unchanged_rerun_does_no_model_work(tmp_path):
    with open_memory(tmp_path / "tm.sqlite") as memory:
        first, sent, stats = run_article(memory)
        assert len(sent) == 4 and stats.translated == 4
        again, sent, stats = run_article(memory)
    assert sent == [] and (stats.reused, stats.translated) == (4, 0)
    assert {k: v.target for k, v in again.items()} == {k: v.target for k, v in first.items()}
    assert all(t.origin == "memory" for t in again.values())
    assert [o.how for o in again["p1.s0"].terms] == [o.how for o in first["p1.s0"].terms]


def test_one_edited_sentence_is_the_only_one_retranslated(tmp_path):
    with open_memory(tmp_path / "tm.sqlite") as memory:
        run_article(memory)
        edited = ARTICLE.replace("صباح الأحد", "مساء الأحد")
        _, sent, stats = run_article(memory, edited)
    assert sent == ["وصل الوفد إلى كابول مساء الأحد."] and (stats.reused, stats.translated) == (3, 1)


def test_a_glossary_change_retranslates_only_the_sentences_it_touches(tmp_path):
    with open_memory(tmp_path / "tm.sqlite") as memory:
        run_article(memory)
        changed = (GlossaryEntry("الكرملين", "Kremlin"), GlossaryEntry("موسكو", "Moscow"),
                   GlossaryEntry("الملف", "the Dossier Center"))
        _, sent, _ = run_article(memory, entries=changed)
        assert sent == ["ولم يعلق الملف على التقرير."]
        added = (*changed, GlossaryEntry("كابول", "Kabul"))
        _, sent, _ = run_article(memory, entries=added)
        assert sent == ["وصل الوفد إلى كابول صباح الأحد."]


def test_other_settings_make_other_keys():
    base = {"model": "m", "revision": None, "backend": "transformers", "decoding": {"beam_size": 4},
            "strict_terms": False}
    key = segment_key("قال الكرملين.", base, [("الكرملين", "Kremlin")])
    assert key == segment_key(" قال  الكرملين.\u200f", base, [("الكرملين", "Kremlin")])  # normalised source
    for change in ({"model": "n"}, {"revision": "abc"}, {"backend": "ctranslate2"}, {"decoding": {"beam_size": 1}},
                   {"strict_terms": True}):
        assert segment_key("قال الكرملين.", {**base, **change}, [("الكرملين", "Kremlin")]) != key
    assert segment_key("قال الكرملين.", base, [("الكرملين", "The Kremlin")]) != key


def test_approved_sentences_are_reused_never_changed_and_expire_with_their_source(tmp_path):
    with open_memory(tmp_path / "tm.sqlite") as memory:
        run_article(memory)
        memory.approve([("قال الكرملين إن موسكو رفضت التحذير.", "The Kremlin said it had rejected the warning.")],
                       origin="editor")
        results, sent, stats = run_article(memory)  # the approved English is used as is, even missing a term
        approved = results["p1.s0"]
        assert approved.target == "The Kremlin said it had rejected the warning." and approved.origin == "approved"
        assert "approved" in approved.flags and "term_missed" in approved.flags
        assert [(o.match.target, o.how) for o in approved.terms] == [("Kremlin", "approved"), ("Moscow", "missed")]
        assert stats.approved == 1 and "قال الكرملين إن موسكو رفضت التحذير." not in sent
        # Strict mode puts every term in (the contract): the approval missing Moscow is set aside for
        # this run, translated again and flagged, and stays in the memory.
        results, sent, stats = run_article(memory, strict=True)
        redone = results["p1.s0"]
        assert redone.origin == "model" and "approval_set_aside" in redone.flags and "approved" not in redone.flags
        assert all(o.hit for o in redone.terms) and "Moscow" in redone.target
        assert stats.approved == 0 and stats.approvals_set_aside == 1
        assert "قال الكرملين إن موسكو رفضت التحذير." in sent
        assert memory.approved("قال الكرملين إن موسكو رفضت التحذير.").target == approved.target
        changed = ARTICLE.replace("رفضت التحذير", "قبلت التحذير")
        results, sent, _ = run_article(memory, changed)
        assert results["p1.s0"].origin == "model" and sent == ["قال الكرملين إن موسكو قبلت التحذير."]


def test_editor_corrections_in_the_bilingual_file(tmp_path):
    document = segment_text(ARTICLE, tmp_path / "story.txt")
    record = make_record(document, lambda s: f"Machine English of {s.id}.")
    paths = publish(record, tmp_path / "out")
    assert corrections(paths.bilingual) == []  # nothing edited yet
    text = paths.bilingual.read_text(encoding="utf-8")
    edited = text.replace("Machine English of p1.s1.", "The Dossier Center did not comment \\| on the report.")
    paths.bilingual.write_text(edited, encoding="utf-8")
    assert corrections(paths.bilingual) == [("ولم يعلق الملف على التقرير.",
                                             "The Dossier Center did not comment | on the report.")]
    assert len(corrections(paths.bilingual, everything=True)) == len(document.segments)
    rows = read_bilingual(paths.bilingual)
    assert [r.segment_id for r in rows] == [s.id for s in document.segments]
    # A run finds the edit by itself before rewriting the file: nobody has to remember `tm import`.
    with open_memory(tmp_path / "tm.sqlite") as memory:
        assert harvest_corrections(tmp_path / "out", "story", memory) == 1
        assert memory.approved("ولم يعلق الملف على التقرير.").target.endswith("| on the report.")
    publish(record, tmp_path / "out")
    with open_memory(tmp_path / "tm2.sqlite") as memory:
        assert harvest_corrections(tmp_path / "out", "story", memory) == 0  # rewritten by tarjama: no edit


def test_tmx_and_xliff_read_back_with_translate_toolkit(tmp_path):
    from translate.storage import tmx, xliff2

    pairs = [("قال الكرملين <b>&", "The Kremlin said <b> & \"more\"", "approved"), ("موسكو", "Moscow", "machine")]
    tmx_file = tmx.tmxfile.parsestring(write_tmx(pairs).encode("utf-8"))
    assert [(u.source, u.target) for u in tmx_file.units] == [(s, t) for s, t, _ in pairs]
    xliff_file = xliff2.Xliff2File.parsestring(write_xliff(pairs).encode("utf-8"))
    assert (xliff_file.sourcelanguage, xliff_file.targetlanguage) == ("ar", "en")
    assert [(u.source, u.target, u.isapproved()) for u in xliff_file.units] == [
        (s, t, status == "approved") for s, t, status in pairs]
    # A TMX written by another tool (translate-toolkit) seeds our memory.
    other = tmx.tmxfile(sourcelanguage="ar", targetlanguage="en")
    other.addtranslation("وصل الوفد.", "ar", "The delegation arrived.", "en")
    path = tmp_path / "other.tmx"
    path.write_bytes(bytes(other))
    assert read_tmx(path) == [("وصل الوفد.", "The delegation arrived.", "approved")]


def _write_many(path, worker):
    with open_memory(path) as memory:
        for n in range(20):
            memory.approve([(f"جملة {worker} {n}", f"sentence {worker} {n}")], origin=f"worker {worker}")


def test_concurrent_writers_never_corrupt_the_memory(tmp_path):
    path = tmp_path / "tm.sqlite"
    processes = [multiprocessing.get_context("spawn").Process(target=_write_many, args=(path, w)) for w in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    with open_memory(path) as memory:
        assert memory.counts()["approved"] == 80
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _publish_repeatedly(out_dir, label):
    document = segment_text(ARTICLE, Path(out_dir) / "story.txt")
    record = make_record(document, lambda s: f"{label} English of {s.id}.")
    from tarjama.publish.publisher import article_lock

    for _ in range(15):
        with article_lock(Path(out_dir), "story"):
            publish(record, Path(out_dir))


def test_concurrent_runs_never_interleave_an_articles_outputs(tmp_path):
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_publish_repeatedly, args=(tmp_path, label)) for label in ("First", "Second")]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    paths = output_paths(tmp_path, "story")
    record = json.loads(paths.record.read_text(encoding="utf-8"))
    label = record["segments"][1]["target"].split()[0]
    for path in (paths.bilingual, paths.english, paths.report):
        text = path.read_text(encoding="utf-8")
        assert f"{label} English" in text and ({"First", "Second"} - {label}).pop() + " English" not in text


def test_sources_are_normalised_for_lookup():
    assert normalise_source("  قال\u200f  الكرملين \n") == "قال الكرملين"
    assert normalise_source("ا\u0653") == "آ"  # NFC


def test_a_memory_from_a_newer_tarjama_is_refused(tmp_path):
    path = tmp_path / "tm.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    from tarjama.errors import InputError

    with pytest.raises(InputError, match="newer tarjama"):
        TranslationMemory(path)


def published_story(tmp_path, label="Machine"):
    document = segment_text(ARTICLE, tmp_path / "story.txt")
    return document, publish(make_record(document, lambda s: f"{label} English of {s.id}."), tmp_path / "out")


def test_a_kill_while_publishing_is_not_mistaken_for_an_edit(tmp_path):
    from tarjama.publish.publisher import mark_known, render_bilingual

    document, paths = published_story(tmp_path)
    newer = render_bilingual(make_record(document, lambda s: f"Newer English of {s.id}."))
    mark_known(tmp_path / "out", "story", newer.encode("utf-8"))  # what publish does before swapping
    paths.bilingual.write_text(newer, encoding="utf-8")  # killed after the first rename: old record beside it
    with open_memory(tmp_path / "tm.sqlite") as memory:
        assert harvest_corrections(tmp_path / "out", "story", memory) == 0
        assert memory.counts()["approved"] == 0


def test_a_run_never_overwrites_an_edit_it_has_not_harvested(tmp_path):
    from tarjama.errors import RunError

    document, paths = published_story(tmp_path)
    edited = paths.bilingual.read_text(encoding="utf-8").replace("Machine English of p2.s0.", "Editor's English.")
    paths.bilingual.write_text(edited, encoding="utf-8")
    with pytest.raises(RunError, match="tm import"):
        publish(make_record(document, lambda s: "Rerun."), tmp_path / "out")
    assert paths.bilingual.read_text(encoding="utf-8") == edited  # untouched
    with open_memory(tmp_path / "tm.sqlite") as memory:
        assert harvest_corrections(tmp_path / "out", "story", memory) == 1
    publish(make_record(document, lambda s: "Rerun."), tmp_path / "out")  # harvested: may be rewritten now


def test_a_bare_pipe_in_an_edited_row_is_refused_with_its_line(tmp_path):
    from tarjama.errors import InputError

    _, paths = published_story(tmp_path)
    lines = paths.bilingual.read_text(encoding="utf-8").splitlines()
    number = next(n for n, line in enumerate(lines) if line.startswith("| p1.s0 |"))
    lines[number] = lines[number].replace("Machine English of p1.s0.", "The Kremlin said | Moscow refused.")
    paths.bilingual.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_bilingual(paths.bilingual)
    assert caught.value.line == number + 1


def test_tmx_import_keeps_machine_units_and_existing_approvals_out(tmp_path):
    path = tmp_path / "ours.tmx"
    path.write_text(write_tmx([("قال الكرملين.", "Editor English.", "approved"),
                               ("وصل الوفد.", "machine english", "machine")]), encoding="utf-8")
    assert read_tmx(path) == [("قال الكرملين.", "Editor English.", "approved"),
                              ("وصل الوفد.", "machine english", "machine")]
    with open_memory(tmp_path / "tm.sqlite") as memory:
        memory.approve([("قال الكرملين.", "Our editor's English.")], origin="editor")
        stored = memory.approve([("قال الكرملين.", "Editor English.")], origin=str(path), replace=False)
        assert stored == 0 and memory.approved("قال الكرملين.").target == "Our editor's English."


def test_tmx_inline_codes_and_entities(tmp_path):
    from tarjama.errors import InputError

    path = tmp_path / "cat.tmx"
    path.write_text('<?xml version="1.0"?><tmx version="1.4"><header/><body><tu>'
                    '<tuv xml:lang="ar"><seg>قال <bpt i="1">&lt;b&gt;</bpt>الكرملين<ept i="1">&lt;/b&gt;</ept>.</seg>'
                    '</tuv><tuv xml:lang="en-GB"><seg>The <ph>&lt;br/&gt;</ph>Kremlin said.</seg></tuv>'
                    "</tu></body></tmx>", encoding="utf-8")
    assert read_tmx(path) == [("قال الكرملين.", "The Kremlin said.", "approved")]
    bomb = tmp_path / "bomb.tmx"
    bomb.write_text('<?xml version="1.0"?>\n<!-- ' + "x" * 5000 + ' -->\n<!DOCTYPE tmx [<!ENTITY a "aaaa">]>'
                    "<tmx><body><tu><tuv xml:lang='ar'><seg>&a;</seg></tuv></tu></body></tmx>", encoding="utf-16")
    with pytest.raises(InputError, match="entity"):
        read_tmx(bomb)


def test_control_characters_do_not_break_approval_or_exchange(tmp_path):
    assert normalise_source("قال\x01 الكرملين") == "قال الكرملين"
    from xml.etree import ElementTree

    pairs = [("a\x0cb", "c\x01d", "approved"), ("قال\x02 الكرملين.", "The\x1b Kremlin said.", "machine")]
    tmx = write_tmx(pairs)
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    assert [(unit.get("tuid"), [(prop.get("type"), prop.text) for prop in unit.iter("prop")],
             [(variant.get(lang), variant.find("seg").text) for variant in unit.iter("tuv")])
            for unit in ElementTree.fromstring(tmx).iter("tu")] == [
        ("1", [("x-tarjama-status", "approved")], [("ar", "ab"), ("en", "cd")]),
        ("2", [("x-tarjama-status", "machine")], [("ar", "قال الكرملين."), ("en", "The Kremlin said.")])]
    ns = "{urn:oasis:names:tc:xliff:document:2.0}"
    xliff = ElementTree.fromstring(write_xliff(pairs))
    assert [(unit.get("id"), segment.get("state"), segment.find(f"{ns}source").text, segment.find(f"{ns}target").text)
            for unit in xliff.iter(f"{ns}unit") for segment in unit.iter(f"{ns}segment")] == [
        ("u1", "final", "ab", "cd"), ("u2", "translated", "قال الكرملين.", "The Kremlin said.")]
    (tmp_path / "m.tmx").write_text(tmx, encoding="utf-8")
    assert read_tmx(tmp_path / "m.tmx") == [("ab", "cd", "approved"), ("قال الكرملين.", "The Kremlin said.", "machine")]


def test_an_approved_correction_of_a_date_line_is_used(tmp_path):
    article = "عنوان\n٢٠٢٤/٣/٢٢\nقال الكرملين.\n"
    with open_memory(tmp_path / "tm.sqlite") as memory:
        memory.approve([("٢٠٢٤/٣/٢٢", "22 March 2024")], origin="editor")
        results, _, _ = run_article(memory, article)
    assert results["p1.s0"].target == "22 March 2024" and results["p1.s0"].origin == "approved"


def test_an_edited_article_is_not_up_to_date_for_the_inbox(tmp_path):
    from tarjama.runs.inbox import up_to_date

    _, paths = published_story(tmp_path)
    paths.bilingual.write_text(paths.bilingual.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    (tmp_path / "story.txt").write_text(ARTICLE, encoding="utf-8")
    from tarjama.record.reader import read_record
    from tarjama.runs.inbox import _recorded

    assert not up_to_date(tmp_path / "story.txt", tmp_path / "out", _recorded(read_record(paths.record)))


def test_imported_corrections_make_the_article_due_for_publishing_again(tmp_path):
    # The editor's approved English belongs in NAME.en.md: after `tm import` the next scheduled run
    # must republish, though neither the article nor the settings changed.
    from tarjama.record.reader import read_record
    from tarjama.runs.inbox import _recorded, up_to_date

    _, paths = published_story(tmp_path)
    (tmp_path / "story.txt").write_text(ARTICLE, encoding="utf-8")
    wanted = _recorded(read_record(paths.record))
    assert up_to_date(tmp_path / "story.txt", tmp_path / "out", wanted)
    edit_row(paths.bilingual, "p2.s0", "The delegation reached Kabul on Sunday morning.")
    with open_memory(tmp_path / "out" / ".tarjama" / "memory.sqlite") as memory:
        assert harvest_corrections(tmp_path / "out", "story", memory) == 1  # what tm import does, too
    assert not up_to_date(tmp_path / "story.txt", tmp_path / "out", wanted)


def edit_row(path, segment_id, english):
    """Replace one row's English cell, as an editor would in a text editor."""
    lines = path.read_text(encoding="utf-8").split("\n")
    number = next(n for n, line in enumerate(lines) if line.startswith(f"| {segment_id} |"))
    cells = lines[number].split(" | ")
    cells[2] = english
    lines[number] = " | ".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")


def remember_machine(memory, record):
    """What a run's memory holds: each sentence's machine English."""
    from tarjama.memory.store import MachineEntry

    memory.remember(MachineEntry(key=f"k{s.id}{s.target}", source=normalise_source(s.source), target=s.target,
                                 flags=(), term_hows=(), settings={}) for s in record.segments)


def test_a_file_saved_from_an_earlier_run_approves_only_the_editor_s_changes(tmp_path):
    from tarjama.errors import InputError

    document = segment_text(ARTICLE, tmp_path / "story.txt")
    old = make_record(document, lambda s: f"Old English of {s.id}.")
    paths = publish(old, tmp_path / "out")
    stale = paths.bilingual.read_text(encoding="utf-8")  # the editor's open buffer
    # A paragraph is inserted and a newer run republishes: every id after it now means another sentence.
    moved = segment_text(ARTICLE.replace("\n", "\nفقرة جديدة أضافها المحرر.\n", 1), tmp_path / "story.txt")
    new = make_record(moved, lambda s: f"New English of {s.id}.")
    publish(new, tmp_path / "out")
    paths.bilingual.write_text(stale, encoding="utf-8")
    edit_row(paths.bilingual, "p2.s0", "The delegation reached Kabul on Sunday morning.")
    # Every published run is remembered (a file of any of them is judged against what it showed); a run
    # forgotten (here: its snapshot deleted) leaves only the memory to judge by.
    shutil.rmtree(tmp_path / "out" / ".tarjama" / "runs")
    with open_memory(tmp_path / "tm.sqlite") as memory:
        # The memory knows nothing of the old run: nothing tells its machine English from an edit.
        with pytest.raises(InputError, match="not one tarjama remembers"):
            corrections(paths.bilingual, memory=memory)
        remember_machine(memory, old)
        remember_machine(memory, new)
        assert corrections(paths.bilingual, memory=memory) == [
            ("وصل الوفد إلى كابول صباح الأحد.", "The delegation reached Kabul on Sunday morning.")]
        assert harvest_corrections(tmp_path / "out", "story", memory) == 1
        assert memory.counts()["approved"] == 1


def test_an_editor_s_markup_is_kept_as_text(tmp_path):
    _, paths = published_story(tmp_path)
    typed = {"p1.s0": "The spokesman for <name of the ministry> said x<y and y>z.",
             "p1.s1": "Police told *Novaya Gazeta* (see [the statement](https://mvd.ru/news/1)) `ok`.",
             "p2.s0": "The delegation reached <https://example.org/kabul> &amp; __Kabul__."}
    for segment_id, english in typed.items():
        edit_row(paths.bilingual, segment_id, english)
    found = dict((row.segment_id, row.target) for row in read_bilingual(paths.bilingual))
    assert found["p1.s0"] == typed["p1.s0"]
    assert found["p1.s1"] == typed["p1.s1"]
    assert found["p2.s0"] == "The delegation reached <https://example.org/kabul> & __Kabul__."
    assert found["p0.s0"] == "Machine English of p0.s0."  # tarjama's own marks and spans are not text


def test_one_sentence_edited_two_ways_is_refused_and_repeats_count_once(tmp_path):
    from tarjama.errors import InputError

    text = "عنوان\nقتل 137 شخصا في موسكو.\nقتل 137 شخصا في موسكو.\n"
    document = segment_text(text, tmp_path / "story.txt")
    paths = publish(make_record(document, lambda s: f"Machine English of {s.id}."), tmp_path / "out")
    edit_row(paths.bilingual, "p1.s0", "137 people were killed in Moscow.")
    edit_row(paths.bilingual, "p2.s0", "In Moscow, 137 people died.")
    with pytest.raises(InputError, match=r"repeats the Arabic of p1\.s0") as caught:
        corrections(paths.bilingual)
    assert caught.value.line is not None
    edit_row(paths.bilingual, "p2.s0", "137 people were killed in Moscow.")
    assert corrections(paths.bilingual) == [("قتل 137 شخصا في موسكو.", "137 people were killed in Moscow.")]
    with open_memory(tmp_path / "tm.sqlite") as memory:
        assert harvest_corrections(tmp_path / "out", "story", memory) == 1
    # The usual case: one of the two corrected, the other left as the machine wrote it.
    edit_row(paths.bilingual, "p2.s0", "Machine English of p2.s0.")
    assert corrections(paths.bilingual) == [("قتل 137 شخصا في موسكو.", "137 people were killed in Moscow.")]


def test_tm_import_lets_the_next_run_publish_and_a_missing_record_protects_the_edit(tmp_path, cli_env):
    import subprocess

    from tarjama.errors import RunError
    from tarjama.publish.publisher import edited_bilingual

    document, paths = published_story(tmp_path)
    edit_row(paths.bilingual, "p2.s0", "Editor's English.")
    tarjama = Path(sys.executable).parent / "tarjama"
    done = subprocess.run([str(tarjama), "tm", "import", str(paths.bilingual)], env=cli_env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("1 sentence approved"), done.stderr
    assert edited_bilingual(tmp_path / "out", "story") is None  # dealt with: a --no-memory run may rewrite it
    publish(make_record(document, lambda s: "Rerun."), tmp_path / "out")
    # An edited file whose record went away is still an edit: refused, not overwritten.
    edit_row(paths.bilingual, "p1.s0", "Another edit.")
    paths.record.unlink()
    assert edited_bilingual(tmp_path / "out", "story") == paths.bilingual
    with pytest.raises(RunError, match="tm import"):
        publish(make_record(document, lambda s: "Third run."), tmp_path / "out")
    assert "Another edit." in paths.bilingual.read_text(encoding="utf-8")


def test_a_damaged_record_is_bad_input_not_a_crash(tmp_path):
    from tarjama.errors import InputError

    _, paths = published_story(tmp_path)
    record = json.loads(paths.record.read_text(encoding="utf-8"))
    record["segments"][0]["target"] = None
    paths.record.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(InputError, match="not a run record"):
        corrections(paths.bilingual)


def test_a_memory_being_created_by_another_process_is_waited_for(tmp_path, monkeypatch):
    # While another process creates the file, SQLite answers the switch to WAL with "locked" at
    # once, whatever the busy timeout: the memory must wait as for any write, not fail the run.
    import tarjama.memory.store

    refusals = []

    class CreatingElsewhere(sqlite3.Connection):
        def execute(self, sql, *args):
            if "journal_mode" in sql and len(refusals) < 3:
                refusals.append(sql)
                raise sqlite3.OperationalError("database is locked")
            return super().execute(sql, *args)

    real_connect = sqlite3.connect
    monkeypatch.setattr(tarjama.memory.store.sqlite3, "connect",
                        lambda *args, **kwargs: real_connect(*args, factory=CreatingElsewhere, **kwargs))
    with open_memory(tmp_path / "tm.sqlite") as memory:
        assert memory.approve([("قال الكرملين.", "The Kremlin said.")], origin="editor") == 1
    assert len(refusals) == 3


def test_an_edit_equal_to_another_machine_english_is_still_an_edit(tmp_path):
    # In a file from the record's own run, what differs from that record is the editor's, even when
    # it happens to be what another model or setting once wrote (the memory holds that English).
    document = segment_text(ARTICLE, tmp_path / "story.txt")
    soft = make_record(document, lambda s: f"Soft English of {s.id}.")
    strict = make_record(document, lambda s: f"Strict English of {s.id}.")
    paths = publish(strict, tmp_path / "out")
    edit_row(paths.bilingual, "p2.s0", "Soft English of p2.s0.")
    with open_memory(tmp_path / "out" / ".tarjama" / "memory.sqlite") as memory:
        remember_machine(memory, soft)
        remember_machine(memory, strict)
        assert corrections(paths.bilingual, memory=memory) == [("وصل الوفد إلى كابول صباح الأحد.",
                                                                 "Soft English of p2.s0.")]


def test_without_a_record_the_memory_tells_the_edits(tmp_path):
    from tarjama.errors import InputError

    document, paths = published_story(tmp_path)
    record = make_record(document, lambda s: f"Machine English of {s.id}.")
    edit_row(paths.bilingual, "p2.s0", "Editor's English.")
    paths.record.unlink()
    shutil.rmtree(tmp_path / "out" / ".tarjama" / "runs")  # nor the run remembered: the file is untied
    with open_memory(tmp_path / "out" / ".tarjama" / "memory.sqlite") as memory:
        with pytest.raises(InputError, match="no run record beside it"):
            corrections(paths.bilingual, memory=memory)  # the memory knows nothing yet
        remember_machine(memory, record)
        assert corrections(paths.bilingual, memory=memory) == [("وصل الوفد إلى كابول صباح الأحد.",
                                                                 "Editor's English.")]
        assert harvest_corrections(tmp_path / "out", "story", memory) == 1


def test_a_byte_order_mark_does_not_hide_the_run_id(tmp_path):
    from tarjama.exchange.bilingual import read_bilingual_file

    _, paths = published_story(tmp_path)
    run_id = json.loads(paths.record.read_text(encoding="utf-8"))["run_id"]
    paths.bilingual.write_bytes(b"\xef\xbb\xbf" + paths.bilingual.read_bytes().replace(b"\n", b"\r\n"))
    assert read_bilingual_file(paths.bilingual).run_id == run_id


def test_tm_import_into_another_memory_leaves_the_edit_for_the_folder_s_runs(tmp_path, cli_env):
    import subprocess

    from tarjama.publish.publisher import edited_bilingual

    _, paths = published_story(tmp_path)
    edit_row(paths.bilingual, "p2.s0", "Editor's English.")
    tarjama = Path(sys.executable).parent / "tarjama"
    done = subprocess.run([str(tarjama), "tm", "import", str(paths.bilingual), "--memory", str(tmp_path / "o.sqlite")],
                          env=cli_env, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("1 sentence approved"), done.stderr
    # This folder's runs have not got the edit yet: the next one must harvest it, not overwrite it.
    assert edited_bilingual(tmp_path / "out", "story") == paths.bilingual

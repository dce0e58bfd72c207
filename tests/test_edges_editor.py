"""Issue 12, editor round-trip: `tm import` approves exactly what the editor changed, nothing more, nothing lost."""

import json
import sqlite3
from pathlib import Path

import pytest
from test_cli import run
from test_publishing import make_record

from tarjama.cli import main
from tarjama.memory.store import MachineEntry, normalise_source, open_memory
from tarjama.publish.publisher import edited_bilingual, output_paths, publish
from tarjama.terms.entries import Glossary, GlossaryEntry
from tarjama.text.articles import segment_text

ARTICLE = ("عنوان عن الكرملين\n"
           "قال الكرملين إن موسكو رفضت التحذير. ولم يعلق الملف على التقرير.\n"
           "وصل الوفد إلى كابول صباح الأحد.\n")
GLOSSARY = Glossary(path=Path("g.tsv"), sha256="0", entries=(GlossaryEntry("الكرملين", "Kremlin"),
                                                            GlossaryEntry("موسكو", "Moscow")))


def published(tmp_path, english=lambda s: f"Machine English of {s.id}.", glossary=None, strict=False):
    document = segment_text(ARTICLE, tmp_path / "story.txt")
    record = make_record(document, english, glossary, strict)
    return record, publish(record, tmp_path / "out")


def remember(memory_path, record):
    """What a run's memory holds: each sentence's machine English."""
    with open_memory(memory_path) as memory:
        memory.remember(MachineEntry(key=f"k{s.id}{s.target}", source=normalise_source(s.source), target=s.target,
                                     flags=(), term_hows=(), settings={}) for s in record.segments)


def row_line(path, segment_id):
    lines = path.read_text(encoding="utf-8").split("\n")
    return next(n for n, line in enumerate(lines) if line.startswith(f"| {segment_id} |")) + 1


def edit_cells(path, segment_id, arabic=None, english=None):
    """Change one row's cells as an editor (or an editor's tool) would; returns the row's line number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    number = row_line(path, segment_id) - 1
    cells = lines[number].split(" | ")
    if arabic is not None:
        cells[1] = arabic(cells[1]) if callable(arabic) else arabic
    if english is not None:
        cells[2] = english(cells[2]) if callable(english) else english
    lines[number] = " | ".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")
    return number + 1


def without_front_matter(path):
    text = path.read_text(encoding="utf-8")
    path.write_text(text.split("---\n", 2)[2], encoding="utf-8")


def approvals(out):
    memory = out / ".tarjama" / "memory.sqlite"
    if not memory.exists():
        return []
    with sqlite3.connect(memory) as db:
        return db.execute("SELECT source_text, target FROM approved ORDER BY source").fetchall()


def tm_import(capsys, path, *more):
    code = main(["tm", "import", str(path), *map(str, more)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# Defect 1: a buffer from an earlier run, saved without its front matter after a rerun changed the English.

@pytest.mark.slow
def test_a_stripped_buffer_of_an_earlier_run_approves_only_the_real_correction(tmp_path, sample_path, tiny_marian,
                                                                                 cli_env, capsys):
    article = tmp_path / "story.txt"
    lines = [line for line in sample_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    article.write_text("\n".join([lines[0], "قال الكرملين إن موسكو رفضت التحذير.", "وصل الوفد إلى كابول."]) + "\n",
                       encoding="utf-8")
    out = tmp_path / "out"
    paths = output_paths(out, "story")
    for beam in ("1", "2"):
        result = run(["translate", article, "--model", tiny_marian, "--out", out, "--beam-size", beam], cli_env)
        assert result.returncode == 0, result.stderr
        if beam == "1":
            stale = paths.bilingual.read_text(encoding="utf-8")  # the editor's buffer, left open
            first = json.loads(paths.record.read_text(encoding="utf-8"))
    second = json.loads(paths.record.read_text(encoding="utf-8"))
    changed = [a["id"] for a, b in zip(first["segments"], second["segments"], strict=True)
               if a["target"] != b["target"]]
    assert changed, "the rerun was meant to change the English"
    paths.bilingual.write_text(stale.split("---\n", 2)[2], encoding="utf-8")  # saved back without front matter
    edit_cells(paths.bilingual, "p2.s0", english="The delegation reached Kabul.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0, stderr
    assert stdout.startswith("1 sentence approved") and "approved p2.s0" in stdout
    assert approvals(out) == [("وصل الوفد إلى كابول.", "The delegation reached Kabul.")]


def test_a_file_without_front_matter_is_not_compared_with_the_record_beside_it(tmp_path, capsys):
    # The record beside it says nothing about which run wrote the file: only the memory can tell.
    record, paths = published(tmp_path)
    without_front_matter(paths.bilingual)
    line = edit_cells(paths.bilingual, "p2.s0", english="The delegation reached Kabul.")
    code, _, stderr = tm_import(capsys, paths.bilingual)
    assert code == 2 and stderr.startswith(f"error: {paths.bilingual}:")
    assert "no run_id" in stderr and approvals(tmp_path / "out") == []
    assert edited_bilingual(tmp_path / "out", "story") == paths.bilingual  # still an edit to deal with
    remember(tmp_path / "out" / ".tarjama" / "memory.sqlite", record)
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0, stderr
    assert approvals(tmp_path / "out") == [("وصل الوفد إلى كابول صباح الأحد.", "The delegation reached Kabul.")]
    assert stdout.splitlines()[1] == "approved p2.s0" and line > 0


def test_an_unknown_run_id_is_judged_only_against_the_memory(tmp_path, capsys):
    old, paths = published(tmp_path, english=lambda s: f"Old English of {s.id}.")
    stale = paths.bilingual.read_text(encoding="utf-8").replace(old.run_id, "0" * 32)
    new = make_record(segment_text(ARTICLE, tmp_path / "story.txt"), lambda s: f"New English of {s.id}.")
    publish(new, tmp_path / "out")
    paths.bilingual.write_text(stale, encoding="utf-8")
    remember(tmp_path / "out" / ".tarjama" / "memory.sqlite", old)
    edit_cells(paths.bilingual, "p1.s1", english="The Dossier Center did not comment.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0 and "approved p1.s1" in stdout, stderr
    assert approvals(tmp_path / "out") == [("ولم يعلق الملف على التقرير.", "The Dossier Center did not comment.")]


# Defect 2: an altered Arabic cell, or a blanked English cell, is never approved or ignored silently.

ALTERED = {
    "stray space after al-": lambda cell: cell.replace("الوفد", "ال وفد"),
    "English pasted into the Arabic column": "The delegation reached Kabul on Sunday morning.",
    "columns swapped": lambda cell: "The delegation reached Kabul on Sunday morning.",
}


@pytest.mark.parametrize("how", list(ALTERED))
def test_an_edited_row_whose_arabic_changed_is_refused_naming_its_line(tmp_path, capsys, how):
    _, paths = published(tmp_path)
    english = "The delegation reached Kabul on Sunday morning."
    if how == "columns swapped":
        arabic_cell = next(c for c in paths.bilingual.read_text(encoding="utf-8").split("\n")
                           if c.startswith("| p2.s0 |")).split(" | ")[1]
        line = edit_cells(paths.bilingual, "p2.s0", arabic=english, english=arabic_cell)
    else:
        line = edit_cells(paths.bilingual, "p2.s0", arabic=ALTERED[how], english=english)
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 2 and stdout == ""
    assert stderr.startswith(f"error: {paths.bilingual}:{line}:") and "p2.s0" in stderr
    assert approvals(tmp_path / "out") == []
    assert edited_bilingual(tmp_path / "out", "story") == paths.bilingual  # not marked as dealt with


def test_a_rewritten_span_still_reads_back_the_published_arabic(tmp_path, capsys):
    # An editor's tool may reorder or requote the attributes of tarjama's own <span dir="rtl" lang="ar">.
    _, paths = published(tmp_path)
    edit_cells(paths.bilingual, "p2.s0", english="The delegation reached Kabul on Sunday morning.",
               arabic=lambda cell: cell.replace('<span dir="rtl" lang="ar">', "<span lang='ar'  dir=\"RTL\">"))
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0 and "approved p2.s0" in stdout, stderr
    assert approvals(tmp_path / "out") == [("وصل الوفد إلى كابول صباح الأحد.",
                                            "The delegation reached Kabul on Sunday morning.")]


def test_a_blanked_english_cell_is_an_error_naming_its_line(tmp_path, capsys):
    _, paths = published(tmp_path)
    edit_cells(paths.bilingual, "p1.s0", english="The Kremlin said Moscow rejected the warning.")
    line = edit_cells(paths.bilingual, "p2.s0", english="")
    code, _, stderr = tm_import(capsys, paths.bilingual)
    assert code == 2 and stderr.startswith(f"error: {paths.bilingual}:{line}:") and "empty" in stderr
    assert approvals(tmp_path / "out") == []  # all or nothing: the file is not half imported
    assert edited_bilingual(tmp_path / "out", "story") == paths.bilingual


# Defect 3: a bidi control in a glossary target makes no unedited sentence "approved by an editor".

@pytest.mark.parametrize("control", ["\u202b", "\u2066", "\u200f"])
def test_a_bidi_control_in_a_glossary_target_is_no_edit(tmp_path, capsys, control):
    glossary = Glossary(path=Path("g.tsv"), sha256="0",
                        entries=(GlossaryEntry("موسكو", f"{control}Moscow{control}"),))
    record, paths = published(tmp_path, english=lambda s: f"Machine English of {s.id}.", glossary=glossary,
                              strict=True)
    placed = next(s for s in record.segments if s.id == "p1.s0")
    assert control in placed.target  # strict mode put the target, control and all, into the English
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0, stderr
    assert stdout.startswith("0 sentences approved") and approvals(tmp_path / "out") == []


# Point 4: what was approved is listed, and an approval lacking a glossary term is warned about at once.

def test_tm_import_lists_the_approved_ids_and_warns_about_missing_terms(tmp_path, capsys):
    _, paths = published(tmp_path, glossary=GLOSSARY)
    line = edit_cells(paths.bilingual, "p1.s0", english="The Kremlin said it had rejected the warning.")
    edit_cells(paths.bilingual, "p2.s0", english="The delegation reached Kabul on Sunday morning.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0, stderr
    assert stdout.splitlines() == [f"2 sentences approved into {tmp_path / 'out' / '.tarjama' / 'memory.sqlite'}",
                                   "approved p1.s0, p2.s0"]
    warnings = [w for w in stderr.splitlines() if w.startswith("warning:")]
    assert len(warnings) == 1 and f"{paths.bilingual}:{line}" in warnings[0]
    assert "p1.s0" in warnings[0] and '"Moscow"' in warnings[0] and "Kremlin" not in warnings[0]


@pytest.mark.slow
def test_strict_terms_says_what_it_set_aside_and_shows_the_editor_s_english(tmp_path, tiny_marian, cli_env):
    article = tmp_path / "story.txt"
    article.write_text("عنوان\nقال الكرملين إن موسكو رفضت التحذير.\n", encoding="utf-8")
    glossary = tmp_path / "g.tsv"
    glossary.write_text("source\ttarget\nالكرملين\tKremlin\nموسكو\tMoscow\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["translate", article, "--model", tiny_marian, "--glossary", glossary, "--out", out, "--beam-size", "1"]
    assert run(args, cli_env).returncode == 0
    paths = output_paths(out, "story")
    editors = "The Kremlin said it had rejected the warning."
    edit_cells(paths.bilingual, "p1.s0", english=editors)
    imported = run(["tm", "import", paths.bilingual], cli_env)
    assert imported.returncode == 0 and "approved p1.s0" in imported.stdout, imported.stderr
    assert "warning:" in imported.stderr and "Moscow" in imported.stderr
    result = run([*args, "--strict-terms"], cli_env)
    assert result.returncode == 0, result.stderr
    summary = [line for line in result.stderr.splitlines() if "set aside" in line]
    assert len(summary) == 1 and summary[0].startswith("memory: 1 editor approval set aside")
    assert "p1.s0" in summary[0] and "Moscow" in summary[0]
    segment = json.loads(paths.record.read_text(encoding="utf-8"))["segments"][1]
    assert segment["set_aside_approval"] == {"target": editors, "missing_terms": ["Moscow"]}
    row = next(line for line in paths.bilingual.read_text(encoding="utf-8").splitlines()
               if line.startswith("| p1.s0 |"))
    notes = row.split(" | ")[3]
    assert "lacks the glossary term Moscow" in notes and editors in notes
    # The file the strict run wrote is tarjama's own: importing it approves nothing new.
    again = run(["tm", "import", paths.bilingual], cli_env)
    assert again.returncode == 0 and again.stdout.startswith("0 sentences approved"), again.stderr


def test_every_published_arabic_reads_back_as_its_segment(tmp_path, sample_path, glossary_path):
    # The Arabic check must never refuse an untouched file: hostile text, marks and escapes round-trip.
    from test_publishing import HOSTILE

    from tarjama.exchange.bilingual import find_corrections
    from tarjama.terms.glossary import load_glossary

    text = sample_path.read_text(encoding="utf-8") + "\n".join(HOSTILE) + "\nقال \u200fالكرملين\u202b.\n"
    document = segment_text(text, tmp_path / "story.txt")
    record = make_record(document, lambda s: f"{s.text[:5]} | *x* <b> \\ &amp; {s.id}", load_glossary(glossary_path))
    paths = publish(record, tmp_path / "out")
    assert find_corrections(paths.bilingual) == []
    with open_memory(tmp_path / "tm.sqlite") as memory:
        assert len(find_corrections(paths.bilingual, everything=True, memory=memory)) == len(document.segments)


# Review 1: one approval policy, an approval history, withdrawals, GFM rows without outer pipes.

def memory_of(tmp_path):
    return tmp_path / "out" / ".tarjama" / "memory.sqlite"


def approve_elsewhere(tmp_path, source, english, origin="/desk/translator.xlf"):
    """An approval made after the bilingual file was written, by another file (a CAT tool's XLIFF, say)."""
    with open_memory(memory_of(tmp_path)) as memory:
        memory.approve([(source, english)], origin=origin)


P1S0 = "قال الكرملين إن موسكو رفضت التحذير."
P2S0 = "وصل الوفد إلى كابول صباح الأحد."


def test_reimporting_a_bilingual_file_keeps_a_newer_approval_and_warns(tmp_path, capsys):
    # Finding 2: the file's old correction of p1.s0 must not win over the translator's approval made since.
    _, paths = published(tmp_path)
    line = edit_cells(paths.bilingual, "p1.s0", english="E1 editor.")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    approve_elsewhere(tmp_path, P1S0, "E2 translator fixed the editor.")
    edit_cells(paths.bilingual, "p2.s0", english="Editor fixes another sentence.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0, stderr
    assert stdout.split(" approved")[0] in ("1 sentence", "1 sentences")  # either wording of the count
    assert "approved p2.s0" in stdout and "p1.s0" not in stdout
    assert f"warning: {paths.bilingual}:{line}: p1.s0 holds an earlier English" in stderr
    assert "newer approval (from /desk/translator.xlf" in stderr
    assert dict(approvals(tmp_path / "out"))[P1S0] == "E2 translator fixed the editor."


def test_a_new_edit_over_an_approval_made_since_the_file_was_written_is_refused(tmp_path, capsys):
    _, paths = published(tmp_path)
    approve_elsewhere(tmp_path, P1S0, "Translator's English.")
    line = edit_cells(paths.bilingual, "p1.s0", english="Editor's other English.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 2 and stdout == ""
    assert stderr.startswith(f"error: {paths.bilingual}:{line}: p1.s0: the memory holds another approval")
    assert "Translator's English." in stderr and "/desk/translator.xlf" in stderr and "--overwrite" in stderr
    assert "Editor's other English." in stderr and "--all" not in stderr
    assert dict(approvals(tmp_path / "out"))[P1S0] == "Translator's English."
    assert edited_bilingual(tmp_path / "out", "story") == paths.bilingual  # still an edit to deal with
    code, stdout, stderr = tm_import(capsys, paths.bilingual, "--overwrite")
    assert code == 0, stderr
    assert "replaces the approval \u201cTranslator's English.\u201d" in stderr
    assert dict(approvals(tmp_path / "out"))[P1S0] == "Editor's other English."


def test_an_editor_revising_their_own_edit_is_approved(tmp_path, capsys):
    _, paths = published(tmp_path)
    edit_cells(paths.bilingual, "p1.s0", english="First try.")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    edit_cells(paths.bilingual, "p1.s0", english="Second try.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0 and "approved p1.s0" in stdout, stderr
    assert dict(approvals(tmp_path / "out"))[P1S0] == "Second try."


def test_putting_back_the_machine_english_withdraws_this_files_approval(tmp_path, capsys):
    # The approval is published by a rerun; putting tarjama's English back over it (the row shows the
    # approval) withdraws it. (The same buffer put back as it was is a stale view: it never withdraws.)
    record, paths = published(tmp_path)
    original = paths.bilingual.read_text(encoding="utf-8")
    edit_cells(paths.bilingual, "p2.s0", english="WRONG EDIT")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    remember(memory_of(tmp_path), record)
    paths.bilingual.write_text(original, encoding="utf-8")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0 and "p2.s0 holds an earlier English" in stderr and "tm withdraw" in stderr
    assert dict(approvals(tmp_path / "out"))[P2S0] == "WRONG EDIT"
    _, paths = published(tmp_path, english=lambda s: "WRONG EDIT" if s.id == "p2.s0" else f"Machine English of {s.id}.")
    edit_cells(paths.bilingual, "p2.s0", english="Machine English of p2.s0.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0, stderr
    assert "withdrew the approval of p2.s0: the row is tarjama's English again" in stdout
    assert approvals(tmp_path / "out") == []
    with open_memory(memory_of(tmp_path)) as memory:
        assert memory.approved(P2S0) is None  # the next run translates (or recalls the machine English)
        assert [e.target for e in memory.past_approvals(P2S0)] == ["WRONG EDIT"]


@pytest.mark.slow
def test_a_run_publishes_the_machine_english_after_a_withdrawal(tmp_path, sample_path, tiny_marian, cli_env):
    article = tmp_path / "story.txt"
    article.write_text("وصل الوفد إلى كابول.\n", encoding="utf-8")
    out = tmp_path / "out"
    paths = output_paths(out, "story")
    assert run(["translate", article, "--model", tiny_marian, "--out", out], cli_env).returncode == 0
    original = paths.bilingual.read_text(encoding="utf-8")
    edit_cells(paths.bilingual, "p0.s0", english="WRONG EDIT")
    assert run(["tm", "import", paths.bilingual], cli_env).returncode == 0
    paths.bilingual.write_text(original, encoding="utf-8")
    assert run(["translate", article, "--model", tiny_marian, "--out", out], cli_env).returncode == 0
    assert "WRONG EDIT" in paths.english.read_text(encoding="utf-8")
    machine = next(line for line in original.split("\n") if line.startswith("| p0.s0 |")).split(" | ")[2]
    edit_cells(paths.bilingual, "p0.s0", english=machine)  # the documented undo: tarjama's English back
    withdrawn = run(["tm", "import", paths.bilingual], cli_env)
    assert withdrawn.returncode == 0 and "withdrew the approval of p0.s0" in withdrawn.stdout, withdrawn.stderr
    assert run(["translate", article, "--model", tiny_marian, "--out", out], cli_env).returncode == 0
    assert "WRONG EDIT" not in paths.english.read_text(encoding="utf-8")


def test_approval_origins_are_resolved_paths(tmp_path, capsys, monkeypatch):
    # `tm import out/story.bilingual.md` from any folder and a run's own harvest name the file the same way.
    _, paths = published(tmp_path)
    edit_cells(paths.bilingual, "p2.s0", english="The delegation reached Kabul.")
    monkeypatch.chdir(tmp_path)
    assert tm_import(capsys, Path("out") / "story.bilingual.md")[0] == 0
    with open_memory(memory_of(tmp_path)) as memory:
        assert memory.approved(P2S0).origin == str(paths.bilingual.resolve())


def without_outer_pipes(path):
    lines = path.read_text(encoding="utf-8").split("\n")
    path.write_text("\n".join(line[1:-1].strip() if line.startswith("|") and line.endswith("|") else line
                              for line in lines), encoding="utf-8")


def test_a_table_without_outer_pipes_is_read(tmp_path, capsys):
    # Finding 6: GFM makes the outer pipes optional; an editor's tool may drop them.
    _, paths = published(tmp_path)
    without_outer_pipes(paths.bilingual)
    lines = paths.bilingual.read_text(encoding="utf-8").split("\n")
    number = next(n for n, line in enumerate(lines) if line.startswith("p2.s0 |"))
    assert lines[number].endswith("Machine English of p2.s0. |")  # the pipe before the empty Notes cell
    lines[number] = lines[number].replace("Machine English of p2.s0.", r"The delegation reached Kabul \| on Sunday.")
    paths.bilingual.write_text("\n".join(lines), encoding="utf-8")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0 and "approved p2.s0" in stdout, stderr
    assert approvals(tmp_path / "out") == [(P2S0, "The delegation reached Kabul | on Sunday.")]


@pytest.mark.parametrize("outer", [True, False])
def test_a_stray_pipe_in_the_english_is_still_refused(tmp_path, capsys, outer):
    _, paths = published(tmp_path)
    line = edit_cells(paths.bilingual, "p2.s0", english="The delegation | reached Kabul.")
    if not outer:
        without_outer_pipes(paths.bilingual)
    code, _, stderr = tm_import(capsys, paths.bilingual)
    assert code == 2 and stderr.startswith(f"error: {paths.bilingual}:{line}:") and "4 cells" in stderr
    assert approvals(tmp_path / "out") == []


def test_a_changed_arabic_is_refused_showing_where_it_differs(tmp_path, capsys):
    # Finding 7: the editor sees the stray space, not only the start of the published sentence.
    _, paths = published(tmp_path)
    edit_cells(paths.bilingual, "p2.s0", arabic=lambda cell: cell.replace("الوفد", "ال وفد"),
               english="The delegation reached Kabul.")
    code, _, stderr = tm_import(capsys, paths.bilingual)
    assert code == 2
    assert "at character 7" in stderr and "\u00abوصل ال وفد" in stderr and "published \u00abوصل الوفد" in stderr
    assert "(a space instead of \u201cو\u201d)" in stderr


def test_a_schema_1_memory_keeps_its_approvals_and_gains_a_history(tmp_path, capsys):
    from tarjama.memory.store import LEGACY_RUN  # new with this test: imported here so the module loads on older code

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript("CREATE TABLE machine (key TEXT PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL, "
                         "flags TEXT NOT NULL, term_hows TEXT NOT NULL, settings TEXT NOT NULL, created TEXT NOT NULL);"
                         "CREATE TABLE approved (source TEXT PRIMARY KEY, source_text TEXT NOT NULL, target TEXT "
                         "NOT NULL, origin TEXT NOT NULL, approved_at TEXT NOT NULL);"
                         f"INSERT INTO approved VALUES ('{P2S0}', '{P2S0}', 'Old.', 'editor', '2025-01-01T00:00:00');"
                         "PRAGMA user_version = 1;")
    db.close()
    with open_memory(path) as memory:
        assert memory.approved(P2S0).target == "Old."
        assert memory.approve([(P2S0, "New.")], origin="editor") == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3
        history = db.execute("SELECT target, origin, run_id FROM approval_history").fetchall()
        assert history == [("Old.", "editor", LEGACY_RUN)]  # from before run ids: only these match by file name
    db.close()
    with open_memory(path) as memory:
        assert memory.known_english(P2S0) == {"Old.", "New."}


def test_an_editor_changing_a_published_approval_back_to_the_machine_english_withdraws_it(tmp_path, capsys):
    # The row showed the translator's approval (the run published it): tarjama's English typed over it withdraws
    # the approval (review3 #4: the documented undo); any other English is an edit.
    _, paths = published(tmp_path, english=lambda s: "Translator's English." if s.id == "p2.s0" else f"M {s.id}.")
    with open_memory(memory_of(tmp_path)) as memory:
        memory.remember([MachineEntry("k", normalise_source(P2S0), "Machine English.", (), (), {})])
    approve_elsewhere(tmp_path, P2S0, "Translator's English.")
    edit_cells(paths.bilingual, "p2.s0", english="Machine English.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0 and "withdrew the approval of p2.s0" in stdout, stderr
    assert approvals(tmp_path / "out") == []
    edit_cells(paths.bilingual, "p2.s0", english="A third English.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0 and "approved p2.s0" in stdout, stderr


def test_all_does_not_approve_again_what_the_memory_already_approves(tmp_path, capsys):
    _, paths = published(tmp_path)
    edit_cells(paths.bilingual, "p2.s0", english="The delegation reached Kabul.")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    code, stdout, stderr = tm_import(capsys, paths.bilingual, "--all")
    assert code == 0, stderr
    assert stdout.startswith("3 sentences approved") and "p2.s0" not in stdout  # p0.s0, p1.s0, p1.s1


def test_tm_withdraw_withdraws_an_approval_by_segment_id(tmp_path, capsys):
    _, paths = published(tmp_path)
    edit_cells(paths.bilingual, "p2.s0", english="WRONG EDIT")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    assert main(["tm", "withdraw", str(paths.record), "--segment", "p9.s9"]) == 2
    assert "p9.s9 is not a sentence of this article" in capsys.readouterr().err
    assert main(["tm", "withdraw", str(paths.record), "--segment", "p2.s0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("withdrew the approval of p2.s0: \u201cWRONG EDIT\u201d (from ")
    assert dict(approvals(tmp_path / "out")).get(P2S0) is None
    # The file still shows the withdrawn English: importing it again (another row edited) does not re-approve it.
    line = row_line(paths.bilingual, "p2.s0")
    edit_cells(paths.bilingual, "p1.s1", english="The Dossier Center did not comment.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0 and "approved p1.s1" in stdout, stderr
    assert f"{paths.bilingual}:{line}: p2.s0 holds the English whose approval was withdrawn" in stderr
    assert dict(approvals(tmp_path / "out")).get(P2S0) is None


# review3: the approval policy by facts (the run each file shows, each approval's run id), not by the file's path.

def machine(segment_id):
    return f"Machine English of {segment_id}."


def rerun(tmp_path, approved):
    """A newer run of the article: publishes the memory's approvals (``{segment id: English}``) over the machine's."""
    return published(tmp_path, english=lambda s: approved.get(s.id, machine(s.id)))


def stripped(path):
    """An editor's buffer saved without its front matter."""
    without_front_matter(path)


@pytest.mark.parametrize("front_matter", [True, False])
def test_review3_1a_a_buffer_kept_open_across_a_rerun_approves_only_its_edit(tmp_path, capsys, front_matter):
    record, paths = published(tmp_path)
    remember(memory_of(tmp_path), record)
    buffer = paths.bilingual.read_text(encoding="utf-8")  # editor 1's buffer of run 1
    edit_cells(paths.bilingual, "p1.s0", english="E2 correction tuesday.")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    rerun(tmp_path, {"p1.s0": "E2 correction tuesday."})
    paths.bilingual.write_text(buffer, encoding="utf-8")
    if not front_matter:
        stripped(paths.bilingual)
    edit_cells(paths.bilingual, "p2.s0", english="E1 edit of p2.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0, stderr
    assert "approved p2.s0" in stdout and "p1.s0" not in stdout
    assert dict(approvals(tmp_path / "out")) == {P1S0: "E2 correction tuesday.", P2S0: "E1 edit of p2."}
    # Tied to run 1 or not, the buffer's p1.s0 is an English older than the memory's approval: it is kept, and said.
    assert "p1.s0 holds an earlier English; the memory's newer approval" in stderr


def test_review3_1b_a_second_editor_s_old_buffer_neither_withdraws_nor_reverts(tmp_path, capsys):
    _, paths = published(tmp_path)
    buffer = paths.bilingual.read_text(encoding="utf-8")  # editor 1 opens the file
    edit_cells(paths.bilingual, "p1.s0", english="E2 correction by editor 2.")  # editor 2 edits and imports
    assert tm_import(capsys, paths.bilingual)[0] == 0
    paths.bilingual.write_text(buffer, encoding="utf-8")  # editor 1 saves her buffer with her own edit
    edit_cells(paths.bilingual, "p2.s0", english="E1 edit of p2.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0, stderr
    assert "withdrew" not in stdout and "approved p2.s0" in stdout and "p1.s0" not in stdout
    assert "p1.s0 holds an earlier English; the memory's newer approval" in stderr
    assert dict(approvals(tmp_path / "out")) == {P1S0: "E2 correction by editor 2.", P2S0: "E1 edit of p2."}


@pytest.mark.slow
def test_review3_2_a_run_s_harvest_reports_its_warnings_and_approvals(tmp_path, tiny_marian, cli_env):
    article = tmp_path / "story.txt"
    article.write_text("قال الكرملين إن موسكو رفضت التحذير.\nوصل الوفد إلى كابول صباح الأحد.\n", encoding="utf-8")
    out = tmp_path / "out"
    paths = output_paths(out, "story")
    command = ["translate", article, "--model", tiny_marian, "--beam-size", "1", "--out", out]
    assert run(command, cli_env).returncode == 0
    buffer = paths.bilingual.read_text(encoding="utf-8")
    edit_cells(paths.bilingual, "p0.s0", english="E2 correction by editor 2.")
    assert run(["tm", "import", paths.bilingual], cli_env).returncode == 0
    paths.bilingual.write_text(buffer, encoding="utf-8")
    edit_cells(paths.bilingual, "p1.s0", english="E1 edit of p1.")
    again = run(command, cli_env)
    assert again.returncode == 0, again.stderr
    assert f"warning: {paths.bilingual}:" in again.stderr and "p0.s0 holds an earlier English" in again.stderr
    assert f"memory: approved from {paths.bilingual}: p1.s0" in again.stderr
    harvest = json.loads(paths.record.read_text(encoding="utf-8"))["memory"]["harvest"]
    assert harvest["approved"] == ["p1.s0"] and harvest["withdrawn"] == [] and len(harvest["warnings"]) == 1
    assert "E2 correction by editor 2." in paths.english.read_text(encoding="utf-8")


def test_review3_3_an_approval_set_aside_by_a_run_is_left_alone_by_an_edit_elsewhere(tmp_path, capsys):
    _, paths = published(tmp_path)
    edit_cells(paths.bilingual, "p1.s0", english="The Kremlin said it, edited.")  # lacks "Moscow"
    assert tm_import(capsys, paths.bilingual)[0] == 0
    # A --strict-terms run sets the approval aside: the row shows the strict retranslation, not the approval.
    rerun(tmp_path, {"p1.s0": "Strict English: the Kremlin said Moscow refused."})
    edit_cells(paths.bilingual, "p2.s0", english="Only this row is edited.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0, stderr
    assert "withdrew" not in stdout and "p1.s0" not in stdout + stderr
    assert dict(approvals(tmp_path / "out"))[P1S0] == "The Kremlin said it, edited."


def test_review3_4_tarjama_s_english_put_back_after_a_rerun_withdraws_the_approval(tmp_path, capsys):
    record, paths = published(tmp_path)
    remember(memory_of(tmp_path), record)
    edit_cells(paths.bilingual, "p1.s0", english="WRONG EDIT.")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    _, paths = rerun(tmp_path, {"p1.s0": "WRONG EDIT."})
    edit_cells(paths.bilingual, "p1.s0", english=machine("p1.s0"))  # the documented undo
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0, stderr
    assert "withdrew the approval of p1.s0: the row is tarjama's English again" in stdout
    assert "approved p1.s0" not in stdout
    assert P1S0 not in dict(approvals(tmp_path / "out"))


def v1_memory(path, rows):
    """A memory as tarjama wrote it before approval histories and run ids (schema 1)."""
    with sqlite3.connect(path) as db:
        db.executescript("CREATE TABLE machine (key TEXT PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL, "
                         "flags TEXT NOT NULL, term_hows TEXT NOT NULL, settings TEXT NOT NULL, created TEXT NOT NULL);"
                         "CREATE TABLE approved (source TEXT PRIMARY KEY, source_text TEXT NOT NULL, target TEXT "
                         "NOT NULL, origin TEXT NOT NULL, approved_at TEXT NOT NULL);"
                         "PRAGMA user_version = 1;")
        db.executemany("INSERT INTO approved VALUES (?, ?, ?, ?, ?)", rows)
    db.close()


def test_review3_5_an_editor_s_revision_over_a_schema_1_approval_of_this_file_is_approved(tmp_path, capsys,
                                                                                          monkeypatch):
    _, paths = published(tmp_path)
    # The old code stored the file's path as typed (cwd-relative) and no run id.
    edit_cells(paths.bilingual, "p1.s0", english="First revision.")
    v1_memory(memory_of(tmp_path), [(normalise_source(P1S0), P1S0, "First revision.", "out/story.bilingual.md",
                                     "2099-01-01T00:00:00+00:00")])
    monkeypatch.chdir(tmp_path)
    line = edit_cells(paths.bilingual, "p1.s0", english="Second revision.")
    code, stdout, stderr = tm_import(capsys, Path("out/story.bilingual.md"))
    assert code == 0, stderr
    assert "approved p1.s0" in stdout
    assert (f"out/story.bilingual.md:{line}: p1.s0 replaces the approval \u201cFirst revision.\u201d imported "
            "earlier from out/story.bilingual.md") in stderr
    assert dict(approvals(tmp_path / "out"))[P1S0] == "Second revision."


def test_review3_6_all_names_each_approval_it_replaces_and_no_warning_advises_it(tmp_path, capsys):
    record, paths = published(tmp_path)
    remember(memory_of(tmp_path), record)
    approve_elsewhere(tmp_path, P2S0, "T2 translator p2.")
    code, _stdout, stderr = tm_import(capsys, paths.bilingual, "--all")
    assert code == 0, stderr
    line = row_line(paths.bilingual, "p2.s0")
    assert (f"warning: {paths.bilingual}:{line}: p2.s0 replaces the approval \u201cT2 translator p2.\u201d "
            "(from /desk/translator.xlf") in stderr
    # A withdrawn approval's English still in a file: the warning does not send the editor to --all.
    edit_cells(paths.bilingual, "p1.s1", english="WRONG EDIT")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    assert main(["tm", "withdraw", str(paths.record), "--segment", "p1.s1"]) == 0
    capsys.readouterr()
    edit_cells(paths.bilingual, "p0.s0", english="A headline, edited.")
    code, _stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0 and "p1.s1 holds the English whose approval was withdrawn" in stderr
    assert "--all" not in stderr and "--overwrite" in stderr


def test_review3_8_a_tied_and_an_untied_copy_say_the_same_of_a_withdrawn_english(tmp_path, capsys):
    record, paths = published(tmp_path)
    remember(memory_of(tmp_path), record)
    edit_cells(paths.bilingual, "p1.s0", english="E1 approved then withdrawn.")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    assert main(["tm", "withdraw", str(paths.record), "--segment", "p1.s0"]) == 0
    buffer = paths.bilingual.read_text(encoding="utf-8")
    said = []
    for tied in (True, False):
        paths.bilingual.write_text(buffer, encoding="utf-8")
        if not tied:
            stripped(paths.bilingual)
        other = "p2.s0" if tied else "p0.s0"
        edit_cells(paths.bilingual, other, english=f"Another row edited ({tied}).")
        capsys.readouterr()
        code, stdout, stderr = tm_import(capsys, paths.bilingual)
        assert code == 0 and f"approved {other}" in stdout, stderr
        said.append([line.split(": ", 2)[2] for line in stderr.splitlines() if ": p1.s0 " in line])
        assert P1S0 not in dict(approvals(tmp_path / "out"))
    assert said[0] == said[1] and "p1.s0 holds the English whose approval was withdrawn" in said[0][0]


def test_review3_9_tm_withdraw_names_what_is_wrong_with_the_path(tmp_path, capsys):
    published(tmp_path)
    for path, message in [(tmp_path / "nowhere" / "story.run.json", "no such file"),
                          (tmp_path / "out", "is a folder: give NAME.run.json or NAME.bilingual.md"),
                          (tmp_path / "out" / "story.en.md", "is neither an article's run record")]:
        assert main(["tm", "withdraw", str(path), "--segment", "p1.s0"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: {message}"), err
        assert "not a run record" not in err


def test_review3_iterative_editor_revising_the_same_buffer_is_approved_with_a_warning(tmp_path, capsys):
    _, paths = published(tmp_path)
    run_id = json.loads(paths.record.read_text(encoding="utf-8"))["run_id"]
    edit_cells(paths.bilingual, "p1.s0", english="First try.")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    edit_cells(paths.bilingual, "p1.s0", english="Second try.")  # the same buffer, edited again
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 0 and "approved p1.s0" in stdout, stderr
    assert (f"p1.s0 replaces the approval \u201cFirst try.\u201d imported earlier from a copy of run {run_id}'s "
            "file") in stderr
    assert dict(approvals(tmp_path / "out"))[P1S0] == "Second try."


# Final review: an edit and a withdrawal of one sentence, --all approvals, the XLIFF's run (see also test_publishing).

REPEATED = "قال الكرملين إن موسكو رفضت التحذير."


def test_final_2_an_edit_and_a_withdrawal_of_the_same_sentence_in_one_file_are_refused(tmp_path, capsys):
    document = segment_text(f"{REPEATED}\nوصل الوفد إلى كابول صباح الأحد.\n{REPEATED}\n", tmp_path / "story.txt")
    record = make_record(document, lambda s: machine(s.id))
    paths = publish(record, tmp_path / "out")
    remember(memory_of(tmp_path), record)
    for segment_id in ("p0.s0", "p2.s0"):
        edit_cells(paths.bilingual, segment_id, english="Approved once.")
    assert tm_import(capsys, paths.bilingual)[0] == 0
    paths = publish(make_record(document, lambda s: "Approved once." if s.text == REPEATED else machine(s.id)),
                    tmp_path / "out")
    first = edit_cells(paths.bilingual, "p0.s0", english="A new edit.")
    second = edit_cells(paths.bilingual, "p2.s0", english=machine("p2.s0"))  # tarjama's English put back
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 2 and stdout == "", stderr
    assert stderr.startswith(f"error: {paths.bilingual}:{second}: p2.s0 repeats the Arabic of p0.s0 (line {first})")
    assert dict(approvals(tmp_path / "out"))[REPEATED] == "Approved once."


def test_final_3_a_stale_buffer_never_replaces_a_colleague_s_newer_all_approval(tmp_path, capsys):
    _, paths = published(tmp_path)
    buffer = paths.bilingual.read_text(encoding="utf-8")  # editor 1's buffer of run 1, left open
    _, paths = published(tmp_path)  # run 2
    edit_cells(paths.bilingual, "p1.s0", english="Colleague's English.")
    assert tm_import(capsys, paths.bilingual, "--all")[0] == 0  # the colleague approves run 2's file as it is
    paths.bilingual.write_text(buffer, encoding="utf-8")
    line = edit_cells(paths.bilingual, "p1.s0", english="Editor's stale edit.")
    code, stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 2 and stdout == "", stderr
    assert stderr.startswith(f"error: {paths.bilingual}:{line}: p1.s0: the memory holds another approval")
    assert "--overwrite" in stderr
    assert dict(approvals(tmp_path / "out"))[P1S0] == "Colleague's English."


def test_final_3_an_exchange_approval_is_never_a_copy_of_a_file_of_the_same_name(tmp_path, capsys):
    _, paths = published(tmp_path)
    approve_elsewhere(tmp_path, P1S0, "Translator's English.", origin="/desk/story.bilingual.md")  # no run id
    line = edit_cells(paths.bilingual, "p1.s0", english="Editor's English.")
    code, _stdout, stderr = tm_import(capsys, paths.bilingual)
    assert code == 2, stderr
    assert stderr.startswith(f"error: {paths.bilingual}:{line}: p1.s0: the memory holds another approval")
    assert dict(approvals(tmp_path / "out"))[P1S0] == "Translator's English."

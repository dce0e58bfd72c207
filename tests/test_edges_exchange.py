"""Exchange with CAT tools at its edges: TMX and XLIFF both ways, termbase conflicts, odd XML (issue 12)."""

import json

import pytest
from test_cli import run

from tarjama.cli import main
from tarjama.memory.store import open_memory

TMX_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<tmx version="1.4"><header srclang="{src}" datatype="plaintext"/>\n<body>\n')


def tu(source, target, src="ar", tgt="en"):
    return f'<tu><tuv xml:lang="{src}"><seg>{source}</seg></tuv><tuv xml:lang="{tgt}"><seg>{target}</seg></tuv></tu>\n'


def write_tmx(tmp_path, units, src="ar", name="cat.tmx"):
    path = tmp_path / name
    path.write_text(TMX_HEAD.format(src=src) + "".join(units) + "</body></tmx>\n", encoding="utf-8")
    return path


def approved(memory_path):
    with open_memory(memory_path) as memory:
        return {entry.source: entry.target for entry in memory.all_approved()} if memory_path.exists() else {}


def tm_import(capsys, path, *more):
    code = main(["tm", "import", str(path), *map(str, more)])
    out, err = capsys.readouterr()
    return code, out, err


# 1. TMX import says what it read, and what it found instead of Arabic→English.

def test_tmx_import_names_units_pairs_and_what_it_skipped(tmp_path, capsys):
    path = tmp_path / "vendor.tmx"
    path.write_text(
        TMX_HEAD.format(src="*all*")
        + '<tu srclang="ar-SA"><tuv xml:lang="ar-SA"><seg>قال الكرملين.</seg></tuv>'
          '<tuv xml:lang="en-GB"><seg>The Kremlin said.</seg></tuv></tu>\n'
        + '<tu srclang="AR"><tuv lang="AR"><seg>وصل الوفد.</seg></tuv>'
          '<tuv lang="EN-US"><seg>The delegation arrived.</seg></tuv></tu>\n'
        + '<tu srclang="ar_EG"><tuv xml:lang="ar_EG"><seg>رفضت موسكو.</seg></tuv>'
          '<tuv xml:lang="en_US"><seg>Moscow refused.</seg></tuv></tu>\n'
        + '<tu srclang="fr-FR"><tuv xml:lang="fr-FR"><seg>Le Kremlin a dit.</seg></tuv>'
          '<tuv xml:lang="en"><seg>The Kremlin said.</seg></tuv></tu>\n'
        + "</body></tmx>\n", encoding="utf-8")
    memory = tmp_path / "tm.sqlite"
    code, out, err = tm_import(capsys, path, "--memory", memory)
    assert code == 0, err
    assert out.startswith(f"3 sentences approved into {memory}")
    assert "read 4 units (TMX) with translations ar→en 3, fr→en 1" in out
    assert "not Arabic→English 1" in out
    assert "warning:" in err and "not Arabic→English (fr→en 1)" in err
    assert approved(memory) == {"قال الكرملين.": "The Kremlin said.", "وصل الوفد.": "The delegation arrived.",
                                "رفضت موسكو.": "Moscow refused."}


def test_tmx_without_arabic_to_english_is_an_error_naming_the_pairs(tmp_path, capsys):
    path = write_tmx(tmp_path, [tu("Le Kremlin a dit.", "The Kremlin said.", "fr", "en"),
                                tu("Der Kreml sagte.", "The Kremlin said.", "de", "en"),
                                tu("قال الكرملين.", "Le Kremlin a dit.", "ar", "fr")], src="*all*")
    memory = tmp_path / "tm.sqlite"
    code, out, err = tm_import(capsys, path, "--memory", memory)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}: no Arabic→English units") and "fr→en 1" in err and "ar→fr 1" in err
    assert not memory.exists()


def test_tmx_of_machine_units_only_imports_nothing_and_says_why(tmp_path, capsys):
    from tarjama.exchange.tmx import write_tmx as tarjama_tmx

    path = tmp_path / "ours.tmx"
    path.write_text(tarjama_tmx([("قال الكرملين.", "machine english", "machine")]), encoding="utf-8")
    code, out, _ = tm_import(capsys, path, "--memory", tmp_path / "tm.sqlite")
    assert code == 0 and out.startswith("0 sentences approved") and "not approved (machine) 1" in out


# 2. Inline codes: a break or tab becomes a space, other codes vanish without gluing or splitting words.

def test_tmx_break_and_tab_codes_become_spaces(tmp_path, capsys):
    english = ('The<ph x="1">\n</ph>Kremlin<ph x="2">&amp;#9;</ph>said<ph type="lb"/>on<it pos="begin">&lt;br/&gt;</it>'
               'Friday<ph>&#9;</ph>that<bpt i="1">&lt;br&gt;</bpt>Moscow<ept i="1">&lt;/p&gt;</ept>had'
               '<ph>\\n</ph>refused <bpt i="2">&lt;b&gt;</bpt>K<ept i="2">&lt;/b&gt;</ept>remlin'
               '<ph x="3" type="image">&lt;img src="a.png"/&gt;</ph>. <hi type="b">Bold</hi> text.')
    arabic = 'قال<ph type="lb"/>الكرملين<bpt i="1">&lt;b&gt;</bpt>.<ept i="1">&lt;/b&gt;</ept>'
    path = write_tmx(tmp_path, [tu(arabic, english)])
    memory = tmp_path / "tm.sqlite"
    assert tm_import(capsys, path, "--memory", memory)[0] == 0
    assert approved(memory) == {"قال الكرملين.": "The Kremlin said on Friday that Moscow had refused Kremlin. "
                                                 "Bold text."}


# 3. XLIFF 1.2 and 2.0 come in; states decide what a person approved.

XLIFF_12 = """<?xml version="1.0" encoding="UTF-8"?>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">
 <file original="story.docx" source-language="ar-SA" target-language="en-US" datatype="plaintext">
  <body>
   <trans-unit id="1" approved="yes"><source>قال الكرملين.</source><target>The Kremlin said.</target></trans-unit>
   <group id="g1">
    <trans-unit id="2"><source>وصل الوفد.</source>
     <target state="final">The delegation<x id="1" ctype="lb"/>arrived.</target></trans-unit>
    <trans-unit id="3"><source>رفضت موسكو.</source>
     <target state="signed-off">Moscow <g id="2">refused</g>.</target></trans-unit>
   </group>
   <trans-unit id="4"><source>قال بوتين.</source><target state="translated">Putin said.</target></trans-unit>
   <trans-unit id="5"><source>نفى الكرملين.</source>
    <target state="needs-review-translation">Denied.</target></trans-unit>
   <trans-unit id="6"><source>وصلت الطائرة.</source><target state="new">The plane.</target></trans-unit>
   <trans-unit id="7" approved="no"><source>قالت واشنطن.</source>
    <target state="final">Washington said.</target></trans-unit>
   <trans-unit id="8"><source>عنوان</source></trans-unit>
  </body>
 </file>
</xliff>
"""

XLIFF_20 = """<?xml version="1.0" encoding="UTF-8"?>
<xliff version="2.0" xmlns="urn:oasis:names:tc:xliff:document:2.0" srcLang="ar" trgLang="en-GB">
 <file id="f1">
  <unit id="u1"><segment state="final"><source>قال الكرملين.</source>
   <target>The<ph id="1" type="fmt" subType="xlf:lb"/>Kremlin<cp hex="0009"/>said <pc id="2">today</pc>.</target>
  </segment></unit>
  <group id="g"><unit id="u2"><segment state="reviewed"><source>وصل الوفد.</source>
   <target>The delegation arrived.</target></segment></unit></group>
  <unit id="u3"><segment state="translated"><source>رفضت موسكو.</source>
   <target>Moscow refused.</target></segment></unit>
  <unit id="u4"><segment><source>قال بوتين.</source><target>Putin said.</target></segment></unit>
 </file>
</xliff>
"""


@pytest.mark.parametrize("suffix", [".xlf", ".xliff"])
def test_xliff_12_import_approves_final_signed_off_and_approved_units(tmp_path, capsys, suffix):
    path = tmp_path / f"cat{suffix}"
    path.write_text(XLIFF_12, encoding="utf-8")
    memory = tmp_path / "tm.sqlite"
    code, out, err = tm_import(capsys, path, "--memory", memory)
    assert code == 0, err
    assert approved(memory) == {"قال الكرملين.": "The Kremlin said.", "وصل الوفد.": "The delegation arrived.",
                                "رفضت موسكو.": "Moscow refused."}
    assert "read 8 units (XLIFF 1.2) with translations ar→en 8" in out
    for skipped in ("not approved (translated) 1", "not approved (needs-review-translation) 1",
                    "not approved (new) 1", "not approved (final) 1", "without Arabic or English 1"):
        assert skipped in out


def test_xliff_20_import_approves_final_and_reviewed_segments(tmp_path, capsys):
    path = tmp_path / "cat.xlf"
    path.write_text(XLIFF_20, encoding="utf-8")
    memory = tmp_path / "tm.sqlite"
    code, out, err = tm_import(capsys, path, "--memory", memory)
    assert code == 0, err
    assert approved(memory) == {"قال الكرملين.": "The Kremlin said today.", "وصل الوفد.": "The delegation arrived."}
    assert "read 4 units (XLIFF 2.0) with translations ar→en 4" in out
    assert "not approved (translated) 1" in out and "not approved (initial) 1" in out


def test_xliff_from_translate_toolkit_imports(tmp_path, capsys):
    from translate.storage import xliff

    store = xliff.xlifffile(sourcelanguage="ar", targetlanguage="en")
    unit = store.addsourceunit("قال الكرملين.")
    unit.target = "The Kremlin said."
    unit.markapproved(True)
    fuzzy = store.addsourceunit("وصل الوفد.")
    fuzzy.target = "Unapproved."
    fuzzy.markfuzzy(True)  # translate-toolkit's 1.x units are approved="yes" unless fuzzy
    path = tmp_path / "toolkit.xlf"
    path.write_bytes(bytes(store))
    memory = tmp_path / "tm.sqlite"
    assert tm_import(capsys, path, "--memory", memory)[0] == 0
    assert approved(memory) == {"قال الكرملين.": "The Kremlin said."}


# 4 and 5. An article's XLIFF goes to a CAT tool and comes back approved; the next run publishes it.

@pytest.mark.slow
def test_article_xliff_round_trip_through_translate_toolkit(tmp_path, capsys, sample_path, tiny_marian,
                                                            glossary_path, cli_env):
    from translate.storage import xliff2

    lines = [line for line in sample_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    article = tmp_path / "story.txt"
    article.write_text(f"{lines[0]}\n{lines[7]}\n", encoding="utf-8")  # a title, then two sentences
    out = tmp_path / "out"
    translate = ["translate", article, "--model", tiny_marian, "--out", out, "--beam-size", "1",
                 "--glossary", glossary_path]
    result = run(translate, cli_env)
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "story.run.json").read_text(encoding="utf-8"))
    segments = {segment["id"]: segment for segment in record["segments"]}

    exported = tmp_path / "story.xlf"
    assert main(["tm", "export", "--format", "xliff", "--article", str(out / "story.run.json"),
                 "--out", str(exported)]) == 0
    text = exported.read_text(encoding="utf-8")
    assert '<file id="story" original="story.txt">' in text
    store = xliff2.Xliff2File.parsestring(exported.read_bytes())
    units = {unit.getid(): unit for unit in store.units}
    assert set(units) == set(segments)
    assert all(units[i].source == segments[i]["source"] for i in units)
    # Notes give the translator the context: the glossary terms (and flags) of each segment.
    term = next(t for s in record["segments"] for t in s["terms"])
    assert f'<note category="terms">{term["surface"]} → {term["target"]}' in text

    # The translator, in a CAT tool: approves one segment (translate-toolkit's "approved" is XLIFF 2.0
    # "reviewed"), signs another off as final, edits a third without approving it.
    ids = sorted(units)
    first, second, third = ids[0], ids[1], ids[2]
    units[first].target = "Translator English, approved."
    units[first].markapproved(True)
    units[second].target = "Translator English, final."
    units[second].xmlelement.set("state", "final")
    units[third].target = "Edited but left as translated."
    exported.write_bytes(bytes(store))

    capsys.readouterr()
    code, out_text, err = tm_import(capsys, exported, "--outputs", out)
    assert code == 0, err
    assert out_text.startswith("2 sentences approved")
    assert f"approved in story: {first}, {second}" in out_text
    assert f"story {third}: edited but translated, not approved" in err
    memory = approved(out / ".tarjama" / "memory.sqlite")
    assert memory[segments[first]["source"]] == "Translator English, approved."
    assert memory[segments[second]["source"]] == "Translator English, final."

    result = run(translate, cli_env)
    assert result.returncode == 0, result.stderr
    english = (out / "story.en.md").read_text(encoding="utf-8")
    assert "Translator English, approved." in english and "Translator English, final." in english

    # A unit whose Arabic no longer is its segment's is not placed: a warning names it.
    store = xliff2.Xliff2File.parsestring(exported.read_bytes())
    unit = next(u for u in store.units if u.getid() == third)
    unit.source = "نص عربي آخر."
    unit.xmlelement.set("state", "final")
    exported.write_bytes(bytes(store))
    code, out_text, err = tm_import(capsys, exported, "--outputs", out)
    assert code == 0 and f"story {third}: its Arabic is not the article's segment any more: skipped" in err
    assert "نص عربي آخر." not in approved(out / ".tarjama" / "memory.sqlite")


def test_article_xliff_without_its_run_record_is_refused(tmp_path, capsys):
    path = tmp_path / "story.xlf"
    path.write_text(XLIFF_20.replace('id="f1"', 'id="story" original="story.txt"').replace('id="u1"', 'id="p0.s0"')
                    .replace('id="u2"', 'id="p1.s0"').replace('id="u3"', 'id="p1.s1"').replace('id="u4"', 'id="p2.s0"'),
                    encoding="utf-8")
    code, _, err = tm_import(capsys, path, "--outputs", tmp_path / "nowhere", "--memory", tmp_path / "tm.sqlite")
    assert code == 2 and "units of article story cannot be placed" in err and err.startswith(f"error: {path}:")


# 6. glossary import lists every conflict; --skip-conflicts writes the rest.

def conflicting_tbx(tmp_path):
    good = [("الكرملين", "Kremlin"), ("موسكو", "Moscow"), ("كابول", "Kabul"), ("واشنطن", "Washington")]
    entries = [*good, ("الملف", "Dossier Center"), ("الملف", "The File"), ("داعش", "ISIS"), ("داعش", "Daesh")]
    body = "".join(f'<conceptEntry id="c{n}"><langSec xml:lang="ar"><termSec><term>{ar}</term></termSec></langSec>'
                   f'<langSec xml:lang="en"><termSec><term>{en}</term></termSec></langSec></conceptEntry>\n'
                   for n, (ar, en) in enumerate(entries))
    path = tmp_path / "vendor.tbx"
    path.write_text('<?xml version="1.0"?>\n<tbx style="dca" type="TBX-Basic" xml:lang="en"><text><body>\n'
                    f"{body}</body></text></tbx>\n", encoding="utf-8")
    return path


def test_glossary_import_lists_every_conflict_and_writes_nothing(tmp_path, capsys):
    path, out = conflicting_tbx(tmp_path), tmp_path / "g.tsv"
    code = main(["glossary", "import", str(path), "--out", str(out)])
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert len(lines) == 3 and lines[-1].startswith(f"error: {path}: 2 errors") and "--skip-conflicts" in lines[-1]
    assert "'الملف' is given the target 'The File'" in lines[0] and "'داعش' is given the target 'Daesh'" in lines[1]


def test_glossary_import_skip_conflicts_writes_the_rest_and_names_the_conflicts(tmp_path, capsys):
    path, out = conflicting_tbx(tmp_path), tmp_path / "g.tsv"
    assert main(["glossary", "import", str(path), "--out", str(out), "--skip-conflicts"]) == 0
    _, err = capsys.readouterr()
    rows = [line.split("\t")[:2] for line in out.read_text(encoding="utf-8").splitlines()[2:]]
    assert rows == [["الكرملين", "Kremlin"], ["موسكو", "Moscow"], ["كابول", "Kabul"], ["واشنطن", "Washington"]]
    warnings = [line for line in err.splitlines() if ": warning: " in line]
    assert len(warnings) == 2 and all("both skipped" in line for line in warnings)
    assert "'Daesh'" in warnings[1] and "error:" not in err


# 7. A repeated TSV header is a warning with its line, not a term.

def test_repeated_tsv_header_is_a_warning_not_a_term(tmp_path, capsys):
    from tarjama.terms.glossary import load_glossary

    path = tmp_path / "g.tsv"
    path.write_text("source\ttarget\nالكرملين\tKremlin\n# second half\nsource\ttarget\tnote\nموسكو\tMoscow\n",
                    encoding="utf-8")
    assert main(["glossary", "check", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert f"{path}:4: warning: a repeated header line" in out
    assert [(e.source, e.target) for e in load_glossary(path).entries] == [("الكرملين", "Kremlin"), ("موسكو", "Moscow")]


# 8. 200,000 nested elements: an error naming the file, exit 2, at once.

DEPTH = 200_000


@pytest.mark.parametrize(("name", "document", "command"), [
    ("deep.tmx", '<tmx version="1.4"><header srclang="ar"/><body><tu><tuv xml:lang="ar"><seg>'
                 + "<hi>" * DEPTH + "x" + "</hi>" * DEPTH + "</seg></tuv></tu></body></tmx>", "tm"),
    ("outside.tmx", '<tmx version="1.4"><header/><body>' + "<x>" * DEPTH + "</x>" * DEPTH + "</body></tmx>", "tm"),
    ("deep.xlf", '<xliff version="2.0" xmlns="urn:oasis:names:tc:xliff:document:2.0" srcLang="ar" trgLang="en">'
                 '<file id="f"><unit id="u"><segment><source>' + "<pc id='1'>" * DEPTH + "</pc>" * DEPTH
                 + "</source></segment></unit></file></xliff>", "tm"),
    ("deep.tbx", "<tbx><text><body><conceptEntry>" + "<x>" * DEPTH + "</x>" * DEPTH
                 + "</conceptEntry></body></text></tbx>", "glossary"),
])
def test_deeply_nested_xml_is_an_input_error_naming_the_file(tmp_path, capsys, name, document, command):
    path = tmp_path / name
    path.write_text(document, encoding="utf-8")
    args = (["tm", "import", str(path), "--memory", str(tmp_path / "tm.sqlite")] if command == "tm"
            else ["glossary", "import", str(path)])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:1: elements nested more than") and len(err.splitlines()) == 1


# Export per article from an outputs folder, and the memory-wide XLIFF coming back.

def write_record(out, stem, segments):
    out.mkdir(parents=True, exist_ok=True)
    record = {"source": f"inbox/{stem}.txt", "run_id": "r1",
              "segments": [{"id": i, "paragraph": 0, "kind": "body", "source": s, "target": t, "origin": "translated",
                            "terms": [], "flags": flags} for i, s, t, flags in segments]}
    (out / f"{stem}.run.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def test_article_export_of_an_outputs_folder_and_placement_of_each_unit(tmp_path, capsys):
    from translate.storage import xliff2

    out = tmp_path / "out"
    write_record(out, "alpha", [("p0.s0", "قال الكرملين.", "Kremlin said.", ["untranslated_term"]),
                                ("p1.s0", "وصل الوفد.", "Delegation came.", [])])
    write_record(out, "beta", [("p0.s0", "رفضت موسكو.", "Moscow no.", [])])
    assert main(["tm", "export", "--format", "tmx", "--article", str(out)]) == 2
    assert "--article exports XLIFF" in capsys.readouterr().err
    path = tmp_path / "articles.xlf"
    assert main(["tm", "export", "--format", "xliff", "--article", str(out), "--out", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert '<file id="alpha" original="alpha.txt">' in text and '<file id="beta" original="beta.txt">' in text
    assert '<note category="flags">untranslated_term</note>' in text
    store = xliff2.Xliff2File.parsestring(path.read_bytes())
    for unit in store.units:
        unit.target = f"Final {unit.getid()} of {unit.source}"
        unit.xmlelement.set("state", "final")
    path.write_bytes(bytes(store).replace(b'<unit id="p1.s0"', b'<unit id="p9.s9"'))
    code, stdout, err = tm_import(capsys, path, "--outputs", out)
    assert code == 0, err
    assert "approved in alpha: p0.s0" in stdout and "approved in beta: p0.s0" in stdout
    assert "alpha p9.s9: the article has no segment p9.s9: skipped" in err
    assert approved(out / ".tarjama" / "memory.sqlite") == {"قال الكرملين.": "Final p0.s0 of قال الكرملين.",
                                                           "رفضت موسكو.": "Final p0.s0 of رفضت موسكو."}


def test_memory_xliff_back_from_the_cat_tool_replaces_approvals_a_foreign_tmx_does_not(tmp_path, capsys):
    from translate.storage import xliff2

    from tarjama.exchange.tmx import write_tmx as tarjama_tmx
    from tarjama.memory.store import MachineEntry

    memory = tmp_path / "tm.sqlite"
    with open_memory(memory) as opened:
        opened.approve([("قال الكرملين.", "Old approval.")], origin="editor")
        opened.remember([MachineEntry("k", "وصل الوفد.", "Machine.", (), (), {})])
    path = tmp_path / "memory.xlf"
    assert main(["tm", "export", "--format", "xliff", "--memory", str(memory), "--out", str(path)]) == 0
    store = xliff2.Xliff2File.parsestring(path.read_bytes())
    for unit in store.units:
        unit.target = f"Translator: {unit.target}"
        unit.xmlelement.set("state", "final")
    path.write_bytes(bytes(store))
    code, stdout, _ = tm_import(capsys, path, "--memory", memory)
    assert code == 0 and stdout.startswith("2 sentences approved")
    assert approved(memory) == {"قال الكرملين.": "Translator: Old approval.", "وصل الوفد.": "Translator: Machine."}
    foreign = tmp_path / "vendor.tmx"
    foreign.write_text(tarjama_tmx([("قال الكرملين.", "Vendor English.", "approved")]).replace(
        'creationtool="tarjama"', 'creationtool="Vendor"'), encoding="utf-8")
    code, stdout, _ = tm_import(capsys, foreign, "--memory", memory)
    assert code == 0 and "the memory's own approval kept 1" in stdout
    assert approved(memory)["قال الكرملين."] == "Translator: Old approval."


def test_a_vendor_xliff_is_refused_with_what_to_do(tmp_path, capsys):
    path = tmp_path / "story.sdlxliff"
    path.write_text(XLIFF_12, encoding="utf-8")
    code, _, err = tm_import(capsys, path, "--memory", tmp_path / "tm.sqlite")
    assert code == 2 and "export the document from the CAT tool as XLIFF 1.2 or 2.0" in err


# Review 1: a file coming back late never reverts a newer approval; foreign <file>s never replace one.

KREMLIN = "قال الكرملين."


def approve(memory, english, origin):
    with open_memory(memory) as opened:
        opened.approve([(KREMLIN, english)], origin=origin)


def test_an_untouched_memory_xliff_coming_back_late_keeps_the_newer_approval(tmp_path, capsys):
    # Finding 1: exported with E1; E2 approved since; the translator returns the file untouched.
    memory = tmp_path / "tm.sqlite"
    approve(memory, "E1 editor English monday.", "/desk/art.bilingual.md")
    path = tmp_path / "memory.xlf"
    assert main(["tm", "export", "--format", "xliff", "--memory", str(memory), "--out", str(path)]) == 0
    approve(memory, "E2 editor correction tuesday.", "/desk/art.bilingual.md")
    code, stdout, err = tm_import(capsys, path, "--memory", memory)
    assert code == 0, err
    assert stdout.startswith("0 sentences approved") and "an earlier English 1" in stdout
    assert f"warning: {path}:" in err and ": the unit holds an earlier English; the memory's newer approval (from " \
        "/desk/art.bilingual.md" in err
    assert approved(memory) == {KREMLIN: "E2 editor correction tuesday."}


def article_export(tmp_path, capsys):
    out = tmp_path / "out"
    write_record(out, "art", [("p0.s0", KREMLIN, "Machine.", [])])
    memory = out / ".tarjama" / "memory.sqlite"
    approve(memory, "E1 editor.", str((out / "art.bilingual.md").resolve()))
    path = tmp_path / "art.xlf"
    assert main(["tm", "export", "--format", "xliff", "--article", str(out / "art.run.json"), "--out", str(path)]) == 0
    capsys.readouterr()
    return out, memory, path


def translator_sets(path, english):
    from translate.storage import xliff2

    store = xliff2.Xliff2File.parsestring(path.read_bytes())
    for unit in store.units:
        unit.target = english
        unit.xmlelement.set("state", "final")
    path.write_bytes(bytes(store))


def test_an_untouched_article_xliff_coming_back_late_keeps_the_newer_approval(tmp_path, capsys):
    out, memory, path = article_export(tmp_path, capsys)
    approve(memory, "E2 editor.", "/desk/other.bilingual.md")
    code, stdout, err = tm_import(capsys, path, "--outputs", out)
    assert code == 0, err
    assert stdout.startswith("0 sentences approved") and f"{path}:" in err and "art p0.s0 holds an earlier" in err
    assert approved(memory) == {KREMLIN: "E2 editor."}


def test_a_translators_change_of_the_approval_it_was_given_is_approved(tmp_path, capsys):
    out, memory, path = article_export(tmp_path, capsys)
    translator_sets(path, "E2 translator fixed the editor.")
    code, stdout, err = tm_import(capsys, path, "--outputs", out)
    assert code == 0 and "approved in art: p0.s0" in stdout, err
    assert approved(memory) == {KREMLIN: "E2 translator fixed the editor."}


def test_a_translators_change_over_an_approval_made_since_the_export_is_refused_unless_overwrite(tmp_path, capsys):
    # review3 #7: an XLIFF conflict is refused as a bilingual one is (exit 2, both Englishes quoted, nothing
    # stored), and --overwrite makes the translator's English win, naming what it replaced.
    out, memory, path = article_export(tmp_path, capsys)
    translator_sets(path, "Translator English.")
    approve(memory, "E2 editor since.", "/desk/other.bilingual.md")
    code, stdout, err = tm_import(capsys, path, "--outputs", out)
    assert code == 2 and stdout == "", err
    assert err.startswith("error: ") and "art p0.s0: the memory holds another approval" in err
    assert "E2 editor since." in err and "Translator English." in err and "--overwrite" in err
    assert approved(memory) == {KREMLIN: "E2 editor since."}
    code, stdout, err = tm_import(capsys, path, "--outputs", out, "--overwrite")
    assert code == 0 and "approved in art: p0.s0" in stdout, err
    assert "replaces the approval \u201cE2 editor since.\u201d" in err
    assert approved(memory) == {KREMLIN: "Translator English."}


def test_a_foreign_file_in_an_article_xliff_never_replaces_an_approval(tmp_path, capsys):
    # Finding 10: own and foreign are decided per <file>, not once for the whole XLIFF.
    out = tmp_path / "out"
    write_record(out, "art", [("p0.s0", "وصل الوفد.", "Machine.", [])])
    memory = out / ".tarjama" / "memory.sqlite"
    hello = write_tmx(tmp_path, [tu("مرحبا بالعالم", "Newsroom approved hello.")], name="hello.tmx")
    assert tm_import(capsys, hello, "--memory", memory)[0] == 0
    path = tmp_path / "mixed.xlf"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="ar" trgLang="en">'
                    '<file id="art" original="art.txt"><unit id="p0.s0"><segment state="final"><source>وصل الوفد.'
                    '</source><target>The delegation arrived.</target></segment></unit></file>'
                    '<file id="other"><unit id="u1"><segment state="final"><source>مرحبا بالعالم</source>'
                    '<target>Hello world</target></segment></unit></file></xliff>\n', encoding="utf-8")
    code, stdout, err = tm_import(capsys, path, "--outputs", out)
    assert code == 0, err
    assert stdout.split(" approved")[0] in ("1 sentence", "1 sentences") and "approved in art: p0.s0" in stdout
    assert "the memory's approval is kept" in err
    assert approved(memory) == {"مرحبا بالعالم": "Newsroom approved hello.", "وصل الوفد.": "The delegation arrived."}


def test_an_exchange_unit_differing_only_by_an_invisible_character_is_already_approved(tmp_path, capsys):
    # One "same English" for every import: what the Markdown shows (controls and invisibles dropped).
    out, memory, path = article_export(tmp_path, capsys)
    translator_sets(path, "E1\u200f editor.")
    code, stdout, err = tm_import(capsys, path, "--outputs", out)
    assert code == 0 and stdout.startswith("0 sentences approved") and "already approved 1" in stdout, err
    assert approved(memory) == {KREMLIN: "E1 editor."}


# Review 1, finding 11: counts said right, every warning shown.

def test_tmx_summary_says_units_and_translations_right(tmp_path, capsys):
    three = ('<tu><tuv xml:lang="ar"><seg>قال الكرملين.</seg></tuv><tuv xml:lang="en"><seg>The Kremlin said.</seg>'
             '</tuv><tuv xml:lang="fr"><seg>Le Kremlin a dit.</seg></tuv></tu>\n')
    path = write_tmx(tmp_path, [three])
    memory = tmp_path / "tm.sqlite"
    code, out, err = tm_import(capsys, path, "--memory", memory)
    assert code == 0, err
    assert out.splitlines()[:2] == [f"1 sentence approved into {memory}",
                                    "read 1 unit (TMX) with translations ar→en 1, ar→fr 1"]
    assert f"warning: {path}: skipped 1 translation not Arabic→English (ar→fr 1)" in err
    assert "units are not" not in err


def test_glossary_import_with_a_conflict_still_shows_the_other_warnings(tmp_path, capsys):
    path, out = tmp_path / "g.tsv", tmp_path / "out.tsv"
    path.write_text("source\ttarget\nالكرملين\tKremlin\nsource\ttarget\nداعش\tISIS\nداعش\tDaesh\n", encoding="utf-8")
    code = main(["glossary", "import", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert f"{path}:3: warning: a repeated header line" in err
    assert err.splitlines()[-1].startswith(f"error: {path}:5:") and "--skip-conflicts" in err


# Review 1, finding 4: a unit split into segments keeps the space between its sentences.

X20 = ('<?xml version="1.0" encoding="UTF-8"?>\n<xliff version="2.0" xmlns="urn:oasis:names:tc:xliff:document:2.0" '
       'srcLang="ar" trgLang="en">{files}</xliff>\n')
STORY = [("p0.s0", "عنوان الخبر", "Headline", []),
         ("p1.s0", "قال الكرملين إن الوضع هادئ. وصل الوفد إلى موسكو.", "Machine one.", []),
         ("p2.s0", "رفضت موسكو العرض.", "Machine two.", [])]


def split_unit(between, first="قال الكرملين إن الوضع هادئ.", second="وصل الوفد إلى موسكو."):
    return (f'<unit id="p1.s0"><segment state="final"><source>{first}</source><target>First half.</target></segment>'
            f'{between}<segment state="final"><source>{second}</source><target>Second half.</target></segment></unit>')


@pytest.mark.parametrize("between", ['<ignorable><source> </source></ignorable>', ""],
                         ids=["ignorable", "trimmed, no ignorable"])
def test_xliff_20_unit_split_into_segments_keeps_its_spaces(tmp_path, capsys, between):
    out = tmp_path / "out"
    write_record(out, "story", STORY)
    path = tmp_path / "story.xlf"
    path.write_text(X20.format(files=f'<file id="story" original="story.txt">{split_unit(between)}</file>'),
                    encoding="utf-8")
    code, stdout, err = tm_import(capsys, path, "--outputs", out)
    assert code == 0 and "approved in story: p1.s0" in stdout, err
    assert approved(out / ".tarjama" / "memory.sqlite") == {STORY[1][1]: "First half. Second half."}


def test_xliff_arabic_is_matched_to_its_segment_modulo_whitespace(tmp_path, capsys):
    out = tmp_path / "out"
    published = "قال الكرملين:«الوضع هادئ».وصل الوفد."
    write_record(out, "story", [("p0.s0", published, "Machine.", [])])
    path = tmp_path / "story.xlf"
    unit = ('<unit id="p0.s0"><segment state="final"><source> قال الكرملين: «الوضع  هادئ». </source>'
            '<target>The Kremlin said.</target></segment><segment state="final"><source>وصل الوفد.</source>'
            '<target>The delegation came.</target></segment></unit>')
    path.write_text(X20.format(files=f'<file id="story">{unit}</file>'), encoding="utf-8")
    code, stdout, err = tm_import(capsys, path, "--outputs", out)
    assert code == 0 and "approved in story: p0.s0" in stdout, err
    # Keyed by the Arabic as published, so the next run finds the approval.
    assert approved(out / ".tarjama" / "memory.sqlite") == {published: "The Kremlin said. The delegation came."}


# Review 1, finding 5: a CAT tool's name for the article, whatever its path or suffix, finds its run record.

def story_12(original):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">'
            f'<file original="{original}" source-language="ar" target-language="en"><body>'
            f'<trans-unit id="p2.s0" approved="yes"><source>{STORY[2][1]}</source><target>Moscow turned it down.'
            '</target></trans-unit></body></file></xliff>\n')


@pytest.mark.parametrize("original", ["C:\\Users\\tr\\Projects\\news\\story.txt", "story.txt.xlf", "story.xliff",
                                      "jobs/story.txt", "{elsewhere}/story.txt"])
def test_xliff_original_is_matched_by_its_base_name_inside_outputs_only(tmp_path, capsys, original):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    write_record(out, "story", STORY)
    # A record where the file's path points, with other Arabic: it must never be read.
    write_record(elsewhere, "story", [("p2.s0", "نص آخر تماما.", "Other.", [])])
    path = tmp_path / "back.xlf"
    path.write_text(story_12(original.format(elsewhere=elsewhere)), encoding="utf-8")
    code, stdout, err = tm_import(capsys, path, "--outputs", out)
    assert code == 0, err
    assert "approved in story: p2.s0" in stdout and "warning" not in err
    assert approved(out / ".tarjama" / "memory.sqlite") == {STORY[2][1]: "Moscow turned it down."}


def test_xliff_article_named_nothing_known_is_placed_by_its_arabic_with_a_warning(tmp_path, capsys):
    out = tmp_path / "out"
    write_record(out, "story", STORY)
    write_record(out, "other", [("p2.s0", "نص آخر تماما.", "Other.", [])])
    path = tmp_path / "back.xlf"
    unit = (f'<unit id="p2.s0"><segment state="final"><source>{STORY[2][1]}</source><target>Renamed file.</target>'
            '</segment></unit>')
    ghost = ('<unit id="p0.s0"><segment state="final"><source>جملة لا يعرفها أحد.</source><target>Nobody.</target>'
             '</segment></unit>')
    path.write_text(X20.format(files=f'<file id="f1" original="job-42.docx">{unit}</file><file id="f2">{ghost}</file>'),
                    encoding="utf-8")
    code, stdout, err = tm_import(capsys, path, "--outputs", out)
    assert code == 0, err
    assert "approved in story: p2.s0" in stdout and "not placed in an article 1" in stdout
    assert f"warning: {path}: article 'f1' has no run record in {out}: its units are placed by their Arabic in story" \
        in err
    assert f"warning: {path}: units of article f2 cannot be placed" in err and "1 unit skipped" in err
    assert approved(out / ".tarjama" / "memory.sqlite") == {STORY[2][1]: "Renamed file."}


def test_review3_10_an_approved_unit_of_the_article_xliff_carries_no_machine_flags(tmp_path, capsys):
    out = tmp_path / "out"
    write_record(out, "art", [("p0.s0", KREMLIN, "Machine.", ["output_truncated", "arabic_in_english"]),
                              ("p0.s1", "وصل الوفد.", "Machine two.", ["output_truncated"])])
    record = json.loads((out / "art.run.json").read_text(encoding="utf-8"))
    record["segments"][0]["terms"] = [{"surface": "الكرملين", "target": "Kremlin", "hit": False}]
    (out / "art.run.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    approve(out / ".tarjama" / "memory.sqlite", "The Kremlin said so.", "/desk/art.bilingual.md")
    path = tmp_path / "art.xlf"
    assert main(["tm", "export", "--format", "xliff", "--article", str(out / "art.run.json"), "--out", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    approved_unit = text.split('<unit id="p0.s0"')[1].split("</unit>")[0]
    machine_unit = text.split('<unit id="p0.s1"')[1].split("</unit>")[0]
    assert "The Kremlin said so." in approved_unit
    assert 'category="flags"' not in approved_unit and "output_truncated" not in approved_unit
    assert "→ Kremlin" in approved_unit and "(missing)" not in approved_unit  # the term, tested on the approval
    assert '<note category="flags">output_truncated</note>' in machine_unit  # the machine English keeps its flags


# Final review 1: the article XLIFF names the run it was exported from; the import compares with what that run
# published, not with the current record.

def test_final_1_a_translator_s_edit_never_silently_replaces_an_approval_made_since_the_export(tmp_path, capsys):
    from test_edges_editor import ARTICLE, P1S0, edit_cells
    from test_publishing import make_record
    from translate.storage import xliff2

    from tarjama.publish.publisher import publish
    from tarjama.text.articles import segment_text

    out = tmp_path / "out"
    document = segment_text(ARTICLE, tmp_path / "story.txt")
    paths = publish(make_record(document, lambda s: f"Machine English of {s.id}."), out)
    exported = tmp_path / "story.xlf"
    assert main(["tm", "export", "--format", "xliff", "--article", str(paths.record), "--out", str(exported)]) == 0
    edit_cells(paths.bilingual, "p1.s0", english="Editor's English.")  # the editor, after the export
    assert main(["tm", "import", str(paths.bilingual)]) == 0
    publish(make_record(document, lambda s: "Editor's English." if s.id == "p1.s0" else f"Machine English of {s.id}."),
            out)  # a rerun publishes the approval
    store = xliff2.Xliff2File.parsestring(exported.read_bytes())  # the translator, in a CAT tool
    unit = next(u for u in store.units if u.getid() == "p1.s0")
    unit.target = "Translator's English."
    unit.xmlelement.set("state", "final")
    exported.write_bytes(bytes(store))
    capsys.readouterr()
    code, stdout, err = tm_import(capsys, exported, "--outputs", out)
    assert code == 2 and stdout == "", err
    assert "story p1.s0: the memory holds another approval, \u201cEditor's English.\u201d" in err
    assert "Translator's English." in err and "--overwrite" in err
    assert approved(out / ".tarjama" / "memory.sqlite")[P1S0] == "Editor's English."
    assert '<note category="tarjama-run">' in exported.read_text(encoding="utf-8")  # kept by the round trip

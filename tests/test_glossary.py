import pytest
from casefiles import CASES, as_params, read_cases
from test_cli import assert_one_line_error, run

from tarjama.errors import InputError
from tarjama.terms.english import target_in_translation
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import TermMatcher, find_terms
from tarjama.text.articles import read_article


def write(tmp_path, text, name="g.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_header_comments_and_extra_columns(tmp_path):
    path = write(tmp_path, "# newsroom terms\nsource\ttarget\tnote\nالكرملين\tKremlin\tseat of power\n\n"
                           "داعش\tISIS\n")
    glossary = load_glossary(path)
    assert [(e.source, e.target, e.note, e.line) for e in glossary.entries] == [
        ("الكرملين", "Kremlin", "seat of power", 3), ("داعش", "ISIS", "", 5)]
    assert len(glossary.sha256) == 64
    assert glossary.to_json() == {"path": str(path), "sha256": glossary.sha256, "entries": 2}


@pytest.mark.parametrize("header", ["source\tnote\ttarget", "note\ttarget\tsource", "Target\tSource\tNote"])
def test_header_columns_in_any_order(tmp_path, header):
    names = [name.lower() for name in header.split("\t")]
    values = {"source": "موسكو", "target": "Moscow", "note": "the capital"}
    path = write(tmp_path, header + "\n" + "\t".join(values[n] for n in names) + "\n")
    (entry,) = load_glossary(path).entries
    assert (entry.source, entry.target, entry.note) == ("موسكو", "Moscow", "the capital")


def test_headerless_two_column_file_as_deepl_takes_it(tmp_path):
    glossary = load_glossary(write(tmp_path, "موسكو\tMoscow\nروسيا\tRussia\n"))
    assert [e.target for e in glossary.entries] == ["Moscow", "Russia"]


@pytest.mark.parametrize(("content", "message", "line"), [
    ("source\ttarget\nالكرملين\tKremlin\nداعش\n", "'داعش' has no English target", 3),
    ("داعش\t  \n", "'داعش' has no English target", 1),
    ("الكرملين\tKremlin\n\tISIS\n", "no Arabic source term", 2),
    ("داعش\tISIS\nداعش\tDaesh\n", "'داعش' is given the target 'Daesh' here and 'ISIS' on line 1", 2),
    ("# only comments\n", "glossary has no entries", None),
    ("...\tdots\n", "no letters to match", 1),
])
def test_broken_rows_are_named_by_line(tmp_path, content, message, line):
    path = write(tmp_path, content)
    with pytest.raises(InputError) as caught:
        load_glossary(path)
    assert message in caught.value.message
    assert caught.value.path == str(path) and caught.value.line == line
    assert caught.value.describe().startswith(f"{path}:{line}:" if line else f"{path}:")


def test_missing_and_undecodable_glossaries(tmp_path):
    with pytest.raises(InputError, match="no such glossary"):
        load_glossary(tmp_path / "none.tsv")
    path = tmp_path / "bad.tsv"
    path.write_bytes("داعش\tISIS\n".encode() + b"\xc3\x28\tx\n")
    with pytest.raises(InputError) as caught:
        load_glossary(path)
    assert caught.value.line == 2


UTF16_TSV = "source\ttarget\r\nموسكو\tMoscow\r\n"


@pytest.mark.parametrize(("name", "data"), [
    pytest.param("excel.txt", UTF16_TSV.encode("utf-16"), id="Excel Unicode Text"),  # little-endian, BOM
    pytest.param("g.tsv", b"\xff\xfe" + UTF16_TSV.encode("utf-16-le"), id="little-endian"),
    pytest.param("g.tsv", b"\xfe\xff" + UTF16_TSV.encode("utf-16-be"), id="big-endian"),
    pytest.param("g.tsv", b"\xff\xfe" + "\r\n# newsroom\r\nموسكو\tMoscow\r\n".encode("utf-16-le"),
                 id="blank line and comment first"),
])
def test_utf16_tsv_is_named_as_such(tmp_path, cli_env, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        load_glossary(path)
    assert caught.value.message == 'not UTF-8: the file is UTF-16 (Excel\'s "Unicode Text"); save it as UTF-8'
    assert "XML" not in caught.value.describe()
    result = run(["glossary", "check", path], cli_env)
    assert result.stdout == (f"{path}: error: {caught.value.message}\n"
                             f"{path}: 0 entries, 1 errors, 0 warnings\n")
    assert_one_line_error(result, f"error: {path}: the glossary has 1 errors")


CASE_GLOSSARY = load_glossary(CASES / "terms-glossary.tsv")
CASE_MATCHER = TermMatcher(CASE_GLOSSARY.entries)


def bracketed(text, found, with_targets):
    pieces, position = [], 0
    for match in found:
        label = f"{text[match.start:match.end]}→{match.entry.target}" if with_targets else text[match.start:match.end]
        pieces += [text[position:match.start], f"[{label}]"]
        position = match.end
    return "".join([*pieces, text[position:]])


@pytest.mark.parametrize("case", as_params(read_cases("terms.ar.txt")))
def test_matching_cases(case):
    (expected,) = case.expected
    assert bracketed(case.input, CASE_MATCHER.find(case.input), "→" in expected) == expected


def test_matches_shift_by_the_offset_and_name_their_clitics():
    text = "قال ووفقا للملف"
    (found,) = CASE_MATCHER.find(text, offset=100)
    assert (found.start, found.end) == (110, 115)
    assert found.proclitics == ("ل",) and found.entry.target == "Dossier Center"
    (found,) = CASE_MATCHER.find("والموسكو")
    assert found.proclitics == ("و", "ال")


def test_matches_offsets_point_into_the_article(sample_path, glossary_path):
    document = read_article(sample_path)
    matches = find_terms(document, load_glossary(glossary_path))
    assert matches
    for match in matches:
        assert document.text[match.start:match.end] == match.surface
        segment = next(s for s in document.segments if s.id == match.segment)
        assert segment.start <= match.start < match.end <= segment.end
        assert match.paragraph == segment.paragraph
    assert sum(m.target == "Crocus City Hall" for m in matches) == 2
    assert {"ISIS-K", "Dossier Center", "Kremlin", "Mikhail Khodorkovsky"} <= {m.target for m in matches}


def test_hit_is_case_insensitive_containment():
    assert target_in_translation("Dossier Center", "the dossier center said")
    assert not target_in_translation("Dossier Center", "the Dossier said")

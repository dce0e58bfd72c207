import hashlib
import json

import pytest

from tarjama.errors import InputError
from tarjama.text.articles import read_article


def test_sample_has_24_paragraphs_and_28_sentences(sample_path):
    document = read_article(sample_path)
    assert len(document.paragraphs) == 24
    assert len(document.segments) == 28
    assert [p.index for p in document.paragraphs if p.kind == "related"] == [12, 16]
    assert document.paragraphs[0].kind == "title"
    assert {p.kind for p in document.paragraphs[1:]} == {"body", "related"}


def test_segments_are_slices_of_the_file_as_python_reads_it(sample_path):
    document = read_article(sample_path)
    text = sample_path.read_text(encoding="utf-8")
    for segment in document.segments:
        assert text[segment.start:segment.end] == segment.text
    ids = [s.id for s in document.segments]
    assert len(set(ids)) == len(ids)


def test_contract_json_shape(sample_path):
    data = json.loads(json.dumps(read_article(sample_path).to_json()))
    assert data["document"] == str(sample_path)
    first = data["paragraphs"][0]
    assert first["index"] == 0 and first["kind"] == "title"
    assert set(first["segments"][0]) == {"id", "text", "start", "end"}
    assert first["segments"][0]["id"] == "p0.s0"


def test_blank_lines_are_not_paragraphs_and_offsets_survive_crlf_and_bom(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffعنوان الخبر\r\n\r\n   \r\nقال الوزير. وأضاف شيئا.\r\n".encode())
    document = read_article(path)
    assert [p.index for p in document.paragraphs] == [0, 1]
    assert [s.text for s in document.segments] == ["عنوان الخبر", "قال الوزير.", "وأضاف شيئا."]
    text = path.read_text(encoding="utf-8")
    assert all(text[s.start:s.end] == s.text for s in document.segments)
    assert document.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


BAD_INPUTS = [
    ("empty", b"", "empty article", None),
    ("blank", b"  \n\n\t\n", "empty article", None),
    ("invisible only", "\u200f\u200b\n".encode(), "empty article", None),
    ("invalid utf-8", "سطر أول\nسطر ثان\n".encode() + b"\xff\xfe bad\n", "not valid UTF-8", 3),
    ("latin-1", "caf\xe9 خبر".encode("latin-1", errors="ignore") + b"\xe9\n", "not valid UTF-8", 1),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data", None),
    ("no arabic", b"Moscow attack: what we know.\nMore text.\n", "no Arabic text", None),
]


@pytest.mark.parametrize(("content", "message", "line"), [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_articles_raise_input_errors_naming_the_file(tmp_path, content, message, line):
    path = tmp_path / "article.txt"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_article(path)
    assert message in caught.value.message
    assert caught.value.exit_code == 2
    assert caught.value.path == str(path)
    assert caught.value.line == line


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such article file"):
        read_article(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="directory"):
        read_article(tmp_path)

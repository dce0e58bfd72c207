import pytest

from tarjama.errors import InputError
from tarjama.terms.entries import CLITICS, ERROR, EXACT, WARNING, GlossaryEntry, GlossaryProblem
from tarjama.terms.glossary import check_glossary, load_glossary
from tarjama.terms.tbx import read_tbx

V3_NS = "urn:iso:std:iso:30042:ed-2"

# TBX-Basic v2 (TBX 2008): martif, termEntry, langSet, tig and ntig, DCA-style termNotes.
TBX_BASIC_V2 = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE martif SYSTEM "TBXBasiccoreStructV02.dtd">
<martif type="TBX-Basic" xml:lang="en-US">
  <martifHeader><fileDesc><sourceDesc><p>Newsroom terms</p></sourceDesc></fileDesc></martifHeader>
  <text>
    <body>
      <termEntry id="c1">
        <descrip type="definition">Seat of the
          Russian   presidency.</descrip>
        <langSet xml:lang="ar">
          <tig><term>الكرملين</term></tig>
        </langSet>
        <langSet xml:lang="en">
          <tig>
            <term>Kremlin</term>
            <termNote type="administrativeStatus">preferredTerm-admn-sts</termNote>
          </tig>
        </langSet>
      </termEntry>
      <termEntry id="c2">
        <langSet xml:lang="ar">
          <descrip type="context">قالت منظمة الملف إن…</descrip>
          <ntig><termGrp><term>منظمة الملف</term></termGrp></ntig>
          <tig>
            <term>مركز الملف</term>
            <termNote type="administrativeStatus">deprecatedTerm-admn-sts</termNote>
          </tig>
        </langSet>
        <langSet xml:lang="en">
          <note>Khodorkovsky's investigative outlet.</note>
          <tig>
            <term>The File</term>
            <termNote type="administrativeStatus">deprecatedTerm-admn-sts</termNote>
          </tig>
          <ntig>
            <termGrp>
              <term>Dossier Center</term>
              <termNote type="administrativeStatus">preferredTerm-admn-sts</termNote>
            </termGrp>
          </ntig>
        </langSet>
      </termEntry>
      <termEntry id="c3">
        <langSet xml:lang="fr"><tig><term>Kremlin</term></tig></langSet>
        <langSet xml:lang="en"><tig><term>Kremlin</term></tig></langSet>
      </termEntry>
      <termEntry>
        <langSet xml:lang="ar"><tig><term>داعش خراسان</term></tig></langSet>
        <langSet xml:lang="en">
          <tig>
            <term>ISIS-K</term>
            <termNote type="administrativeStatus">admittedTerm-admn-sts</termNote>
          </tig>
        </langSet>
      </termEntry>
    </body>
  </text>
</martif>
"""

# TBX v3 (ISO 30042:2019) with the default namespace.
TBX_V3 = f"""<?xml version="1.0" encoding="UTF-8"?>
<tbx type="TBX-Basic" style="dca" xml:lang="en" xmlns="{V3_NS}">
  <tbxHeader><fileDesc><sourceDesc><p>Newsroom terms</p></sourceDesc></fileDesc></tbxHeader>
  <text>
    <body>
      <conceptEntry id="kremlin">
        <langSec xml:lang="ar"><termSec><term>الكرملين</term></termSec></langSec>
        <langSec xml:lang="en"><termSec><term>Kremlin</term></termSec></langSec>
      </conceptEntry>
      <conceptEntry id="dossier">
        <descrip type="definition">Investigative outlet funded by Mikhail Khodorkovsky.</descrip>
        <langSec xml:lang="ar">
          <termSec><term>منظمة الملف</term><termNote type="administrativeStatus">preferred</termNote></termSec>
          <termSec><term>مركز الملف</term><termNote type="administrativeStatus">admitted</termNote></termSec>
        </langSec>
        <langSec xml:lang="en">
          <termSec><term>The File</term><termNote type="administrativeStatus">notRecommended</termNote></termSec>
          <termSec><term>Dossier Center</term><termNote type="administrativeStatus">preferred</termNote></termSec>
        </langSec>
      </conceptEntry>
      <conceptEntry id="isisk">
        <langSec xml:lang="ar-SA">
          <termSec>
            <term>داعش خراسان</term>
            <termNote type="termType">acronym</termNote>
          </termSec>
        </langSec>
        <langSec xml:lang="en"><termSec><term>ISIS-K</term></termSec></langSec>
      </conceptEntry>
    </body>
  </text>
</tbx>
"""


def v2(entries: str, *, root_lang: str = "en") -> str:
    """A TBX-Basic v2 file around some termEntry elements (which start on line 3)."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<martif type="TBX-Basic" xml:lang="{root_lang}"><text><body>\n'
            f"{entries}\n</body></text></martif>\n")


def v3(entries: str) -> str:
    """A namespaced TBX v3 file around some conceptEntry elements (which start on line 3)."""
    return (f'<?xml version="1.0"?>\n<tbx xmlns="{V3_NS}" type="TBX-Basic" style="dca"><text><body>\n{entries}\n'
            "</body></text></tbx>\n")


def tig(lang: str, term: str, status: str = "", extra: str = "") -> str:
    note = f'<termNote type="administrativeStatus">{status}</termNote>' if status else ""
    return f'<langSet xml:lang="{lang}"><tig><term>{term}</term>{note}{extra}</tig></langSet>'


def read(text: str, encoding: str = "utf-8") -> tuple[list[GlossaryEntry], list[GlossaryProblem]]:
    return read_tbx(text.encode(encoding))


def test_tbx_basic_v2_termbase():
    entries, problems = read(TBX_BASIC_V2)
    assert entries == [
        GlossaryEntry("الكرملين", "Kremlin", "Seat of the Russian presidency.", (), CLITICS, 7),
        GlossaryEntry("منظمة الملف", "Dossier Center", "Khodorkovsky's investigative outlet.", ("مركز الملف",),
                      CLITICS, 20),
        GlossaryEntry("داعش خراسان", "ISIS-K", "", (), CLITICS, 47),
    ]
    assert problems == [GlossaryProblem(WARNING, "entry c3 has no Arabic term; skipped", 43)]


def test_tbx_v3_namespaced_termbase():
    entries, problems = read(TBX_V3)
    assert entries == [
        GlossaryEntry("الكرملين", "Kremlin", "", (), CLITICS, 6),
        GlossaryEntry("منظمة الملف", "Dossier Center", "Investigative outlet funded by Mikhail Khodorkovsky.",
                      ("مركز الملف",), CLITICS, 10),
        GlossaryEntry("داعش خراسان", "ISIS-K", "", (), EXACT, 21),
    ]
    assert problems == []


@pytest.mark.parametrize("document", [
    # Prefixed namespace, declared.
    f'<t:tbx xmlns:t="{V3_NS}"><t:text><t:body><t:conceptEntry id="k"><t:langSec xml:lang="ar"><t:termSec>'
    '<t:term>الكرملين</t:term></t:termSec></t:langSec><t:langSec xml:lang="en"><t:termSec><t:term>The Kremlin</t:term>'
    '<t:termNote type="administrativeStatus">deprecated</t:termNote></t:termSec><t:termSec><t:term>Kremlin</t:term>'
    "</t:termSec></t:langSec></t:conceptEntry></t:body></t:text></t:tbx>",
    # DCT style: data categories as namespaced elements instead of termNote types.
    f'<tbx xmlns="{V3_NS}" xmlns:basic="http://www.tbxinfo.net/ns/basic" style="dct"><text><body>'
    '<conceptEntry id="k"><langSec xml:lang="ar"><termSec><term>الكرملين</term></termSec></langSec>'
    '<langSec xml:lang="en"><termSec><term>The Kremlin</term><basic:administrativeStatus>deprecatedTerm-admn-sts'
    "</basic:administrativeStatus></termSec><termSec><term>Kremlin</term></termSec></langSec></conceptEntry>"
    "</body></text></tbx>",
    # No namespace at all in a v3 file.
    '<tbx><text><body><conceptEntry id="k"><langSec xml:lang="ar"><termSec><term>الكرملين</term></termSec>'
    '</langSec><langSec xml:lang="en"><termSec><term>The Kremlin</term><termNote type="administrativeStatus">'
    "superseded</termNote></termSec><termSec><term>Kremlin</term></termSec></langSec></conceptEntry></body></text>"
    "</tbx>",
])
def test_namespace_forms_and_dct_style(document):
    entries, problems = read(document)
    assert [(e.source, e.target) for e in entries] == [("الكرملين", "Kremlin")]
    assert problems == []


@pytest.mark.parametrize(("english", "target"), [
    # The first preferred term wins, wherever it is.
    ([("The File", "admittedTerm-admn-sts"), ("Dossier Center", "preferredTerm-admn-sts")], "Dossier Center"),
    ([("Dossier Center", "preferredTerm-admn-sts"), ("Dossier Centre", "preferredTerm-admn-sts")], "Dossier Center"),
    # Without a preferred term: the first one not deprecated, superseded or not recommended.
    ([("The File", "deprecatedTerm-admn-sts"), ("Dossier Center", "")], "Dossier Center"),
    ([("The File", "supersededTerm-admn-sts"), ("Dossier Center", "admittedTerm-admn-sts")], "Dossier Center"),
    ([("The File", "notRecommended"), ("Dossier Centre", ""), ("Dossier Center", "")], "Dossier Centre"),
    ([("Dossier Center", ""), ("The File", "")], "Dossier Center"),
])
def test_english_target_choice(english, target):
    terms = "".join(tig("en", term, status) for term, status in english)
    entries, problems = read(v2(f'<termEntry id="d">{tig("ar", "منظمة الملف")}{terms}</termEntry>'))
    assert [e.target for e in entries] == [target]
    assert problems == []


@pytest.mark.parametrize(("entry", "message"), [
    (f'<termEntry id="c12">{tig("fr", "Kremlin")}{tig("en", "Kremlin")}</termEntry>',
     "entry c12 has no Arabic term; skipped"),
    (f'<termEntry id="c7">{tig("ar", "مركز الملف")}{tig("en", "The File", "deprecatedTerm-admn-sts")}'
     f'{tig("en", "File Centre", "supersededTerm-admn-sts")}</termEntry>',
     "entry c7 has only deprecated English terms; skipped"),
    (f'<termEntry id="c8">{tig("ar", "الكرملين")}{tig("fr", "Kremlin")}</termEntry>',
     "entry c8 has no English term; skipped"),
    (f'<termEntry>{tig("en", "Kremlin")}</termEntry>', "entry has no Arabic term; skipped"),
])
def test_unusable_entries_are_skipped_with_a_warning(entry, message):
    document = v2(f'{entry}\n<termEntry id="ok">{tig("ar", "الكرملين")}{tig("en", "Kremlin")}</termEntry>')
    entries, problems = read(document)
    assert [(e.source, e.target, e.line) for e in entries] == [("الكرملين", "Kremlin", 4)]
    assert problems == [GlossaryProblem(WARNING, message, 3)]


def test_empty_term_is_named_by_its_line():
    entry = ('<termEntry id="c5">\n<langSet xml:lang="ar"><tig><term>الكرملين</term></tig>\n'
             '<tig><term> \n </term></tig></langSet>\n' + tig("en", "Kremlin") + "</termEntry>")
    entries, problems = read(v2(entry))
    assert [(e.source, e.variants) for e in entries] == [("الكرملين", ())]
    assert problems == [GlossaryProblem(WARNING, "entry c5 has an empty term", 5)]


@pytest.mark.parametrize(("root_lang", "entry", "expected"), [
    # Language inherited from the termEntry, and from the root element.
    ("en", '<termEntry xml:lang="ar"><tig><term>الكرملين</term></tig>' + tig("en", "Kremlin") + "</termEntry>",
     [("الكرملين", "Kremlin")]),
    ("ar", "<termEntry><langSet><tig><term>الكرملين</term></tig></langSet>" + tig("en", "Kremlin") + "</termEntry>",
     [("الكرملين", "Kremlin")]),
    # Region subtags and case do not matter; only the primary subtag does.
    ("en", "<termEntry>" + tig("ar-SA", "الكرملين") + tig("EN-gb", "Kremlin") + "</termEntry>",
     [("الكرملين", "Kremlin")]),
    ("en", "<termEntry>" + tig("AR", "الكرملين") + tig("en-US", "Kremlin") + "</termEntry>",
     [("الكرملين", "Kremlin")]),
    # "arc" (Aramaic) starts like "ar" but is not Arabic.
    ("en", "<termEntry>" + tig("arc", "الكرملين") + tig("en", "Kremlin") + "</termEntry>", []),
])
def test_language_tags(root_lang, entry, expected):
    entries, _ = read(v2(entry, root_lang=root_lang))
    assert [(e.source, e.target) for e in entries] == expected


def test_variants_are_distinct_and_keep_deprecated_arabic_forms():
    arabic = ('<langSet xml:lang="ar"><tig><term>منظمة الملف</term></tig><tig><term>مركز  الملف</term>'
              '<termNote type="administrativeStatus">deprecatedTerm-admn-sts</termNote></tig>'
              "<tig><term>منظمة\nالملف</term></tig><tig><term>مركز الملف</term></tig></langSet>")
    entries, _ = read(v2(f"<termEntry>{arabic}{tig('en', 'Dossier Center')}</termEntry>"))
    assert [(e.source, e.variants) for e in entries] == [("منظمة الملف", ("مركز الملف",))]


def test_term_text_includes_inline_markup_and_collapses_whitespace():
    entry = ('<termEntry><langSet xml:lang="ar"><tig><term>\n  داعش <hi type="bold">خراسان</hi>\n</term></tig>'
             '</langSet><langSet xml:lang="en"><tig><term>ISIS-<hi>K</hi></term></tig></langSet></termEntry>')
    entries, _ = read(v2(entry))
    assert [(e.source, e.target) for e in entries] == [("داعش خراسان", "ISIS-K")]


@pytest.mark.parametrize(("inner", "note"), [
    # The concept-level definition wins over notes met earlier at the language and term levels.
    ('<langSet xml:lang="ar"><note>language note</note><tig><term>الكرملين</term><note>term note</note></tig>'
     '</langSet><descrip type="definition">concept definition</descrip>', "concept definition"),
    ('<note>concept note</note><descrip type="definition">concept definition</descrip>'
     '<langSet xml:lang="ar"><tig><term>الكرملين</term></tig></langSet>', "concept definition"),
    ('<langSet xml:lang="ar"><tig><term>الكرملين</term><note>term note</note></tig>'
     '<descripGrp><descrip type="definition">language definition</descrip></descripGrp></langSet>',
     "language definition"),
    ('<langSet xml:lang="ar"><tig><term>الكرملين</term><note>first  term\nnote</note><note>second</note></tig>'
     "</langSet>", "first term note"),
    # Context sentences and other descriptions are not notes.
    ('<langSet xml:lang="ar"><descrip type="context">قال الكرملين</descrip><descrip type="subjectField">politics'
     "</descrip><tig><term>الكرملين</term></tig></langSet>", ""),
])
def test_note_is_the_first_definition_or_note(inner, note):
    entries, _ = read(v2(f"<termEntry>{inner}{tig('en', 'Kremlin')}</termEntry>"))
    assert [e.note for e in entries] == [note]


@pytest.mark.parametrize(("arabic", "match"), [
    ('<tig><term>داعش</term><termNote type="termType">acronym</termNote></tig>', EXACT),
    ('<ntig><termGrp><term>داعش</term><termNote type="termType">abbreviation</termNote></termGrp></ntig>', EXACT),
    ('<tig><term>داعش</term><termNote type="termType">shortForm</termNote></tig>', EXACT),
    ('<tig><term>داعش</term><termNote type="termType">fullForm</termNote></tig>', CLITICS),
    # Only the first Arabic term's type counts.
    ('<tig><term>الدولة الإسلامية</term></tig><tig><term>داعش</term><termNote type="termType">acronym</termNote>'
     "</tig>", CLITICS),
])
def test_short_forms_match_exactly(arabic, match):
    english = ('<langSet xml:lang="en"><tig><term>ISIS</term><termNote type="termType">acronym</termNote></tig>'
               "</langSet>")
    entries, _ = read(v2(f'<termEntry><langSet xml:lang="ar">{arabic}</langSet>{english}</termEntry>'))
    assert [e.match for e in entries] == [match]


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf", b""])
def test_utf8_with_and_without_bom(prefix):
    entries, problems = read_tbx(prefix + TBX_V3.encode("utf-8"))
    assert [e.target for e in entries] == ["Kremlin", "Dossier Center", "ISIS-K"]
    assert problems == []


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_termbase(encoding):
    # Python's "utf-16" writes a BOM; the -le/-be forms need the declaration and expat's sniffing of "<?".
    text = TBX_BASIC_V2.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    entries, problems = read(text, encoding)
    assert [(e.source, e.target) for e in entries] == [
        ("الكرملين", "Kremlin"), ("منظمة الملف", "Dossier Center"), ("داعش خراسان", "ISIS-K")]
    assert len(problems) == 1


def test_legacy_arabic_encoding_declared_in_the_file():
    text = v2(f'<termEntry>{tig("ar", "الكرملين")}{tig("en", "Kremlin")}</termEntry>')
    text = text.replace('encoding="UTF-8"', 'encoding="windows-1256"')
    entries, _ = read(text, "cp1256")
    assert [(e.source, e.target) for e in entries] == [("الكرملين", "Kremlin")]


@pytest.mark.parametrize(("document", "message", "line"), [
    (v2(f"<termEntry>{tig('ar', 'الكرملين')}\n</langSet></termEntry>"), "mismatched tag", 4),
    (f'<?xml version="1.0"?>\n<tbx xmlns="{V3_NS}">\n<text>\n<body>\n', "no element found", 5),
    (v2("<termEntry>\n\n<langSet xml:lang=ar></langSet></termEntry>"), "not well-formed (invalid token)", 5),
    (v2("<termEntry>\n<langSet xml:lang='ar'><tig><term>&nbsp;</term></tig></langSet></termEntry>"),
     "undefined entity", 4),
    ("", "no element found", 1),
    (TBX_BASIC_V2 + "<martif/>\n", "junk after document element", 59),
])
def test_malformed_xml_is_one_error_with_the_parser_line(document, message, line):
    entries, problems = read(document)
    assert entries == []
    assert problems == [GlossaryProblem(ERROR, f"not well-formed XML: {message}", line)]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE martif [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<martif><text><body><termEntry><langSet xml:lang="ar"><tig><term>&lol9;</term></tig></langSet>
<langSet xml:lang="en"><tig><term>Kremlin</term></tig></langSet></termEntry></body></text></martif>
"""


# Expanded, this entity would make a valid entry: an entry read is an entity expanded.
ONE_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE martif [
  <!ENTITY kremlin "الكرملين">
]>
<martif><text><body><termEntry><langSet xml:lang="ar"><tig><term>&kremlin;</term></tig></langSet>
<langSet xml:lang="en"><tig><term>Kremlin</term></tig></langSet></termEntry></body></text></martif>
"""


# How long a refusal takes is a figure of benchmarks/xml_refusal.py, not an assertion here.
@pytest.mark.parametrize(("document", "message", "line"), [
    # Refused at its first declaration (line 3), before lol1…lol9 are declared, let alone expanded.
    (BILLION_LAUGHS, "entity declaration 'lol' refused", 3),
    (ONE_ENTITY, "entity declaration 'kremlin' refused", 3),
    # An external entity would read a local file (or a URL) into the glossary.
    ('<?xml version="1.0"?>\n<!DOCTYPE tbx [\n<!ENTITY secret SYSTEM "file:///etc/passwd">\n]>\n<tbx>&secret;</tbx>',
     "entity declaration 'secret' refused", 3),
    ('<!DOCTYPE tbx [<!ENTITY % dtd SYSTEM "http://example.invalid/x.dtd"> %dtd;]><tbx/>',
     "parameter entity declaration 'dtd' refused", 1),
])
def test_entity_declarations_are_refused_not_expanded(document, message, line):
    entries, problems = read(document)
    assert entries == []
    assert len(problems) == 1 and problems[0].severity == ERROR and problems[0].line == line
    assert problems[0].message.startswith(message)


def test_external_dtd_reference_is_neither_read_nor_an_error(tmp_path):
    # TBX 2008 files name their DTD; reading it would be a file (or network) access we never make.
    dtd = tmp_path / "core.dtd"
    dtd.write_text('<!ENTITY kremlin "الكرملين">', encoding="utf-8")
    document = (f'<?xml version="1.0"?>\n<!DOCTYPE martif SYSTEM "{dtd.as_uri()}">\n<martif><text><body>\n'
                '<termEntry><langSet xml:lang="ar"><tig><term>&kremlin;</term></tig><tig><term>الكرملين</term></tig>'
                '</langSet><langSet xml:lang="en"><tig><term>Kremlin</term></tig></langSet></termEntry>\n'
                "</body></text></martif>\n")
    entries, problems = read(document)
    assert [(e.source, e.target) for e in entries] == [("الكرملين", "Kremlin")]
    assert problems == [GlossaryProblem(WARNING, "entity '&kremlin;' is not expanded", 4),
                        GlossaryProblem(WARNING, "entry has an empty term", 4)]


@pytest.mark.parametrize(("document", "root"), [
    ("<html><body>الكرملين</body></html>", "html"),
    ('<?xml version="1.0"?>\n<xliff version="1.2"><file/></xliff>', "xliff"),
    ('<x:glossary xmlns:x="urn:example"><x:termEntry/></x:glossary>', "glossary"),
])
def test_other_xml_is_not_a_termbase(document, root):
    assert read(document) == ([], [GlossaryProblem(ERROR, f"not a TBX file (root element <{root}>)", 1)])


def test_termbase_without_entries_reads_empty():
    assert read(v3("")) == ([], [])


# Through the glossary loader, as a run and `tarjama glossary check` use it.

def write(tmp_path, text, name="terms.tbx", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("text", [TBX_BASIC_V2, TBX_V3])
def test_load_glossary_reads_tbx(tmp_path, text):
    glossary = load_glossary(write(tmp_path, text))
    assert [(e.source, e.target, e.variants) for e in glossary.entries] == [
        ("الكرملين", "Kremlin", ()), ("منظمة الملف", "Dossier Center", ("مركز الملف",)),
        ("داعش خراسان", "ISIS-K", ())]
    assert len(glossary.sha256) == 64


def test_load_glossary_recognises_xml_without_the_extension(tmp_path):
    glossary = load_glossary(write(tmp_path, TBX_V3, name="terms.xml"))
    assert [e.target for e in glossary.entries] == ["Kremlin", "Dossier Center", "ISIS-K"]


@pytest.mark.parametrize(("text", "message", "line"), [
    (TBX_BASIC_V2.replace("</tig>\n        </langSet>", "</tig>\n        </langSec>", 1), "mismatched tag", 12),
    (BILLION_LAUGHS, "entity declaration 'lol' refused", 3),
    ("<html/>", "not a TBX file (root element <html>)", 1),
    (v3(f'<conceptEntry id="c12">{tig("fr", "Kremlin")}{tig("en", "Kremlin")}</conceptEntry>'),
     "glossary has no entries", None),
])
def test_load_glossary_raises_at_a_tbx_error(tmp_path, text, message, line):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_glossary(path)
    assert message in caught.value.message
    assert caught.value.path == str(path) and caught.value.line == line


def test_check_glossary_lists_tbx_warnings_and_cross_entry_problems(tmp_path):
    entries = (f'<termEntry id="k1">{tig("ar", "الكرملين")}{tig("en", "Kremlin")}</termEntry>\n'
               f'<termEntry id="c12">{tig("fr", "Kremlin")}{tig("en", "Kremlin")}</termEntry>\n'
               f'<termEntry id="k2">{tig("ar", "الكرملين")}{tig("en", "The Kremlin")}</termEntry>')
    text = v2(entries).replace('encoding="UTF-8"', 'encoding="UTF-16"')
    checked = check_glossary(write(tmp_path, text, encoding="utf-16"))
    assert [(e.source, e.target, e.line) for e in checked.entries] == [("الكرملين", "Kremlin", 3)]
    assert [(p.severity, p.line) for p in checked.problems] == [(WARNING, 4), (ERROR, 5)]
    assert checked.warnings[0].message == "entry c12 has no Arabic term; skipped"
    assert "given the target 'The Kremlin' here and 'Kremlin' on line 3" in checked.errors[0].message

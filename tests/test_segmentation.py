import pytest
from casefiles import as_params, read_cases

from tarjama.segmentation import paragraph_kind, split_sentences


@pytest.mark.parametrize("case", as_params(read_cases("segmentation.ar.txt")))
def test_sentence_cases(case):
    spans = split_sentences(case.input)
    assert [case.input[start:end] for start, end in spans] == case.expected


@pytest.mark.parametrize("case", as_params(read_cases("segmentation.ar.txt"), mark_known_failures=False))
def test_spans_point_into_the_text_they_came_from(case):
    prefix = "سطر سابق.\n"
    text = prefix + case.input + "\nسطر لاحق."
    spans = split_sentences(text, len(prefix), len(prefix) + len(case.input))
    assert spans == [(s + len(prefix), e + len(prefix)) for s, e in split_sentences(case.input)]


@pytest.mark.parametrize(("paragraph", "index", "kind"), [
    ("تهديد تنظيم الدولة الإسلامية لروسيا", 0, "title"),
    ("شاهد ايضاً: فشل أحدث محاولات بوتين", 5, "related"),
    ("شاهد أيضًا - استفتاء مولدوفا", 5, "related"),
    ("اقرأ أيضا: تقرير آخر", 5, "related"),
    ("\u200fشاهد ايضاً: مع علامة اتجاه", 5, "related"),
    ("مواضيع ذات صلة", 5, "related"),
    ("READ ALSO: Moldova votes", 5, "related"),
    ("شاهد أيضاً كيف هرب الضحايا من القاعة", 5, "body"),
    ("قال إنه شاهد ايضاً: اللقطات", 5, "body"),
    ("ظهر أربعة مشتبه بهم أمام المحكمة.", 5, "body"),
])
def test_paragraph_kinds(paragraph, index, kind):
    assert paragraph_kind(paragraph, index) == kind

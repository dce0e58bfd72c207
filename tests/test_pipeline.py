import pytest

from tarjama.record.labels import Flag
from tarjama.text.articles import segment_text
from tarjama.translate.batching import plan_batches
from tarjama.translate.pipeline import plan_translation, split_for_model, translate_segments
from tarjama.translate.progress import RunProgress
from tarjama.translate.types import DecodingOptions, Translation


def count_words(texts):
    return [len(text.split()) + 1 for text in texts]  # +1 like an end-of-sentence token


class EchoTranslator:
    """Stands in for a model: 'translates' by tagging the text, and remembers what it was sent."""

    backend = "fake"
    max_source_tokens = 6

    def __init__(self):
        self.sent = []

    def count_tokens(self, texts):
        return count_words(texts)

    def translate(self, texts, options, progress=None, *, n_best=1, constraints=None, batching=None):
        self.sent.extend(texts)
        if progress:
            progress(len(texts))
        return [Translation(f"<{text}>") for text in texts]


@pytest.mark.parametrize("text", [
    "قصير",
    "وقال المتحدث إن الوضع هادئ، وأكد أن التحقيق مستمر؛ وأضاف أن النتائج ستعلن قريبا جدا جدا",
    "كلمة " * 40,
    "ا" * 50,
])
def test_split_for_model_keeps_every_character_under_the_limit(text):
    pieces = split_for_model(text, count_words, 5)
    assert all(count_words([piece])[0] <= 5 or " " not in piece for piece in pieces)
    assert "".join(" ".join(pieces).split()) == "".join(text.split())


def test_split_prefers_clause_marks():
    text = "الجملة الأولى طويلة بعض الشيء، والجملة الثانية أيضا طويلة"
    assert split_for_model(text, count_words, 7) == ["الجملة الأولى طويلة بعض الشيء،",
                                                     "والجملة الثانية أيضا طويلة"]


def test_translate_segments_copies_letterless_segments_and_joins_pieces():
    document = segment_text("عنوان\n٢٠٢٤\nقال المتحدث إن الوضع هادئ، وأكد أن التحقيق مستمر وأن النتائج قريبة.\n"
                            "...\n", "a.txt")
    translator = EchoTranslator()
    progress = RunProgress("a.txt")
    results = translate_segments(document.segments, translator, DecodingOptions(), progress)
    assert [r.segment_id for r in results] == [s.id for s in document.segments]
    assert "٢٠٢٤" not in translator.sent and "..." not in translator.sent
    by_id = {r.segment_id: r for r in results}
    assert by_id["p1.s0"].target == "2024" and by_id["p1.s0"].flags == (Flag.COPIED,)
    assert by_id["p3.s0"].flags == (Flag.COPIED,)
    long = by_id["p2.s0"]
    assert Flag.SPLIT_FOR_LENGTH in long.flags and long.pieces > 1
    assert long.target.count("<") == long.pieces
    assert progress.total == len(translator.sent) and progress.view().done == pytest.approx(progress.total)
    # The progress bar's total: exactly the pieces the model receives.
    assert len(plan_translation(document.segments, translator, DecodingOptions()).units) == len(translator.sent)


@pytest.mark.parametrize(("lengths", "max_sentences", "max_tokens"), [
    ([5, 1, 9, 3, 3, 8, 2], 3, 100),
    ([5, 1, 9, 3, 3, 8, 2], 32, 16),
    ([50, 1, 1], 32, 10),
    ([], 4, 10),
])
def test_batches_cover_every_item_once_within_limits(lengths, max_sentences, max_tokens):
    batches = plan_batches(lengths, max_sentences=max_sentences, max_tokens=max_tokens)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= max_sentences
        assert len(batch) == 1 or max(lengths[i] for i in batch) * len(batch) <= max_tokens
        assert [lengths[i] for i in batch] == sorted((lengths[i] for i in batch), reverse=True)

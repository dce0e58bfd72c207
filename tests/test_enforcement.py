"""Glossary enforcement: choosing hypotheses, forcing terms, placing them as a last resort."""

import re
from dataclasses import replace
from pathlib import Path

import pytest

from tarjama.record.labels import Flag, How
from tarjama.terms.english import term_in_words
from tarjama.terms.entries import Glossary, GlossaryEntry
from tarjama.terms.matching import TermMatch, find_terms
from tarjama.text.articles import segment_text
from tarjama.translate.backends import load_translator
from tarjama.translate.backends.forcing import ForcedTerm, TermForcing
from tarjama.translate.enforcement import TermSource, choose_hypothesis, place_term, settle_terms, term_flags
from tarjama.translate.pipeline import translate_segments
from tarjama.translate.registry import ResolvedModel, resolve_model
from tarjama.translate.types import DecodingOptions, Hypothesis, TermConstraint, TermSearch, Translation


def term(target, start=0, source="س"):
    return TermMatch(paragraph=0, segment="p0.s0", start=start, end=start + 1, surface=source, source=source,
                     target=target)


@pytest.mark.parametrize(("english", "target", "fraction", "expected"), [
    ("The Dosier Centre said it.", "Dossier Center", 0.3, "The Dossier Center said it."),  # garbled: replaced
    ("He went to moscoww yesterday", "Moscow", 0.9, "He went to Moscow yesterday"),
    ("He went to the city.", "Moscow", 1.0, "He went to the city Moscow."),  # before final punctuation
    ("They met there.", "Kabul", 0.0, "Kabul They met there."),
    ("one two three four", "Kremlin", 0.5, "one two Kremlin three four"),
    ("", "Moscow", 0.5, "Moscow"),
    ("Moscow, Moscow and mosco.", "Moscow", 0.9, "Moscow, Moscow and Moscow."),  # nearest similar span
    ("The Kremlim spoke.", "Kremlin", 0.5, "The Kremlin spoke."),
    ("He saw the moose.", "Moscow", 0.9, "He saw the moose Moscow."),  # not similar enough: inserted
    ("Then Oscow fell.", "Moscow", 0.5, "Then Oscow Moscow fell."),  # another first letter: inserted
])
def test_place_term(english, target, fraction, expected):
    assert place_term(english, target, fraction) == expected


def test_placing_a_term_never_takes_out_another_target():
    assert place_term("Iraq warned yesterday.", "Iran", 0.5, keep=["Iraq"]) == "Iraq warned Iran yesterday."
    # Nor splits one of several words, nor replaces a part of one that looks like the new target.
    assert place_term("The Dossier Center said it.", "Kremlin", 0.4, keep=["Dossier Center"]) == \
        "The Dossier Center Kremlin said it."
    assert place_term("The Dossier Center met.", "Centre", 0.5, keep=["Dossier Center"]) == \
        "The Dossier Center Centre met."
    english = "Dossier Center Crocus City Hall"
    for target in ("Moscow", "Kremlin Palace"):  # every place inside either span moves out of it
        for fraction in (0.1, 0.3, 0.5, 0.7, 0.9):
            placed = place_term(english, target, fraction, keep=["Dossier Center", "Crocus City Hall"])
            assert "Dossier Center" in placed and "Crocus City Hall" in placed and target in placed, placed
    matches = [term("Iraq", 0), term("Iran", 5)]
    english, outcomes = settle_terms("Iraq warned yesterday.", matches, strict=True, segment_length=10)
    assert "Iraq" in english and "Iran" in english
    assert [(o.hit, o.how) for o in outcomes] == [(True, How.MODEL), (True, How.REPLACED)]


def test_every_occurrence_satisfied_by_a_placement_counts_as_replaced():
    matches = [term("Kremlin", 0), term("Kremlin", 5), term("Moscow", 7)]
    english, outcomes = settle_terms("It said Moscow.", matches, strict=True, segment_length=10)
    assert english.count("Kremlin") == 1
    assert [o.how for o in outcomes] == [How.REPLACED, How.REPLACED, How.MODEL]


ALTERNATIVES = (Hypothesis("the Kremlin and the file", -1.1), Hypothesis("the Kremlin and Dossier Center", -1.2),
                Hypothesis("Kremlin Dossier Center", -2.0))


@pytest.mark.parametrize(("best", "margin", "expected", "alternative"), [
    ("the Kremlin and Dossier Center", 0.25, "the Kremlin and Dossier Center", False),  # best already hits
    ("the kremlin and the file", 0.25, "the Kremlin and Dossier Center", True),  # more hits, close enough
    ("the kremlin and the file", 0.1, "the kremlin and the file", False),  # alternative too improbable
    ("the kremlin and the file", 0.0, "the kremlin and the file", False),  # choosing switched off
])
def test_choose_hypothesis(best, margin, expected, alternative):
    translation = Translation(best, score=-1.0, alternatives=ALTERNATIVES)
    choice = choose_hypothesis(translation, ["Kremlin", "Dossier Center"], margin)
    assert (choice.text, choice.alternative) == (expected, alternative)


def test_settle_terms_soft_and_strict():
    matches = [term("Kremlin", 0), term("Dossier Center", 5), term("Moscow", 9)]
    english, outcomes = settle_terms("The Kremlin spoke.", matches, strict=False,
                                     found_in_pieces={matches[0]: TermSource.ALTERNATIVE}, segment_length=10)
    assert english == "The Kremlin spoke."
    assert [(o.hit, o.how) for o in outcomes] == [(True, How.HYPOTHESIS), (False, How.MISSED), (False, How.MISSED)]
    english, outcomes = settle_terms("The Kremlin spoke.", matches, strict=True,
                                     found_in_pieces={matches[0]: TermSource.FORCING}, segment_length=10)
    assert all(o.hit for o in outcomes) and [o.how for o in outcomes] == [How.FORCED, How.REPLACED, How.REPLACED]
    assert english.index("Dossier Center") < english.index("Moscow")  # placed in source order


def decode(forcing, preferred_sequence, end=0, word_starts=frozenset(range(100, 200))):
    """Drive a TermForcing with a 'model' that always wants the next token of ``preferred_sequence``."""
    generated = []
    for _ in range(forcing.max_new_tokens):
        wanted = preferred_sequence[len(generated)] if len(generated) < len(preferred_sequence) else end
        decision = forcing.next_token(generated, wanted, at_word_start=wanted in word_starts or wanted == end,
                                      is_end=wanted == end)
        token = decision.force if decision.force is not None else wanted
        if token == end:
            assert decision.allow_end
            break
        generated.append(token)
    return generated


def test_forcing_starts_a_term_at_its_place_on_a_word_boundary():
    forcing = TermForcing((ForcedTerm("Dossier Center", (150, 51), earliest_step=2),), max_new_tokens=20)
    # The model writes 101 2 102 3 104 ...: word starts are 100-199, so the term waits for 102 at step 2.
    output = decode(forcing, [101, 2, 102, 3, 104, 5])
    assert output[:4] == [101, 2, 150, 51]
    assert forcing.forced_terms(output) == {"Dossier Center"}


def test_forcing_waits_for_a_word_start_and_blocks_the_end():
    forcing = TermForcing((ForcedTerm("Kremlin", (160,), earliest_step=1),), max_new_tokens=20)
    output = decode(forcing, [101, 2, 3, 104])  # steps 1-2 are inside a word; 104 starts one
    assert output == [101, 2, 3, 160]
    forcing = TermForcing((ForcedTerm("Kremlin", (160,), earliest_step=10),), max_new_tokens=20)
    assert decode(forcing, [101, 102]) == [101, 102, 160]  # the model wanted to stop: the term comes first


def test_a_word_that_only_begins_like_a_term_is_not_completed():
    # "Do" + "ssier Center": the model's own "Do..." word at step 0 must not become the term.
    forcing = TermForcing((ForcedTerm("Dossier Center", (110, 11, 12), earliest_step=3),), max_new_tokens=20)
    output = decode(forcing, [110, 120, 130, 140, 150])
    assert output[:3] == [110, 120, 130] and output[3:6] == [110, 11, 12]
    assert forcing.forced_terms(output) == {"Dossier Center"}


def test_a_term_the_model_writes_is_not_forced_and_budgets_are_kept():
    forcing = TermForcing((ForcedTerm("Moscow", (170, 71), earliest_step=0),), max_new_tokens=20)
    output = decode(forcing, [170, 71, 105])
    assert output == [170, 71, 105] and forcing.forced_terms(output) == frozenset()
    # Two terms and little room: both are squeezed in before the budget runs out.
    forcing = TermForcing((ForcedTerm("A", (150, 51), 50), ForcedTerm("B", (160, 61), 60)), max_new_tokens=8)
    output = decode(forcing, [1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert output == [1, 2, 3, 150, 51, 160, 61, 8]


class ScriptedTranslator:
    """A fake backend: answers from a script, honours n_best and records what it was asked to force."""

    backend = "fake"
    max_source_tokens = 100
    model = ResolvedModel(name="fake/model", path=Path("/models/fake"), architecture="marian", source_lang="ar",
                          target_lang="en")

    def __init__(self, answer, *, forcing=True, carries=None):
        self.answer = answer
        self.forcing = forcing
        self.carries = carries  # under TermSearch.CONSTRAINED: the terms its search can place (None: all)
        self.calls = []

    def count_tokens(self, texts):
        return [len(t.split()) + 1 for t in texts]

    def translate(self, texts, options, progress=None, *, n_best=1, constraints=None, batching=None):
        self.calls.append((list(texts), n_best, constraints))
        results = []
        for i, text in enumerate(texts):
            best, *alternatives = self.answer(text)
            hypotheses = tuple(Hypothesis(a, -1.0 - 0.1 * (n + 1)) for n, a in enumerate(alternatives))
            if constraints and self.forcing:
                missing = [c.text for c in constraints[i] if not term_in_words(c.text, best)]
                how = "carried" if options.term_search is TermSearch.CONSTRAINED else "forced"
                if how == "carried" and self.carries is not None:
                    missing = [t for t in missing if t in self.carries]
                results.append(Translation(" ".join([best, *missing]), tokens=5, **{how: frozenset(missing)}))
            else:
                results.append(Translation(best, tokens=5, score=-1.0, alternatives=hypotheses[:n_best - 1]))
        return results


ARTICLE = "عنوان الكرملين\nقال الكرملين إن موسكو رفضت. ولم يعلق الملف.\n"
GLOSSARY = Glossary(path=Path("g.tsv"), sha256="0", entries=(
    GlossaryEntry("الكرملين", "Kremlin"), GlossaryEntry("موسكو", "Moscow"), GlossaryEntry("الملف", "Dossier Center")))


POSITIONAL = DecodingOptions(term_search=TermSearch.POSITIONAL)  # strict mode's fall-back alone


def run_pipeline(translator, strict, options=POSITIONAL):
    document = segment_text(ARTICLE, "a.txt")
    matches = find_terms(document, GLOSSARY)
    return {t.segment_id: t for t in translate_segments(document.segments, translator, options,
                                                        matches=matches, strict_terms=strict)}


def scripted(text):
    if "موسكو" in text:
        return ["The Kremlin said it refused.", "The Kremlin said Moscow refused."]
    if "الملف" in text:
        return ["The file did not comment."]
    return ["Title Kremlin"]


def test_soft_mode_chooses_hypotheses_and_flags_misses():
    translator = ScriptedTranslator(scripted)
    results = run_pipeline(translator, strict=False)
    assert [call[1] for call in translator.calls] == [4]  # one pass, asking for the beam's alternatives
    said = results["p1.s0"]
    assert said.target == "The Kremlin said Moscow refused."
    assert [(t.match.target, t.how) for t in said.terms] == [("Kremlin", How.MODEL), ("Moscow", How.HYPOTHESIS)]
    assert [(t.how, t.hit) for t in results["p1.s1"].terms] == [(How.MISSED, False)]
    assert Flag.TERM_MISSED in results["p1.s1"].flags and Flag.TERM_MISSED not in said.flags


def test_strict_mode_redecodes_only_pieces_missing_a_term():
    translator = ScriptedTranslator(lambda text: [scripted(text)[0]])
    results = run_pipeline(translator, strict=True)
    (first, _, _), (redo, n_best, constraints) = translator.calls
    assert len(first) == 3 and redo == [first[1], first[2]] and n_best == 1
    # Every term of a re-decoded piece is constrained, in source order, with its expected place.
    assert [[c.text for c in cs] for cs in constraints] == [["Kremlin", "Moscow"], ["Dossier Center"]]
    assert constraints[0][0].earliest_step < constraints[0][1].earliest_step
    assert [t.how for t in results["p1.s0"].terms] == [How.MODEL, How.FORCED]
    assert results["p1.s1"].terms[0].how == How.FORCED and Flag.TERM_FORCED in results["p1.s1"].flags
    assert results["p0.s0"].terms[0].how == How.MODEL and not results["p0.s0"].flags


def test_strict_mode_carries_the_terms_in_its_first_pass():
    translator = ScriptedTranslator(lambda text: [scripted(text)[0]])
    results = run_pipeline(translator, strict=True, options=DecodingOptions())
    ((first, n_best, constraints),) = translator.calls  # one pass: the search placed every term
    assert len(first) == 3 and n_best == 4  # the beam's alternatives are still asked for
    # Every piece's terms, in source order, with the place of their Arabic in the piece.
    assert [[c.text for c in cs] for cs in constraints] == [["Kremlin"], ["Kremlin", "Moscow"], ["Dossier Center"]]
    assert [first[1][c.source_start:c.source_end] for c in constraints[1]] == ["الكرملين", "موسكو"]
    assert [t.how for t in results["p1.s0"].terms] == [How.MODEL, How.CONSTRAINED]
    assert results["p1.s1"].terms[0].how == How.CONSTRAINED and Flag.TERM_FORCED in results["p1.s1"].flags
    assert results["p0.s0"].terms[0].how == How.MODEL and not results["p0.s0"].flags


def test_strict_mode_falls_back_to_positional_forcing_for_what_the_search_left_out():
    translator = ScriptedTranslator(lambda text: [scripted(text)[0]], carries={"Moscow"})
    results = run_pipeline(translator, strict=True, options=DecodingOptions())
    (_, _, _), (redo, _, constraints) = translator.calls
    assert redo == [translator.calls[0][0][2]] and [c.text for c in constraints[0]] == ["Dossier Center"]
    assert [t.how for t in results["p1.s0"].terms] == [How.MODEL, How.CONSTRAINED]
    assert results["p1.s1"].terms[0].how == How.FORCED


def test_strict_mode_forces_a_term_that_the_chosen_alternative_lost():
    def answer(text):  # the alternative has two terms where the best has one, but loses the Kremlin
        return ["The Kremlin said they refused.", "The Presidency said Moscow and Dossier Center refused."]

    document = segment_text("قال الكرملين إن موسكو والملف رفضا.\n", "a.txt")
    translator = ScriptedTranslator(answer)
    (result,) = translate_segments(document.segments, translator, POSITIONAL,
                                   matches=find_terms(document, GLOSSARY), strict_terms=True)
    assert len(translator.calls) == 2  # re-decoded with forcing, not patched by the last resort
    assert [c.text for c in translator.calls[1][2][0]] == ["Kremlin", "Moscow", "Dossier Center"]
    assert [t.how for t in result.terms] == [How.MODEL, How.FORCED, How.FORCED]


def test_strict_mode_places_terms_a_backend_could_not_force():
    translator = ScriptedTranslator(lambda text: [scripted(text)[0]], forcing=False)
    results = run_pipeline(translator, strict=True)
    assert [(t.how, t.hit) for t in results["p1.s1"].terms] == [(How.REPLACED, True)]
    assert results["p1.s1"].flags == (Flag.TERM_REPLACED,)


@pytest.mark.parametrize("architecture", ["marian", "nllb"])
@pytest.mark.parametrize("beam_size", [1, 4])
def test_a_random_model_is_forced_to_write_every_term(request, architecture, beam_size):
    translator = load_translator(resolve_model(str(request.getfixturevalue(f"tiny_{architecture}"))))
    texts = ["قال الكرملين إن موسكو لم تتلق أي تحذير من واشنطن.", "وتشير منظمة الملف اللندنية إلى أن"]
    wanted = [[TermConstraint("Kremlin", 2), TermConstraint("Moscow", 5), TermConstraint("Washington", 9)],
              [TermConstraint("Dossier Center", 1)]]
    options = DecodingOptions(beam_size=beam_size, term_search=TermSearch.POSITIONAL)
    plain = translator.translate(texts, options)
    forced = translator.translate(texts, options, constraints=wanted)
    for before, after, constraints in zip(plain, forced, wanted, strict=True):
        targets = [c.text for c in constraints]
        assert all(target in after.text for target in targets)
        assert after.forced == {t for t in targets if t not in before.text}
        positions = [after.text.index(target) for target in targets]
        assert positions == sorted(positions)  # placed in the order of the source terms
        for target, position in zip(targets, positions, strict=True):
            # A forced term stays a word of its own: the model may not glue a word piece onto it.
            following = after.text[position + len(target):position + len(target) + 1]
            assert target not in after.forced or not following.isalnum(), after.text


def test_forced_hypotheses_keep_the_model_scores(tiny_marian):
    """A forced beam scores what the model gives its tokens, not certainty: never above the unforced best."""
    translator = load_translator(resolve_model(str(tiny_marian)))
    options = DecodingOptions(beam_size=4, term_search=TermSearch.POSITIONAL)
    texts = ["قال الكرملين إن موسكو لم تتلق أي تحذير.", "وتشير منظمة الملف اللندنية إلى أن"]
    plain = translator.translate(texts, options, n_best=2)
    forced = translator.translate(texts, options, n_best=2,
                                  constraints=[[TermConstraint("Kremlin", 2)], [TermConstraint("Dossier Center", 1)]])
    for before, after in zip(plain, forced, strict=True):
        assert after.forced and after.score <= before.score + 1e-6


def test_a_term_the_vocabulary_cannot_spell_is_not_forced(tiny_marian):
    translator = load_translator(resolve_model(str(tiny_marian)))
    (result,) = translator.translate(["قال الكرملين"], DecodingOptions(beam_size=1),
                                     constraints=[[TermConstraint("Ωμέγα Kremlin", 0)]])
    assert "<unk>" not in result.text and result.forced == frozenset()


@pytest.mark.parametrize(("target", "english", "expected"), [
    ("ISIS", "Officials said Daesh was behind the crisis.", False),
    ("ISIS", "ISIS-K claimed the attack.", True),
    ("ISIS-K", "The ISIS-K branch", True),
    ("Tajik", "He was born in Tajikistan.", False),
    ("Tajik", "Four Tajiks were held.", True),
    ("Russia", "Russian officials spoke.", False),
    ("Russia", "Russia's security council", True),
    ("Kremlin", "the kremlin’s answer", True),
    ("U.S.", "The U.S. warned Moscow.", True),
    ("Crocus City Hall", "at Crocus City Hall, near Moscow", True),
    ("Moscow", "Moscowand", False),
])
def test_a_term_is_in_the_english_as_a_word(target, english, expected):
    assert term_in_words(target, english) is expected


def test_a_target_only_inside_a_longer_word_is_not_the_term():
    matches = [term("ISIS", 0)]
    english, outcomes = settle_terms("Officials said Daesh was behind the crisis.", matches, strict=False,
                                     segment_length=10)
    # The contract's hit is a substring test, so it stays true; how and the flag tell the editor.
    assert [(o.hit, o.how) for o in outcomes] == [(True, How.INSIDE_WORD)]
    assert term_flags(outcomes) == [Flag.TERM_INSIDE_WORD]
    english, outcomes = settle_terms("Officials said Daesh was behind the crisis.", matches, strict=True,
                                     segment_length=10)
    assert term_in_words("ISIS", english) and [(o.hit, o.how) for o in outcomes] == [(True, How.REPLACED)]


def test_strict_mode_forces_a_term_the_english_only_has_inside_a_word():
    document = segment_text("قال مسؤولون إن داعش وراء الأزمة في موسكو.\n", "a.txt")
    glossary = Glossary(path=Path("g.tsv"), sha256="0",
                        entries=(GlossaryEntry("داعش", "ISIS"), GlossaryEntry("موسكو", "Moscow")))
    translator = ScriptedTranslator(lambda text: ["Officials said Daesh was behind the crisis in Moscow."])
    (result,) = translate_segments(document.segments, translator, POSITIONAL,
                                   matches=find_terms(document, glossary), strict_terms=True)
    assert len(translator.calls) == 2 and [c.text for c in translator.calls[1][2][0]] == ["ISIS", "Moscow"]
    assert [(t.match.target, t.how) for t in result.terms] == [("ISIS", How.FORCED), ("Moscow", How.MODEL)]
    assert term_in_words("ISIS", result.target)


def test_the_constrained_search_leaves_the_model_as_it_found_it(tiny_marian):
    translator = load_translator(resolve_model(str(tiny_marian)))
    text = "قال الكرملين إن موسكو لم تتلق أي تحذير."
    plain = translator.translate([text], DecodingOptions(beam_size=2))
    network = translator._network  # the loaded transformers model
    before = network.config._attn_implementation
    start = text.index("الكرملين")
    (carried,) = translator.translate([text], DecodingOptions(beam_size=2),
                                      constraints=[[TermConstraint("Kremlin", 0, start, start + len("الكرملين"))]])
    # The search reads cross-attention (eager attention) and puts the model's own choice back.
    assert "Kremlin" in carried.text and network.config._attn_implementation == before
    assert translator.translate([text], DecodingOptions(beam_size=2))[0].text == plain[0].text


def _words_of(target, text):
    return len(re.findall(rf"(?<![\w-]){re.escape(target)}(?![\w-])", text))


def test_the_constrained_search_writes_a_repeated_target_twice_and_a_term_that_starts_like_another(tiny_marian):
    translator = load_translator(resolve_model(str(tiny_marian)))
    text = "قال مسؤولون في موسكو إن داعش وتنظيم داعش خراسان هددا موسكو."
    first, second = text.index("موسكو"), text.rindex("موسكو")
    isis, isis_k = text.index("داعش"), text.index("داعش خراسان")
    wanted = [TermConstraint("Moscow", 0, first, first + 5), TermConstraint("ISIS", 0, isis, isis + 4),
              TermConstraint("ISIS-K", 0, isis_k, isis_k + 11), TermConstraint("Moscow", 0, second, second + 5)]
    for beam_size in (1, 4):
        (result,) = translator.translate([text], DecodingOptions(beam_size=beam_size), constraints=[wanted])
        # Two Moscows for the two in the Arabic; "ISIS-K" once, and "ISIS" in it (as the project reads a term) or
        # on its own: the one-token term met cannot bar the longer one that starts with it.
        assert (_words_of("Moscow", result.text), _words_of("ISIS-K", result.text)) == (2, 1), result.text
        assert term_in_words("ISIS", result.text)


def test_the_constrained_search_leaves_a_term_less_sentence_of_its_batch_as_it_was(tiny_marian):
    translator = load_translator(resolve_model(str(tiny_marian)))
    with_terms, without = "قال الكرملين إن موسكو لم تتلق أي تحذير.", "وتشير منظمة الملف اللندنية إلى أن"
    start = with_terms.index("الكرملين")
    kremlin = TermConstraint("Kremlin", 0, start, start + len("الكرملين"))
    options = DecodingOptions(beam_size=4, max_output_tokens=8)
    # The batch's output budget grows by the term's tokens: give the sentence alone the same.
    extra = translator._forced_tokens([kremlin], options)
    (alone,) = translator.translate([without], replace(options, max_output_tokens=8 + extra), n_best=3)
    carried, plain = translator.translate([with_terms, without], options, n_best=3, constraints=[[kremlin], []])
    assert "Kremlin" in carried.text and plain.text == alone.text
    # The search's alternatives are other English, not the best one reached another way.
    texts = [carried.text, *(h.text for h in carried.alternatives)]
    assert len(texts) == 3 and len(set(texts)) == 3

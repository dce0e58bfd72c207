"""Fuzzy matches (tarjama.memory.fuzzy): the memory's approved sentences closest to one it has no approval for."""

import pytest

from tarjama.memory.fuzzy import FuzzyMatch, closest_approved
from tarjama.memory.store import TranslationMemory, open_memory

ARRIVED = "وصل الوفد إلى كابول صباح الأحد."
KREMLIN = "قال الكرملين إن موسكو رفضت التحذير."
COURT = "مثل أربعة مشتبه بهم أمام المحكمة في موسكو."
APPROVALS = {
    ARRIVED: "The delegation arrived in Kabul on Sunday morning.",
    KREMLIN: "The Kremlin said Moscow rejected the warning.",
    COURT: "Four suspects appeared in court in Moscow.",
}


@pytest.fixture
def memory(tmp_path):
    with open_memory(tmp_path / "tm.sqlite") as memory:
        memory.approve(APPROVALS.items(), origin="test")
        yield memory


def sources(matches: list[FuzzyMatch]) -> list[str]:
    return [match.source for match in matches]


@pytest.mark.parametrize(("asked", "expected"), [
    pytest.param("وصل الوفد إلى كابول مساء الأحد.", [ARRIVED], id="one word changed"),
    pytest.param("ووصل الوفد إلى كابول صباح الأحد.", [ARRIVED], id="clitic wa added"),
    pytest.param("وصل الوفد بكابول صباح الأحد.", [ARRIVED], id="clitic bi for a preposition"),
    pytest.param("وصل وفد إلى كابول صباح الأحد.", [ARRIVED], id="article al dropped"),
    pytest.param("وقال الكرملين إن موسكو رفضت التحذير.", [KREMLIN], id="clitic wa on another sentence"),
    pytest.param("\u200fقال  الكرملين إن موسكو رفضت التحذير", [KREMLIN], id="invisible mark, spaces, no stop"),
    pytest.param("أعلنت وزارة الصحة عن حملة تطعيم جديدة للأطفال.", [], id="unrelated sentence"),
    pytest.param("وصل", [], id="one word of an approved sentence"),
    pytest.param("   ", [], id="nothing asked"),
])
def test_the_closest_approved_sentences_are_found_and_unrelated_ones_are_not(memory, asked, expected):
    found = closest_approved(memory, asked)
    assert sources(found) == expected
    assert all(match.target == APPROVALS[match.source] and 0.6 <= match.similarity < 1 for match in found)


def test_closest_first_with_the_similarity_each_has(memory):
    asked = "وصل الوفد إلى كابول مساء يوم الأحد."
    one_letter = "وصل الوفد إلى كابول مساء يوم الأحد"  # the full stop dropped
    one_word = "وصل الوفد إلى كابول مساء الأحد."  # a word dropped; ARRIVED has a word dropped and another changed
    memory.approve([(one_word, "Sunday evening."), (one_letter, "On the evening of Sunday")], origin="test")
    found = closest_approved(memory, asked, limit=5)
    assert sources(found) == [one_letter, one_word, ARRIVED]
    similarities = [match.similarity for match in found]
    assert similarities == sorted(similarities, reverse=True) and len(set(similarities)) == 3


@pytest.mark.parametrize(("cutoff", "limit", "expected"), [
    (0.6, 3, 3),   # all three near sentences
    (0.6, 2, 2),   # the limit
    (0.6, 1, 1),
    (0.6, 0, 0),
    (0.99, 3, 0),  # none is that close
    (0.0, 10, 5),  # everything, the unrelated sentences too
])
def test_the_cutoff_and_the_limit_are_respected(memory, cutoff, limit, expected):
    memory.approve([("وصل الوفد إلى كابول مساء الاثنين.", "Monday."), ("وصل الوفد إلى كابول مساء الأحد.", "Sunday.")],
                   origin="test")
    found = closest_approved(memory, "وصل الوفد إلى كابول مساء يوم الأحد.", limit=limit, cutoff=cutoff)
    assert len(found) == expected
    assert all(match.similarity >= cutoff for match in found)
    everything = closest_approved(memory, "وصل الوفد إلى كابول مساء يوم الأحد.", limit=10, cutoff=0.0)
    assert found == everything[:expected]  # the closest of all, in order


def test_a_sentence_the_memory_approves_gets_no_fuzzy_match_not_even_its_own(memory):
    assert closest_approved(memory, ARRIVED, cutoff=0.0, limit=10) == []
    # Only the same sentence as the memory looks it up: an invisible mark or spacing does not make it another.
    assert closest_approved(memory, f"\u200f{ARRIVED} ", cutoff=0.0) == []
    memory.withdraw([ARRIVED])  # once withdrawn, its old approval is no longer offered either: it is not approved
    assert ARRIVED not in sources(closest_approved(memory, ARRIVED, cutoff=0.0, limit=10))


def test_an_empty_memory_and_a_memory_not_yet_made_offer_nothing(tmp_path):
    with open_memory(tmp_path / "empty.sqlite") as memory:
        memory.approve([], origin="test")  # nothing stored: the file is there and holds no approval
        assert closest_approved(memory, ARRIVED) == []
    absent = tmp_path / "absent.sqlite"
    memory = TranslationMemory(absent)
    assert closest_approved(memory, ARRIVED) == []
    assert not absent.exists()  # asking makes no file


def test_the_nearest_of_thousands_of_approvals_comes_first(tmp_path):
    from benchmarks.fuzzy import synthetic_approvals

    pairs = synthetic_approvals(2_000)
    near = next(iter(pairs))
    with open_memory(tmp_path / "tm.sqlite") as memory:
        memory.approve(pairs.items(), origin="test")
        found = closest_approved(memory, "و" + near)  # a clitic added: the sentence has no approval of its own
    assert found[0].source == near and found[0].similarity >= 0.95

"""The toy model's synthetic parallel corpus: news-like Arabic and English from templates, seeded.

Sentences are a clause template (``data/clauses.tsv``) and an ending (``data/tails.tsv``), their slots
filled with people, organisations and places (``data/*.tsv``); the Arabic attaches proclitics (و ف ب ل,
ل + ال written لل) and agrees with the slot's gender. A share of the names and of the (clause, ending)
combinations is held out: the lab test set uses only held-out combinations filled with held-out names,
so the model has never seen the names it is tested on, in either language, nor the sentence shapes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path

from tarjama.files import write_atomically

__all__ = [
    "NAME_KINDS",
    "Position",
    "ToyCorpus",
    "ToySentence",
    "ToyTerm",
    "generate_corpus",
    "write_lab",
]

# Slot kinds whose fillers are names, the glossary's kind of term; the others (title, num, day, month)
# are the template language the model must learn.
NAME_KINDS = ("person", "org", "place")
ARTICLE = "ال"
# {slot} or {clitics:slot}; a trailing digit tells two slots of one kind apart (person, person2).
_SLOT = re.compile(r"\{(?:([^:{}]+):)?([a-z]+)(\d*)\}")
# [slot:masculine|feminine]: the Arabic word that agrees with the slot's filler.
_AGREEMENT = re.compile(r"\[([a-z]+\d*):([^|\]]+)\|([^\]]+)\]")
_WORD = re.compile(r"\w")
_OPENING = re.compile(r'(^"?|: ")([a-z])')


class Position(StrEnum):
    """Where a term stands in its Arabic sentence."""

    START = "start"
    MIDDLE = "middle"
    END = "end"


@dataclass(frozen=True)
class Filler:
    """One value of a slot: its Arabic, its English (the glossary target for a name) and grammar."""

    arabic: str
    english: str
    the: bool = False
    feminine: bool = False

    def english_phrase(self) -> str:
        """The English as a sentence says it (with "the" where the name takes one)."""
        return f"the {self.english}" if self.the else self.english


@dataclass(frozen=True)
class Template:
    """A clause or an ending: Arabic and English with the same slots."""

    id: str
    arabic: str
    english: str

    def slots(self) -> list[str]:
        """The template's slot names in Arabic order (each once)."""
        return list(dict.fromkeys(match[1] + match[2] for match in _SLOT.findall(self.arabic)))


@dataclass(frozen=True)
class ToyTerm:
    """A name in a generated sentence, as the lab's glossary lists it."""

    kind: str
    arabic: str
    english: str
    clitics: str
    position: Position
    in_quote: bool


@dataclass(frozen=True)
class ToySentence:
    """A generated sentence pair and what it is made of."""

    arabic: str
    english: str
    clause: str
    tail: str
    terms: tuple[ToyTerm, ...]


@dataclass(frozen=True)
class ToyCorpus:
    """The training pairs, the held-out test pairs and the held-out names (the lab's glossary)."""

    train: tuple[ToySentence, ...]
    test: tuple[ToySentence, ...]
    held_out: tuple[Filler, ...]

    def glossary_entries(self) -> list[Filler]:
        """The held-out names that the test set uses, each once, in order of first use."""
        used = {(term.arabic, term.english) for sentence in self.test for term in sentence.terms}
        return [filler for filler in self.held_out if (filler.arabic, filler.english) in used]


def _rows(name: str) -> list[list[str]]:
    """The data file's rows (after its comments and header), as cells."""
    text = resources.files("tarjama.dev.toy").joinpath("data", name).read_text(encoding="utf-8")
    lines = [line for line in text.split("\n") if line.strip() and not line.startswith("#")]
    return [line.split("\t") for line in lines[1:]]


@cache
def _data() -> dict[str, tuple]:
    """Every data file, read once."""
    templates = {name: tuple(Template(*row) for row in _rows(f"{name}.tsv")) for name in ("clauses", "tails")}
    simple = {name: tuple(Filler(arabic, english) for arabic, english in _rows(f"{name}.tsv"))
              for name in ("first_names", "last_names", "titles", "days", "months")}
    organisations = tuple(Filler(arabic, english, the=the == "yes", feminine=gender == "f")
                          for arabic, english, the, gender in _rows("organisations.tsv"))
    places = tuple(Filler(arabic, english, feminine=gender == "f") for arabic, english, gender in _rows("places.tsv"))
    return {**templates, **simple, "org": organisations, "place": places}


def attach(clitics: str, word: str) -> str:
    """``word`` with proclitics written onto it: ل + الكرملين is للكرملين, ل + اللجنة is للجنة."""
    if clitics.endswith("ل") and word.startswith(ARTICLE):
        word = word[1:] if not word.startswith(ARTICLE + "ل") else word[2:]
    return clitics + word


def _split(items: Sequence[Filler], share: float, rng: random.Random) -> tuple[list[Filler], list[Filler]]:
    """Split ``items`` into (training, held out), ``share`` of them held out."""
    order = list(items)
    rng.shuffle(order)
    cut = max(1, round(len(order) * share))
    return order[cut:], order[:cut]


@dataclass(frozen=True)
class _Names:
    """The fillers a sentence may draw on: one side of the split."""

    person: tuple[Filler, ...]
    org: tuple[Filler, ...]
    place: tuple[Filler, ...]


def _people(first: Sequence[Filler], last: Sequence[Filler]) -> tuple[Filler, ...]:
    """Every first name with every family name."""
    return tuple(Filler(f"{a.arabic} {b.arabic}", f"{a.english} {b.english}") for a in first for b in last)


def _render(clause: Template, tail: Template, fillers: dict[str, Filler]) -> tuple[str, str, tuple[ToyTerm, ...]]:
    """The sentence pair of a clause and an ending with their slots filled, and its names."""
    arabic_template = clause.arabic + (("" if tail.arabic.startswith("،") else " ") + tail.arabic if tail.arabic
                                       else "")
    english_template = clause.english + (("" if tail.english.startswith(",") else " ") + tail.english
                                         if tail.english else "")
    arabic_template = _AGREEMENT.sub(lambda m: m[3] if fillers[m[1]].feminine else m[2], arabic_template)
    pieces: list[str] = []
    spans: list[tuple[str, int, int, str]] = []
    end = 0
    for match in _SLOT.finditer(arabic_template):
        pieces.append(arabic_template[end:match.start()])
        clitics, kind, slot = match[1] or "", match[2], match[2] + match[3]
        start = sum(map(len, pieces))
        pieces.append(attach(clitics, fillers[slot].arabic))
        if kind in NAME_KINDS:
            spans.append((slot, start, start + len(pieces[-1]), clitics))
        end = match.end()
    pieces.append(arabic_template[end:])
    arabic = "".join(pieces) + "."
    english = _SLOT.sub(lambda m: fillers[m[2] + m[3]].english_phrase(), english_template) + "."
    english = _capitalised(english)
    terms = tuple(ToyTerm(kind=re.sub(r"\d", "", slot), arabic=fillers[slot].arabic, english=fillers[slot].english,
                          clitics=clitics, position=_position(arabic, start, stop),
                          in_quote=arabic[:start].count('"') % 2 == 1)
                  for slot, start, stop, clitics in spans)
    return arabic, english, terms


def _capitalised(text: str) -> str:
    """``text`` with its first letter, and the first of a quote after a colon, upper-case."""
    return _OPENING.sub(lambda m: m[1] + m[2].upper(), text)


def _position(arabic: str, start: int, stop: int) -> Position:
    """Start when no word comes before the term, end when none comes after, else middle."""
    if not _WORD.search(arabic[:start]):
        return Position.START
    if not _WORD.search(arabic[stop:]):
        return Position.END
    return Position.MIDDLE


def _fill(template_slots: Sequence[str], names: _Names, rng: random.Random) -> dict[str, Filler]:
    """A filler for each slot; two slots of one kind get different fillers."""
    data = _data()
    choices: dict[str, Sequence[Filler]] = {
        "person": names.person, "org": names.org, "place": names.place,
        "title": data["titles"], "day": data["days"], "month": data["months"],
    }
    fillers: dict[str, Filler] = {}
    for slot in template_slots:
        kind = re.sub(r"\d", "", slot)
        if kind == "num":
            # 11 and up take the singular accusative noun (143 شخصا); round hundreds would not.
            value = rng.choice([n for n in range(11, 400) if n % 100])
            fillers[slot] = Filler(str(value), str(value))
            continue
        filler = rng.choice(choices[kind])
        while filler in fillers.values():
            filler = rng.choice(choices[kind])
        fillers[slot] = filler
    return fillers


def _sentences(pairs: Sequence[tuple[Template, Template]], names: _Names, count: int, rng: random.Random,
               exclude: set[str], round_robin: bool = False) -> Iterator[ToySentence]:
    """Up to ``count`` distinct sentences of the (clause, ending) pairs (gives up after many repeats)."""
    seen = set(exclude)
    misses = 0
    made = 0
    while made < count and misses < 50 * count:
        # In turn, not at random: each combination gets its share of a test set.
        clause, tail = pairs[(made + misses) % len(pairs)] if round_robin else rng.choice(pairs)
        fillers = _fill(clause.slots() + tail.slots(), names, rng)
        arabic, english, terms = _render(clause, tail, fillers)
        if arabic in seen:
            misses += 1
            continue
        seen.add(arabic)
        made += 1
        yield ToySentence(arabic, english, clause.id, tail.id, terms)


def _has_name(template: Template) -> bool:
    return any(re.sub(r"\d", "", slot) in NAME_KINDS for slot in template.slots())


def generate_corpus(*, seed: int = 0, train_size: int = 20_000, test_size: int = 400,
                    held_out_share: float = 0.25) -> ToyCorpus:
    """The toy corpus of ``seed``: ``train_size`` training pairs and ``test_size`` held-out test pairs.

    A ``held_out_share`` of the first names, family names, organisations and places, and of the
    (clause, ending) combinations that hold a name, is kept for the test set: each of its sentences is
    a held-out combination whose names are all held out, so no held-out name occurs in training.
    """
    rng = random.Random(seed)
    data = _data()
    train_first, test_first = _split(data["first_names"], held_out_share, rng)
    train_last, test_last = _split(data["last_names"], held_out_share, rng)
    train_org, test_org = _split(data["org"], held_out_share, rng)
    train_place, test_place = _split(data["place"], held_out_share, rng)
    train_names = _Names(_people(train_first, train_last), tuple(train_org), tuple(train_place))
    test_names = _Names(_people(test_first, test_last), tuple(test_org), tuple(test_place))

    pairs = [(clause, tail) for clause in data["clauses"] for tail in data["tails"]]
    # Each clause keeps a share of its endings for the test set, so every clause (and each way it
    # attaches a clitic or quotes a name) is tested, in combinations training never shows.
    test_pairs: list[tuple[Template, Template]] = []
    for clause in data["clauses"]:
        named = [tail for tail in data["tails"] if _has_name(clause) or _has_name(tail)]
        count = min(len(named) - 1, max(1, round(len(named) * held_out_share)))
        test_pairs.extend((clause, tail) for tail in rng.sample(named, count))
    test_keys = {(clause.id, tail.id) for clause, tail in test_pairs}
    train_pairs = [pair for pair in pairs if (pair[0].id, pair[1].id) not in test_keys]

    # The test set first: every size of the toy model gets the same one.
    test = tuple(_sentences(test_pairs, test_names, test_size, rng, exclude=set(), round_robin=True))
    train = tuple(_sentences(train_pairs, train_names, train_size, rng, exclude=set()))
    held_out = (*test_names.person, *test_org, *test_place)
    return ToyCorpus(train=train, test=test, held_out=held_out)


GLOSSARY_HEADER = """\
# The toy model's lab glossary, Arabic → English: the held-out names of its test set, which never occur
# in its training corpus (written by `tarjama models toy`; format as glossaries/news-ar-en.tsv).
source\ttarget\tnote\tvariants\tmatch
"""


def write_lab(corpus: ToyCorpus, lab_dir: Path) -> dict[str, Path]:
    """Write the test set (``test.ar.txt``, ``test.en.txt``, line-aligned) and ``glossary.tsv`` into ``lab_dir``."""
    lab_dir.mkdir(parents=True, exist_ok=True)
    kinds = {"person": "a person", "org": "an organisation", "place": "a place"}
    kind_of = {(term.arabic, term.english): term.kind for sentence in corpus.test for term in sentence.terms}
    rows = [f"{filler.arabic}\t{filler.english}\ttoy: {kinds[kind_of[filler.arabic, filler.english]]}, held out "
            "of training\t\t" for filler in corpus.glossary_entries()]
    paths = {"arabic": lab_dir / "test.ar.txt", "english": lab_dir / "test.en.txt",
             "glossary": lab_dir / "glossary.tsv"}
    write_atomically({paths["arabic"]: "".join(s.arabic + "\n" for s in corpus.test),
                      paths["english"]: "".join(s.english + "\n" for s in corpus.test),
                      paths["glossary"]: GLOSSARY_HEADER + "".join(row + "\n" for row in rows)})
    return paths

"""Reader for the plain-text case files under tests/cases (sentencex style)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "cases"
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass
class Case:
    name: str
    input: str = ""
    expected: list[str] = field(default_factory=list)
    known_failure: bool = False


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def read_cases(name: str) -> list[Case]:
    cases: list[Case] = []
    pending_name, known_failure = "", False
    for line in (CASES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("# name:"):
            pending_name, known_failure = line.removeprefix("# name:").strip(), False
        elif line.startswith("# known failure:"):
            pending_name, known_failure = line.removeprefix("# known failure:").strip(), True
        elif line.startswith("< "):
            cases.append(Case(pending_name, _unescape(line[2:]), known_failure=known_failure))
        elif line.startswith("> "):
            cases[-1].expected.append(_unescape(line[2:]))
    return cases


def read_article_cases(name: str) -> list[Case]:
    """Cases that are small articles: ``input`` is the paragraphs, one a line; ``expected`` their kinds."""
    cases: list[Case] = []
    paragraphs: list[str] = []
    pending_name, known_failure = "", False
    for line in [*(CASES / name).read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("# name:"):
            pending_name, known_failure = line.removeprefix("# name:").strip(), False
        elif line.startswith("# known failure:"):
            pending_name, known_failure = line.removeprefix("# known failure:").strip(), True
        elif line.strip() and not line.startswith("#"):
            kind, _, paragraph = line.partition(" ")
            if not paragraphs:
                cases.append(Case(pending_name, known_failure=known_failure))
            paragraphs.append(_unescape(paragraph))
            cases[-1].expected.append(kind)
        elif not line.strip() and paragraphs:  # a blank line ends the article
            cases[-1].input = "\n".join(paragraphs)
            paragraphs = []
    return cases


def as_params(cases: list[Case], *, mark_known_failures: bool = True) -> list:
    """One pytest param per case; known failures are strict xfails, so a fix shows up too.

    Only a wrong answer (an ``AssertionError``) is the known failure: a crash on the case fails the test.
    """
    return [
        pytest.param(case, id=case.name,
                     marks=[pytest.mark.xfail(strict=True, raises=AssertionError, reason="known failure")]
                     if case.known_failure and mark_known_failures else [])
        for case in cases
    ]

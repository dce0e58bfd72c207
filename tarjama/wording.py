"""How tarjama says a count in what it prints: "1 sentence approved", "2 sentences approved"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and its noun, singular for exactly one: ``counted(1, "sentence")`` is ``1 sentence``.

    ``plural`` is for nouns that do not just add an s (``counted(2, "entry", "entries")``).
    """
    return f"{count} {noun if count == 1 else plural or noun + 's'}"

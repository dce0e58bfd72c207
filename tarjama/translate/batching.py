"""Length-aware batching: similar lengths together, so padding wastes little compute."""

from __future__ import annotations

from collections.abc import Sequence


def plan_batches(lengths: Sequence[int], *, max_sentences: int, max_tokens: int) -> list[list[int]]:
    """Group item indices into batches, longest first, under both limits (padded tokens counted).

    Every index appears exactly once; an item longer than ``max_tokens`` gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        # Sorted longest first, so the batch's first item sets its padded width.
        width = lengths[current[0]] if current else lengths[index]
        if current and (len(current) + 1 > max_sentences or width * (len(current) + 1) > max_tokens):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches

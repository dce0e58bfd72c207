"""Speed of segmentation and glossary matching on a large article with a large glossary.

    .venv/bin/python benchmarks/matching.py [--megabytes 1] [--entries 10000] [--json]

The article is the sample repeated to the requested size; the glossary is the newsroom glossary
plus synthetic Arabic terms (1-3 words, a third with the article) up to the requested size.
Prints figures; asserts nothing (timings belong here, not in tests).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from tarjama.documents import segment_text
from tarjama.glossary import Glossary, GlossaryEntry, load_glossary
from tarjama.matching import TermMatcher, find_terms_in_segment

ROOT = Path(__file__).resolve().parents[1]
LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوية"


def synthetic_glossary(size: int, seed: int = 0) -> Glossary:
    """The newsroom glossary padded with random Arabic terms to ``size`` entries."""
    real = load_glossary(ROOT / "glossaries" / "news-ar-en.tsv")
    rng = random.Random(seed)
    entries, seen = list(real.entries), {e.source for e in real.entries}
    while len(entries) < size:
        words = ["".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 7))) for _ in range(rng.randint(1, 3))]
        if rng.random() < 1 / 3:
            words[0] = "ال" + words[0]
        source = " ".join(words)
        if source not in seen:
            seen.add(source)
            entries.append(GlossaryEntry(source, f"term {len(entries)}"))
    return Glossary(path=Path("synthetic.tsv"), sha256="", entries=tuple(entries))


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=1.0)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sample = (ROOT / "samples" / "crocus-city-hall.ar.txt").read_text(encoding="utf-8")
    text = sample * max(1, round(args.megabytes * 1_000_000 / len(sample.encode())))
    size_mb = len(text.encode()) / 1_000_000
    glossary = synthetic_glossary(args.entries)

    started = time.perf_counter()
    document = segment_text(text, "bench.txt")
    segmenting = time.perf_counter() - started
    started = time.perf_counter()
    matcher = TermMatcher(glossary.entries)
    building = time.perf_counter() - started
    started = time.perf_counter()
    matches = [match for segment in document.segments for match in find_terms_in_segment(segment, matcher)]
    matching = time.perf_counter() - started

    figures = {"megabytes": round(size_mb, 3), "glossary_entries": len(glossary.entries),
               "segments": len(document.segments), "matches": len(matches),
               "segmentation_mb_per_s": round(size_mb / segmenting, 2),
               "matcher_build_s": round(building, 3),
               "matching_mb_per_s": round(size_mb / matching, 2)}
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:24} {value}")


if __name__ == "__main__":
    main()

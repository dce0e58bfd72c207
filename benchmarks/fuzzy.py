"""Speed of the studio's fuzzy matches: one look-up over a memory of many approved sentences.

    .venv/bin/python benchmarks/fuzzy.py [--approvals 10000] [--repeats 5]

The memory holds synthetic Arabic sentences (6 to 14 words of news vocabulary, seeded); the sentence asked about
is one of them with a clitic added, so it has no approval of its own and its nearest is known. Prints figures.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from tarjama.memory.fuzzy import closest_approved
from tarjama.memory.store import open_memory

WORDS = ("قال", "الوفد", "الكرملين", "موسكو", "كابول", "وزارة", "الصحة", "المحكمة", "رفضت", "التحذير", "صباح",
         "مساء", "الأحد", "الاثنين", "أربعة", "مشتبه", "بهم", "أمام", "في", "إلى", "عن", "حملة", "جديدة", "الأطفال")


def synthetic_approvals(count: int, seed: int = 15) -> dict[str, str]:
    """``count`` distinct synthetic Arabic sentences, each with an English of its own."""
    rng = random.Random(seed)
    pairs: dict[str, str] = {}
    while len(pairs) < count:
        pairs[" ".join(rng.choices(WORDS, k=rng.randint(6, 14))) + "."] = f"English {len(pairs)}."
    return pairs


def main() -> None:
    """Build the memory, time the look-ups, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--approvals", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pairs = synthetic_approvals(args.approvals)
    near = next(iter(pairs))
    with tempfile.TemporaryDirectory() as folder, open_memory(Path(folder) / "tm.sqlite") as memory:
        memory.approve(pairs.items(), origin="benchmark")
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            found = closest_approved(memory, "و" + near)
            times.append(time.perf_counter() - start)
    if not found or found[0].source != near:
        raise SystemExit("the nearest approval was not found first: the figure would mean nothing")
    times.sort()
    print(f"closest_approved over {len(pairs):,} approvals: best {times[0] * 1000:.1f} ms, "
          f"median {times[len(times) // 2] * 1000:.1f} ms of {len(times)}")


if __name__ == "__main__":
    main()

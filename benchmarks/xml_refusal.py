"""How fast a hostile XML file is refused: a "billion laughs" termbase and a deeply nested one.

    .venv/bin/python benchmarks/xml_refusal.py [--depth 200000] [--repeat 5] [--json]

The tests check that these files are refused with the right error (tests/test_tbx.py,
tests/test_edges_exchange.py); how long the refusal takes is a figure, printed here: the best of
``--repeat`` reads of each document, in milliseconds. A refusal that expanded the entities or built
the nested tree first would take seconds and gigabytes, not milliseconds.
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import pairwise

from tarjama.terms.tbx import read_tbx

# Nine levels of ten: 10⁹ "lol"s, 3 GB of text, if the entities were expanded.
_LEVELS = ["lol", *(f"lol{n}" for n in range(1, 10))]
BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE martif [\n  <!ENTITY lol "lol">\n'
                  + "".join(f'  <!ENTITY {name} "{f"&{below};" * 10}">\n' for below, name in pairwise(_LEVELS))
                  + ']>\n<martif><text><body><termEntry><langSet xml:lang="ar"><tig><term>&lol9;</term></tig>'
                  "</langSet></termEntry></body></text></martif>\n")


def _deep(depth: int) -> str:
    return "<tbx><text><body><conceptEntry>" + "<x>" * depth + "</x>" * depth + "</conceptEntry></body></text></tbx>"


def _best_milliseconds(document: bytes, repeat: int) -> tuple[float, str]:
    """The fastest of ``repeat`` reads, and the error the read gave (the benchmark measures refusals)."""
    best = float("inf")
    message = ""
    for _ in range(repeat):
        started = time.perf_counter()
        entries, problems = read_tbx(document)
        best = min(best, time.perf_counter() - started)
        if entries or len(problems) != 1:
            raise SystemExit(f"not refused: {len(entries)} entries, problems {problems}")
        message = problems[0].message
    return round(1000 * best, 3), message


def main() -> None:
    """Time each refusal and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=200_000, help="nesting of the deep document")
    parser.add_argument("--repeat", type=int, default=5, help="reads of each document; the best is kept")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = {}
    for name, document in (("billion_laughs_ms", BILLION_LAUGHS), (f"nested_{args.depth}_ms", _deep(args.depth))):
        milliseconds, message = _best_milliseconds(document.encode("utf-8"), args.repeat)
        figures[name] = milliseconds
        figures[name.removesuffix("_ms") + "_error"] = message
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        for key, value in figures.items():
            print(f"{key:24} {value}")


if __name__ == "__main__":
    main()

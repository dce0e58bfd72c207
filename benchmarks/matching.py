"""Speed of segmentation and glossary matching on a large article with a large glossary.

    .venv/bin/python benchmarks/matching.py [--megabytes 1] [--entries 10000] [--json]

The same measurement as the text part of `tarjama bench`, with sizes to choose: the article is the
sample repeated to the requested size; the glossary is the newsroom glossary plus synthetic Arabic
terms (1-3 words, a third with the article) up to the requested size. Prints figures.
"""

from __future__ import annotations

import argparse
import json

from tarjama.dev.bench import BenchSettings, measure_text_speed


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=1.0)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure_text_speed(BenchSettings(text_megabytes=args.megabytes, glossary_entries=args.entries))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:24} {value}")


if __name__ == "__main__":
    main()

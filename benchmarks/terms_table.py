"""Issue 16's table: term success, duplication, chrF++ and BLEU on the toy model's lab set, by strict mode's kind.

    .venv/bin/python benchmarks/terms_table.py TOY_DIR [--backends transformers ctranslate2] [--beam-size 4]
                                               [--json PATH]

TOY_DIR is what `tarjama models toy TOY_DIR` built (its lab set in TOY_DIR/lab/). For each backend, four rows
through `tarjama eval`'s own code (`tarjama.scores.evaluation.evaluate`): no glossary; the glossary, soft; strict
with the positional forcing (`TermSearch.POSITIONAL`, the fall-back); and strict with constraint-aware decoding
(`TermSearch.CONSTRAINED`, the default). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tarjama.scores.evaluation import evaluate, read_test_set
from tarjama.terms.glossary import load_glossary
from tarjama.translate.backends import RunTranslator
from tarjama.translate.backends.ctranslate2_backend import convert
from tarjama.translate.registry import resolve_model
from tarjama.translate.types import DecodingOptions, TermSearch


def rows(toy: Path, backend: str, beam_size: int) -> list[dict]:
    """The four rows of one backend."""
    model = resolve_model(str(toy))
    if backend == "ctranslate2":
        convert(model, "int8", None)
    translator = RunTranslator(model, backend)
    lab = toy / "lab"
    sources, references = read_test_set(lab / "test.ar.txt", lab / "test.en.txt")
    glossary = load_glossary(lab / "glossary.tsv")
    options = DecodingOptions(beam_size=beam_size)
    positional = DecodingOptions(beam_size=beam_size, term_search=TermSearch.POSITIONAL)
    modes = [("no glossary", options, None, False), ("soft", options, glossary, False),
             ("strict, positional", positional, glossary, True), ("strict, constrained", options, glossary, True)]
    found = []
    for name, used, terms, strict in modes:
        result = evaluate(translator, lab / "test.ar.txt", lab / "test.en.txt", sources, references, used,
                          glossary=terms, strict_terms=strict)
        term_scores = result.terms.scores if result.terms else None
        found.append({"backend": backend, "mode": name, "bleu": round(result.scores.bleu, 2),
                      "chrf": round(result.scores.chrf, 2),
                      "term_success_rate": term_scores.term_success_rate if term_scores else None,
                      "term_duplication_rate": term_scores.term_duplication_rate if term_scores else None,
                      "seconds": round(result.seconds, 1)})
    return found


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("toy", type=Path)
    parser.add_argument("--backends", nargs="+", default=["transformers", "ctranslate2"])
    parser.add_argument("--beam-size", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    table = [row for backend in args.backends for row in rows(args.toy, backend, args.beam_size)]
    print("| backend | mode | term success | duplication | chrF++ | BLEU | seconds |")
    print("|---|---|---|---|---|---|---|")
    for row in table:
        print(f"| {row['backend']} | {row['mode']} | {_percent(row['term_success_rate'])} | "
              f"{_percent(row['term_duplication_rate'])} | {row['chrf']:.1f} | {row['bleu']:.1f} | {row['seconds']} |")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

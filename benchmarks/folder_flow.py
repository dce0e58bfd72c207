"""The folder FLOW against one article: `translate_folder` over 40 short articles and over the same text as one.

    .venv/bin/python benchmarks/folder_flow.py [--output-tokens 8] [--threads N] [--json]

`tarjama bench`'s ``folder.throughput_ratio`` times the library's pooled loop
(:func:`tarjama.runs.folder.translate_folder_pooled`, no Prefect). This times what an operator runs: the
``translate_folder`` flow, on Prefect's temporary server (started by the first run, telemetry off as
``flows/settings.py`` sets it), with its per-article ``check`` tasks, its one task per pool and its
artifacts. The same flow translates a folder of 40 five-sentence articles and a folder holding the 200
sentences as one article (each a pool of its own), with ``measure_folder``'s model, backend and settings:
CTranslate2 int8 on the random opus-mt-ar-en-shaped model, beam 4, the newsroom glossary, the output capped
at 8 tokens (``--output-tokens``). A warm-up run starts the server and loads the model; then the two in turn,
A B A B, each into fresh outputs (no memory to reuse); the best of each. Prints both sentences per second and
their ratio (issue 14's target: at least 0.85).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    """Build the model, then time the folder flow over 40 articles against it over one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-tokens", type=int, default=8, help="the output cap, both sides (default 8)")
    parser.add_argument("--threads", type=int, default=None, help="engine threads (default: the CPUs available)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tarjama-folder-flow-") as scratch:
        folder = Path(scratch)
        # Before Prefect is imported: a private PREFECT_HOME (its temporary server's database) and no telemetry.
        os.environ["PREFECT_HOME"] = str(folder / "prefect")
        os.environ.pop("PREFECT_API_URL", None)
        os.environ["HF_HUB_OFFLINE"] = "1"
        from flows.settings import configure_prefect

        configure_prefect()
        results = _measure(folder, args.output_tokens, args.threads)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"folder flow: {results['articles']} articles of {results['sentences_per_article']} sentences "
          f"{results['folder_sentences_per_s']:.2f} sentences/s ({results['folder_seconds']:.2f} s), one article of "
          f"{results['article_sentences']} sentences {results['article_sentences_per_s']:.2f} sentences/s "
          f"({results['article_seconds']:.2f} s), best of {results['runs']}: ratio {results['throughput_ratio']:.3f}"
          " (target ≥ 0.85)")


def _measure(folder: Path, output_tokens: int, threads: int | None) -> dict:
    from tarjama.dev.bench import GLOSSARY, MODEL_FOLDER, BenchSettings, _write_article, bench_sentences, build_models
    from tarjama.record.reader import read_record
    from tarjama.translate.backends.base import available_cpus
    from tarjama.translate.settings import RunSettings
    from tarjama.translate.types import DecodingOptions

    settings = BenchSettings()
    threads = threads or available_cpus()
    print("folder flow: building the opus-mt-ar-en-shaped random model", file=sys.stderr)
    build_models(folder, settings)
    os.environ["TARJAMA_MODEL_STORE"] = str(folder / "store-int8")
    from flows.translate import translate_folder

    sentences = bench_sentences(settings.article_sentences)
    per = settings.folder_article_sentences
    many, one, warm = folder / "many", folder / "one", folder / "warm-up"
    for inbox in (many, one, warm):
        inbox.mkdir()
    _write_article(one / "article.ar.txt", sentences)
    for number, start in enumerate(range(0, len(sentences), per)):
        (many / f"article-{number:03d}.ar.txt").write_text("\n".join(sentences[start:start + per]) + "\n",
                                                          encoding="utf-8")
    (warm / "warm-up.ar.txt").write_text("\n".join(sentences[:per]) + "\n", encoding="utf-8")
    options = DecodingOptions(beam_size=4, max_output_tokens=output_tokens)
    run = RunSettings(model=str(folder / MODEL_FOLDER), backend="ctranslate2", decoding=options, glossary=GLOSSARY,
                      threads=threads)

    def timed(inbox: Path, out: Path) -> tuple[float, int]:
        started = time.perf_counter()
        outcomes = translate_folder(inbox, settings=run, out_dir=out)
        seconds = time.perf_counter() - started
        failed = [o for o in outcomes if o.status != "translated"]
        if failed:
            raise SystemExit(f"{len(failed)} articles failed: {failed[0].line()}")
        return seconds, sum(len(read_record(path).segments) for path in out.glob("*.run.json"))

    print("folder flow: warm-up (the temporary server starts, the model loads)", file=sys.stderr)
    timed(warm, folder / "out-warm-up")
    one_seconds = folder_seconds = math.inf
    runs = 2
    for repeat in range(runs):
        alone, one_sentences = timed(one, folder / f"out-one-{repeat}")
        pooled, folder_sentences = timed(many, folder / f"out-many-{repeat}")
        one_seconds, folder_seconds = min(one_seconds, alone), min(folder_seconds, pooled)
        print(f"folder flow: run {repeat + 1}: one article {alone:.2f} s, folder {pooled:.2f} s", file=sys.stderr)
    one_rate, folder_rate = one_sentences / one_seconds, folder_sentences / folder_seconds
    return {"articles": len(list(many.iterdir())), "sentences_per_article": per, "sentences": folder_sentences,
            "article_sentences": one_sentences, "output_tokens": output_tokens, "threads": threads,
            "article_seconds": round(one_seconds, 3), "folder_seconds": round(folder_seconds, 3),
            "article_sentences_per_s": round(one_rate, 2), "folder_sentences_per_s": round(folder_rate, 2),
            "throughput_ratio": round(folder_rate / one_rate, 3), "runs": runs}


if __name__ == "__main__":
    main()

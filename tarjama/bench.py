"""`tarjama bench`: the backends' speed on models shaped like Helsinki-NLP/opus-mt-ar-en, no download.

Random weights with opus-mt-ar-en's architecture (6+6 layers, d_model 512, 8 heads, FFN 2048,
vocabulary 62,834), the same batch translated by every backend at a fixed output length (so the
work is equal), beam 4 in batches of 32 as in CTranslate2's own benchmark, and greedy decoding as
a second figure. Each backend runs in its own process so its peak memory is its own. Then a
200-sentence article goes through the whole pipeline with the fastest backend, to measure the time
spent outside the model.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

OPUS_MT_AR_EN_VOCAB = 62_834  # Helsinki-NLP/opus-mt-ar-en config.json: vocab_size
OUTPUT_TOKENS = 48
BEAM_BATCH = 32
GREEDY_BATCH = 64
ARTICLE_SENTENCES = 200
BACKENDS = {"transformers": ("transformers", None), "ctranslate2-float32": ("ctranslate2", "float32"),
            "ctranslate2-int8": ("ctranslate2", "int8")}


def _sentences(count: int) -> list[str]:
    from tarjama.documents import read_article
    from tarjama.registry import PROJECT_ROOT

    document = read_article(PROJECT_ROOT / "samples" / "crocus-city-hall.ar.txt")
    texts = [s.text for s in document.segments if len(s.text.split()) >= 8]
    return [texts[n % len(texts)] for n in range(count)]


def build_models(folder: Path) -> Path:
    """The random opus-mt-ar-en-shaped Marian model and its two CTranslate2 conversions."""
    from tarjama.backends.ctranslate2_backend import convert
    from tarjama.random_models import OPUS_MT_AR_EN, build_random_marian
    from tarjama.registry import resolve_model

    model_dir = build_random_marian(folder / "opus-mt-ar-en-random", _sentences(40),
                                    ["The Kremlin said on Friday that the attack near Moscow killed many people."] * 20,
                                    vocab_size=OPUS_MT_AR_EN_VOCAB, shape=OPUS_MT_AR_EN)
    model = resolve_model(str(model_dir))
    for quantization in ("float32", "int8"):
        convert(model, quantization)  # into this bench's own store (TARJAMA_MODEL_STORE, set by run_bench)
    return model_dir


def measure_backend(name: str, folder: Path, threads: int) -> dict:
    """Target tokens per second at beam 4 (batch 32) and greedy (batch 64), fixed output length."""
    backend, quantization = BACKENDS[name]
    figures = {}
    for label, beam, batch in (("beam4", 4, BEAM_BATCH), ("greedy", 1, GREEDY_BATCH)):
        sources = _sentences(batch)
        run = _runner(backend, quantization, folder, threads, sources, beam)
        run()  # warm-up: first calls allocate
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
        figures[label] = {"tokens_per_s": round(batch * OUTPUT_TOKENS / seconds, 1), "seconds": round(seconds, 3)}
    figures["tokens_per_s"] = figures["beam4"]["tokens_per_s"]
    figures["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def _runner(backend: str, quantization: str | None, folder: Path, threads: int, sources: list[str], beam: int
            ) -> Callable[[], None]:
    model_dir = folder / "opus-mt-ar-en-random"
    if backend == "transformers":
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        torch.set_num_threads(threads)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        network = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
        encoded = tokenizer(sources, return_tensors="pt", padding=True)

        def run() -> None:
            with torch.inference_mode():
                network.generate(**encoded, num_beams=beam, do_sample=False, min_new_tokens=OUTPUT_TOKENS,
                                 max_new_tokens=OUTPUT_TOKENS)
        return run
    import ctranslate2
    from transformers import AutoTokenizer

    from tarjama.backends.ctranslate2_backend import converted_path
    from tarjama.registry import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    converted = converted_path(resolve_model(str(model_dir)), quantization or "int8")
    translator = ctranslate2.Translator(str(converted), device="cpu", compute_type="default",
                                        inter_threads=1, intra_threads=threads)
    tokens = [tokenizer.convert_ids_to_tokens(ids) for ids in tokenizer(sources)["input_ids"]]

    def run() -> None:
        translator.translate_batch(tokens, beam_size=beam, min_decoding_length=OUTPUT_TOKENS,
                                   max_decoding_length=OUTPUT_TOKENS, max_batch_size=len(tokens))
    return run


def measure_pipeline(folder: Path, threads: int) -> dict:
    """A 200-sentence article through the whole pipeline with CTranslate2 int8: where the time goes."""
    from tarjama.backends import DecodingOptions, load_translator
    from tarjama.documents import segment_text
    from tarjama.glossary import load_glossary
    from tarjama.incremental import prepare
    from tarjama.matching import find_terms
    from tarjama.publishing import publish
    from tarjama.records import RunRecord, build_segment_records, count_terms
    from tarjama.registry import PROJECT_ROOT, resolve_model

    model = resolve_model(str(folder / "opus-mt-ar-en-random"))
    translator = load_translator(model, "ctranslate2", threads=threads)  # the int8 conversion comes first
    inside = 0.0
    original = translator.translate

    def timed(*args: object, **kwargs: object) -> object:
        nonlocal inside
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            inside += time.perf_counter() - started

    translator.translate = timed  # type: ignore[method-assign]
    text = "\n".join(f"{s} ({n})" if n % 5 else s for n, s in enumerate(_sentences(ARTICLE_SENTENCES))) + "\n"
    started = time.perf_counter()
    document = segment_text(text, folder / "article.txt")
    glossary = load_glossary(PROJECT_ROOT / "glossaries" / "news-ar-en.tsv")
    matches = find_terms(document, glossary)
    options = DecodingOptions(beam_size=4)
    translations = prepare(document.segments, matches, translator, options, strict_terms=False, memory=None).run()
    segments = build_segment_records(document, translations)
    record = RunRecord(document=document, model=model, backend="ctranslate2", decoding=options, glossary=glossary,
                       strict_terms=False, segments=segments, scores=count_terms(segments))
    publish(record, folder / "out")
    total = time.perf_counter() - started
    return {"sentences": len(document.segments), "seconds": round(total, 3), "model_seconds": round(inside, 3),
            "outside_model_share": round((total - inside) / total, 4)}


def run_bench(threads: int | None = None) -> dict:
    """Build the models, measure every backend in its own process, then the pipeline."""
    threads = threads or os.cpu_count() or 1
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tarjama-bench-") as name:
        folder = Path(name)
        os.environ["TARJAMA_MODEL_STORE"] = str(folder / "store")  # inherited by the measuring processes
        build_models(folder)
        backends = {}
        for backend in BACKENDS:
            output = subprocess.run([sys.executable, "-m", "tarjama.bench", "--worker", backend, str(folder),
                                     str(threads)], capture_output=True, text=True, check=True).stdout
            backends[backend] = json.loads(output.strip().splitlines()[-1])
        pipeline = json.loads(subprocess.run(
            [sys.executable, "-m", "tarjama.bench", "--pipeline", str(folder), str(threads)],
            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    base = backends["transformers"]
    return {"backends": backends,
            "speedup": {name: {"beam4": round(b["beam4"]["tokens_per_s"] / base["beam4"]["tokens_per_s"], 2),
                               "greedy": round(b["greedy"]["tokens_per_s"] / base["greedy"]["tokens_per_s"], 2)}
                        for name, b in backends.items()},
            "pipeline": pipeline,
            "settings": {"model": "random weights, Helsinki-NLP/opus-mt-ar-en architecture",
                         "output_tokens": OUTPUT_TOKENS, "beam4_batch": BEAM_BATCH, "greedy_batch": GREEDY_BATCH,
                         "threads": threads, "cpus": os.cpu_count()},
            "seconds": round(time.perf_counter() - started, 1)}


if __name__ == "__main__":
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if sys.argv[1] == "--worker":
        print(json.dumps(measure_backend(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))))
    else:
        print(json.dumps(measure_pipeline(Path(sys.argv[2]), int(sys.argv[3]))))

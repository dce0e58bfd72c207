"""`tarjama bench`: the backends' speed on models shaped like Helsinki-NLP/opus-mt-ar-en, no download.

Random weights with opus-mt-ar-en's architecture (6+6 layers, d_model 512, 8 heads, FFN 2048,
vocabulary 62,834). The same batch goes through each backend's ``translate`` (tokenising,
batching and decoding as in a real run) at a fixed output length, so the work is equal: beam 4 in
a batch of 32 as in CTranslate2's own benchmark, and greedy decoding as a second figure. Each
backend runs in a process of its own, so its peak memory is its own. Then a 200-sentence article
goes through the whole pipeline on CTranslate2 int8, to measure the time spent outside the model,
and the same sentences as a folder of short articles (pooled batches) against them as one article;
the text steps (segmentation, glossary matching) are timed on 1 MB of Arabic.
"""

from __future__ import annotations

import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tarjama.dev.random_models import OPUS_MT_AR_EN, ModelShape
from tarjama.translate.backends.base import available_cpus
from tarjama.translate.registry import PROJECT_ROOT

if TYPE_CHECKING:
    from tarjama.terms.entries import Glossary

OPUS_MT_AR_EN_VOCAB = 62_834  # Helsinki-NLP/opus-mt-ar-en config.json: vocab_size
SAMPLE = PROJECT_ROOT / "samples" / "crocus-city-hall.ar.txt"
GLOSSARY = PROJECT_ROOT / "glossaries" / "news-ar-en.tsv"
MODEL_FOLDER = "opus-mt-ar-en-random"
# name: (backend, quantization of its CTranslate2 conversion)
BACKENDS = {"transformers": ("transformers", None), "ctranslate2-float32": ("ctranslate2", "float32"),
            "ctranslate2-int8": ("ctranslate2", "int8")}
PIPELINE_BACKEND = "ctranslate2-int8"  # its process goes on to the article, with the model loaded
STRICT_BACKEND = "ctranslate2-int8"  # its process goes on to the strict-over-soft figure
TARGETS = {"ctranslate2_int8_speedup_beam4": 4.0, "outside_model_share": 0.03,
           "segmentation_mb_per_s": 1.0, "matching_mb_per_s": 1.0, "folder_throughput_ratio": 0.85,
           "strict_over_soft": 1.3}
# Met at or below the target; the others at or above it.
CEILING_TARGETS = frozenset({"outside_model_share", "strict_over_soft"})


@dataclass(frozen=True)
class BenchSettings:
    """What the bench translates; the defaults are the issue's (the tests use a tiny shape)."""

    shape: ModelShape = OPUS_MT_AR_EN
    vocab_size: int = OPUS_MT_AR_EN_VOCAB
    batch: int = 32
    output_tokens: int = 48
    article_sentences: int = 200
    folder_article_sentences: int = 5  # the folder's articles: the article's sentences, this many to an article
    folder_output_tokens: int = 8  # the folder figure's output cap, on both sides: equal work, a short bench
    strict_output_tokens: int = 8  # the strict-over-soft figure's output cap, on both sides: strict runs are long
    text_megabytes: float = 1.0
    glossary_entries: int = 10_000

    def to_json(self) -> dict:
        """The settings as the bench's JSON reports them."""
        return {"model": "random weights, Helsinki-NLP/opus-mt-ar-en architecture"
                if self.shape == OPUS_MT_AR_EN else f"random weights, d_model {self.shape.d_model}",
                "vocab_size": self.vocab_size, "layers": [self.shape.encoder_layers, self.shape.decoder_layers],
                "d_model": self.shape.d_model, "batch": self.batch, "output_tokens": self.output_tokens,
                "article_sentences": self.article_sentences,
                "folder_article_sentences": self.folder_article_sentences,
                "folder_output_tokens": self.folder_output_tokens, "strict_output_tokens": self.strict_output_tokens,
                "text_megabytes": self.text_megabytes,
                "glossary_entries": self.glossary_entries}


def bench_sentences(count: int) -> list[str]:
    """``count`` distinct Arabic sentences of the sample's longer ones (numbered once they repeat)."""
    from tarjama.text.articles import read_article

    # Whole sentences only (a title has no full stop and would merge with the next when joined).
    texts = [s.text for s in read_article(SAMPLE).segments
             if len(s.text.split()) >= 8 and s.text.rstrip("»\"”").endswith((".", "!", "؟", "?"))]
    sentences = []
    for n in range(count):
        text, lap = texts[n % len(texts)], n // len(texts)
        if lap:  # a repeated sentence would come from the memory, not the model
            end = len(text.rstrip(".!؟?"))
            text = f"{text[:end]} ({lap}){text[end:]}"
        sentences.append(text)
    return sentences


def build_models(folder: Path, settings: BenchSettings) -> Path:
    """The random opus-mt-ar-en-shaped Marian model, converted to CTranslate2 float32 and int8.

    Each conversion goes in a model store of its own (``store-float32``, ``store-int8``), so the
    backend finds exactly the one being measured.
    """
    from tarjama.dev.random_models import build_random_marian
    from tarjama.translate.backends.ctranslate2_backend import convert
    from tarjama.translate.registry import resolve_model

    english = ["The Kremlin said on Friday that the attack near Moscow killed many people.",
               "Investigators in Russia and the United States shared warnings before the concert."] * 10
    model_dir = build_random_marian(folder / MODEL_FOLDER, bench_sentences(40), english,
                                    vocab_size=settings.vocab_size, shape=settings.shape)
    model = resolve_model(str(model_dir))
    for quantization in ("float32", "int8"):
        with _model_store(folder / f"store-{quantization}"):
            convert(model, quantization)
    return model_dir


@contextmanager
def _model_store(path: Path) -> Iterator[None]:
    previous = os.environ.get("TARJAMA_MODEL_STORE")
    os.environ["TARJAMA_MODEL_STORE"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TARJAMA_MODEL_STORE", None)
        else:
            os.environ["TARJAMA_MODEL_STORE"] = previous


class _Stopwatch:
    """Adds up the time spent in the functions it wraps."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Callable) -> Callable:
        def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
        return timed


def _engine_stopwatch(translator: object) -> _Stopwatch:
    """Time the engine call inside a backend: what is left is the backend's own tokenising and batching."""
    stopwatch = _Stopwatch()
    if translator.backend == "transformers":
        network = translator._network  # a benchmark looks inside on purpose
        network.generate = stopwatch.wrap(network.generate)
    else:
        engine = translator._translator
        translator._translator = _TimedEngine(engine, stopwatch)
    return stopwatch


class _TimedEngine:
    """A ``ctranslate2.Translator`` stand-in that times ``translate_batch`` (the C++ object is read-only)."""

    def __init__(self, engine: object, stopwatch: _Stopwatch) -> None:
        self._engine = engine
        self.translate_batch = stopwatch.wrap(engine.translate_batch)

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)


def measure_backend(name: str, folder: Path, threads: int, settings: BenchSettings) -> dict:
    """Target tokens per second through the backend, at beam 4 and greedy, on one batch at fixed length."""
    import ctranslate2  # noqa: F401 - every library in every worker: the memory baseline is the same
    import torch  # noqa: F401
    import transformers  # noqa: F401

    from tarjama.translate.backends import load_translator
    from tarjama.translate.registry import resolve_model
    from tarjama.translate.types import BatchingOptions, DecodingOptions

    backend, quantization = BACKENDS[name]
    if quantization:
        os.environ["TARJAMA_MODEL_STORE"] = str(folder / f"store-{quantization}")
    libraries_mb = _resident_mb()
    started = time.perf_counter()
    translator = load_translator(resolve_model(str(folder / MODEL_FOLDER)), backend, threads=threads)
    figures: dict = {"load_seconds": round(time.perf_counter() - started, 2)}
    sources = bench_sentences(settings.batch)
    lengths = translator.count_tokens(sources)
    engine = _engine_stopwatch(translator)
    # This VM's speed drifts by ±15% between runs: the beam-4 figure (the target's) is the best of two.
    for label, beam, repeats in (("beam4", 4, 2), ("greedy", 1, 1)):
        fixed = {"min_output_tokens": settings.output_tokens, "max_output_tokens": settings.output_tokens}
        options = DecodingOptions(beam_size=beam, **fixed)
        batching = BatchingOptions(max_sentences=settings.batch, max_tokens=settings.batch * max(lengths))
        translator.translate(sources[:2], DecodingOptions(beam_size=beam, max_output_tokens=4))  # warm-up
        seconds = engine_seconds = math.inf
        for _ in range(repeats):
            engine.seconds = 0.0
            started = time.perf_counter()
            translations = translator.translate(sources, options, batching=batching)
            elapsed = time.perf_counter() - started
            if elapsed < seconds:
                seconds, engine_seconds = elapsed, engine.seconds
        tokens = sum(t.tokens for t in translations)
        figures[label] = {"tokens_per_s": round(tokens / seconds, 1), "target_tokens": tokens,
                          "seconds": round(seconds, 3), "engine_tokens_per_s": round(tokens / engine_seconds, 1),
                          "runs": repeats}
    figures["tokens_per_s"] = figures["beam4"]["tokens_per_s"]
    figures["threads"] = {"workers": getattr(translator, "workers", 1),
                          "per_worker": getattr(translator, "threads_per_worker", threads)}
    figures["source_tokens_mean"] = round(sum(lengths) / len(lengths), 1)
    figures["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # The peak less what Python and the libraries hold before the model loads: the model's own share.
    figures["model_memory_mb"] = round(figures["peak_memory_mb"] - libraries_mb, 1)
    return figures


def _resident_mb() -> float:
    """This process's resident memory now, in MB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure_pipeline(folder: Path, threads: int, settings: BenchSettings) -> dict:
    """An article through the whole pipeline (memory, terms, records, publishing) on CTranslate2 int8.

    The model is already loaded, as in a scheduled run's process (its load time is the backend's
    ``load_seconds``).
    """
    from tarjama.record.reader import read_record
    from tarjama.runs.article import translate_and_publish
    from tarjama.translate.backends import load_translator
    from tarjama.translate.registry import resolve_model
    from tarjama.translate.settings import RunSettings
    from tarjama.translate.types import DecodingOptions

    os.environ["TARJAMA_MODEL_STORE"] = str(folder / "store-int8")
    model_dir = folder / MODEL_FOLDER
    translator = load_translator(resolve_model(str(model_dir)), "ctranslate2", threads=threads)
    inside, engine = _Stopwatch(), _engine_stopwatch(translator)
    translator.translate = inside.wrap(translator.translate)  # type: ignore[method-assign]
    article = _write_article(folder / "article.ar.txt", bench_sentences(settings.article_sentences))
    # A real run's output is as long as the sentence; a random model would run to the budget instead.
    options = DecodingOptions(beam_size=4, max_output_tokens=settings.output_tokens)
    started = time.perf_counter()
    run = RunSettings(model=str(model_dir), backend="ctranslate2", decoding=options, glossary=GLOSSARY, threads=threads)
    result = translate_and_publish(article, run, folder / "out")
    total = time.perf_counter() - started
    record = read_record(result.published.record)
    return {"sentences": len(record.segments), "model_inputs": record.memory.model_inputs if record.memory else None,
            "terms_matched": record.scores.terms_matched if record.scores else None, "seconds": round(total, 3),
            "model_seconds": round(inside.seconds, 3), "engine_seconds": round(engine.seconds, 3),
            "outside_model_share": round((total - inside.seconds) / total, 4),
            "outside_engine_share": round((total - engine.seconds) / total, 4)}


def measure_folder(folder: Path, threads: int, settings: BenchSettings) -> dict:
    """Sentences per second of a folder of short articles (pooled batches) over the same sentences as one article.

    The article's sentences, :attr:`BenchSettings.folder_article_sentences` to an article, one a line,
    through :func:`tarjama.runs.folder.translate_folder_pooled` (the folder flow's steps without Prefect);
    the one article through :func:`tarjama.runs.article.translate_and_publish`, as the pipeline figure. Same
    backend, model (loaded already), glossary and beam; output capped at ``folder_output_tokens`` on both
    sides. Each side twice, alternating, each into fresh outputs (no memory to reuse); the best of each.
    """
    from tarjama.record.reader import read_record
    from tarjama.runs.article import translate_and_publish
    from tarjama.runs.folder import translate_folder_pooled
    from tarjama.translate.backends import load_translator
    from tarjama.translate.registry import resolve_model
    from tarjama.translate.settings import RunSettings
    from tarjama.translate.types import DecodingOptions

    os.environ["TARJAMA_MODEL_STORE"] = str(folder / "store-int8")
    model = resolve_model(str(folder / MODEL_FOLDER))
    translator = load_translator(model, "ctranslate2", threads=threads)
    sentences = bench_sentences(settings.article_sentences)
    per = settings.folder_article_sentences
    work = folder / "folder-bench"
    inbox = work / "inbox"
    inbox.mkdir(parents=True)
    article = _write_article(work / "article.ar.txt", sentences)
    sources = []
    for number, start in enumerate(range(0, len(sentences), per)):
        sources.append(inbox / f"article-{number:03d}.ar.txt")
        sources[-1].write_text("\n".join(sentences[start:start + per]) + "\n", encoding="utf-8")
    options = DecodingOptions(beam_size=4, max_output_tokens=settings.folder_output_tokens)
    run = RunSettings(model=str(folder / MODEL_FOLDER), backend="ctranslate2", decoding=options, glossary=GLOSSARY,
                      threads=threads)
    one_seconds = folder_seconds = math.inf
    for repeat in range(2):
        started = time.perf_counter()
        single = translate_and_publish(article, run, work / f"one-{repeat}", model=model)
        one_seconds = min(one_seconds, time.perf_counter() - started)
        started = time.perf_counter()
        outcomes = translate_folder_pooled(sources, run, work / f"folder-{repeat}", model=model,
                                           translator=translator)
        folder_seconds = min(folder_seconds, time.perf_counter() - started)
    failed = [o for o in outcomes if o.published is None]
    if failed:
        raise RuntimeError(f"{len(failed)} articles of the folder failed: {failed[0].error}")
    one_sentences = len(read_record(single.published.record).segments)
    folder_sentences = sum(len(read_record(o.published.record).segments) for o in outcomes)
    one_rate, folder_rate = one_sentences / one_seconds, folder_sentences / folder_seconds
    return {"articles": len(sources), "sentences_per_article": per, "sentences": folder_sentences,
            "article_sentences": one_sentences,
            "output_tokens": settings.folder_output_tokens, "article_seconds": round(one_seconds, 3),
            "folder_seconds": round(folder_seconds, 3), "article_sentences_per_s": round(one_rate, 2),
            "folder_sentences_per_s": round(folder_rate, 2), "throughput_ratio": round(folder_rate / one_rate, 3),
            "runs": 2}


def _write_article(path: Path, sentences: list[str]) -> Path:
    """The bench's article: ``sentences`` in paragraphs of five."""
    path.write_text("\n\n".join(" ".join(sentences[n:n + 5]) for n in range(0, len(sentences), 5)) + "\n",
                    encoding="utf-8")
    return path


def measure_strict_over_soft(folder: Path, threads: int, settings: BenchSettings) -> dict:
    """Model seconds of a ``--strict-terms`` run of the article over a soft one: what guaranteeing the terms costs.

    The article of :func:`measure_pipeline` with the newsroom glossary, beam 4, on :data:`STRICT_BACKEND` (model
    loaded), each run into fresh outputs (no memory to reuse), the output capped at ``strict_output_tokens`` on
    both sides. "Model seconds" are the time inside the backend's ``translate()``: the first pass (for the strict
    run, with the terms carried by its constraint-aware decoding) and any fall-back re-decoding. One run each.
    """
    from tarjama.record.reader import read_record
    from tarjama.runs.article import translate_and_publish
    from tarjama.translate.backends import load_translator
    from tarjama.translate.registry import resolve_model
    from tarjama.translate.settings import RunSettings
    from tarjama.translate.types import DecodingOptions

    backend, quantization = BACKENDS[STRICT_BACKEND]
    if quantization:
        os.environ["TARJAMA_MODEL_STORE"] = str(folder / f"store-{quantization}")
    model = resolve_model(str(folder / MODEL_FOLDER))
    translator = load_translator(model, backend, threads=threads)
    article = _write_article(folder / "strict-article.ar.txt", bench_sentences(settings.article_sentences))
    options = DecodingOptions(beam_size=4, max_output_tokens=settings.strict_output_tokens)
    figures: dict = {"backend": STRICT_BACKEND, "sentences": settings.article_sentences,
                     "output_tokens": settings.strict_output_tokens, "runs": 1}
    translate = translator.translate
    try:
        for label, strict in (("soft", False), ("strict", True)):
            inside = _Stopwatch()
            translator.translate = inside.wrap(translate)  # type: ignore[method-assign]
            run = RunSettings(model=str(model.path), backend=backend, decoding=options, glossary=GLOSSARY,
                              threads=threads, strict_terms=strict)
            published = translate_and_publish(article, run, folder / f"strict-{label}", model=model)
            scores = read_record(published.published.record).scores
            figures[label] = {"model_seconds": round(inside.seconds, 3),
                              "term_success_rate": scores.term_success_rate if scores else None}
    finally:
        translator.translate = translate  # type: ignore[method-assign]
    figures["strict_over_soft"] = round(figures["strict"]["model_seconds"] / figures["soft"]["model_seconds"], 3)
    return figures


def measure_text_speed(settings: BenchSettings) -> dict:
    """Segmentation and glossary matching on the sample repeated to ~1 MB, with a 10,000-entry glossary."""
    from tarjama.terms.matching import TermMatcher, find_terms_in_segment
    from tarjama.text.articles import segment_text

    sample = SAMPLE.read_text(encoding="utf-8")
    text = sample * max(1, round(settings.text_megabytes * 1_000_000 / len(sample.encode())))
    megabytes = len(text.encode()) / 1_000_000
    glossary = synthetic_glossary(settings.glossary_entries)
    started = time.perf_counter()
    document = segment_text(text, "bench.txt")
    segmenting = time.perf_counter() - started
    started = time.perf_counter()
    matcher = TermMatcher(glossary.entries)
    building = time.perf_counter() - started
    started = time.perf_counter()
    matches = sum(len(find_terms_in_segment(segment, matcher)) for segment in document.segments)
    matching = time.perf_counter() - started
    return {"megabytes": round(megabytes, 3), "glossary_entries": len(glossary.entries),
            "segments": len(document.segments), "matches": matches,
            "segmentation_mb_per_s": round(megabytes / segmenting, 2), "matcher_build_s": round(building, 3),
            "matching_mb_per_s": round(megabytes / matching, 2)}


def synthetic_glossary(size: int, seed: int = 0) -> Glossary:
    """The newsroom glossary padded with random Arabic terms (1-3 words, a third with the article)."""
    from tarjama.terms.entries import Glossary, GlossaryEntry
    from tarjama.terms.glossary import load_glossary

    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوية"
    real = load_glossary(GLOSSARY)
    rng = random.Random(seed)
    entries, seen = list(real.entries), {e.source for e in real.entries}
    while len(entries) < size:
        words = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 7))) for _ in range(rng.randint(1, 3))]
        if rng.random() < 1 / 3:
            words[0] = "ال" + words[0]
        source = " ".join(words)
        if source not in seen:
            seen.add(source)
            entries.append(GlossaryEntry(source, f"term {len(entries)}"))
    return Glossary(path=Path("synthetic.tsv"), sha256="", entries=tuple(entries))


def cpu_features() -> dict:
    """What decides CTranslate2's int8 speed: AVX-512 and VNNI instructions (AVX2 alone gains less)."""
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return {"cpus": available_cpus(), "avx2": "avx2" in flags, "avx512": "avx512f" in flags,
            "vnni": bool(flags & {"avx512_vnni", "avx_vnni"})}


def _in_subprocess(*args: str) -> dict:
    completed = subprocess.run([sys.executable, "-m", "tarjama.dev.bench", *args], capture_output=True, text=True,
                               check=False)
    if completed.returncode:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"bench step {' '.join(args[:2])} failed:\n{tail}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_bench(threads: int | None = None, settings: BenchSettings | None = None,
              progress: Callable[[str], None] | None = None) -> dict:
    """Build the models, measure every backend in its own process, then the pipeline and the text steps."""
    settings = settings or BenchSettings()
    threads = threads or available_cpus()
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    encoded = json.dumps({**settings.to_json(), "shape": asdict(settings.shape)})
    with tempfile.TemporaryDirectory(prefix="tarjama-bench-") as name:
        folder = Path(name)
        say("building the random model and its CTranslate2 conversions")
        build_models(folder, settings)
        backends = {}
        for backend in BACKENDS:
            then = [*([f"the {settings.article_sentences}-sentence article soft and strict"]
                      if backend == STRICT_BACKEND else []),
                    *([f"the article through the pipeline and as a folder of {settings.folder_article_sentences}"
                       "-sentence articles"] if backend == PIPELINE_BACKEND else [])]
            say(f"measuring {backend}" + "".join(f", then {work}" for work in then))
            backends[backend] = _in_subprocess("--worker", backend, str(folder), str(threads), encoded)
        pipeline = backends[PIPELINE_BACKEND].pop("pipeline")
        folder_run = backends[PIPELINE_BACKEND].pop("folder")
        strict = backends[STRICT_BACKEND].pop("strict")
        pipeline["strict_over_soft"] = strict["strict_over_soft"]
        pipeline["strict"] = strict
    say("timing segmentation and glossary matching")
    text = measure_text_speed(settings)
    base = backends["transformers"]
    speedup = {name: {label: round(b[label]["tokens_per_s"] / base[label]["tokens_per_s"], 2)
                      for label in ("beam4", "greedy")} for name, b in backends.items()}
    engine_speedup = {name: round(b["beam4"]["engine_tokens_per_s"] / base["beam4"]["engine_tokens_per_s"], 2)
                      for name, b in backends.items()}
    measured = {"ctranslate2_int8_speedup_beam4": speedup["ctranslate2-int8"]["beam4"],
                "outside_model_share": pipeline["outside_model_share"],
                "segmentation_mb_per_s": text["segmentation_mb_per_s"],
                "matching_mb_per_s": text["matching_mb_per_s"],
                "folder_throughput_ratio": folder_run["throughput_ratio"],
                "strict_over_soft": strict["strict_over_soft"]}
    targets = {key: {"value": value, "target": TARGETS[key],
                     "met": value <= TARGETS[key] if key in CEILING_TARGETS else value >= TARGETS[key]}
               for key, value in measured.items()}
    return {"backends": backends, "speedup": speedup, "engine_speedup_beam4": engine_speedup,
            "pipeline": pipeline, "folder": folder_run, "text": text, "targets": targets,
            "settings": {**settings.to_json(), "threads": threads}, "cpu": cpu_features(),
            "seconds": round(time.perf_counter() - started, 1)}


def bench_lines(result: dict) -> list[str]:
    """``tarjama bench``'s report of a :func:`run_bench` result: a table of the backends, then the pipeline,
    the text steps and each target."""
    lines = [f"{'backend':20} {'beam 4 tok/s':>13} {'greedy tok/s':>13} {'×beam 4':>8} {'peak MB':>8} "
             f"{'model MB':>9}"]
    for name, figures in result["backends"].items():
        lines.append(f"{name:20} {figures['beam4']['tokens_per_s']:13.1f} {figures['greedy']['tokens_per_s']:13.1f} "
                     f"{result['speedup'][name]['beam4']:8.2f} {figures['peak_memory_mb']:8.0f} "
                     f"{figures['model_memory_mb']:9.0f}")
    pipeline, text = result["pipeline"], result["text"]
    lines.append(f"pipeline: {pipeline['sentences']} sentences in {pipeline['seconds']:.1f} s, "
                 f"{100 * pipeline['outside_model_share']:.1f}% of it outside the model")
    if "strict" in pipeline:
        strict = pipeline["strict"]
        lines.append(f"strict terms: model {strict['strict']['model_seconds']:.1f} s against "
                     f"{strict['soft']['model_seconds']:.1f} s soft (× {strict['strict_over_soft']:.2f}; output capped "
                     f"at {strict['output_tokens']} tokens)")
    if "folder" in result:
        folder_run = result["folder"]
        lines.append(f"folder: {folder_run['articles']} articles of {folder_run['sentences_per_article']} "
                     f"sentences at {folder_run['folder_sentences_per_s']:.1f} sentences/s, one article of the same "
                     f"{folder_run['sentences']} at {folder_run['article_sentences_per_s']:.1f}: "
                     f"× {folder_run['throughput_ratio']:.2f}")
    lines.append(f"text: segmentation {text['segmentation_mb_per_s']:.2f} MB/s, glossary matching "
                 f"{text['matching_mb_per_s']:.2f} MB/s ({text['glossary_entries']} entries)")
    for key, target in result["targets"].items():
        bound = "≤" if key in CEILING_TARGETS else "≥"
        lines.append(f"target {key}: {target['value']} ({bound} {target['target']}) "
                     f"{'met' if target['met'] else 'NOT met'}")
    return lines


def _settings_from_json(encoded: str) -> BenchSettings:
    data = json.loads(encoded)
    return BenchSettings(shape=ModelShape(**data["shape"]), vocab_size=data["vocab_size"], batch=data["batch"],
                         output_tokens=data["output_tokens"], article_sentences=data["article_sentences"],
                         folder_article_sentences=data["folder_article_sentences"],
                         folder_output_tokens=data["folder_output_tokens"],
                         strict_output_tokens=data["strict_output_tokens"])


if __name__ == "__main__":
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    _step, name, folder_name, thread_count, settings_json = sys.argv[1:6]
    chosen = _settings_from_json(settings_json)
    figures = measure_backend(name, Path(folder_name), int(thread_count), chosen)
    if name == STRICT_BACKEND:
        figures["strict"] = measure_strict_over_soft(Path(folder_name), int(thread_count), chosen)
    if name == PIPELINE_BACKEND:
        figures["pipeline"] = measure_pipeline(Path(folder_name), int(thread_count), chosen)
        figures["folder"] = measure_folder(Path(folder_name), int(thread_count), chosen)
    print(json.dumps(figures))

"""``tarjama models toy``: train a small MarianMT ar→en on the toy corpus, on the CPU, seeded.

The model starts as :func:`tarjama.dev.random_models.build_random_marian` builds it (opus-mt layout,
SentencePiece tokenizers trained on the corpus), is trained with plain torch, and is saved over those
random weights with ``save_pretrained``, so ``--model DIR`` and ``tarjama models convert DIR`` load it
like any Marian model. It is a TOY: it translates its own template language, not real Arabic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional
from transformers import MarianMTModel, MarianTokenizer

from tarjama.dev.random_models import ModelShape, build_random_marian
from tarjama.dev.toy import ToySize
from tarjama.dev.toy.corpus import ToyCorpus, generate_corpus, write_lab
from tarjama.errors import InputError
from tarjama.scores.scoring import metrics

__all__ = ["TOY_SIZES", "ToyResult", "ToySize", "ToySpec", "build_toy_model", "greedy_translations", "lab_chrf"]

# The machine is shared: two threads, whatever the core count.
THREADS = 2

MODEL_CARD = """\
# tarjama toy model: NOT a translator of real Arabic

A {size} MarianMT ar→en model that `tarjama models toy` trained on this machine in {minutes:.1f} minutes on
{train} synthetic sentence pairs made from the templates in tarjama/dev/toy/data (seed {seed}). It
translates that template language only (news-like sentences about attacks, statements, officials and
places) and knows none of the names in `lab/glossary.tsv`: they were held out of its training corpus.
It exists to measure glossary enforcement on a model whose English reads well; never use it to
translate real text.

Lab test set: `lab/test.ar.txt`, `lab/test.en.txt` ({test} line-aligned sentences) and `lab/glossary.tsv`.
chrF++ of greedy decoding on it: {chrf:.1f} ({chrf_unnamed:.1f} against references without the held-out names).
"""


@dataclass(frozen=True)
class ToySpec:
    """What one size trains: corpus, transformer shape, vocabulary and schedule."""

    train_size: int
    shape: ModelShape
    vocab_size: int
    steps: int
    batch_size: int
    learning_rate: float
    warmup: int


TOY_SIZES = {
    ToySize.DEFAULT: ToySpec(train_size=12_000, vocab_size=1200, steps=1000, batch_size=64, learning_rate=2e-3,
                             warmup=100, shape=ModelShape(d_model=128, encoder_layers=2, decoder_layers=2,
                                                          attention_heads=4, ffn_dim=512, max_positions=256)),
    ToySize.SMALL: ToySpec(train_size=4_000, vocab_size=1000, steps=300, batch_size=64, learning_rate=3e-3,
                           warmup=50, shape=ModelShape(d_model=128, encoder_layers=1, decoder_layers=1,
                                                       attention_heads=4, ffn_dim=256, max_positions=256)),
}


@dataclass(frozen=True)
class ToyResult:
    """What a build made and measured."""

    out_dir: Path
    size: ToySize
    train_pairs: int
    test_pairs: int
    glossary_terms: int
    train_seconds: float
    chrf: float
    chrf_unnamed: float

    def lines(self) -> list[str]:
        """The report ``tarjama models toy`` prints."""
        return [f"trained: {self.train_pairs} synthetic pairs, {self.size} size, {self.train_seconds:.0f} s",
                f"lab: {self.test_pairs} test sentences, {self.glossary_terms} held-out names in lab/glossary.tsv",
                f"chrF++ (greedy, lab test set): {self.chrf:.1f}; against references without the held-out "
                f"names: {self.chrf_unnamed:.1f}"]


def build_toy_model(out_dir: Path, size: ToySize = ToySize.DEFAULT, *, seed: int = 0,
                    progress: Callable[[str], None] | None = None) -> ToyResult:
    """Train the toy model of ``size`` into the new folder ``out_dir`` and write its lab set in ``out_dir/lab``."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError("not empty: choose a new folder for the model", path=out_dir)
    spec = TOY_SIZES[size]
    started = time.perf_counter()
    corpus = generate_corpus(seed=seed, train_size=spec.train_size)
    # The target tokenizer must spell every held-out name (strict mode forces them) without having
    # seen one: one line of their letters gives it the characters, not the names' pieces.
    letters = " ".join(sorted({char for filler in corpus.held_out for char in filler.english if not char.isspace()}))
    build_random_marian(out_dir, [s.arabic for s in corpus.train], [s.english for s in corpus.train] + [letters],
                        vocab_size=spec.vocab_size, shape=spec.shape, seed=seed)
    tokenizer = MarianTokenizer.from_pretrained(out_dir)
    model = MarianMTModel.from_pretrained(out_dir)
    with _threads(THREADS):
        _train(model, tokenizer, corpus, spec, seed, progress)
        model.config.tarjama_toy = "toy model: not a translator of real Arabic (tarjama models toy)"
        model.save_pretrained(out_dir)
        train_seconds = time.perf_counter() - started
        write_lab(corpus, out_dir / "lab")
        hypotheses = greedy_translations(model, tokenizer, [s.arabic for s in corpus.test])
    chrf, chrf_unnamed = lab_chrf(hypotheses, corpus)
    result = ToyResult(out_dir=out_dir, size=size, train_pairs=len(corpus.train), test_pairs=len(corpus.test),
                       glossary_terms=len(corpus.glossary_entries()), train_seconds=train_seconds, chrf=chrf,
                       chrf_unnamed=chrf_unnamed)
    (out_dir / "README.md").write_text(MODEL_CARD.format(size=size, minutes=train_seconds / 60,
                                                         train=len(corpus.train), seed=seed, test=len(corpus.test),
                                                         chrf=chrf, chrf_unnamed=chrf_unnamed), encoding="utf-8")
    return result


class _threads:  # noqa: N801 - used as a context manager, like torch's own
    """Run torch on ``count`` threads with denormals flushed, then restore the caller's settings.

    Adam's moments decay towards denormal floats late in training, which the CPU computes many times slower.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.before = torch.get_num_threads()

    def __enter__(self) -> None:
        torch.set_num_threads(self.count)
        torch.set_flush_denormal(True)

    def __exit__(self, *_exc: object) -> None:
        torch.set_num_threads(self.before)
        torch.set_flush_denormal(False)


def _batches(lengths: Sequence[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Index batches of sentences of like length (little padding), in a seeded random order."""
    order = sorted(range(len(lengths)), key=lambda index: (lengths[index], index))
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    return [batches[index] for index in torch.randperm(len(batches), generator=generator).tolist()]


def _train(model: MarianMTModel, tokenizer: MarianTokenizer, corpus: ToyCorpus, spec: ToySpec, seed: int,
           progress: Callable[[str], None] | None) -> None:
    """Train ``model`` in place: AdamW, warm-up then linear decay, label smoothing, seeded."""
    sources = tokenizer([s.arabic for s in corpus.train])["input_ids"]
    targets = tokenizer(text_target=[s.english for s in corpus.train])["input_ids"]
    pad_id = model.config.pad_token_id
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate, betas=(0.9, 0.98),
                                      weight_decay=0.0)
        decay = spec.steps - spec.warmup
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min((step + 1) / spec.warmup, max(0.0, (spec.steps - step) / decay)))
        lengths = [len(source) + len(target) for source, target in zip(sources, targets, strict=True)]
        model.train()
        step = 0
        while step < spec.steps:
            for batch in _batches(lengths, spec.batch_size, generator):
                if step == spec.steps:
                    break
                loss = _loss(model, [sources[i] for i in batch], [targets[i] for i in batch], pad_id)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                # CTranslate2 starts decoding from a zero vector, not the <pad> embedding: keep the row zero.
                with torch.no_grad():
                    model.get_input_embeddings().weight[pad_id].zero_()
                step += 1
                if progress and (step % 100 == 0 or step == spec.steps):
                    progress(f"step {step}/{spec.steps}, loss {loss.item():.2f}")
        model.eval()


def _loss(model: MarianMTModel, sources: list[list[int]], targets: list[list[int]], pad_id: int) -> torch.Tensor:
    """Label-smoothed cross-entropy of one batch."""
    source_ids = _padded(sources, pad_id)
    labels = _padded(targets, -100)
    decoder_inputs = torch.cat([torch.full((len(targets), 1), pad_id), labels[:, :-1].clamp(min=0)], dim=1)
    decoder_inputs[labels == -100] = pad_id
    logits = model(input_ids=source_ids, attention_mask=source_ids != pad_id, decoder_input_ids=decoder_inputs).logits
    return functional.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100,
                                    label_smoothing=0.1)


def _padded(rows: list[list[int]], value: int) -> torch.Tensor:
    width = max(map(len, rows))
    return torch.tensor([row + [value] * (width - len(row)) for row in rows])


def greedy_translations(model: MarianMTModel, tokenizer: MarianTokenizer, sentences: Sequence[str],
                        batch_size: int = 64) -> list[str]:
    """Greedy decoding of ``sentences`` (the measure ``tarjama models toy`` prints)."""
    english: list[str] = []
    with torch.no_grad():
        for start in range(0, len(sentences), batch_size):
            batch = tokenizer(list(sentences[start:start + batch_size]), return_tensors="pt", padding=True)
            output = model.generate(**batch, num_beams=1, do_sample=False, max_length=160)
            english.extend(tokenizer.batch_decode(output, skip_special_tokens=True))
    return english


def lab_chrf(hypotheses: Sequence[str], corpus: ToyCorpus) -> tuple[float, float]:
    """chrF++ against the lab references, and against the references with the held-out names taken out.

    The second says how well the model writes the template English around names it cannot know.
    """
    references = [s.english for s in corpus.test]
    unnamed = [_without_names(s.english, [term.english for term in s.terms]) for s in corpus.test]
    chrf = metrics()["chrf"]
    return chrf.corpus_score(list(hypotheses), [references]).score, chrf.corpus_score(list(hypotheses),
                                                                                      [unnamed]).score


def _without_names(english: str, names: Sequence[str]) -> str:
    for name in sorted(names, key=len, reverse=True):
        english = english.replace(name, "")
    return " ".join(english.split())

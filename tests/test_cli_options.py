"""The CLI declares each shared option once, with the library's defaults, and holds no policy: the library
functions it calls for that policy are tested here."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tarjama.cli import build_parser
from tarjama.dev.bench import CEILING_TARGETS, TARGETS, bench_lines
from tarjama.errors import InputError
from tarjama.exchange.interchange import export
from tarjama.files import check_output_file, write_output_file
from tarjama.memory.store import default_memory_path, open_memory
from tarjama.publish.outputs import DEFAULT_OUTPUT_DIR
from tarjama.runs.article import check_article_run
from tarjama.runs.inbox import check_inbox_run
from tarjama.scores.compare import DEFAULT_SAMPLES, DEFAULT_SEED
from tarjama.scores.evaluation import default_results_path, read_test_set, results_path
from tarjama.scores.scoring import corpus_scores, score_files
from tarjama.terms.entries import ERROR, WARNING, GlossaryProblem
from tarjama.terms.glossary import GlossaryCheck
from tarjama.translate.registry import DEFAULT_MODEL, load_registry, registry_listing
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import DEFAULT_BACKEND, DecodingOptions


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its name (``tm export``), nested commands included."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[f"{prefix}{name}"] = sub
                found.update(_commands(sub, f"{prefix}{name} "))
    return found


def _action(command: argparse.ArgumentParser, option: str) -> argparse.Action:
    return next(a for a in command._actions if option in a.option_strings or a.dest == option)


COMMANDS = _commands(build_parser())

# Each shared option, and the commands that take that one declaration (the same argparse action).
SHARED = [
    ("path", ["segment", "terms", "translate"]),
    ("--json", ["segment", "terms", "score", "bench"]),
    ("--model", ["translate", "serve", "eval"]),
    ("--revision", ["translate", "serve", "eval", "models convert"]),
    ("--glossary", ["translate", "serve", "eval"]),
    ("--strict-terms", ["translate", "serve", "eval"]),
    ("--backend", ["translate", "serve", "eval"]),
    ("--beam-size", ["translate", "serve", "eval"]),
    ("--threads", ["translate", "serve", "eval"]),
    ("--out", ["translate", "serve"]),
    ("--verbose", ["translate", "serve"]),
    ("--seed", ["compare"]),
    ("--samples", ["compare"]),
]


@pytest.mark.parametrize(("option", "commands"), SHARED, ids=[option for option, _ in SHARED])
def test_a_shared_option_is_one_declaration(option, commands):
    actions = {id(_action(COMMANDS[name], option)) for name in commands}
    assert len(actions) == 1, f"{option} is declared {len(actions)} times across {commands}"


DEFAULTS = [
    ("--beam-size", ["translate", "serve", "eval"], DecodingOptions().beam_size),
    ("--backend", ["translate", "serve", "eval"], DEFAULT_BACKEND),
    ("--model", ["translate", "serve", "eval"], DEFAULT_MODEL),
    ("--seed", ["compare"], DEFAULT_SEED),
    ("--samples", ["compare"], DEFAULT_SAMPLES),
    ("--out", ["translate", "serve"], DEFAULT_OUTPUT_DIR),
    ("--outputs", ["tm import"], DEFAULT_OUTPUT_DIR),
]


@pytest.mark.parametrize(("option", "commands", "default"), DEFAULTS, ids=[option for option, _, _ in DEFAULTS])
def test_a_shared_default_is_the_librarys(option, commands, default):
    for name in commands:
        assert _action(COMMANDS[name], option).default == default, name


def test_help_shows_the_librarys_defaults(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["compare", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"bootstrap seed (default {DEFAULT_SEED}, sacrebleu's)" in help_text
    assert f"bootstrap resamples (default {DEFAULT_SAMPLES}, sacrebleu's)" in help_text


# --- glossary check: when a glossary fails ---

ERR = GlossaryProblem(ERROR, "no letters", 3)
WARN = GlossaryProblem(WARNING, "repeated header", 5)


@pytest.mark.parametrize(("problems", "strict", "failure"), [
    ((), False, None),
    ((), True, None),
    ((WARN,), False, None),
    ((WARN,), True, "g.tsv: the glossary has 1 warnings"),
    ((ERR,), False, "g.tsv: the glossary has 1 errors"),
    ((ERR, WARN, ERR), True, "g.tsv: the glossary has 2 errors"),  # errors are told before warnings
])
def test_glossary_check_failure(problems, strict, failure):
    assert GlossaryCheck(Path("g.tsv"), "", (), problems).failure(strict=strict) == failure


def test_glossary_check_text_lines_list_each_problem_then_the_counts():
    checked = GlossaryCheck(Path("g.tsv"), "", (), (ERR, WARN))
    assert checked.text_lines() == ["g.tsv:3: error: no letters", "g.tsv:5: warning: repeated header",
                                    "g.tsv: 0 entries, 1 errors, 1 warnings"]


# --- tm export and glossary import: writing --out ---

def test_tm_export_defaults_to_the_memory_under_the_outputs_folder(tmp_path):
    with pytest.raises(InputError, match="no translation memory here") as caught:
        export("tmx", articles=None, memory_path=None, outputs=tmp_path)
    assert caught.value.path == str(default_memory_path(tmp_path))
    with open_memory(default_memory_path(tmp_path)) as memory:
        memory.approve([("قال الكرملين", "The Kremlin said")], origin="test")
    text, count = export("tmx", articles=None, memory_path=None, outputs=tmp_path)
    assert count == 1 and "The Kremlin said" in text


def test_an_output_file_that_is_a_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="is a directory: --out names the file to write"):
        check_output_file(tmp_path)
    with pytest.raises(InputError, match="is a directory: --out names the results file"):
        check_output_file(tmp_path, "the results file")
    check_output_file(tmp_path / "new.tmx")  # a file to be made is fine
    check_output_file(None)  # standard output


def test_write_output_file_makes_its_folder_and_refuses_a_path_through_a_file(tmp_path):
    write_output_file(tmp_path / "new" / "out.tsv", "text\n")
    assert (tmp_path / "new" / "out.tsv").read_text(encoding="utf-8") == "text\n"
    with pytest.raises(InputError, match="the path goes through a file"):
        write_output_file(tmp_path / "new" / "out.tsv" / "below.tsv", "text\n")


# --- score and eval: aligned files and the results path ---

def _lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_score_files_scores_every_reference_and_refuses_one_of_another_length(tmp_path):
    hyp = _lines(tmp_path / "hyp.txt", "the cat sat", "a dog ran")
    ref = _lines(tmp_path / "ref.txt", "the cat sat down", "a dog ran off")
    assert score_files(hyp, [ref, ref]).to_json() == corpus_scores(
        ["the cat sat", "a dog ran"], [["the cat sat down", "a dog ran off"]] * 2).to_json()
    short = _lines(tmp_path / "short.txt", "the cat")
    with pytest.raises(InputError, match=f"1 lines, but the hypothesis file {hyp} has 2") as caught:
        score_files(hyp, [ref, short])
    assert caught.value.path == str(short)


def test_read_test_set_needs_as_many_reference_lines(tmp_path):
    src = _lines(tmp_path / "src.txt", "قال", "ذهب")
    ref = _lines(tmp_path / "ref.txt", "said", "went")
    assert read_test_set(src, ref) == (["قال", "ذهب"], ["said", "went"])
    with pytest.raises(InputError, match=f"1 lines, but the source file {src} has 2"):
        read_test_set(src, _lines(tmp_path / "one.txt", "said"))


def test_results_path_keeps_earlier_default_results_unless_forced(tmp_path):
    settings = dict(outputs=tmp_path, model_name="opus-mt-ar-en", source=Path("flores.dev"),
                    backend=DEFAULT_BACKEND, beam_size=DecodingOptions().beam_size)
    default = default_results_path(tmp_path, "opus-mt-ar-en", Path("flores.dev"))
    assert results_path(None, **settings) == default
    default.parent.mkdir(parents=True)
    default.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="pass --force to replace them"):
        results_path(None, **settings)
    assert results_path(None, force=True, **settings) == default
    assert results_path(default, **settings) == default  # named with --out: the user chose to replace it
    with pytest.raises(InputError, match="is a directory: --out names the results file"):
        results_path(tmp_path, **settings)


# --- translate and serve: what is checked before any work ---

def test_check_article_run_checks_glossary_reference_and_memory(tmp_path, sample_path):
    out = tmp_path / "out"
    check_article_run(sample_path, out, RunSettings())
    bad_glossary = _lines(tmp_path / "g.tsv", "source\ttarget", "\tno source")
    with pytest.raises(InputError):
        check_article_run(sample_path, out, RunSettings(glossary=bad_glossary))
    with pytest.raises(InputError):
        check_article_run(sample_path, out, RunSettings(), reference=_lines(tmp_path / "ref.txt", "one line"))
    not_a_memory = _lines(tmp_path / "memory.sqlite", "not a database")
    with pytest.raises(InputError):
        check_article_run(sample_path, out, RunSettings(memory=not_a_memory))
    check_article_run(sample_path, out, RunSettings(memory=not_a_memory, use_memory=False))  # --no-memory


def test_check_schedule_refuses_a_bad_cron_and_a_missing_server():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.server import check_schedule

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        with pytest.raises(InputError, match="not a cron schedule: 'every minute'"):
            check_schedule("every minute")
        check_schedule("*/10 * * * *")
        check_schedule(None)  # --interval
    with (temporary_settings(restore_defaults={PREFECT_API_URL}),
          pytest.raises(InputError, match="schedules need a Prefect server")):
        check_schedule("*/10 * * * *")


def test_check_inbox_run_needs_an_inbox_folder(tmp_path):
    with pytest.raises(InputError, match="no such inbox folder"):
        check_inbox_run(tmp_path / "missing", tmp_path / "out", RunSettings())
    check_inbox_run(tmp_path, tmp_path / "out", RunSettings())


# --- models list and bench: what they print ---

def test_registry_listing_has_every_registry_model(tmp_path, monkeypatch):
    monkeypatch.setenv("TARJAMA_MODEL_STORE", str(tmp_path))
    rows = registry_listing()
    assert [row["name"] for row in rows] == [spec.name for spec in load_registry()]
    assert not any(row["local"] for row in rows)
    (tmp_path / rows[0]["name"]).mkdir()
    (tmp_path / rows[0]["name"] / "config.json").write_text("{}", encoding="utf-8")
    assert registry_listing()[0]["local"]


def test_bench_lines_tell_each_target_by_its_bound():
    figures = {"beam4": {"tokens_per_s": 10.0}, "greedy": {"tokens_per_s": 20.0}, "peak_memory_mb": 300.0,
               "model_memory_mb": 100.0}
    result = {"backends": {"transformers": figures}, "speedup": {"transformers": {"beam4": 1.0}},
              "pipeline": {"sentences": 8, "seconds": 2.0, "outside_model_share": 0.01},
              "text": {"segmentation_mb_per_s": 3.0, "matching_mb_per_s": 2.0, "glossary_entries": 5},
              "targets": {key: {"value": 1.0, "target": target, "met": True} for key, target in TARGETS.items()}}
    lines = bench_lines(result)
    assert lines[1].startswith("transformers") and "1.00" in lines[1]
    assert lines[2] == "pipeline: 8 sentences in 2.0 s, 1.0% of it outside the model"
    for key, target in TARGETS.items():
        bound = "≤" if key in CEILING_TARGETS else "≥"
        assert f"target {key}: 1.0 ({bound} {target}) met" in lines
    assert "target outside_model_share: 1.0 (≤ 0.03) met" in lines

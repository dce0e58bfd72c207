"""Issue 12, what a reviewer and a newcomer see: scores after a run, compare's intervals and English, approvals
apart from flags in the report, the offline way to try the pipeline, and help text on every argument."""

import argparse
import json
from dataclasses import replace

import pytest
import torch
from conftest import english_corpus
from test_publishing import make_record

from tarjama import cli
from tarjama.publish.record import count_terms
from tarjama.publish.report import render_report, scores_markdown
from tarjama.text.articles import segment_text

ARTICLE = "عنوان قصير\nقال الكرملين إن الوضع هادئ.\nوصل الوفد إلى موسكو.\n"


@pytest.fixture
def cli_in_process(cli_env, monkeypatch):
    """The test session's CLI environment (offline, its own Prefect home) for ``cli.main`` in this process."""
    from flows.settings import prefect_environment

    for name in ("PREFECT_HOME", "HF_HUB_OFFLINE", "HF_ENDPOINT", "TARJAMA_MODEL_STORE", "DO_NOT_TRACK"):
        monkeypatch.setenv(name, cli_env[name])
    # What the CLI sets with setdefault is set here first, so that it is undone after the test.
    for name, value in {**prefect_environment(), "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                        "TRANSFORMERS_VERBOSITY": "error"}.items():
        monkeypatch.setenv(name, value)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # --threads is process-wide: later tests keep every core


def test_translate_with_a_reference_prints_the_scores_with_their_signatures(tmp_path, tiny_marian,
                                                                            cli_in_process, capsys):
    article = tmp_path / "short.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    reference = tmp_path / "short.en.txt"
    reference.write_text("\n".join(english_corpus()[:3]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["translate", str(article), "--model", str(tiny_marian), "--reference", str(reference),
                     "--out", str(out), "--beam-size", "1", "--threads", "1", "--no-memory"]) == 0
    printed = capsys.readouterr()
    record = json.loads((out / "short.run.json").read_text(encoding="utf-8"))
    scores = record["scores"]
    lines = printed.err.splitlines()
    for label, key in (("BLEU", "bleu"), ("chrF2++", "chrf"), ("TER", "ter")):
        printed_lines = [line for line in lines if line.startswith(label + " ")]
        assert [line.split() for line in printed_lines] == [[label, f"{scores[key]:.2f}", scores["signatures"][key]]]
    # One formatting for both commands: `score` on the run's paragraphs prints the same lines.
    hypotheses = tmp_path / "hyp.txt"
    hypotheses.write_text("".join(p["english"] + "\n" for p in record["paragraphs"]), encoding="utf-8")
    assert cli.main(["score", "--hyp", str(hypotheses), "--ref", str(reference)]) == 0
    scored = capsys.readouterr().out.splitlines()
    assert len(scored) == 3 and all(line in lines for line in scored)
    assert printed.out.splitlines()[0] == str(out / "short.bilingual.md")  # stdout still lists the outputs


REFERENCES = ["The Kremlin knew of the threat before the attack on Crocus City Hall.",
              "Putin rejected the American warnings as provocative.",
              "At least 143 people died in the attack near Moscow."]
ENGLISH_A = ["The Kremlin knew about the danger before the attack on Crocus City Hall.",
             "Putin rejected the American warnings as provocative.",
             "At least 143 people died in the assault near Moscow."]
ENGLISH_B = ["The Kremlin knew about the threat before the attack on Crocus City Hall.\x1b[2J",
             "Putin rejected the American warnings as provocative.",
             "At least 143 people died in the attack near Moscow."]


def write_run(path, english):
    record = {"source": "x.ar.txt", "source_sha256": "0" * 64, "scores": {"term_success_rate": None},
              "paragraphs": [{"index": n, "english": e, "reference": r}
                             for n, (e, r) in enumerate(zip(english, REFERENCES, strict=True))]}
    path.write_text(json.dumps(record), encoding="utf-8")
    return str(path)


def test_compare_text_shows_the_confidence_intervals_and_the_changed_english(tmp_path, capsys):
    a, b = write_run(tmp_path / "a.run.json", ENGLISH_A), write_run(tmp_path / "b.run.json", ENGLISH_B)
    assert cli.main(["compare", a, b, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert cli.main(["compare", a, b]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    for name, metric in report["metrics"].items():
        line = next(line for line in lines if line.startswith(name + " "))
        assert f"(μ = {metric['a_mean']:.2f} ± {metric['a_ci95']:.2f})" in line
        assert f"(μ = {metric['b_mean']:.2f} ± {metric['b_ci95']:.2f})" in line
        assert metric["signature"] in text
    # The paragraphs that moved, each with A's and B's English and the reference, one terminal line each.
    assert [p["index"] for p in report["paragraphs_most_changed"]] == [2, 0]
    for paragraph in report["paragraphs_most_changed"]:
        start = lines.index(next(line for line in lines if line.startswith(f"paragraph {paragraph['index']}: ")))
        assert lines[start + 1:start + 4] == [
            f"    A: {ENGLISH_A[paragraph['index']]}",
            f"    B: {ENGLISH_B[paragraph['index']].replace(chr(27), ' ').strip()}",
            f"    reference: {REFERENCES[paragraph['index']]}"]
    assert "\x1b" not in text  # English that would drive the terminal is not printed as is


def test_the_report_shows_approvals_apart_from_the_flags():
    record = make_record(segment_text("عنوان\nقال الكرملين.\nوصل الوفد.\n", "a.txt"), lambda s: f"English {s.id}.")
    segments = tuple(replace(s, flags=("approved",)) if s.id in ("p1.s0", "p2.s0") else s for s in record.segments)
    record = replace(record, segments=segments, scores=count_terms(segments))
    html = render_report(record)
    flags_section = html[html.index("<h2>Flags</h2>"):html.index("<h2>Sentences</h2>")]
    assert "approved by an editor" not in flags_section.lower()
    assert "No sentence is flagged." in flags_section
    assert '<div class="card">Approved by an editor<b>2</b></div>' in html
    assert "| approved by an editor | 2 |" in scores_markdown(record)


def test_a_missing_model_names_the_random_model_to_try_offline(tmp_path, cli_in_process, monkeypatch, capsys):
    monkeypatch.setenv("TARJAMA_MODEL_STORE", str(tmp_path / "empty-store"))
    article = tmp_path / "short.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    assert cli.main(["translate", str(article), "--model", "opus-mt-ar-en", "--out", str(tmp_path / "out")]) == 2
    printed = capsys.readouterr()
    assert len(printed.err.splitlines()) == 1 and printed.err.startswith("error: ")
    assert "`tarjama models random DIR`" in printed.err
    assert "tarjama models pull opus-mt-ar-en" in printed.err and "--model DIR" in printed.err


def _arguments(parser, command=("tarjama",)):
    """(command, argument, help) for every argument of the parser and of every subcommand, recursively."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            # The subcommands are this action's arguments: argparse keeps the help of those given one.
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                yield command, name, helps.get(name)
                yield from _arguments(subparser, (*command, name))
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            yield command, "/".join(action.option_strings) or action.dest, action.help


def test_every_command_line_argument_has_help_text():
    arguments = list(_arguments(cli.build_parser()))
    # The walk reached the nested subcommands and their options.
    reached = {" ".join(command) for command, _, _ in arguments}
    assert {"tarjama tm import", "tarjama models random", "tarjama glossary check", "tarjama translate"} <= reached
    assert ("tarjama", "glossary", "check") in {command for command, name, _ in arguments if name == "--strict"}
    missing = [f"{' '.join(command)} {name}" for command, name, text in arguments if not (text or "").strip()]
    assert missing == []
    # Defaults given as %(default)s expand: the --help of every command renders.
    for command in {command for command, _, _ in arguments}:
        with pytest.raises(SystemExit) as done:
            cli.build_parser().parse_args([*command[1:], "--help"])
        assert done.value.code == 0


@pytest.mark.parametrize("make", [lambda tmp: tmp / "nonexist", lambda tmp: (tmp / "empty").mkdir() or tmp / "empty"])
def test_a_missing_model_directory_names_the_random_model_too(tmp_path, capsys, make):
    """Review 1, finding 8: `--model /tmp/nonexist` (or a folder without config.json) says how to try offline."""
    article = tmp_path / "short.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    model = make(tmp_path)
    assert cli.main(["translate", str(article), "--model", str(model), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and str(model) in err
    assert "`tarjama models random DIR`, then --model DIR" in err


def test_approvals_are_counted_apart_from_the_flags_in_the_run_record_and_front_matter():
    """Review 1, finding 9: scores.flags and the bilingual front matter count no approval as a flag."""
    from tarjama.publish.publisher import render_bilingual

    record = make_record(segment_text("عنوان\nقال الكرملين.\nوصل الوفد.\n", "a.txt"), lambda s: f"English {s.id}.")
    segments = tuple(replace(s, flags=("approved",)) if s.id in ("p1.s0", "p2.s0") else s for s in record.segments)
    segments = tuple(replace(s, flags=("repetition",)) if s.id == "p0.s0" else s for s in segments)
    record = replace(record, segments=segments, scores=count_terms(segments))
    scores = record.to_json()["scores"]
    assert scores["flags"] == {"repetition": 1} and scores["approved"] == 2
    assert [s["flags"] for s in record.to_json()["segments"]] == [["repetition"], ["approved"], ["approved"]]
    front = render_bilingual(record).split("\n---\n")[0].splitlines()
    assert '  flags: {"repetition": 1}' in front and "  approved: 2" in front

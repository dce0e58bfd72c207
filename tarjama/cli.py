"""The ``tarjama`` command: parses arguments, calls the library or a flow, prints results.

User errors surface as one ``error:`` line on stderr with the contract's exit codes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from tarjama import __version__
from tarjama.dev.toy import ToySize
from tarjama.errors import TarjamaError
from tarjama.publish.outputs import DEFAULT_OUTPUT_DIR
from tarjama.record.reader import HarvestView, ScoresView, read_record
from tarjama.translate.registry import DEFAULT_MODEL, PROJECT_ROOT
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import BACKENDS
from tarjama.wording import counted


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Usage errors follow the contract too: one ``error:`` line, exit code 2."""
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def cmd_segment(args: argparse.Namespace) -> int:
    """Print the article's paragraphs and segments."""
    from tarjama.text.articles import read_article

    document = read_article(args.path)
    if args.json:
        _print_json(document.to_json())
    else:
        for paragraph in document.paragraphs:
            for segment in paragraph.segments:
                print(f"{segment.id}\t{paragraph.kind}\t{segment.text}")
    return 0


def cmd_terms(args: argparse.Namespace) -> int:
    """Print every glossary term found in the article."""
    from tarjama.terms.glossary import load_glossary
    from tarjama.terms.matching import find_terms
    from tarjama.text.articles import read_article

    glossary = load_glossary(args.glossary)
    matches = find_terms(read_article(args.path), glossary)
    if args.json:
        _print_json({"matches": [match.to_json() for match in matches]})
    else:
        for match in matches:
            print(f"{match.segment}\t{match.start}-{match.end}\t{match.surface}\t→ {match.target}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score a line-aligned hypothesis file against one or more references, as sacrebleu does."""
    from tarjama.scores.scoring import score_files

    scores = score_files(args.hyp, args.ref)
    if args.json:
        _print_json(scores.to_json())
    else:
        print("\n".join(scores.lines()))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two runs of one article: deltas, paired bootstrap p-values, the paragraphs that moved most."""
    from tarjama.scores.compare import compare_runs

    comparison = compare_runs(args.run_a, args.run_b, seed=args.seed, samples=args.samples)
    if args.json:
        _print_json(comparison.to_json())
    else:
        print("\n".join(comparison.text_lines()))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Translate a line-aligned test set with a model and score it; save the results as JSON."""
    _quiet_model_libraries()
    from tarjama.scores.evaluation import run_evaluation

    settings = RunSettings.from_options(model=args.model, revision=args.revision, backend=args.backend,
                                        beam_size=args.beam_size, threads=args.threads, use_memory=False,
                                        glossary=args.glossary, strict_terms=args.strict_terms)
    saved = run_evaluation(settings, args.src, args.ref, outputs=DEFAULT_OUTPUT_DIR, out=args.out, force=args.force)
    result = saved.evaluation
    scores = result.scores
    terms = "" if result.terms is None else f"  {result.terms.scores.summary()}"
    print(f"BLEU {scores.bleu:.2f}  chrF2++ {scores.chrf:.2f}  TER {scores.ter:.2f}{terms}  "
          f"({len(result.hypotheses)} lines, {result.seconds:.1f} s)")
    print(saved.path)
    return 0


def cmd_tm_import(args: argparse.Namespace) -> int:
    """Store an editor's corrections (bilingual Markdown), or a TMX or XLIFF file's approved units."""
    from tarjama.exchange.bilingual import import_file

    report = import_file(args.path, memory_path=args.memory, outputs=args.outputs, everything=args.all,
                         overwrite=args.overwrite)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print("\n".join(report.lines))
    return 0


def cmd_tm_withdraw(args: argparse.Namespace) -> int:
    """Withdraw the approvals of an article's sentences, by segment id."""
    from tarjama.exchange.bilingual import withdraw_approvals

    print("\n".join(withdraw_approvals(args.path, args.segment, memory_path=args.memory)))
    return 0


def cmd_tm_export(args: argparse.Namespace) -> int:
    """Write the memory, or articles' segments, as TMX 1.4 or XLIFF 2.0 for CAT tools."""
    from tarjama.exchange.interchange import export
    from tarjama.files import check_output_file

    check_output_file(args.out)  # before the export's work
    text, count = export(args.format, articles=args.article, memory_path=args.memory,
                         approved_only=args.approved_only)
    _write_output(args.out, text, counted(count, "sentence"))
    return 0


def cmd_glossary_check(args: argparse.Namespace) -> int:
    """List a glossary's problems by line; exit 2 when it has errors (or warnings, with --strict)."""
    from tarjama.terms.glossary import check_glossary

    checked = check_glossary(args.path)
    if args.json:
        _print_json(checked.to_json())
    else:
        print("\n".join(checked.text_lines()))
    failure = checked.failure(strict=args.strict)
    if failure is not None:
        print(f"error: {failure}", file=sys.stderr)
    return 0 if failure is None else 2


def cmd_glossary_import(args: argparse.Namespace) -> int:
    """Convert a TBX termbase (or any glossary) into the project's TSV."""
    from tarjama.terms.glossary import import_glossary

    imported = import_glossary(args.path, skip_conflicts=args.skip_conflicts, tool=f"tarjama {__version__}")
    for problem in imported.report:
        print(problem.describe(imported.check.path), file=sys.stderr)
    if imported.failure is not None:
        raise imported.failure
    _write_output(args.out, imported.text, counted(len(imported.check.entries), "entry", "entries"))
    return 0


def _write_output(out: Path | None, text: str, summary: str) -> None:
    """``text`` to standard output, or atomically to ``out`` with a one-line summary on stderr."""
    from tarjama.files import write_output_file

    if out is None:
        sys.stdout.write(text)
        return
    write_output_file(out, text)
    print(f"{out}: {summary}", file=sys.stderr)


def _quiet_model_libraries() -> None:
    """Keep library progress bars and advice off the terminal (read when they are imported)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def cmd_translate(args: argparse.Namespace) -> int:
    """Check the inputs, load the model if the memory leaves it work, then run the translate-article flow."""
    _quiet_model_libraries()
    from tarjama.runs.article import check_article_run, load_model_if_needed
    from tarjama.scores.scoring import ReferenceScores
    from tarjama.timings import Timings

    # A process started as `tarjama translate` counts its start-up and imports as the run's overhead; a call
    # of main() inside another program (a script, a notebook, the tests) starts the run here.
    timings = Timings.since_process_start() if _started_as_this_command() else Timings()
    settings = _run_settings(args, memory=args.memory, use_memory=not args.no_memory)
    # Everything the user can get wrong is checked before Prefect starts: fast, clean errors.
    check_article_run(args.path, args.out, settings, reference=args.reference)

    from flows.server import connected, start_temporary_server
    from flows.settings import configure_prefect

    configure_prefect(quiet=not args.verbose)
    settings.resolve_model()  # a model that is not there is an error before the server starts
    start_temporary_server()  # boots while the model loads (if the memory leaves it anything to translate)
    with ExitStack() as startup, _status("starting: checking the memory") as status:
        # Until the progress bar takes over, the terminal says what the seconds of start-up are for.
        said = ["checking the memory"]

        def announce(what: str) -> None:
            said.append(what)
            status(f"starting: {what}; Prefect's server boots meanwhile")

        load_model_if_needed(args.path, settings, args.out, timings, announce=announce)
        from flows.translate import translate_article

        status(f"starting: {said[-1]}; waiting for Prefect's server")
        startup.enter_context(connected())
        prefect = startup.pop_all()  # connected for the flow run, after the spinner is gone
    with prefect:
        published = translate_article(source=args.path, settings=settings, reference=args.reference,
                                      out_dir=args.out, show_progress=True, timings=timings)
    record = read_record(published.record)  # as every reader reads it: the typed view of what was published
    scores = record.scores or ScoresView()
    print(f"{published.bilingual}\n{published.english}\n{published.record}\n{published.report}")
    if scores.term_success_rate is not None:
        print(f"glossary terms: {scores.terms_hit}/{scores.terms_matched} "
              f"in the English ({scores.term_success_rate:.0%})", file=sys.stderr)
    if record.memory is not None:
        memory = record.memory
        _print_harvest(memory.harvest, published.bilingual)
        print(f"memory: {memory.approved} approved, {memory.reused} reused, {memory.translated} "
              f"translated ({memory.model_inputs} model inputs)", file=sys.stderr)
        if memory.approvals_set_aside:
            from tarjama.translate.incremental import set_aside_summary

            print(f"memory: {set_aside_summary(record)}", file=sys.stderr)
    reference_scores = ReferenceScores.from_record(scores)
    if reference_scores is not None:
        print(f"scores against {args.reference}:", *reference_scores.lines(), sep="\n", file=sys.stderr)
    if record.timings is not None:
        print(record.timings.summary(), file=sys.stderr)
    return 0


def _started_as_this_command() -> bool:
    """Whether this process was started to run the command line (the ``tarjama`` script, ``-m tarjama.cli``)."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return program.name == "tarjama" or program.parts[-2:] == ("tarjama", "cli.py")


@contextmanager
def _status(text: str) -> Iterator[Callable[[str], None]]:
    """A spinner with ``text`` on stderr while the block runs (a terminal only); yields a way to change the text."""
    if not sys.stderr.isatty():
        yield lambda _text: None
        return
    from rich.console import Console

    with Console(stderr=True).status(text) as status:
        yield status.update


def _run_settings(args: argparse.Namespace, **memory: object) -> RunSettings:
    """The run's settings from the run options ``translate`` and ``serve`` share (and ``memory`` / ``use_memory``)."""
    return RunSettings.from_options(model=args.model, revision=args.revision, backend=args.backend,
                                    beam_size=args.beam_size, glossary=args.glossary, strict_terms=args.strict_terms,
                                    threads=args.threads, **memory)


def _print_harvest(harvest: HarvestView | None, bilingual: object) -> None:
    """What a run's harvest of the editor's bilingual file did, on stderr, as ``tm import`` tells it."""
    from tarjama.exchange.bilingual import withdrawn_lines

    if harvest is None:
        return
    for warning in harvest.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if harvest.approved:
        print(f"memory: approved from {bilingual}: " + ", ".join(harvest.approved), file=sys.stderr)
    for line in withdrawn_lines(harvest.withdrawn):
        print(f"memory: {line}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    """Deploy the inbox flow on a schedule (Prefect ``flow.serve``) against a running Prefect server."""
    _quiet_model_libraries()
    from flows.settings import configure_prefect
    from tarjama.runs.inbox import check_inbox_run
    from tarjama.translate.backends import check_model_loads

    settings = _run_settings(args)
    configure_prefect(quiet=not args.verbose)  # before anything imports Prefect: no telemetry, ever
    check_inbox_run(args.inbox, args.out, settings)
    from flows.server import check_schedule

    check_schedule(args.cron)
    # Loaded once here and let go: a broken model stops `serve` now instead of failing every run.
    check_model_loads(settings.resolve_model(), settings.backend)
    from flows.translate import translate_folder

    parameters = {"inbox": str(args.inbox.resolve()), "out_dir": str(args.out.resolve()),
                  "settings": settings.for_deployment(), "only_changed": True, "settle_seconds": args.settle,
                  # One line per article per run on this terminal; with --verbose, Prefect's own log shows them.
                  "echo": not args.verbose}
    print(f"serving {args.name}: {args.inbox} → {args.out} "
          f"({'cron ' + args.cron if args.cron else f'every {args.interval} s'}; articles taken once unchanged "
          f"for {args.settle:g} s); Ctrl-C stops", file=sys.stderr)
    # limit=1: a run that outlasts the interval is not joined by the next one on the same inbox.
    translate_folder.serve(name=args.name, cron=args.cron, interval=args.interval, parameters=parameters,
                           print_starting_message=False, limit=1)
    # Prefect's serve returns on Ctrl-C (or SIGTERM) without a word.
    from tarjama.runs.inbox import take_interrupted

    article = take_interrupted(args.out)
    print(f"serve stopped: {article} was being translated and is not published; the next serve run takes it"
          if article else "serve stopped", file=sys.stderr)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure the backends on random models shaped like opus-mt-ar-en (about 2 minutes; no download)."""
    _quiet_model_libraries()
    from tarjama.dev.bench import bench_lines, run_bench

    result = run_bench(args.threads, progress=lambda message: print(f"bench: {message}", file=sys.stderr))
    if args.json:
        _print_json(result)
        return 0
    print("\n".join(bench_lines(result)))
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    """Show the registry and which models are in the local store (a table on a terminal, else TSV)."""
    from tarjama.translate.registry import registry_listing

    rows = registry_listing()
    if args.json:
        _print_json({"models": rows})
        return 0
    columns = ("name", "id", "architecture", "languages", "licence", "in store")
    cells = [(r["name"], r["id"], r["architecture"], f"{r['source_lang']}→{r['target_lang']}", r["licence"],
              "yes" if r["local"] else "no") for r in rows]
    if not sys.stdout.isatty():
        print("\n".join("\t".join(line) for line in [columns, *cells]))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns)
    for line in cells:
        table.add_row(*line)
    Console().print(table)
    return 0


def cmd_models_pull(args: argparse.Namespace) -> int:
    """Download a model into the local store."""
    from tarjama.translate.registry import pull_model

    print(pull_model(args.name, args.revision))
    return 0


def cmd_models_convert(args: argparse.Namespace) -> int:
    """Convert a model to CTranslate2 (int8 by default) into the local store."""
    _quiet_model_libraries()
    from tarjama.translate.backends.ctranslate2_backend import convert
    from tarjama.translate.registry import resolve_model

    print(convert(resolve_model(args.name, args.revision), args.quantization, args.out))
    return 0


def cmd_models_random(args: argparse.Namespace) -> int:
    """Build a random-weight model for trying the pipeline offline (its output is gibberish)."""
    _quiet_model_libraries()
    from tarjama.dev.random_models import build_random_model

    build_random_model(args.out, args.architecture, source_text=args.source_text,
                       target_glossary=args.target_glossary, seed=args.seed)
    print(args.out)
    print("note: random weights: use this model to test the pipeline's mechanics, never to judge "
          "translation quality", file=sys.stderr)
    return 0


def cmd_models_toy(args: argparse.Namespace) -> int:
    """Train the toy model (a small Marian that knows only its synthetic templates) and write its lab set."""
    _quiet_model_libraries()
    from tarjama.dev.toy.model import build_toy_model

    result = build_toy_model(args.out, ToySize(args.size), seed=args.seed,
                             progress=lambda message: print(f"toy: {message}", file=sys.stderr))
    print(args.out)
    print("\n".join(result.lines()))
    print("note: a toy: it translates its own template language, never real Arabic", file=sys.stderr)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, not {text}")
    return value


@dataclass(frozen=True)
class SharedOptions:
    """The options that several commands take, each declared once as a parent parser (``parents=[...]``).

    Defaults come from the library (decoding, compare), so a command cannot drift from what the library does.
    """

    article: argparse.ArgumentParser
    contract_json: argparse.ArgumentParser
    model: argparse.ArgumentParser
    revision: argparse.ArgumentParser
    glossary: argparse.ArgumentParser
    engine: argparse.ArgumentParser
    output_folder: argparse.ArgumentParser
    verbose: argparse.ArgumentParser
    bootstrap: argparse.ArgumentParser

    @property
    def run(self) -> list[argparse.ArgumentParser]:
        """The model, glossary and decoding options that ``translate`` and ``serve`` share."""
        return [self.model, self.revision, self.glossary, self.engine]


def _options(*arguments: tuple[tuple[str, ...], dict]) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    for names, settings in arguments:
        parent.add_argument(*names, **settings)
    return parent


def shared_options() -> SharedOptions:
    """The parent parsers of the options shared between commands."""
    from tarjama.scores.compare import DEFAULT_SAMPLES, DEFAULT_SEED
    from tarjama.translate.types import DEFAULT_BACKEND, DecodingOptions

    return SharedOptions(
        article=_options((("path",), dict(type=Path,
                                          help="Arabic article: UTF-8, one paragraph per line, title first"))),
        contract_json=_options((("--json",), dict(action="store_true", help="print the contract's JSON"))),
        model=_options((("--model",), dict(
            default=DEFAULT_MODEL, help="registry name, Hugging Face id or local directory (default %(default)s)"))),
        revision=_options((("--revision",), dict(help="hub revision (branch, tag or commit) of the model"))),
        glossary=_options(
            (("--glossary",), dict(type=Path, help="newsroom glossary (TSV or TBX) whose terms are checked")),
            (("--strict-terms",), dict(action="store_true",
                                        help="guarantee every matched glossary term's English in its sentence"))),
        engine=_options(
            (("--backend",), dict(choices=BACKENDS, default=DEFAULT_BACKEND,
                                  help="inference backend (default %(default)s; ctranslate2 needs "
                                       "`tarjama models convert`)")),
            (("--beam-size",), dict(type=_positive_int, default=DecodingOptions().beam_size,
                                    help="beam width (default %(default)s; 1 = greedy)")),
            (("--threads",), dict(type=_positive_int, help="CPU threads for the model (default: all cores)"))),
        output_folder=_options((("--out",), dict(type=Path, default=DEFAULT_OUTPUT_DIR,
                                                 help="output folder (default %(default)s)"))),
        verbose=_options((("--verbose",), dict(action="store_true", help="show Prefect's run logs"))),
        bootstrap=_options(
            (("--seed",), dict(type=_positive_int, default=DEFAULT_SEED,
                               help="bootstrap seed (default %(default)s, sacrebleu's)")),
            (("--samples",), dict(type=_positive_int, default=DEFAULT_SAMPLES,
                                  help="bootstrap resamples (default %(default)s, sacrebleu's)"))),
    )


def _add_text_commands(commands: argparse._SubParsersAction, shared: SharedOptions) -> None:
    segment = commands.add_parser("segment", parents=[shared.article, shared.contract_json],
                                  help="split an article into paragraphs and sentences")
    segment.set_defaults(run=cmd_segment)

    terms = commands.add_parser("terms", parents=[shared.article, shared.contract_json],
                                help="find glossary terms in an article")
    terms.add_argument("--glossary", type=Path, required=True, help="TSV glossary or TBX termbase")
    terms.set_defaults(run=cmd_terms)


def _add_glossary_commands(commands: argparse._SubParsersAction) -> None:
    glossary = commands.add_parser("glossary", help="check or import glossaries")
    glossary_commands = glossary.add_subparsers(dest="glossary_command", required=True, parser_class=_Parser)
    check = glossary_commands.add_parser("check", help="list duplicates, conflicts and suspicious rows by line")
    check.add_argument("path", type=Path, help="a TSV glossary or a TBX termbase")
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    check.add_argument("--json", action="store_true", help="print the problems and counts as JSON")
    check.set_defaults(run=cmd_glossary_check)
    import_ = glossary_commands.add_parser("import", help="convert a TBX termbase to the TSV glossary format")
    import_.add_argument("path", type=Path, help="the TBX file")
    import_.add_argument("--out", type=Path, help="TSV file to write (default: standard output)")
    import_.add_argument("--skip-conflicts", action="store_true",
                         help="write the other entries when terms are given two targets, leaving out (and naming) "
                              "the conflicting entries; without it, any conflict writes nothing")
    import_.set_defaults(run=cmd_glossary_import)


def _add_score_commands(commands: argparse._SubParsersAction, shared: SharedOptions) -> None:
    score = commands.add_parser("score", parents=[shared.contract_json],
                                help="BLEU, chrF++ and TER of a translation, exactly as sacrebleu")
    score.add_argument("--hyp", type=Path, required=True, help="the translation, one segment per line")
    score.add_argument("--ref", type=Path, required=True, nargs="+", help="reference file(s), line-aligned")
    score.set_defaults(run=cmd_score)

    compare = commands.add_parser("compare", parents=[shared.bootstrap],
                                  help="compare two runs of the same article and reference")
    compare.add_argument("run_a", type=Path, help="baseline run record (NAME.run.json)")
    compare.add_argument("run_b", type=Path, help="run record to compare with it")
    compare.add_argument("--json", action="store_true", help="print the report as JSON")
    compare.set_defaults(run=cmd_compare)

    evaluation = commands.add_parser("eval", parents=[shared.model, shared.revision, shared.glossary, shared.engine],
                                     help="score a model on a line-aligned test set (e.g. FLORES-200)")
    evaluation.add_argument("--src", type=Path, required=True, help="Arabic source, one sentence per line")
    evaluation.add_argument("--ref", type=Path, required=True, help="English reference, line-aligned")
    evaluation.add_argument("--out", type=Path, help="results file (default "
                            "outputs/eval/MODEL.SOURCE.BACKEND[.beamN][.GLOSSARY[.strict]].json)")
    evaluation.add_argument("--force", action="store_true", help="replace the default results file if it exists")
    evaluation.set_defaults(run=cmd_eval)


def _add_translate_command(commands: argparse._SubParsersAction, shared: SharedOptions) -> None:
    translate = commands.add_parser("translate", parents=[shared.article, *shared.run, shared.output_folder,
                                                          shared.verbose],
                                    help="translate an article and publish it")
    translate.add_argument("--reference", type=Path,
                           help="English reference, one line per paragraph: scores BLEU, chrF++ and TER")
    translate.add_argument("--memory", type=Path,
                           help="translation memory file (default OUT/.tarjama/memory.sqlite)")
    translate.add_argument("--no-memory", action="store_true", help="translate everything; remember nothing")
    translate.set_defaults(run=cmd_translate)


def _add_serve_command(commands: argparse._SubParsersAction, shared: SharedOptions) -> None:
    from tarjama.runs.inbox import DEFAULT_SETTLE_SECONDS

    serve = commands.add_parser("serve", parents=[*shared.run, shared.output_folder, shared.verbose],
                                help="translate an inbox folder on a schedule (Prefect deployment)")
    serve.add_argument("--inbox", type=Path, required=True,
                       help="folder of NAME.txt articles (hidden and temporary names such as .NAME.txt, ~$NAME.txt "
                            "are ignored)")
    when = serve.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help='cron schedule, e.g. "*/10 * * * *"')
    when.add_argument("--interval", type=_positive_int, help="seconds between runs")
    serve.add_argument("--settle", type=_seconds, default=DEFAULT_SETTLE_SECONDS, metavar="SECONDS",
                       help="take an article only once it has been unchanged this long, so that an upload still "
                            f"being copied is left for the next run (default: {DEFAULT_SETTLE_SECONDS:g})")
    serve.add_argument("--name", default="tarjama-inbox", help="deployment name shown in the Prefect UI")
    serve.set_defaults(run=cmd_serve)


def cmd_studio(args: argparse.Namespace) -> int:
    """``tarjama studio``: the editors' studio over an outputs folder, until interrupted."""
    _quiet_model_libraries()  # the alternatives' first model load would draw a bar in the studio's terminal
    from tarjama.studio.app import create_app
    from tarjama.studio.model import ModelChoice
    from tarjama.studio.server import address, bind_secret, listen, serve

    secret = bind_secret(args.host)
    # Without --model, each article's alternatives come from the model its run recorded.
    models = ModelChoice(settings=RunSettings(model=args.model) if args.model else None, backend=args.backend,
                         beam_size=args.beam_size, glossary=args.glossary, threads=args.threads)
    sock = listen(args.host, args.port)
    port = sock.getsockname()[1]
    app = create_app(args.out_dir, host=args.host, port=port, secret=secret, models=models)
    print(f"studio: {address(args.host, port)}", flush=True)
    serve(app, sock)
    print("studio: stopped", flush=True)
    return 0


def _add_studio_command(commands: argparse._SubParsersAction, shared: SharedOptions) -> None:
    from tarjama.studio.server import DEFAULT_HOST, DEFAULT_PORT, SECRET_ENV

    studio = commands.add_parser("studio", help="the editors' studio: review and correct the English in a browser")
    studio.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="the outputs folder of published articles")
    # The model's alternatives come from each article's own run unless told otherwise: no default of their own.
    recorded = "default: what the article's run record says"
    studio.add_argument("--model", help=f"model for the alternatives: registry name, hub id or local directory "
                                        f"({recorded})")
    studio.add_argument("--backend", choices=BACKENDS, help=f"inference backend for the alternatives ({recorded})")
    studio.add_argument("--beam-size", type=_positive_int, help=f"beam width of the alternatives ({recorded})")
    studio.add_argument("--threads", type=_positive_int, help="CPU threads for the model (default: all cores)")
    studio.add_argument("--glossary", type=Path,
                        help=f"newsroom glossary (TSV or TBX) for the alternatives ({recorded})")
    studio.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default %(default)s; any other needs {SECRET_ENV} set)")
    studio.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s; 0: any free one)")
    studio.set_defaults(run=cmd_studio)


def _add_bench_command(commands: argparse._SubParsersAction, shared: SharedOptions) -> None:
    bench = commands.add_parser("bench", parents=[shared.contract_json],
                                help="backend speed on random opus-mt-ar-en-shaped models, the pipeline, folder and "
                                     "strict-terms figures, text throughput (about 2 minutes)")
    bench.add_argument("--threads", type=_positive_int, help="CPU threads per backend (default: all cores)")
    bench.set_defaults(run=cmd_bench)


def _add_memory_commands(commands: argparse._SubParsersAction) -> None:
    memory = commands.add_parser("tm", help="the translation memory: editor corrections, TMX and XLIFF")
    memory_commands = memory.add_subparsers(dest="tm_command", required=True, parser_class=_Parser)
    importing = memory_commands.add_parser(
        "import", help="approve an editor's NAME.bilingual.md, or a CAT tool's approved TMX or XLIFF units")
    importing.add_argument("path", type=Path,
                           help="NAME.bilingual.md (beside its NAME.run.json), or a .tmx, .xlf or .xliff file")
    importing.add_argument("--all", action="store_true", help="approve every sentence, not only corrected ones")
    importing.add_argument("--overwrite", action="store_true",
                           help="this file's English wins over approvals made since it was written; each replaced "
                                "approval is listed as a warning")
    importing.add_argument("--memory", type=Path,
                           help="memory file (default: .tarjama/memory.sqlite beside the bilingual file, "
                                "or under the --outputs folder for TMX and XLIFF)")
    importing.add_argument("--outputs", type=Path, default=DEFAULT_OUTPUT_DIR,
                           help="TMX and XLIFF: the folder of the run records (NAME.run.json) that an article's "
                                "XLIFF units are checked against, and of the default memory (default outputs)")
    importing.set_defaults(run=cmd_tm_import)
    exporting = memory_commands.add_parser(
        "export", help="write the memory, or articles' segments, as TMX 1.4 or XLIFF 2.0")
    exporting.add_argument("--format", choices=("tmx", "xliff"), required=True,
                           help="tmx (TMX 1.4) or xliff (XLIFF 2.0)")
    exporting.add_argument("--memory", type=Path,
                           help="memory file (default outputs/.tarjama/memory.sqlite; with --article, the one "
                                "beside each run record)")
    exporting.add_argument("--article", type=Path, action="append",
                           help="XLIFF of an article instead of the whole memory: its run record NAME.run.json, "
                                "or an outputs folder for every article in it (repeatable); one <file> per "
                                "article, a unit per segment id, flags and terms as notes")
    exporting.add_argument("--out", type=Path, help="file to write (default: standard output)")
    exporting.add_argument("--approved-only", action="store_true", help="leave machine translations out")
    exporting.set_defaults(run=cmd_tm_export)
    withdrawing = memory_commands.add_parser(
        "withdraw", help="withdraw editors' approvals of an article's sentences (the next run translates them)")
    withdrawing.add_argument("path", type=Path,
                             help="the article's NAME.run.json or NAME.bilingual.md (its sentences by segment id)")
    withdrawing.add_argument("--segment", action="append", required=True,
                             help="segment id whose approval to withdraw, e.g. p2.s0 (repeatable)")
    withdrawing.add_argument("--memory", type=Path,
                             help="memory file (default: .tarjama/memory.sqlite beside the article's files)")
    withdrawing.set_defaults(run=cmd_tm_withdraw)


def _add_model_commands(commands: argparse._SubParsersAction, shared: SharedOptions) -> None:
    models = commands.add_parser("models", help="the model registry and local store")
    model_commands = models.add_subparsers(dest="models_command", required=True, parser_class=_Parser)
    listing = model_commands.add_parser("list", help="list the registry's models")
    listing.add_argument("--json", action="store_true", help="print the registry as JSON")
    listing.set_defaults(run=cmd_models_list)
    pull = model_commands.add_parser("pull", help="download a model into the local store")
    pull.add_argument("name", help="registry name or Hugging Face id")
    pull.add_argument("--revision", help="hub revision (branch, tag or commit; default the registry's)")
    pull.set_defaults(run=cmd_models_pull)
    convert = model_commands.add_parser("convert", parents=[shared.revision],
                                        help="convert a model for --backend ctranslate2")
    convert.add_argument("name", help="registry name, Hugging Face id or local directory")
    convert.add_argument("--quantization", default="int8",
                         choices=("int8", "int8_float32", "int16", "float16", "float32"),
                         help="CTranslate2 weight type (default %(default)s)")
    convert.add_argument("--out", type=Path, help="folder for the converted model (default: in the store)")
    convert.set_defaults(run=cmd_models_convert)
    random_model = model_commands.add_parser(
        "random", help="build a random-weight model to try the pipeline offline (gibberish output)")
    random_model.add_argument("out", type=Path, help="new folder for the model")
    random_model.add_argument("--architecture", choices=("marian", "nllb"), default="marian",
                              help="MarianMT or NLLB (M2M100) layout (default %(default)s)")
    random_model.add_argument("--source-text", type=Path, default=PROJECT_ROOT / "samples" / "crocus-city-hall.ar.txt",
                              help="Arabic text to train the tokenizer on (default: the sample article)")
    random_model.add_argument("--target-glossary", type=Path, default=PROJECT_ROOT / "glossaries" / "news-ar-en.tsv",
                              help="glossary whose English trains the target tokenizer")
    random_model.add_argument("--seed", type=int, default=0, help="seed of the random weights (default %(default)s)")
    random_model.set_defaults(run=cmd_models_random)
    toy = model_commands.add_parser(
        "toy", help="train a toy Marian ar→en on a synthetic corpus, with a held-out lab test set (not a translator)")
    toy.add_argument("out", type=Path, help="new folder for the model (its test set goes to OUT/lab)")
    toy.add_argument("--size", choices=list(ToySize), default=ToySize.DEFAULT,
                     help="default (minutes) or small (seconds, for tests) (default %(default)s)")
    toy.add_argument("--seed", type=int, default=0, help="seed of the corpus and the training (default %(default)s)")
    toy.set_defaults(run=cmd_models_toy)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = _Parser(prog="tarjama", description="Arabic→English translation and bilingual publishing.")
    parser.add_argument("--version", action="version", version=f"tarjama {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    shared = shared_options()
    _add_text_commands(commands, shared)
    _add_glossary_commands(commands)
    _add_score_commands(commands, shared)
    _add_translate_command(commands, shared)
    _add_model_commands(commands, shared)
    _add_serve_command(commands, shared)
    _add_bench_command(commands, shared)
    _add_studio_command(commands, shared)
    _add_memory_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except TarjamaError as exc:
        print(f"error: {exc.describe()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if os.environ.get("TARJAMA_DEBUG"):
            raise
        print(f"error: run failed: {type(exc).__name__}: {exc}".splitlines()[0]
              + " (set TARJAMA_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

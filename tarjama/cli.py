"""The ``tarjama`` command: parses arguments, calls the library or a flow, prints results.

User errors surface as one ``error:`` line on stderr with the contract's exit codes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from tarjama import __version__
from tarjama.errors import InputError, TarjamaError
from tarjama.publish.outputs import check_output_dir, check_outputs
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
    from tarjama.scores.scoring import corpus_scores, read_lines

    hypotheses = read_lines(args.hyp, "hypothesis file")
    references = []
    for path in args.ref:
        lines = read_lines(path, "reference file")
        if len(lines) != len(hypotheses):
            raise InputError(f"{len(lines)} lines, but the hypothesis file {args.hyp} has {len(hypotheses)}",
                             path=path)
        references.append(lines)
    scores = corpus_scores(hypotheses, references)
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
    from tarjama.files import write_atomically
    from tarjama.scores.evaluation import default_results_path, evaluate
    from tarjama.scores.scoring import read_lines
    from tarjama.translate.backends import load_translator
    from tarjama.translate.progress import progress_bar
    from tarjama.translate.registry import resolve_model
    from tarjama.translate.types import DecodingOptions

    sources = read_lines(args.src, "source file")
    references = read_lines(args.ref, "reference file")
    if len(sources) != len(references):
        raise InputError(f"{len(references)} lines, but the source file {args.src} has {len(sources)}",
                         path=args.ref)
    out = args.out
    if out is None:
        out = default_results_path(Path("outputs"), args.model, args.src, args.backend, args.beam_size)
        # Earlier results are what this run will be compared with: only an explicit choice replaces them.
        if out.exists() and not args.force:
            raise InputError("results of an earlier eval are saved here; pass --force to replace them, "
                             "or --out FILE to save these elsewhere", path=out)
    if out.is_dir():
        raise InputError("is a directory: --out names the results file", path=out)
    check_output_dir(out.parent)
    translator = load_translator(resolve_model(args.model, args.revision), args.backend, threads=args.threads)
    options = DecodingOptions(beam_size=args.beam_size)
    with progress_bar(len(sources), f"Evaluating on {args.src.name}") as progress:
        result = evaluate(translator, args.src, args.ref, sources, references, options, progress)
    write_atomically({out: json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n"})
    scores = result.scores
    print(f"BLEU {scores.bleu:.2f}  chrF2++ {scores.chrf:.2f}  TER {scores.ter:.2f}  "
          f"({len(sources)} lines, {result.seconds:.1f} s)")
    print(out)
    return 0


def _memory_path(args: argparse.Namespace, beside: Path | None = None) -> Path:
    from tarjama.memory.store import default_memory_path

    if args.memory:
        return args.memory
    return default_memory_path(beside if beside is not None else Path("outputs"))


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

    if args.out is not None and args.out.is_dir():
        raise InputError("is a directory: --out names the file to write", path=args.out)
    text, count = export(args.format, articles=args.article, memory_path=args.memory,
                         default_memory=_memory_path(args), approved_only=args.approved_only)
    _write_output(args.out, text, counted(count, "sentence"))
    return 0


def cmd_glossary_check(args: argparse.Namespace) -> int:
    """List a glossary's problems by line; exit 2 when it has errors (or warnings, with --strict)."""
    from tarjama.terms.glossary import check_glossary

    checked = check_glossary(args.path)
    if args.json:
        _print_json(checked.to_json())
    else:
        for problem in checked.problems:
            print(problem.describe(checked.path))
        print(f"{checked.path}: {len(checked.entries)} entries, {len(checked.errors)} errors, "
              f"{len(checked.warnings)} warnings")
    failing = checked.errors or (args.strict and checked.warnings)
    if failing:
        print(f"error: {checked.path}: the glossary has "
              + (f"{len(checked.errors)} errors" if checked.errors else f"{len(checked.warnings)} warnings"),
              file=sys.stderr)
    return 2 if failing else 0


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
    from tarjama.files import write_atomically

    if out is None:
        sys.stdout.write(text)
        return
    check_output_dir(out.parent)
    write_atomically({out: text})
    print(f"{out}: {summary}", file=sys.stderr)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _quiet_model_libraries() -> None:
    """Keep library progress bars and advice off the terminal (read when they are imported)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def cmd_translate(args: argparse.Namespace) -> int:
    """Check the inputs, load the model, then run the translate-article flow."""
    _quiet_model_libraries()
    from tarjama.scores.scoring import read_reference
    from tarjama.terms.glossary import load_glossary
    from tarjama.text.articles import read_article
    from tarjama.text.inputs import check_name_utf8
    from tarjama.translate.backends import load_translator

    settings = _run_settings(args, memory=args.memory, use_memory=not args.no_memory)
    # Everything the user can get wrong is checked before Prefect starts: fast, clean errors.
    document = read_article(args.path)
    for what, path in (("article", args.path), ("glossary", args.glossary), ("reference", args.reference),
                       ("outputs folder", args.out), ("memory", args.memory)):
        if path is not None:
            check_name_utf8(path, what)
    if args.glossary:
        load_glossary(args.glossary)
    if args.reference:
        read_reference(args.reference, len(document.paragraphs))
    check_outputs(args.out, settings.memory_path(args.out))

    from flows.server import connected, start_temporary_server
    from flows.settings import configure_prefect

    configure_prefect(quiet=not args.verbose)
    model = settings.resolve_model()
    start_temporary_server()  # boots while the model loads; dies with this process, even on kill -9
    load_translator(model, settings.backend, threads=settings.threads)
    from flows.translate import translate_article

    with connected():
        published = translate_article(source=args.path, settings=settings, reference=args.reference,
                                      out_dir=args.out, show_progress=True)
    record = published.run
    scores = record.scores
    print(f"{published.bilingual}\n{published.english}\n{published.record}\n{published.report}")
    if scores.term_success_rate is not None:
        print(f"glossary terms: {scores.terms_hit}/{scores.terms_matched} "
              f"in the English ({scores.term_success_rate:.0%})", file=sys.stderr)
    if record.memory:
        memory = record.memory
        _print_harvest(memory.get("harvest"), published.bilingual)
        print(f"memory: {memory['approved']} approved, {memory['reused']} reused, {memory['translated']} "
              f"translated ({memory['model_inputs']} model inputs)", file=sys.stderr)
        if memory.get("approvals_set_aside"):
            from tarjama.translate.incremental import set_aside_summary

            print(f"memory: {set_aside_summary(record.to_json())}", file=sys.stderr)
    if scores.reference is not None:
        print(f"scores against {args.reference}:", *scores.reference.lines(), sep="\n", file=sys.stderr)
    return 0


def _run_settings(args: argparse.Namespace, **memory: object) -> RunSettings:
    """The run's settings from the run options ``translate`` and ``serve`` share (and ``memory`` / ``use_memory``)."""
    return RunSettings.from_options(model=args.model, revision=args.revision, backend=args.backend,
                                    beam_size=args.beam_size, glossary=args.glossary, strict_terms=args.strict_terms,
                                    threads=args.threads, **memory)


def _print_harvest(harvest: dict | None, bilingual: object) -> None:
    """What a run's harvest of the editor's bilingual file did, on stderr, as ``tm import`` tells it."""
    from tarjama.exchange.bilingual import withdrawn_lines

    if not harvest:
        return
    for warning in harvest.get("warnings") or ():
        print(f"warning: {warning}", file=sys.stderr)
    if harvest.get("approved"):
        print(f"memory: approved from {bilingual}: " + ", ".join(harvest["approved"]), file=sys.stderr)
    for line in withdrawn_lines(harvest.get("withdrawn") or ()):
        print(f"memory: {line}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    """Deploy the inbox flow on a schedule (Prefect ``flow.serve``) against a running Prefect server."""
    _quiet_model_libraries()
    from flows.settings import configure_prefect
    from tarjama.terms.glossary import load_glossary
    from tarjama.text.inputs import check_name_utf8
    from tarjama.translate.backends import check_model_loads

    settings = _run_settings(args)
    configure_prefect(quiet=not args.verbose)  # before anything imports Prefect: no telemetry, ever
    if not args.inbox.is_dir():
        raise InputError("no such inbox folder", path=args.inbox)
    for what, path in (("inbox folder", args.inbox), ("outputs folder", args.out), ("glossary", args.glossary)):
        if path is not None:
            check_name_utf8(path, what)
    if args.glossary:
        load_glossary(args.glossary)
    check_outputs(args.out, settings.memory_path(args.out))  # the memory the inbox runs use
    if args.cron:
        from prefect.client.schemas.schedules import CronSchedule

        try:
            CronSchedule(cron=args.cron)
        except ValueError:  # pydantic's ValidationError is a ValueError
            raise InputError(f"not a cron schedule: '{args.cron}' (five fields, e.g. \"*/10 * * * *\")") from None
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise InputError("schedules need a Prefect server: start one with `prefect server start --host 127.0.0.1` "
                         "and set PREFECT_API_URL=http://127.0.0.1:4200/api (another port: see docs/operations.md, "
                         "Scheduled inbox runs)")
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
    """Measure the backends on random models shaped like opus-mt-ar-en (about 3 minutes; no download)."""
    _quiet_model_libraries()
    from tarjama.dev.bench import run_bench

    result = run_bench(args.threads, progress=lambda message: print(f"bench: {message}", file=sys.stderr))
    if args.json:
        _print_json(result)
        return 0
    print(f"{'backend':20} {'beam 4 tok/s':>13} {'greedy tok/s':>13} {'×beam 4':>8} {'peak MB':>8} {'model MB':>9}")
    for name, figures in result["backends"].items():
        print(f"{name:20} {figures['beam4']['tokens_per_s']:13.1f} {figures['greedy']['tokens_per_s']:13.1f} "
              f"{result['speedup'][name]['beam4']:8.2f} {figures['peak_memory_mb']:8.0f} "
              f"{figures['model_memory_mb']:9.0f}")
    pipeline, text = result["pipeline"], result["text"]
    print(f"pipeline: {pipeline['sentences']} sentences in {pipeline['seconds']:.1f} s, "
          f"{100 * pipeline['outside_model_share']:.1f}% of it outside the model")
    print(f"text: segmentation {text['segmentation_mb_per_s']:.2f} MB/s, glossary matching "
          f"{text['matching_mb_per_s']:.2f} MB/s ({text['glossary_entries']} entries)")
    for key, target in result["targets"].items():
        bound = "≤" if key == "outside_model_share" else "≥"
        print(f"target {key}: {target['value']} ({bound} {target['target']}) {'met' if target['met'] else 'NOT met'}")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    """Show the registry and which models are in the local store (a table on a terminal, else TSV)."""
    from tarjama.translate.registry import load_registry, store_path_for

    rows = [{"name": s.name, "id": s.id, "architecture": s.architecture, "source_lang": s.source_lang,
             "target_lang": s.target_lang, "licence": s.licence,
             "local": (store_path_for(s.name) / "config.json").is_file(), "description": s.description}
            for s in load_registry()]
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
    from tarjama.dev.random_models import build_random_marian, build_random_nllb
    from tarjama.terms.glossary import load_glossary
    from tarjama.text.inputs import read_text_file

    if args.out.exists() and any(args.out.iterdir()):
        raise InputError("not empty: choose a new folder for the model", path=args.out)
    arabic = [line for line in read_text_file(args.source_text).split("\n") if line.strip()]
    english = [e.target + " " + e.note for e in load_glossary(args.target_glossary).entries]
    if args.architecture == "marian":
        build_random_marian(args.out, arabic, english, seed=args.seed)
    else:
        build_random_nllb(args.out, arabic + english, seed=args.seed)
    print(args.out)
    print("note: random weights: use this model to test the pipeline's mechanics, never to judge "
          "translation quality", file=sys.stderr)
    return 0


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


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, not {text}")
    return value


def _add_run_options(command: argparse.ArgumentParser) -> None:
    """The model, glossary and decoding options that ``translate`` and ``serve`` share."""
    command.add_argument("--model", default=DEFAULT_MODEL,
                         help="registry name, Hugging Face id or local directory (default %(default)s)")
    command.add_argument("--revision", help="hub revision (branch, tag or commit) of the model")
    command.add_argument("--glossary", type=Path, help="newsroom glossary (TSV or TBX) whose terms are checked")
    command.add_argument("--strict-terms", action="store_true",
                         help="guarantee every matched glossary term's English in its sentence")
    command.add_argument("--backend", choices=BACKENDS, default="transformers",
                         help="inference backend (default %(default)s; ctranslate2 needs `tarjama models convert`)")
    command.add_argument("--beam-size", type=_positive_int, default=4,
                         help="beam width (default %(default)s; 1 = greedy)")
    command.add_argument("--threads", type=_positive_int, help="CPU threads for the model (default: all cores)")


def _add_serve_command(commands: argparse._SubParsersAction) -> None:
    from tarjama.runs.inbox import DEFAULT_SETTLE_SECONDS

    serve = commands.add_parser("serve", help="translate an inbox folder on a schedule (Prefect deployment)")
    serve.add_argument("--inbox", type=Path, required=True,
                       help="folder of NAME.txt articles (hidden and temporary names such as .NAME.txt, ~$NAME.txt "
                            "are ignored)")
    serve.add_argument("--out", type=Path, default=Path("outputs"), help="output folder (default %(default)s)")
    when = serve.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help='cron schedule, e.g. "*/10 * * * *"')
    when.add_argument("--interval", type=_positive_int, help="seconds between runs")
    serve.add_argument("--settle", type=_seconds, default=DEFAULT_SETTLE_SECONDS, metavar="SECONDS",
                       help="take an article only once it has been unchanged this long, so that an upload still "
                            f"being copied is left for the next run (default: {DEFAULT_SETTLE_SECONDS:g})")
    _add_run_options(serve)
    serve.add_argument("--name", default="tarjama-inbox", help="deployment name shown in the Prefect UI")
    serve.add_argument("--verbose", action="store_true", help="show Prefect's run logs")
    serve.set_defaults(run=cmd_serve)


def _add_score_commands(commands: argparse._SubParsersAction) -> None:
    score = commands.add_parser("score", help="BLEU, chrF++ and TER of a translation, exactly as sacrebleu")
    score.add_argument("--hyp", type=Path, required=True, help="the translation, one segment per line")
    score.add_argument("--ref", type=Path, required=True, nargs="+", help="reference file(s), line-aligned")
    score.add_argument("--json", action="store_true", help="print the contract's JSON")
    score.set_defaults(run=cmd_score)

    compare = commands.add_parser("compare", help="compare two runs of the same article and reference")
    compare.add_argument("run_a", type=Path, help="baseline run record (NAME.run.json)")
    compare.add_argument("run_b", type=Path, help="run record to compare with it")
    compare.add_argument("--seed", type=_positive_int, default=12345,
                         help="bootstrap seed (default %(default)s, sacrebleu's)")
    compare.add_argument("--samples", type=_positive_int, default=1000,
                         help="bootstrap resamples (default %(default)s, sacrebleu's)")
    compare.add_argument("--json", action="store_true", help="print the report as JSON")
    compare.set_defaults(run=cmd_compare)

    evaluation = commands.add_parser("eval", help="score a model on a line-aligned test set (e.g. FLORES-200)")
    evaluation.add_argument("--model", default=DEFAULT_MODEL, help="registry name, hub id or local directory")
    evaluation.add_argument("--revision", help="hub revision of the model")
    evaluation.add_argument("--src", type=Path, required=True, help="Arabic source, one sentence per line")
    evaluation.add_argument("--ref", type=Path, required=True, help="English reference, line-aligned")
    evaluation.add_argument("--backend", choices=BACKENDS, default="transformers",
                            help="inference backend (default %(default)s; ctranslate2 needs `tarjama models convert`)")
    evaluation.add_argument("--beam-size", type=_positive_int, default=4,
                            help="beam width (default %(default)s; 1 = greedy)")
    evaluation.add_argument("--threads", type=_positive_int, help="CPU threads for the model (default: all cores)")
    evaluation.add_argument("--out", type=Path,
                            help="results file (default outputs/eval/MODEL.SOURCE.BACKEND[.beamN].json)")
    evaluation.add_argument("--force", action="store_true", help="replace the default results file if it exists")
    evaluation.set_defaults(run=cmd_eval)


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
    importing.add_argument("--outputs", type=Path, default=Path("outputs"),
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


def _add_model_commands(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="the model registry and local store")
    model_commands = models.add_subparsers(dest="models_command", required=True, parser_class=_Parser)
    listing = model_commands.add_parser("list", help="list the registry's models")
    listing.add_argument("--json", action="store_true", help="print the registry as JSON")
    listing.set_defaults(run=cmd_models_list)
    pull = model_commands.add_parser("pull", help="download a model into the local store")
    pull.add_argument("name", help="registry name or Hugging Face id")
    pull.add_argument("--revision", help="hub revision (branch, tag or commit; default the registry's)")
    pull.set_defaults(run=cmd_models_pull)
    convert = model_commands.add_parser("convert", help="convert a model for --backend ctranslate2")
    convert.add_argument("name", help="registry name, Hugging Face id or local directory")
    convert.add_argument("--revision", help="hub revision (branch, tag or commit) of the model")
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


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = _Parser(prog="tarjama", description="Arabic→English translation and bilingual publishing.")
    parser.add_argument("--version", action="version", version=f"tarjama {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    segment = commands.add_parser("segment", help="split an article into paragraphs and sentences")
    segment.add_argument("path", type=Path, help="Arabic article: UTF-8, one paragraph per line, title first")
    segment.add_argument("--json", action="store_true", help="print the contract's JSON")
    segment.set_defaults(run=cmd_segment)

    terms = commands.add_parser("terms", help="find glossary terms in an article")
    terms.add_argument("path", type=Path, help="Arabic article: UTF-8, one paragraph per line, title first")
    terms.add_argument("--glossary", type=Path, required=True, help="TSV glossary or TBX termbase")
    terms.add_argument("--json", action="store_true", help="print the contract's JSON")
    terms.set_defaults(run=cmd_terms)

    _add_glossary_commands(commands)

    _add_score_commands(commands)

    translate = commands.add_parser("translate", help="translate an article and publish it")
    translate.add_argument("path", type=Path, help="Arabic article: UTF-8, one paragraph per line, title first")
    _add_run_options(translate)
    translate.add_argument("--reference", type=Path,
                           help="English reference, one line per paragraph: scores BLEU, chrF++ and TER")
    translate.add_argument("--out", type=Path, default=Path("outputs"), help="output folder (default %(default)s)")
    translate.add_argument("--verbose", action="store_true", help="show Prefect's run logs")
    translate.add_argument("--memory", type=Path,
                           help="translation memory file (default OUT/.tarjama/memory.sqlite)")
    translate.add_argument("--no-memory", action="store_true", help="translate everything; remember nothing")
    translate.set_defaults(run=cmd_translate)

    _add_model_commands(commands)
    _add_serve_command(commands)
    bench = commands.add_parser("bench", help="backend speed on random opus-mt-ar-en-shaped models")
    bench.add_argument("--json", action="store_true", help="print the contract's JSON")
    bench.add_argument("--threads", type=_positive_int, help="CPU threads per backend (default: all cores)")
    bench.set_defaults(run=cmd_bench)
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

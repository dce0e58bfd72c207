"""The command line as users and scripts meet it: exit codes, one-line errors, no stray files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import find_terms
from tarjama.text.articles import read_article

TARJAMA = str(Path(sys.executable).parent / "tarjama")


def run(args, env, cwd=None):
    return subprocess.run([TARJAMA, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, check=False,
                          timeout=300)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_segment_json_follows_the_contract(sample_path, cli_env):
    result = run(["segment", sample_path, "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    text = sample_path.read_text(encoding="utf-8")
    segments = [s for p in data["paragraphs"] for s in p["segments"]]
    assert len(data["paragraphs"]) == 24 and len(segments) == 28
    assert [p["index"] for p in data["paragraphs"] if p["kind"] == "related"] == [12, 16]
    assert all(text[s["start"]:s["end"]] == s["text"] for s in segments)


def test_terms_json_follows_the_contract(sample_path, glossary_path, cli_env):
    result = run(["terms", sample_path, "--glossary", glossary_path, "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    matches = json.loads(result.stdout)["matches"]
    text = sample_path.read_text(encoding="utf-8")
    found = find_terms(read_article(sample_path), load_glossary(glossary_path))
    assert [(m["segment"], m["start"], m["end"], m["target"]) for m in matches] == [
        (match.segment, match.start, match.end, match.target) for match in found]
    assert all(text[m["start"]:m["end"]] == m["surface"] for m in matches)
    assert {"paragraph", "segment", "start", "end", "surface", "target"} <= set(matches[0])
    # Terms behind clitics are found, spans covering the written word.
    clitic = {m["surface"]: m["proclitics"] for m in matches if m["proclitics"]}
    assert clitic["لروسيا"] == ["ل"] and clitic["وموسكو"] == ["و"] and clitic["للملف"] == ["ل"]
    assert clitic["بالمجلس الوطني الأمني"] == ["ب"] and clitic["للاتحاد الأوروبي"] == ["ل"]
    assert clitic["لإيرين بورنيت"] == ["ل"] and clitic["ومنظمة الملف"] == ["و"]


GLOSSARY_ROWS = (
    "# a glossary with one of each problem\n"           # line 1
    "source\ttarget\tnote\tvariants\tmatch\tcolour\n"  # 2: unknown column
    "الكرملين\tKremlin\n"                               # 3
    "الكرملين\tKremlin\n"                               # 4: duplicate
    "داعش\tISIS\n"                                      # 5
    "داعش\tDaesh\n"                                     # 6: conflicting target
    "موسكو\t\n"                                         # 7: no target
    "\tRussia\n"                                        # 8: no source
    "روسيا\tRussia\t\t\tfuzzy\n"                        # 9: bad match rule
    "واشنطن\tواشنطن\n"                                  # 10: Arabic target
    "لموسكو\tMoscow\n"                                  # 11: fine on its own (موسكو has no target)
    "بوتين\tPutin\n"                                    # 12
    "لبوتين\tPutin\n"                                   # 13: covered by clitic matching
)


def test_glossary_check_names_every_problem_by_line(tmp_path, cli_env):
    path = write_bytes(tmp_path, "g.tsv", GLOSSARY_ROWS.encode())
    result = run(["glossary", "check", path], cli_env)
    assert result.returncode == 2
    *lines, summary = result.stdout.splitlines()
    assert summary == f"{path}: 6 entries, 4 errors, 4 warnings"
    found = [line.removeprefix(f"{path}:").split(": ", 2) for line in lines]
    assert [(int(line), severity) for line, severity, _ in found] == [
        (2, "warning"), (4, "warning"), (6, "error"), (7, "error"), (8, "error"), (9, "error"), (10, "warning"),
        (13, "warning")]
    messages = dict((int(line), message) for line, _, message in found)
    assert "colour" in messages[2] and "duplicates line 3" in messages[4] and "line 5" in messages[6]
    assert "'بوتين' (line 12)" in messages[13]
    assert_one_line_error(result, f"error: {path}: the glossary has 4 errors")
    result = run(["glossary", "check", path, "--json"], cli_env)
    assert_one_line_error(result, "4 errors")
    report = json.loads(result.stdout)
    assert (report["entries"], report["errors"], report["warnings"]) == (6, 4, 4)
    assert [p["line"] for p in report["problems"]] == [2, 4, 6, 7, 8, 9, 10, 13]


def test_glossary_check_passes_the_newsroom_glossary_and_strict_fails_on_warnings(tmp_path, glossary_path, cli_env):
    result = run(["glossary", "check", glossary_path, "--strict"], cli_env)
    assert result.returncode == 0 and result.stdout.endswith(" 0 errors, 0 warnings\n"), result.stdout
    path = write_bytes(tmp_path, "g.tsv", "بوتين\tPutin\nلبوتين\tPutin\n".encode())
    warning = f"{path}:2: warning: 'لبوتين' is 'بوتين' (line 1) with a proclitic or the article"
    result = run(["glossary", "check", path], cli_env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.startswith(warning) and result.stdout.endswith(f"{path}: 2 entries, 0 errors, 1 warnings\n")
    # Exit 2 alone would also be argparse refusing --strict: the one-line error names the warnings.
    result = run(["glossary", "check", path, "--strict"], cli_env)
    assert_one_line_error(result, f"error: {path}: the glossary has 1 warnings")
    assert result.stdout.startswith(warning) and result.stdout.endswith(f"{path}: 2 entries, 0 errors, 1 warnings\n")


TBX = """<?xml version="1.0" encoding="UTF-8"?>
<tbx type="TBX-Basic" style="dca" xml:lang="en" xmlns="urn:iso:std:iso:30042:ed-2">
  <text><body>
    <conceptEntry id="c1">
      <descrip type="definition">Investigative group backed by Mikhail Khodorkovsky</descrip>
      <langSec xml:lang="ar">
        <termSec><term>منظمة الملف</term></termSec>
        <termSec><term>مركز الملف</term></termSec>
      </langSec>
      <langSec xml:lang="en">
        <termSec><term>The File</term>
          <termNote type="administrativeStatus">deprecatedTerm-admn-sts</termNote></termSec>
        <termSec><term>Dossier Center</term>
          <termNote type="administrativeStatus">preferredTerm-admn-sts</termNote></termSec>
      </langSec>
    </conceptEntry>
    <conceptEntry id="c2">
      <langSec xml:lang="ar"><termSec><term>الكرملين</term></termSec></langSec>
      <langSec xml:lang="en"><termSec><term>Kremlin</term></termSec></langSec>
    </conceptEntry>
  </body></text>
</tbx>
"""


def test_tbx_import_and_use(tmp_path, sample_path, cli_env):
    tbx = write_bytes(tmp_path, "termbase.tbx", TBX.encode())
    out = tmp_path / "imported.tsv"
    result = run(["glossary", "import", tbx, "--out", out], cli_env)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert rows[0] == ["source", "target", "note", "variants", "match"]
    assert rows[1] == ["منظمة الملف", "Dossier Center", "Investigative group backed by Mikhail Khodorkovsky",
                       "مركز الملف", "clitics"]
    assert rows[2][:2] == ["الكرملين", "Kremlin"]
    # The imported TSV and the TBX itself give the same matches.
    by_tsv = json.loads(run(["terms", sample_path, "--glossary", out, "--json"], cli_env).stdout)
    by_tbx = json.loads(run(["terms", sample_path, "--glossary", tbx, "--json"], cli_env).stdout)
    assert by_tsv == by_tbx and {m["target"] for m in by_tsv["matches"]} == {"Dossier Center", "Kremlin"}


def test_broken_tbx_is_one_error_line(tmp_path, sample_path, cli_env):
    broken = TBX.replace("</langSec>\n    </conceptEntry>", "</conceptEntry>", 1)
    tbx = write_bytes(tmp_path, "bad.tbx", broken.encode())
    assert_one_line_error(run(["glossary", "import", tbx], cli_env), f"{tbx}:", "not well-formed")
    result = run(["translate", sample_path, "--glossary", tbx, "--out", tmp_path / "out"], cli_env)
    assert_one_line_error(result, f"{tbx}:", "not well-formed")
    assert not (tmp_path / "out").exists()


def write_bytes(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


BAD_ARTICLES = {
    "empty": b"",
    "blank": b"\n \n\t\n",
    "invalid-utf8": "عنوان\n".encode() + b"\xff\n",
    "binary": bytes(range(256)) * 4,
    "no-arabic": b"Just an English line.\n",
}


@pytest.mark.parametrize("command", ["segment", "terms", "translate"])
@pytest.mark.parametrize("name", list(BAD_ARTICLES))
def test_bad_articles_fail_cleanly_in_every_command(tmp_path, glossary_path, cli_env, command, name):
    article = write_bytes(tmp_path, f"{name}.txt", BAD_ARTICLES[name])
    extra = {"segment": [], "terms": ["--glossary", glossary_path],
             "translate": ["--glossary", glossary_path, "--out", tmp_path / "out"]}[command]
    result = run([command, article, *extra], cli_env)
    assert_one_line_error(result, str(article))
    assert not (tmp_path / "out").exists()


def test_missing_article(tmp_path, cli_env):
    assert_one_line_error(run(["translate", tmp_path / "nope.txt", "--out", tmp_path / "out"], cli_env),
                          "nope.txt", "no such article file")
    assert not (tmp_path / "out").exists()


def test_glossary_row_without_target(tmp_path, sample_path, cli_env):
    glossary = write_bytes(tmp_path, "g.tsv", "source\ttarget\nالكرملين\tKremlin\nداعش\t\n".encode())
    result = run(["translate", sample_path, "--glossary", glossary, "--out", tmp_path / "out"], cli_env)
    assert_one_line_error(result, f"{glossary}:3:", "no English target")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("model", ["/no/such/model/dir", "no-such-org/no-such-model", "Helsinki-NLP/opus-mt-ar-en"])
def test_unavailable_model_says_how_to_get_it(tmp_path, sample_path, cli_env, model):
    result = run(["translate", sample_path, "--model", model, "--out", tmp_path / "out"], cli_env)
    assert_one_line_error(result, model)
    # A hub name is pulled (or its folder given); a folder that is not there has nothing to pull.
    assert ("tarjama models pull" in result.stderr and "--model DIR" in result.stderr) is not model.startswith("/")
    assert not (tmp_path / "out").exists()


def test_directory_that_is_not_a_model(tmp_path, sample_path, cli_env):
    result = run(["translate", sample_path, "--model", tmp_path, "--out", tmp_path / "out"], cli_env)
    assert_one_line_error(result, "no config.json")


def test_usage_errors_are_one_line_with_exit_code_2(cli_env):
    assert_one_line_error(run(["translate"], cli_env), "path")
    assert_one_line_error(run(["translate", "x.txt", "--backend", "marian"], cli_env), "backend")


def test_models_list_and_pull_offline(cli_env):
    listing = run(["models", "list", "--json"], cli_env)
    assert listing.returncode == 0
    names = {m["id"]: m for m in json.loads(listing.stdout)["models"]}
    assert names["Helsinki-NLP/opus-mt-ar-en"]["architecture"] == "marian"
    assert names["facebook/nllb-200-distilled-600M"]["source_lang"] == "arb_Arab"
    pull = run(["models", "pull", "opus-mt-ar-en"], {**cli_env, "HF_HUB_OFFLINE": "0"})
    assert pull.returncode == 1
    assert pull.stderr.startswith("error:") and "networked machine" in pull.stderr
    assert "Traceback" not in pull.stderr


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path, sample_path, cli_env):
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    for out in (blocker, blocker / "sub"):
        assert_one_line_error(run(["translate", sample_path, "--out", out], cli_env), str(blocker))


@pytest.mark.parametrize("beam", ["0", "-2", "four"])
def test_beam_size_must_be_a_positive_number(sample_path, cli_env, beam):
    assert_one_line_error(run(["translate", sample_path, "--beam-size", beam], cli_env), "--beam-size")


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["config-only", "truncated-weights"])
def test_a_broken_model_directory_is_bad_input(tmp_path, sample_path, tiny_marian, cli_env, damage):
    import shutil

    broken = tmp_path / "model"
    if damage == "config-only":
        broken.mkdir()
        (broken / "config.json").write_text('{"model_type": "marian"}', encoding="utf-8")
    else:
        shutil.copytree(tiny_marian, broken)
        weights = broken / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])
    result = run(["translate", sample_path, "--model", broken, "--out", tmp_path / "out"], cli_env)
    assert_one_line_error(result, str(broken), "cannot load the model")
    assert not (tmp_path / "out").exists()
    # `serve` loads it before serving: not a silent schedule whose every run fails.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    result = run(["serve", "--inbox", inbox, "--out", tmp_path / "out", "--interval", "60", "--model", broken],
                 {**cli_env, "PREFECT_API_URL": "http://127.0.0.1:9/api"})
    assert_one_line_error(result, str(broken), "cannot load the model")


def test_serve_switches_telemetry_off_before_prefect_is_imported(tmp_path, tiny_marian, cli_env):
    # Prefect starts its usage analytics when imported: DO_NOT_TRACK must already be set by then.
    watch = """
import os, sys
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "prefect" and not seen:
            seen.append(os.environ.get("DO_NOT_TRACK"))
sys.meta_path.insert(0, Watch())
from tarjama.cli import main
code = main(sys.argv[1:])
print("exit", code, "DO_NOT_TRACK at the first Prefect import:", seen)
"""
    env = {k: v for k, v in cli_env.items()
           if k not in ("DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_API_URL")}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for schedule in (["--cron", "*/10 * * * *"], ["--interval", "60"]):
        command = [sys.executable, "-c", watch, "serve", "--inbox", str(inbox), "--out", str(tmp_path / "out"),
                   "--model", str(tiny_marian), *schedule]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=300)
        assert "needs a Prefect server" in done.stderr or "need a Prefect server" in done.stderr, done.stderr
        assert "DO_NOT_TRACK at the first Prefect import: ['1']" in done.stdout, (schedule, done.stdout)


def test_models_list_prints_whole_names_to_pipes(cli_env):
    result = run(["models", "list"], cli_env)
    assert result.returncode == 0
    assert "opus-mt-ar-en\tHelsinki-NLP/opus-mt-ar-en\tmarian" in result.stdout


def test_pull_with_downloads_switched_off_says_so(cli_env):
    result = run(["models", "pull", "opus-mt-ar-en"], cli_env)
    assert_one_line_error(result, "downloads are switched off")


def test_models_random_builds_a_loadable_model_once(tmp_path, cli_env):
    from tarjama.translate.registry import resolve_model

    out = tmp_path / "random-nllb"
    result = run(["models", "random", out, "--architecture", "nllb"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "random weights" in result.stderr
    assert resolve_model(str(out)).architecture == "nllb"
    assert_one_line_error(run(["models", "random", out], cli_env), "not empty")

"""Newsroom operations through the command line: memory figures, kill -9, tm import/export, schedules."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import TARJAMA, run

PREFECT = str(Path(sys.executable).parent / "prefect")


def long_article(sample_path, path, copies):
    lines = [line for line in sample_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    path.write_text("\n".join(f"{line} ({n})" for n in range(copies) for line in lines) + "\n", encoding="utf-8")
    return path


def memory_rows(path):
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM machine").fetchone()[0]
    except sqlite3.Error:
        return 0


def record_of(out, stem):
    return json.loads((out / f"{stem}.run.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_memory_figures_unchanged_rerun_and_one_edit(tmp_path, sample_path, tiny_marian, glossary_path, cli_env):
    article = tmp_path / "story.txt"
    article.write_text(sample_path.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    args = ["translate", article, "--model", tiny_marian, "--glossary", glossary_path, "--out", out,
            "--beam-size", "1"]
    assert run(args, cli_env).returncode == 0
    first = record_of(out, "story")["memory"]
    assert first["translated"] == 28 and first["reused"] == 0
    assert run(args, cli_env).returncode == 0
    assert record_of(out, "story")["memory"] | {"path": ""} == {"path": "", "approved": 0, "reused": 28,
                                                                  "translated": 0, "model_inputs": 0,
                                                                  "harvested": 0, "approvals_set_aside": 0}
    article.write_text(article.read_text(encoding="utf-8").replace("قبل عقد حفل موسيقي", "قبل بدء حفل موسيقي"),
                       encoding="utf-8")
    assert run(args, cli_env).returncode == 0
    edited = record_of(out, "story")["memory"]
    assert (edited["translated"], edited["model_inputs"], edited["reused"]) == (1, 1, 27)


@pytest.mark.slow
def test_a_run_killed_midway_leaves_no_outputs_and_the_next_run_resumes(tmp_path, sample_path, tiny_marian, cli_env):
    article = long_article(sample_path, tmp_path / "long.txt", copies=8)
    out = tmp_path / "out"
    memory = out / ".tarjama" / "memory.sqlite"
    process = subprocess.Popen([TARJAMA, "translate", str(article), "--model", str(tiny_marian), "--out", str(out),
                                "--beam-size", "1"], env=cli_env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    while memory_rows(memory) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    committed = memory_rows(memory)
    assert committed > 0, "the run ended before its first chunk was committed"
    assert sorted(p.name for p in out.iterdir()) == [".tarjama"]  # no output file, whole or partial
    assert sqlite3.connect(memory).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    result = run(["translate", article, "--model", tiny_marian, "--out", out, "--beam-size", "1"], cli_env)
    assert result.returncode == 0, result.stderr
    record = record_of(out, "long")
    stats = record["memory"]
    translatable = sum(1 for s in record["segments"] if s["origin"] != "copied")
    assert stats["reused"] >= committed and stats["reused"] + stats["translated"] == translatable
    assert stats["translated"] < translatable


@pytest.mark.slow
def test_tm_import_and_export_on_the_command_line(tmp_path, sample_path, tiny_marian, cli_env):
    from translate.storage import tmx, xliff2

    out = tmp_path / "out"
    assert run(["translate", sample_path, "--model", tiny_marian, "--out", out, "--beam-size", "1"],
               cli_env).returncode == 0
    bilingual = out / "crocus-city-hall.ar.bilingual.md"
    row = next(line for line in bilingual.read_text(encoding="utf-8").splitlines() if line.startswith("| p2.s0 |"))
    cells = row.split(" | ")
    corrected = "Before the concert attack, new evidence showed Russian security services knew of the ISIS threat."
    bilingual.write_text(bilingual.read_text(encoding="utf-8").replace(row, " | ".join(
        [*cells[:2], corrected, *cells[3:]])), encoding="utf-8")
    result = run(["tm", "import", bilingual], cli_env)
    assert result.returncode == 0 and result.stdout.startswith("1 sentence approved"), result.stderr
    xliff_path, tmx_path = tmp_path / "memory.xlf", tmp_path / "memory.tmx"
    memory = out / ".tarjama" / "memory.sqlite"
    for fmt, path in (("xliff", xliff_path), ("tmx", tmx_path)):
        assert run(["tm", "export", "--format", fmt, "--memory", memory, "--out", path], cli_env).returncode == 0
    units = xliff2.Xliff2File.parsestring(xliff_path.read_bytes()).units
    approved = [u for u in units if u.isapproved()]
    assert [(u.target) for u in approved] == [corrected] and len(units) == 28
    assert corrected in [u.target for u in tmx.tmxfile.parsestring(tmx_path.read_bytes()).units]
    # The next run reuses the approved sentence as is and says so.
    assert run(["translate", sample_path, "--model", tiny_marian, "--out", out, "--beam-size", "1"],
               cli_env).returncode == 0
    segment = next(s for s in record_of(out, "crocus-city-hall.ar")["segments"] if s["id"] == "p2.s0")
    assert segment["target"] == corrected and segment["origin"] == "approved"
    assert "✓ approved by an editor" in bilingual.read_text(encoding="utf-8")
    # A TMX seeds a fresh memory with its approved units only: machine output is not an editor's work.
    fresh = tmp_path / "fresh.sqlite"
    assert run(["tm", "import", tmx_path, "--memory", fresh], cli_env).returncode == 0
    assert sqlite3.connect(fresh).execute("SELECT target FROM approved").fetchall() == [(corrected,)]


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.slow
def test_serve_runs_the_inbox_on_a_schedule_and_skips_unchanged_articles(tmp_path, tiny_marian, cli_env):
    import urllib.request

    env = {**cli_env, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": "http://127.0.0.1:4297/api"}
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (inbox / "short.txt").write_text("عنوان قصير\nقال الكرملين إن الوضع هادئ.\n", encoding="utf-8")
    server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", "4297"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    serving = None
    try:
        def healthy():
            try:
                return urllib.request.urlopen("http://127.0.0.1:4297/api/health", timeout=2).status == 200
            except OSError:
                return False

        wait_for(healthy, 120, "the Prefect server")
        terminal = (tmp_path / "serve.err").open("w", encoding="utf-8")
        serving = subprocess.Popen([TARJAMA, "serve", "--inbox", str(inbox), "--out", str(out), "--interval", "3",
                                    "--model", str(tiny_marian), "--beam-size", "1", "--settle", "1"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=terminal, start_new_session=True)
        terminal.close()  # the child has its own copy
        log = out / ".tarjama" / "inbox-log.jsonl"

        def runs():
            return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []

        wait_for(lambda: len(runs()) >= 2, 180, "two scheduled runs")
        statuses = [run_["articles"][0]["status"] for run_ in runs()]
        assert statuses[0] == "translated" and "skipped" in statuses[1:]
        assert runs()[0]["flow_run_name"] == "inbox inbox"  # a scheduled run too is named after the folder
        assert (out / "short.run.json").exists()
        (inbox / "second.txt").write_text("عنوان ثان\nوصل الوفد إلى موسكو.\n", encoding="utf-8")
        wait_for((out / "second.run.json").exists, 120, "the new article to be translated")
        # One line per article per run on serve's terminal (the flow runs in a process of its own).
        printed = (tmp_path / "serve.err").read_text(encoding="utf-8").splitlines()
        assert "short.txt: skipped (up to date)" in printed
        assert any(line.startswith("short.txt: translated in ") and line.endswith(str(out / "short.en.md"))
                   for line in printed), printed
    finally:
        for process in (serving, server):
            if process is not None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)

"""What Prefect adds per article: the translate-article flow against the same work as plain Python.

    .venv/bin/python benchmarks/prefect_overhead.py [--articles 3] [--json]

A tiny random Marian model (so the model's own time is small and the overhead shows) translates
short articles cut from the sample, each in a fresh outputs folder, three ways, each in a process
of its own with the model already loaded:
- plain Python (``tarjama.runs.article.translate_and_publish``), the baseline;
- the flow with Prefect's temporary server, started by the first flow call of the process (what a
  one-off ``tarjama translate`` pays; the very first run on a machine also creates Prefect's
  database), later articles in the same process reusing it;
- the flow against a running ``prefect server start --host 127.0.0.1`` (what scheduled runs use).
Prints seconds per article and the overhead over plain Python. Telemetry stays off throughout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORT = 4299


def _articles(folder: Path, count: int) -> list[Path]:
    """Articles of the sample's first paragraphs, one paragraph block per article."""
    paragraphs = [p for p in (ROOT / "samples" / "crocus-city-hall.ar.txt").read_text(encoding="utf-8").split("\n")
                  if p.strip()]
    articles = []
    for n in range(count):
        path = folder / f"article-{n}.ar.txt"
        path.write_text("\n\n".join(paragraphs[3 * n:3 * n + 3]) + "\n", encoding="utf-8")
        articles.append(path)
    return articles


def _worker(mode: str, model: str, articles: list[str], out: str) -> list[float]:
    """Seconds per article in this process, the model loaded beforehand."""
    from tarjama.translate.backends import load_translator
    from tarjama.translate.registry import resolve_model
    from tarjama.translate.settings import RunSettings

    settings = RunSettings(model=model)
    load_translator(resolve_model(model), "transformers")
    if mode != "plain":
        from flows.settings import configure_prefect

        configure_prefect()
        from flows.translate import translate_article
    else:
        from tarjama.runs.article import translate_and_publish
    seconds = []
    for n, article in enumerate(articles):
        target = Path(out) / f"{mode}-{n}"
        started = time.perf_counter()
        if mode == "plain":
            translate_and_publish(Path(article), settings, target)
        else:
            translate_article(source=Path(article), settings=settings, out_dir=target)
        seconds.append(time.perf_counter() - started)
    return seconds


def _run_worker(mode: str, model: Path, articles: list[Path], out: Path, env: dict[str, str]) -> list[float]:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", mode, str(model), str(out), *map(str, articles)],
        env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if completed.returncode:
        raise SystemExit(f"{mode} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _wait_healthy(url: str, timeout: float = 90) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the Prefect server did not become healthy")


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 2 <= args.articles <= 8:
        parser.error("--articles: 2 to 8 (the first of a process pays the start-up; the sample has 24 paragraphs)")
    from tarjama.dev.random_models import build_random_marian

    with tempfile.TemporaryDirectory(prefix="tarjama-prefect-bench-") as name:
        folder = Path(name)
        articles = _articles(folder, args.articles)
        model = build_random_marian(folder / "model", [a.read_text(encoding="utf-8") for a in articles],
                                    ["The attack near Moscow killed many people."] * 5)
        env = {**os.environ, "PREFECT_HOME": str(folder / "prefect"), "DO_NOT_TRACK": "1",
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "TRANSFORMERS_VERBOSITY": "error"}
        env.pop("PREFECT_API_URL", None)
        plain = _run_worker("plain", model, articles, folder / "out", env)
        first_ever = _run_worker("temporary", model, articles[:1], folder / "out-first", env)  # creates the database
        temporary = _run_worker("temporary", model, articles, folder / "out", env)
        server_env = {**env, "PREFECT_API_URL": f"http://127.0.0.1:{PORT}/api"}
        server = subprocess.Popen([Path(sys.executable).parent / "prefect", "server", "start", "--host",
                                   "127.0.0.1", "--port", str(PORT)], env=server_env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            server_start = _wait_healthy(f"http://127.0.0.1:{PORT}/api/health")
            running = _run_worker("server", model, articles, folder / "out", server_env)
        finally:
            server.terminate()
            server.wait(timeout=30)

    def later(times: list[float]) -> float:
        return sum(times[1:]) / max(1, len(times) - 1)

    figures = {
        "plain_python_s": {"first": round(plain[0], 2), "later": round(later(plain), 2)},
        "temporary_server_s": {"first_ever": round(first_ever[0], 2), "first": round(temporary[0], 2),
                               "later": round(later(temporary), 2)},
        "running_server_s": {"first": round(running[0], 2), "later": round(later(running), 2),
                             "server_start": round(server_start, 1)},
        "overhead_per_article_s": {
            "temporary_server_first": round(temporary[0] - plain[0], 2),
            "temporary_server_later": round(later(temporary) - later(plain), 2),
            "running_server_first": round(running[0] - plain[0], 2),
            "running_server_later": round(later(running) - later(plain), 2)},
    }
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:24} {value}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(_worker(sys.argv[2], sys.argv[3], sys.argv[5:], sys.argv[4])))
    else:
        main()

"""An editor's rerun against Prefect's floor: `tarjama translate` with nothing left for the model.

    .venv/bin/python benchmarks/rerun.py [--runs 3] [--backend transformers] [--json]

What an editor pays to see a correction: the sample article is translated once (the translation
memory then holds every sentence), and the same command is run again, unchanged, so that every
sentence comes from the memory ("0 model inputs"). That rerun is timed as a whole process against
``benchmarks/trivial_flow.py``, a Prefect flow that does nothing, run as a script: the two in turn,
A B A B, after one warm-up each, both on Prefect's temporary server and the same ``PREFECT_HOME``.
The model is a random-weight one with the architecture of Helsinki-NLP/opus-mt-ar-en (300 MB of
weights; the machine cannot download the real one), so a run that loads it pays what the real
model would cost to load. Prints the medians and their ratio (issue 14's target: at most 1.15).

With ``--server`` both also run against a running ``prefect server start`` (``PREFECT_API_URL``):
the editors' fast path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "crocus-city-hall.ar.txt"
GLOSSARY = ROOT / "glossaries" / "news-ar-en.tsv"
TRIVIAL = ROOT / "benchmarks" / "trivial_flow.py"
SERVER_PORT = 4298


def _build_model(folder: Path, backend: str) -> Path:
    from tarjama.dev.bench import OPUS_MT_AR_EN_VOCAB, bench_sentences
    from tarjama.dev.random_models import OPUS_MT_AR_EN, build_random_marian

    english = ["The Kremlin said on Friday that the attack near Moscow killed many people."] * 10
    model = build_random_marian(folder / "opus-mt-ar-en-random", bench_sentences(40), english,
                                vocab_size=OPUS_MT_AR_EN_VOCAB, shape=OPUS_MT_AR_EN)
    if backend == "ctranslate2":
        from tarjama.translate.backends.ctranslate2_backend import convert
        from tarjama.translate.registry import resolve_model

        convert(resolve_model(str(model)), "int8")
    return model


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode:
        raise SystemExit(f"failed: {' '.join(command)}\n{completed.stderr[-3000:]}")
    return seconds


def _alternate(rerun: list[str], trivial: list[str], env: dict[str, str], runs: int) -> dict:
    _timed(rerun, env)
    _timed(trivial, env)  # warm-ups: page cache, Prefect's database
    pairs = [(_timed(rerun, env), _timed(trivial, env)) for _ in range(runs)]
    reruns, trivials = [a for a, _ in pairs], [b for _, b in pairs]
    return {"rerun_s": reruns, "trivial_flow_s": trivials, "rerun_median_s": statistics.median(reruns),
            "trivial_flow_median_s": statistics.median(trivials),
            "ratio": statistics.median(reruns) / statistics.median(trivials),
            "pairwise_ratio_median": statistics.median(a / b for a, b in pairs)}


def _wait_healthy(url: str, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"no Prefect server at {url} after {timeout:g} s")


def main() -> None:
    """Build the model, translate once, then time reruns against the trivial flow."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="counted runs of each (default 3)")
    parser.add_argument("--backend", default="transformers", choices=("transformers", "ctranslate2"))
    parser.add_argument("--server", action="store_true", help="also measure against a running Prefect server")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tarjama-rerun-") as scratch:
        folder = Path(scratch)
        env = {**os.environ, "PREFECT_HOME": str(folder / "prefect"), "TARJAMA_MODEL_STORE": str(folder / "store"),
               "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "HF_HUB_OFFLINE": "1"}
        env.pop("PREFECT_API_URL", None)
        os.environ["TARJAMA_MODEL_STORE"] = env["TARJAMA_MODEL_STORE"]
        print("rerun: building the opus-mt-ar-en-shaped random model", file=sys.stderr)
        model = _build_model(folder, args.backend)
        tarjama = str(Path(sys.executable).with_name("tarjama"))
        # Greedy, so the first run (a random model writes to its full output budget) is short; the rerun
        # translates nothing, so its beam does not matter.
        rerun = [tarjama, "translate", str(SAMPLE), "--model", str(model), "--glossary", str(GLOSSARY),
                 "--strict-terms", "--beam-size", "1", "--backend", args.backend, "--out", str(folder / "out")]
        print("rerun: first run (translates the sample into the memory)", file=sys.stderr)
        first = _timed(rerun, env)
        record = json.loads((folder / "out" / "crocus-city-hall.ar.run.json").read_text(encoding="utf-8"))
        print(f"rerun: first run {first:.1f} s; timing {args.runs} reruns against the trivial flow", file=sys.stderr)
        results: dict = {"backend": args.backend, "first_run_s": first,
                         "temporary_server": _alternate(rerun, [sys.executable, str(TRIVIAL)], env, args.runs)}
        rerun_record = json.loads((folder / "out" / "crocus-city-hall.ar.run.json").read_text(encoding="utf-8"))
        results["rerun_memory"] = rerun_record.get("memory")
        results["rerun_timings"] = rerun_record.get("timings")
        results["first_run_memory"] = record.get("memory")
        if args.server:
            url = f"http://127.0.0.1:{SERVER_PORT}/api"
            server = subprocess.Popen(
                [str(Path(sys.executable).with_name("prefect")), "server", "start", "--host", "127.0.0.1",
                 "--port", str(SERVER_PORT)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                _wait_healthy(url)
                results["running_server"] = _alternate(rerun, [sys.executable, str(TRIVIAL)],
                                                       {**env, "PREFECT_API_URL": url}, args.runs)
            finally:
                server.terminate()
                server.wait(timeout=30)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name in ("temporary_server", "running_server"):
        if name in results:
            figures = results[name]
            print(f"{name.replace('_', ' ')}: rerun {figures['rerun_median_s']:.2f} s, trivial Prefect flow "
                  f"{figures['trivial_flow_median_s']:.2f} s (medians of {args.runs}): ratio {figures['ratio']:.2f}"
                  f" (pairwise median {figures['pairwise_ratio_median']:.2f}; target ≤ 1.15)")
    memory = results["rerun_memory"] or {}
    print(f"rerun memory: {memory.get('reused')} reused, {memory.get('model_inputs')} model inputs")
    if results["rerun_timings"]:
        print("rerun timings: " + ", ".join(f"{k} {v:.2f}" for k, v in results["rerun_timings"].items()))


if __name__ == "__main__":
    main()

"""`tarjama score` against sacrebleu itself, and the quality flags, on constructed cases."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import english_corpus
from sacrebleu.metrics import BLEU, CHRF, TER
from test_cli import assert_one_line_error, run

from tarjama.record.labels import Flag
from tarjama.scores.evaluation import default_results_path
from tarjama.scores.quality import length_norm, numbers, quality_flags, repetition_loop

SACREBLEU = str(Path(sys.executable).parent / "sacrebleu")

SYSTEMS = {
    "plain": (["The Kremlin said on Friday.", "Moscow is large."],
              [["The Kremlin spoke on Friday.", "Moscow is a large city."]]),
    "blank and trailing spaces": (["The hall was attacked.   ", "", "Four suspects appeared in court."],
                                  [["The concert hall was attacked.", "Nothing.", "Four suspects appeared in court."]]),
    "two references": (["ISIS-K claimed the attack."],
                       [["ISIS-K claimed responsibility for the attack."], ["The attack was claimed by ISIS-K."]]),
    "unicode and numbers": (["At least 143 people died — «many» more were hurt."],
                            [["At least 143 people were killed, and many more were injured."]]),
    "empty hypothesis": ([""], [["Something."]]),
}


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", SYSTEMS)
def test_score_equals_sacrebleu(tmp_path, cli_env, name):
    hypotheses, references = SYSTEMS[name]
    hyp = write_lines(tmp_path / "hyp.txt", hypotheses)
    refs = [write_lines(tmp_path / f"ref{n}.txt", lines) for n, lines in enumerate(references)]
    result = run(["score", "--hyp", hyp, "--ref", *refs, "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    ours = json.loads(result.stdout)
    stripped = [h.rstrip() for h in hypotheses]  # sacrebleu right-strips every line it reads
    for key, metric in (("bleu", BLEU()), ("chrf", CHRF(word_order=2)), ("ter", TER())):
        expected = metric.corpus_score(stripped, references)
        assert ours[key] == pytest.approx(expected.score, abs=0.01)
        assert ours["signature"][key] == str(metric.get_signature())
    # And the sacrebleu command on the same files prints the same rounded figures.
    cli = subprocess.run([SACREBLEU, *map(str, refs), "-i", str(hyp), "-m", "bleu", "chrf", "ter",
                          "--chrf-word-order", "2", "-b", "-w", "2"], capture_output=True, text=True, check=True)
    assert [float(v) for v in json.loads(cli.stdout)] == [round(ours[k], 2) for k in ("bleu", "chrf", "ter")]


def test_score_reads_lines_as_sacrebleu_does(tmp_path, cli_env):
    """A carriage return inside a line does not end it; sacrebleu splits at newlines only."""
    hyp = tmp_path / "hyp.txt"
    hyp.write_bytes(b"The cat sat\ron the mat.\nHello world.\n")
    ref = write_lines(tmp_path / "ref.txt", ["The cat sat on the mat.", "Hello world."])
    ours = json.loads(run(["score", "--hyp", hyp, "--ref", ref, "--json"], cli_env).stdout)
    cli = subprocess.run([SACREBLEU, str(ref), "-i", str(hyp), "-m", "bleu", "chrf", "ter", "--chrf-word-order", "2",
                          "-b", "-w", "2"], capture_output=True, text=True, check=True)
    assert [float(v) for v in json.loads(cli.stdout)] == [round(ours[k], 2) for k in ("bleu", "chrf", "ter")]


@pytest.mark.parametrize(("hyp_bom", "ref_bom"), [(True, False), (False, True), (True, True)])
def test_score_drops_a_utf8_bom_unlike_the_sacrebleu_command(tmp_path, cli_env, hyp_bom, ref_bom):
    """The one deliberate difference from ``sacrebleu R -i H`` (docs/scores.md): a BOM is not a word."""
    lines = ["The cat sat on the mat.", "Hello world"]
    bom = "\ufeff"
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_text((bom if hyp_bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    ref.write_text((bom if ref_bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    ours = json.loads(run(["score", "--hyp", hyp, "--ref", ref, "--json"], cli_env).stdout)
    for key, metric in (("bleu", BLEU()), ("chrf", CHRF(word_order=2)), ("ter", TER())):
        assert ours[key] == pytest.approx(metric.corpus_score(lines, [lines]).score)  # as without the BOM
    cli = subprocess.run([SACREBLEU, str(ref), "-i", str(hyp), "-m", "bleu", "chrf", "ter", "--chrf-word-order", "2",
                          "-b", "-w", "2"], capture_output=True, text=True, check=True)
    # The command reads a BOM as part of the first word: a mismatch unless both files have one.
    assert round(ours["bleu"], 2) == 100 and (json.loads(cli.stdout)[0] < 100) is (hyp_bom != ref_bom)


def test_score_refuses_empty_files(tmp_path, cli_env):
    hyp, ref = write_lines(tmp_path / "hyp.txt", []), write_lines(tmp_path / "ref.txt", [])
    assert_one_line_error(run(["score", "--hyp", hyp, "--ref", ref], cli_env), f"{hyp}:", "no lines")


def test_score_refuses_files_of_different_lengths(tmp_path, cli_env):
    hyp = write_lines(tmp_path / "hyp.txt", ["one", "two"])
    ref = write_lines(tmp_path / "ref.txt", ["one"])
    assert_one_line_error(run(["score", "--hyp", hyp, "--ref", ref], cli_env), f"{ref}:", "1 lines", "has 2")


@pytest.mark.parametrize(("source", "english", "expected"), [
    ("قال الكرملين إن الوضع هادئ في موسكو.", "The Kremlin said the situation in Moscow was calm.", []),
    ("قال الكرملين إن الوضع هادئ في موسكو.", "", [Flag.EMPTY_OUTPUT]),
    ("قال الكرملين إن الوضع هادئ في موسكو.", "   ", [Flag.EMPTY_OUTPUT]),
    ("قال الكرملين إن الوضع هادئ في موسكو.", "The Kremlin said الوضع was calm in Moscow.", [Flag.ARABIC_IN_ENGLISH]),
    ("قال الكرملين إن الوضع هادئ في موسكو.", "The the the the Kremlin said it was calm in Moscow.", [Flag.REPETITION]),
    ("قال الكرملين إن الوضع هادئ في موسكو.", "The Kremlin said it is calm, calm, calm, calm in Moscow.",
     [Flag.REPETITION]),
    ("قال الكرملين إن الوضع هادئ في موسكو.", "It said that in Moscow it said that in Moscow it said that in Moscow.",
     [Flag.REPETITION]),
    ("قال الكرملين إن الوضع هادئ في موسكو.", "The Kremlin said: popopopopopo calm in Moscow.", [Flag.REPETITION]),
    ("قال الكرملين إن الوضع هادئ جدا جدا في موسكو.", "The Kremlin said it was very, very calm in Moscow.", []),
    ("توفي ١٤٣ شخصا يوم الجمعة في موسكو.", "143 people died on Friday in Moscow.", []),
    ("توفي ١٤٣ شخصا يوم الجمعة في موسكو.", "134 people died on Friday in Moscow.", [Flag.NUMBER_MISMATCH]),
    ("توفي 143 شخصا يوم الجمعة في موسكو.", "Many people died on Friday in Moscow.", [Flag.NUMBER_MISMATCH]),
    ("ارتفع المؤشر ٢٫٥٪ إلى ١٬٢٠٠ نقطة في موسكو.", "The index rose 2.5% to 1,200 points in Moscow.", []),
    ("ارتفع المؤشر ٢٫٥٪ إلى ١٬٢٠٠ نقطة في موسكو.", "The index rose 25% to 1,200 points in Moscow.",
     [Flag.NUMBER_MISMATCH]),
    ("قال الكرملين إن الوضع هادئ في موسكو.", "Calm.", [Flag.LENGTH_RATIO]),
    ("قال الكرملين إن الوضع هادئ في موسكو.",
     "The Kremlin said, in a long statement read out to reporters gathered outside its walls on a cold evening, "
     "that the situation in Moscow and in all the surrounding regions was entirely calm.", [Flag.LENGTH_RATIO]),
    ("قصير جدا.", "Very short indeed, and then some more words.", []),  # too short to judge by length
    ("قُتل ١٥ ألف شخص في الحرب المدمرة.", "15,000 people were killed in the devastating war.", []),
    ("ارتفع التضخم بنسبة ١،٥٪ في موسكو.", "Inflation rose by 1.5% in Moscow.", []),
    ("وصل عدد الضحايا إلى ١،٢٠٠ شخص.", "The death toll reached 1,200 people.", []),
    ("انعقدت قمة مجموعة العشرين في الهند.", "The G20 summit was held in India.", []),  # numbers the English adds
    ("أصيب عشرون شخصا بجروح في الهجوم.", "٢٠ people were injured in the attack.", [Flag.ARABIC_IN_ENGLISH]),
    ("هل تستأنف المفاوضات قريبا في موسكو؟", "Will the negotiations resume soon in Moscow؟", [Flag.ARABIC_IN_ENGLISH]),
    ("رقم الهاتف هو 1212121212 في موسكو.", "The phone number in Moscow is 1212121212.", []),  # digits are no loop
    # Number words scale only as whole words, on both sides; leading zeros are not part of a number.
    ("المادة 12 الفقرة 3 من القانون", "Article 12, paragraph 3 of the law", []),  # الفقرة is not ألف
    ("قال إن سنة 2020 الفارطة كانت صعبة.", "He said that the past year, 2020, was difficult.", []),
    ("بدأ الهجوم الساعة 08:30 مساء الجمعة", "The attack began at 8:30 pm on Friday", []),
    ("وقع الهجوم في 22/03/2024 في موسكو.", "The attack took place on 22/3/2024 in Moscow.", []),
    ("قتل 20 ألف شخص في الحرب المدمرة", "20 thousand people were killed in the devastating war", []),
    ("قتل 20 ألفاً في الحرب المدمرة.", "20,000 were killed in the devastating war.", []),
    ("قتل 20 ألف شخص في الحرب المدمرة", "20 people were killed in the devastating war", [Flag.NUMBER_MISMATCH]),
    ("بلغت الخسائر 1.5 مليون دولار في موسكو.", "Losses reached $1.5 million in Moscow.", []),
    ("بلغت الخسائر 1.5 مليون دولار في موسكو.", "Losses reached $1,500,000 in Moscow.", []),
    ("بلغت الخسائر 1.5 مليون دولار في موسكو.", "Losses reached $1.5 billion in Moscow.", [Flag.NUMBER_MISMATCH]),
    ("بلغت الميزانية ٣ مليارات دولار هذا العام.", "The budget reached 3 billion dollars this year.", []),
    ("بلغت الميزانية 3 مليارات دولار هذا العام.", "The budget reached 3 thousand dollars this year.",
     [Flag.NUMBER_MISMATCH]),
    # Newsroom English glues short multipliers to the digits.
    ("خسرت الشركة 100 مليون دولار في 2023.", "The company lost $100m in 2023.", []),
    ("خسرت الشركة 1.5 مليار دولار.", "The company lost $1.5bn.", []),
    ("ركض العداء 100 متر في عشر ثوان.", "The runner ran the 100m in ten seconds.", []),  # 100m read both ways
    ("خسرت الشركة 100 مليون دولار في 2023.", "The company lost $100bn in 2023.", [Flag.NUMBER_MISMATCH]),
    ("بلغت الميزانية تريليون دولار هذا العام.", "The budget rose to $1,000,000,000,000 this year.", []),  # no loop
    # Loops longer than six words, and loops that punctuation glues together.
    ("قال الكرملين إن الوضع هادئ في موسكو بعد الهجوم على قاعة الحفلات الموسيقية.",
     "The Kremlin said the situation was calm in Moscow after the attack on the concert hall in Moscow after the "
     "attack on the concert hall in Moscow after the attack on the concert hall.", [Flag.REPETITION]),
    ("قال الكرملين إن الوضع هادئ في موسكو.",
     "The Kremlin said the situation was calm, the Kremlin said the situation was calm.", [Flag.REPETITION]),
    ("قال الكرملين إن الوضع هادئ في موسكو.", "Moscow,Moscow,Moscow,Moscow,Moscow", [Flag.REPETITION]),
    ("قال الكرملين إن الوضع هادئ في موسكو.", "The Kremlin said it is calm-calm-calm-calm in Moscow.",
     [Flag.REPETITION]),
    # Prose that repeats itself, but not a long span back to back, is not a loop.
    ("قال الكرملين إن المحادثات ستستأنف يوم الاثنين وقال البيت الأبيض إنها ستستأنف يوم الثلاثاء.",
     "The Kremlin said the talks would resume on Monday, and the White House said the talks would resume on "
     "Tuesday.", []),
    ("قال إنه يعرف أنها تعرف أنه يعرف ذلك.", "He said he knows that she knows that he knows it.", []),
    ("وقال المتحدث إن الشرطة في موسكو تبحث عن المشتبه بهم في موسكو وضواحيها.",
     "The spokesman said police in Moscow were searching for the suspects in Moscow and its suburbs.", []),
])
def test_quality_flags(source, english, expected):
    assert quality_flags(source, english, norm=1.2) == expected


def test_length_norm_follows_the_article():
    english = " ".join(f"w{chr(97 + n % 26)}{chr(97 + n // 26)}" for n in range(30))  # 3.5 times the Arabic
    pairs = [("قال الكرملين إن الوضع هادئ في موسكو.", english)] * 5
    assert length_norm(pairs) == pytest.approx(len(english) / len(pairs[0][0]))
    assert length_norm(pairs[:2]) == 1.2  # too few sentences: the default
    assert quality_flags(pairs[0][0], english, 1.2) == [Flag.LENGTH_RATIO]
    assert quality_flags(pairs[0][0], english, length_norm(pairs)) == []  # normal for this article


def test_numbers_are_normalised():
    assert numbers("في ٢٠٢٢ و۲۰۲۳ قتل ١٬٢٠٠ شخص بنسبة ٣٫٥") == {"2022": 1, "2023": 1, "1200": 1, "3.5": 1}
    assert numbers("In 2022 and 2023, 1,200 people (3.5%)") == {"2022": 1, "2023": 1, "1200": 1, "3.5": 1}
    assert numbers("في الساعة 08:05 من يوم 01/03/2024 قتل 1٫50 ألف و٢ مليون و0.5 مليار") == \
        {"8": 1, "5": 1, "1": 1, "3": 1, "2024": 1, "1500": 1, "2000000": 1, "500000000": 1}
    assert numbers("At 08:05 on 01/03/2024, 1.50 thousand, 2 million and 0.5 billion") == \
        {"8": 1, "5": 1, "1": 1, "3": 1, "2024": 1, "1500": 1, "2000000": 1, "500000000": 1}
    # Words that only begin like a number word do not scale the number before them.
    assert numbers("12 الفقرة و2020 الفارطة و7 ملفات و9 thousandth") == {"12": 1, "2020": 1, "7": 1, "9": 1}
    assert numbers("In 2023 millions fled, and in 2024 thousands more.") == {"2023": 1, "2024": 1}


def test_english_prose_is_not_a_loop():
    assert not any(repetition_loop(line) for line in english_corpus())


def test_eval_scores_a_model_on_a_line_aligned_test_set(tmp_path, tiny_marian, cli_env):
    src = write_lines(tmp_path / "test.ar", ["قال الكرملين إن الوضع هادئ.", "", "٢٠٢٤", "وصل الوفد إلى موسكو."])
    ref = write_lines(tmp_path / "test.en",
                      ["The Kremlin said it was calm.", "", "2024", "The delegation reached Moscow."])
    out = tmp_path / "results" / "eval.json"
    result = run(["eval", "--model", tiny_marian, "--src", src, "--ref", ref, "--beam-size", "1", "--out", out],
                 cli_env)
    assert result.returncode == 0, result.stderr
    saved = json.loads(out.read_text(encoding="utf-8"))
    hypotheses = saved["hypotheses"]
    assert len(hypotheses) == 4 and hypotheses[1] == "" and hypotheses[2] == "2024"  # blank kept, digits copied
    references = [[line.rstrip() for line in ref.read_text(encoding="utf-8").splitlines()]]
    for key, metric in (("bleu", BLEU()), ("chrf", CHRF(word_order=2)), ("ter", TER())):
        assert saved["scores"][key] == pytest.approx(metric.corpus_score(hypotheses, references).score)
        assert saved["scores"]["signature"][key] == str(metric.get_signature())
    assert saved["model"]["path"] == str(tiny_marian) and saved["decoding"]["beam_size"] == 1
    assert saved["source"]["lines"] == 4 and len(saved["source"]["sha256"]) == 64
    assert str(out) in result.stdout


@pytest.mark.parametrize(("model", "source", "backend", "beam", "expected"), [
    ("Helsinki-NLP/opus-mt-ar-en", "flores/ara_Arab.dev", "transformers", 4,
     "Helsinki-NLP_opus-mt-ar-en.ara_Arab.dev.transformers.json"),
    ("Helsinki-NLP/opus-mt-ar-en", "flores/ara_Arab.devtest", "transformers", 4,
     "Helsinki-NLP_opus-mt-ar-en.ara_Arab.devtest.transformers.json"),  # not the dev split's file
    ("Helsinki-NLP/opus-mt-ar-en", "flores/ara_Arab.devtest", "ctranslate2", 4,
     "Helsinki-NLP_opus-mt-ar-en.ara_Arab.devtest.ctranslate2.json"),
    ("Helsinki-NLP/opus-mt-ar-en", "flores/ara_Arab.devtest", "transformers", 1,
     "Helsinki-NLP_opus-mt-ar-en.ara_Arab.devtest.transformers.beam1.json"),
    ("/tmp/acc/marian/", "test.ar.txt", "transformers", 4, "tmp_acc_marian.test.ar.txt.transformers.json"),
])
def test_default_results_path_names_what_was_run(model, source, backend, beam, expected):
    assert default_results_path(Path("outputs"), model, Path(source), backend, beam) == \
        Path("outputs") / "eval" / expected


@pytest.mark.slow
def test_eval_does_not_replace_earlier_results_unless_told(tmp_path, tiny_marian, cli_env):
    src = {split: write_lines(tmp_path / f"ara_Arab.{split}", ["قال الكرملين إن الوضع هادئ.", "٢٠٢٤"])
           for split in ("dev", "devtest")}
    ref = {split: write_lines(tmp_path / f"eng_Latn.{split}", ["The Kremlin said it was calm.", "2024"])
           for split in ("dev", "devtest")}

    def evaluate(split, *more):
        return run(["eval", "--model", tiny_marian, "--src", src[split], "--ref", ref[split], "--beam-size", "1",
                    *more], cli_env, cwd=tmp_path)

    for split in ("dev", "devtest"):
        assert evaluate(split).returncode == 0
    saved = sorted(p.name for p in (tmp_path / "outputs" / "eval").iterdir())
    assert len(saved) == 2 and all(".ara_Arab.dev" in name and ".transformers.beam1.json" in name for name in saved)
    dev = tmp_path / "outputs" / "eval" / saved[0]
    dev.write_text('{"earlier": true}', encoding="utf-8")
    assert_one_line_error(evaluate("dev"), str(Path("outputs") / "eval" / saved[0]), "--force", "--out")
    assert json.loads(dev.read_text(encoding="utf-8")) == {"earlier": True}
    assert evaluate("dev", "--force").returncode == 0
    assert json.loads(dev.read_text(encoding="utf-8"))["source"]["path"] == str(src["dev"])
    forced = dev.read_text(encoding="utf-8")
    elsewhere = tmp_path / "again.json"
    for split in ("dev", "devtest"):  # a file named with --out is the user's choice, replaced as asked
        result = evaluate(split, "--out", elsewhere)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == str(elsewhere)
        written = json.loads(elsewhere.read_text(encoding="utf-8"))
        assert (written["source"]["path"], written["reference"]["path"]) == (str(src[split]), str(ref[split]))
        assert len(written["hypotheses"]) == 2
    assert dev.read_text(encoding="utf-8") == forced  # --out leaves the default results alone


def test_eval_refuses_test_sets_of_different_lengths(tmp_path, cli_env):
    src = write_lines(tmp_path / "test.ar", ["قال الكرملين."])
    ref = write_lines(tmp_path / "test.en", ["one", "two"])
    assert_one_line_error(run(["eval", "--src", src, "--ref", ref], cli_env), f"{ref}:", "2 lines")

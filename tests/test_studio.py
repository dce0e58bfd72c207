"""Issue 15: the studio's server side, through Starlette's TestClient on a folder a real run published."""

import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tarjama.memory.store import default_memory_path, open_memory
from tarjama.publish.publisher import output_paths
from tarjama.record.reader import read_record
from tarjama.runs.article import translate_and_publish
from tarjama.studio.app import TOKEN_HEADER, create_app
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import DecodingOptions

HOST, PORT, TOKEN = "127.0.0.1", 8765, "the-test-token"
STEM = "cut"


def _settings(model: Path, glossary: Path) -> RunSettings:
    return RunSettings(model=str(model), glossary=glossary, decoding=DecodingOptions(beam_size=1), threads=1)


@pytest.fixture(scope="module")
def published(tmp_path_factory, tiny_marian, sample_path, glossary_path):
    """An outputs folder holding a 3-paragraph cut of the sample, translated by the tiny model."""
    root = tmp_path_factory.mktemp("studio")
    article = root / f"{STEM}.txt"
    article.write_text("\n".join(sample_path.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    translate_and_publish(article, _settings(tiny_marian, glossary_path), root / "out")
    return article, root / "out"


@pytest.fixture
def out(published, tmp_path):
    """A copy of the published folder (with its memory) of this test's own."""
    return Path(shutil.copytree(published[1], tmp_path / "out"))


@pytest.fixture
def client(out):
    return TestClient(create_app(out, host=HOST, port=PORT, token=TOKEN), base_url=f"http://{HOST}:{PORT}",
                      raise_server_exceptions=False)


def _first(client):
    return client.get(f"/api/articles/{STEM}").json()["segments"][0]


def _put(client, segment_id, body, *, token=TOKEN, headers=None):
    headers = {**({TOKEN_HEADER: token} if token else {}), **(headers or {})}
    return client.put(f"/api/articles/{STEM}/segments/{segment_id}", json=body, headers=headers)


def test_the_list_names_each_article_with_its_figures(client, out):
    articles = client.get("/api/articles").json()["articles"]
    record = read_record(output_paths(out, STEM).record)
    assert [a["stem"] for a in articles] == [STEM]
    (article,) = articles
    assert article["segments"] == len(record.segments) and article["approved"] == 0
    assert article["title"] == record.segments[0].target
    assert article["flagged"] == sum(bool(s.flags) for s in record.segments)
    assert article["term_success_rate"] == record.scores.term_success_rate
    page = client.get("/")
    assert page.status_code == 200 and f'href="/articles/{STEM}"' in page.text


def test_an_article_s_json_holds_each_segment_with_its_version_and_terms(client, out):
    record = read_record(output_paths(out, STEM).record)
    segments = client.get(f"/api/articles/{STEM}").json()["segments"]
    assert [s["id"] for s in segments] == [s.id for s in record.segments]
    assert [s["target"] for s in segments] == [s.target for s in record.segments]
    assert segments[0]["kind"] == "title" and all(s["version"] == 1 for s in segments)
    assert set(segments[0]) >= {"id", "kind", "source", "target", "origin", "version", "terms", "flags"}
    terms = [t for s in segments for t in s["terms"]]
    assert terms and all(set(t) >= {"surface", "target", "hit"} for t in terms)
    # Each term's place is in the segment's own Arabic, where its surface stands.
    for s in segments:
        for t in s["terms"]:
            assert s["source"][t["start"]:t["end"]] == t["surface"]


def test_the_article_page_shows_the_arabic_right_to_left_an_english_box_and_the_token(client, out):
    record = read_record(output_paths(out, STEM).record)
    page = client.get(f"/articles/{STEM}")
    assert page.status_code == 200
    assert f'<meta name="tarjama-token" content="{TOKEN}">' in page.text
    first = record.segments[0]
    assert f'data-segment="{first.id}"' in page.text
    assert '<div class="arabic" lang="ar" dir="rtl">' in page.text
    assert page.text.count("<textarea") == len(record.segments)
    assert '<script src="/static/studio.js">' in page.text and "http" not in page.text.split("<body>")[1]
    assert client.get("/static/studio.js").status_code == 200


def test_a_confirm_approves_into_the_memory_and_a_rerun_publishes_it(client, out, published, tiny_marian,
                                                                     glossary_path):
    segment = _first(client)
    answer = _put(client, segment["id"], {"target": "Our editor's title", "version": segment["version"]})
    assert answer.status_code == 200
    assert (answer.json()["origin"], answer.json()["target"], answer.json()["version"]) == (
        "approved", "Our editor's title", 2)
    assert _first(client) == answer.json()
    with open_memory(default_memory_path(out)) as memory:
        assert memory.approved(segment["source"]).target == "Our editor's title"
    assert client.get("/api/articles").json()["articles"][0]["approved"] == 1
    rerun = read_record(translate_and_publish(published[0], _settings(tiny_marian, glossary_path), out)
                        .published.record)
    assert (rerun.segments[0].origin, rerun.segments[0].target) == ("approved", "Our editor's title")
    assert "Our editor's title" in output_paths(out, STEM).english.read_text(encoding="utf-8")


def test_a_write_without_the_token_or_with_a_wrong_one_is_refused(client, out):
    segment = _first(client)
    for token in (None, "not-the-token"):
        answer = _put(client, segment["id"], {"target": "Refused", "version": 1}, token=token)
        assert answer.status_code == 403 and "token" in answer.json()["error"]
    assert _first(client) == segment


def test_a_request_for_another_host_is_refused(client):
    segment = _first(client)
    answer = _put(client, segment["id"], {"target": "Rebound", "version": 1}, headers={"Host": "evil.example:8765"})
    assert answer.status_code == 403 and "host" in answer.json()["error"]
    assert client.get("/api/articles", headers={"Host": "evil.example:8765"}).status_code == 403
    assert _first(client) == segment


def test_a_confirm_over_a_stale_version_gets_409_with_both_versions_and_stores_nothing(client):
    segment = _first(client)
    assert _put(client, segment["id"], {"target": "First tab", "version": 1}).status_code == 200
    answer = _put(client, segment["id"], {"target": "Second tab", "version": 1})
    assert answer.status_code == 409
    body = answer.json()
    assert body["yours"] == {"target": "Second tab", "version": 1}
    assert (body["current"]["target"], body["current"]["version"]) == ("First tab", 2)
    assert _first(client)["target"] == "First tab"
    # The second tab, having seen the current version, may put its English over it.
    assert _put(client, segment["id"], {"target": "Second tab", "version": 2}).json()["version"] == 3


@pytest.mark.parametrize("body", [b"{not json", b'"text"', b'{"target": "x"}', b'{"target": 3, "version": 1}',
                                  b'{"target": "x", "version": true}', b'{"target": "   ", "version": 1}'])
def test_a_bad_body_or_an_empty_english_gets_400_with_a_json_error(client, body):
    segment = _first(client)
    answer = client.put(f"/api/articles/{STEM}/segments/{segment['id']}", content=body,
                        headers={TOKEN_HEADER: TOKEN, "Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"]
    assert _first(client) == segment


def test_an_unknown_article_or_segment_gets_404(client):
    assert client.get("/api/articles/nothing").status_code == 404
    assert client.get("/articles/nothing").json()["error"]
    assert client.get("/api/articles/..%2Fcut").status_code == 404
    answer = _put(client, "p99.s9", {"target": "x", "version": 1})
    assert answer.status_code == 404 and "p99.s9" in answer.json()["error"]
    assert client.get("/no/such/page").status_code == 404


def test_tarjama_studio_prints_its_address_first_and_serves_the_folder(out, monkeypatch, capsys):
    from tarjama import cli
    from tarjama.studio import server

    served = []
    monkeypatch.setattr(server, "serve", lambda app, sock: served.append((app, sock.getsockname()[1])))
    assert cli.main(["studio", str(out), "--port", "0"]) == 0
    (app, port), = served
    assert capsys.readouterr().out.splitlines()[0] == f"studio: http://127.0.0.1:{port}/"
    client = TestClient(app, base_url=f"http://127.0.0.1:{port}")
    assert [a["stem"] for a in client.get("/api/articles").json()["articles"]] == [STEM]
    assert client.get("/api/articles", headers={"Host": f"127.0.0.1:{port + 1}"}).status_code == 403


def test_a_studio_other_machines_reach_needs_the_operator_s_secret(out, monkeypatch, capsys):
    from tarjama import cli
    from tarjama.studio.server import SECRET_ENV

    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert cli.main(["studio", str(out), "--host", "0.0.0.0"]) == 2
    assert SECRET_ENV in capsys.readouterr().err
    secret = "a-secret-of-the-operator"
    client = TestClient(create_app(out, host="192.0.2.7", port=PORT, token=TOKEN, secret=secret),
                        base_url=f"http://192.0.2.7:{PORT}")
    assert client.get("/api/articles").status_code == 403
    assert client.get(f"/?secret={secret}").status_code == 200  # sets the cookie
    assert client.get("/api/articles").json()["articles"][0]["stem"] == STEM
    assert TestClient(client.app, base_url=f"http://192.0.2.7:{PORT}").get("/?secret=wrong").status_code == 403


def test_an_outputs_folder_that_is_not_one_is_an_error_line(tmp_path, capsys):
    from tarjama import cli

    assert cli.main(["studio", str(tmp_path / "missing"), "--port", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_an_edit_never_becomes_html_and_confirming_the_approval_again_changes_nothing(client):
    segment = _first(client)
    edit = "<script>alert(1)</script> & <b>bold</b>"
    assert _put(client, segment["id"], {"target": edit, "version": 1}).json()["version"] == 2
    page = client.get(f"/articles/{STEM}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in page
    again = _put(client, segment["id"], {"target": edit, "version": 2})
    assert again.status_code == 200 and again.json()["version"] == 2  # the memory does not store it twice


def test_a_damaged_record_is_a_json_error_naming_it_never_a_traceback(client, out):
    (out / "broken.run.json").write_text("{not json", encoding="utf-8")
    answer = client.get("/api/articles/broken")
    assert answer.status_code == 400 and "broken.run.json" in answer.json()["error"]
    assert "Traceback" not in client.get("/api/articles").text


def _model_client(out, tiny_marian, glossary_path):
    # A short output cap: random weights decode to the whole budget.
    settings = RunSettings(model=str(tiny_marian), glossary=glossary_path, threads=1,
                           decoding=DecodingOptions(beam_size=2, max_output_tokens=6))
    return TestClient(create_app(out, host=HOST, port=PORT, token=TOKEN, settings=settings),
                      base_url=f"http://{HOST}:{PORT}", raise_server_exceptions=False)


def test_alternatives_are_the_beam_s_n_best_and_the_strict_terms_version_from_a_model_loaded_once(
        out, tiny_marian, glossary_path):
    from tarjama.translate.backends import loaded_models

    client = _model_client(out, tiny_marian, glossary_path)
    segment = next(s for s in client.get(f"/api/articles/{STEM}").json()["segments"] if s["terms"])
    url = f"/api/articles/{STEM}/segments/{segment['id']}/alternatives"
    answer = client.post(url, headers={TOKEN_HEADER: TOKEN})
    assert answer.status_code == 200, answer.text
    alternatives = answer.json()["alternatives"]
    assert alternatives and all(set(a) == {"target", "terms_hit", "kind"} and a["target"] for a in alternatives)
    assert [a["kind"] for a in alternatives] == ["n-best"] * (len(alternatives) - 1) + ["strict"]
    assert len({a["target"] for a in alternatives}) == len(alternatives)
    # The strict-terms version comes last and holds every glossary term of the sentence.
    assert alternatives[-1]["terms_hit"] == len(segment["terms"])
    assert all(t["target"] in alternatives[-1]["target"] for t in segment["terms"])
    translators = dict(client.app.state.model._translators)
    models = loaded_models()
    assert client.post(url, headers={TOKEN_HEADER: TOKEN}).json() == answer.json()  # the same decoding again
    assert client.app.state.model._translators == translators and loaded_models() == models
    assert len(translators) == 1
    assert _first(client) == client.get(f"/api/articles/{STEM}").json()["segments"][0]  # nothing stored


def test_alternatives_need_the_token_and_a_segment_the_article_has(client):
    segment = _first(client)
    url = f"/api/articles/{STEM}/segments/{segment['id']}/alternatives"
    assert client.post(url).status_code == 403
    missing = client.post(f"/api/articles/{STEM}/segments/p99.s9/alternatives", headers={TOKEN_HEADER: TOKEN})
    assert missing.status_code == 404 and "p99.s9" in missing.json()["error"]
    assert client.post("/api/articles/nothing/segments/p0.s0/alternatives",
                       headers={TOKEN_HEADER: TOKEN}).status_code == 404


def test_publish_republishes_the_approvals_and_says_which_segments_changed(client, out):
    segment = _first(client)
    assert _put(client, segment["id"], {"target": "The editor's own title", "version": 1}).status_code == 200
    assert "The editor's own title" not in output_paths(out, STEM).english.read_text(encoding="utf-8")
    answer = client.post(f"/api/articles/{STEM}/publish", headers={TOKEN_HEADER: TOKEN})
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] == [segment["id"]]
    assert answer.json()["created"] == read_record(output_paths(out, STEM).record).created
    assert answer.json()["created_shown"].endswith(" UTC")
    assert "The editor's own title" in output_paths(out, STEM).english.read_text(encoding="utf-8")
    record = read_record(output_paths(out, STEM).record)
    assert (record.segments[0].origin, record.segments[0].target) == ("approved", "The editor's own title")
    assert record.memory.translated == 0  # every sentence from the memory: no model ran
    again = client.post(f"/api/articles/{STEM}/publish", headers={TOKEN_HEADER: TOKEN})
    assert again.status_code == 200 and again.json()["changed"] == []


def test_publish_needs_the_token_and_a_known_article(client, out):
    before = output_paths(out, STEM).english.read_bytes()
    assert client.post(f"/api/articles/{STEM}/publish").status_code == 403
    assert client.post("/api/articles/nothing/publish", headers={TOKEN_HEADER: TOKEN}).status_code == 404
    assert output_paths(out, STEM).english.read_bytes() == before


def test_fuzzy_matches_are_the_closest_approved_sentences_until_the_segment_has_its_own(client, out):
    segment = _first(client)
    near = segment["source"] + " أمس"  # the same sentence, one word longer
    with open_memory(default_memory_path(out)) as memory:
        memory.approve([(near, "The near sentence's English"), ("كلمة", "Unrelated")], origin="test")
    url = f"/api/articles/{STEM}/segments/{segment['id']}/fuzzy"
    (match,) = client.get(url).json()["matches"]
    assert (match["source"], match["target"]) == (near, "The near sentence's English")
    assert 0.6 <= match["similarity"] < 1
    assert _put(client, segment["id"], {"target": "Its own", "version": 1}).status_code == 200
    assert client.get(url).json()["matches"] == []
    assert client.get(f"/api/articles/{STEM}/segments/p99.s9/fuzzy").status_code == 404


def test_publish_of_an_article_whose_source_is_gone_is_a_400_and_writes_nothing(client, out):
    import json

    data = json.loads(output_paths(out, STEM).record.read_text(encoding="utf-8"))
    data["source"] = str(out / "gone.txt")
    (out / "gone.run.json").write_text(json.dumps(data), encoding="utf-8")
    answer = client.post("/api/articles/gone/publish", headers={TOKEN_HEADER: TOKEN})
    assert answer.status_code == 400 and "gone.txt" in answer.json()["error"]
    assert not output_paths(out, "gone").english.exists()


def _with_term(client):
    return next(s for s in client.get(f"/api/articles/{STEM}").json()["segments"] if s["terms"])


def test_the_check_follows_the_typing_and_stores_nothing(client):
    segment = _with_term(client)
    url = f"/api/articles/{STEM}/segments/{segment['id']}/check"
    term = segment["terms"][0]["target"]
    without = client.post(url, json={"target": "An English without the glossary's term"},
                          headers={TOKEN_HEADER: TOKEN}).json()
    assert not without["terms"][0]["hit"]
    assert [w["flag"] for w in without["warnings"]][:1] == ["term_missed"]
    assert term in without["warnings"][0]["message"]
    every = " and ".join(t["target"].lower() for t in segment["terms"])
    with_term = client.post(url, json={"target": f"An English with {every}"}, headers={TOKEN_HEADER: TOKEN}).json()
    assert all(t["hit"] for t in with_term["terms"])
    assert "term_missed" not in [w["flag"] for w in with_term["warnings"]]
    assert client.post(url, json={"target": "x"}).status_code == 403
    assert client.post(url, content=b"{", headers={TOKEN_HEADER: TOKEN}).status_code == 400
    assert client.get(f"/api/articles/{STEM}").json()["segments"] == client.get(f"/api/articles/{STEM}").json()[
        "segments"] and _with_term(client) == segment


def _strict(out):
    """The article's record as a --strict-terms run would have written it (its other contents unchanged)."""
    import json

    path = output_paths(out, STEM).record
    data = json.loads(path.read_text(encoding="utf-8"))
    data["strict_terms"] = True
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_a_confirm_warns_of_a_missing_term_and_says_strict_mode_would_set_it_aside_but_stores_it(client, out):
    segment = _with_term(client)
    answer = _put(client, segment["id"], {"target": "No term here", "version": 1}).json()
    assert answer["origin"] == "approved" and [w["flag"] for w in answer["warnings"]] == ["term_missed"]
    _strict(out)
    answer = _put(client, segment["id"], {"target": "Still no term", "version": 2}).json()
    assert [w["flag"] for w in answer["warnings"]] == ["term_missed", "approval_set_aside"]
    assert "--strict-terms" in answer["warnings"][1]["message"]
    with open_memory(default_memory_path(out)) as memory:
        assert memory.approved(segment["source"]).target == "Still no term"


def _undo(client):
    return client.post(f"/api/articles/{STEM}/undo", headers={TOKEN_HEADER: TOKEN})


def test_undo_takes_back_the_last_confirm_then_the_one_before(client, out):
    segment = _first(client)
    assert _put(client, segment["id"], {"target": "First", "version": 1}).status_code == 200
    assert _put(client, segment["id"], {"target": "Second", "version": 2}).status_code == 200
    undone = _undo(client)
    assert undone.status_code == 200
    assert undone.json()["segment"]["target"] == "First" and undone.json()["segment"]["origin"] == "approved"
    back = _undo(client).json()["segment"]
    assert (back["target"], back["origin"]) == (segment["target"], segment["origin"])  # the run's English again
    assert back["version"] > 3  # each change is a new version: a tab holding an older one gets 409
    with open_memory(default_memory_path(out)) as memory:
        assert memory.approved(segment["source"]) is None
        assert {e.target for e in memory.past_approvals(segment["source"])} >= {"First", "Second"}  # kept
    nothing = _undo(client)
    assert nothing.status_code == 409 and "no confirm to undo" in nothing.json()["error"]


def test_undo_after_another_change_to_the_sentence_gets_409_and_undoes_nothing(client, out):
    segment = _first(client)
    assert _put(client, segment["id"], {"target": "Mine", "version": 1}).status_code == 200
    with open_memory(default_memory_path(out)) as memory:  # tm import, say, while the page was open
        memory.approve([(segment["source"], "Someone else's")], origin="elsewhere")
    answer = _undo(client)
    assert answer.status_code == 409 and answer.json()["current"]["target"] == "Someone else's"
    assert _first(client)["target"] == "Someone else's"
    assert client.post(f"/api/articles/{STEM}/undo").status_code == 403


def test_the_list_says_when_and_with_which_model_and_what_waits_to_be_published(client, out):
    record = read_record(output_paths(out, STEM).record)
    (article,) = client.get("/api/articles").json()["articles"]
    assert (article["created"], article["model"], article["waiting"]) == (record.created, record.model.name, 0)
    segment = _first(client)
    assert _put(client, segment["id"], {"target": "Waiting", "version": 1}).status_code == 200
    assert client.get("/api/articles").json()["articles"][0]["waiting"] == 1
    assert _first(client)["published"] is False
    page = client.get("/").text
    assert "1 change(s)" in page and "Waiting to publish" in page
    assert client.post(f"/api/articles/{STEM}/publish", headers={TOKEN_HEADER: TOKEN}).status_code == 200
    assert client.get("/api/articles").json()["articles"][0]["waiting"] == 0 and _first(client)["published"]


def test_the_page_marks_terms_in_the_arabic_says_where_the_english_came_from_and_keeps_teasers_apart(client, out):
    import json

    path = output_paths(out, STEM).record
    data = json.loads(path.read_text(encoding="utf-8"))
    data["segments"][-1]["kind"] = "related"  # as the segmenter marks a website's teaser links
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    page = client.get(f"/articles/{STEM}").text
    segment = _with_term(client)
    term = segment["terms"][0]
    assert f'data-term="0" title="{term["target"]}">{term["surface"]}</mark>' in page
    assert "the model&#39;s English (this run)" in page or "the memory&#39;s English" in page
    teaser = data["segments"][-1]["id"]
    heading = page.index("Related links (website teasers, not part of the article)")
    assert page.index(f'data-segment="{teaser}"') > heading
    assert all(page.index(f'data-segment="{s["id"]}"') < heading for s in data["segments"][:-1])


def test_undo_walks_back_through_confirms_of_several_segments(client):
    first, second = client.get(f"/api/articles/{STEM}").json()["segments"][:2]
    assert _put(client, first["id"], {"target": "A1", "version": first["version"]}).status_code == 200
    assert _put(client, second["id"], {"target": "B1", "version": second["version"]}).status_code == 200
    assert _put(client, first["id"], {"target": "A2", "version": _first(client)["version"]}).status_code == 200
    assert [_undo(client).json()["segment"]["target"] for _ in range(3)] == ["A1", second["target"], first["target"]]


def test_without_a_model_of_its_own_the_studio_asks_the_model_the_article_s_run_recorded(client, out, tiny_marian):
    segment = _with_term(client)
    answer = client.post(f"/api/articles/{STEM}/segments/{segment['id']}/alternatives", headers={TOKEN_HEADER: TOKEN})
    assert answer.status_code == 200, answer.text
    assert answer.json()["alternatives"][-1]["terms_hit"] == len(segment["terms"])  # the recorded glossary's terms
    (key,) = client.app.state.model._translators
    assert key[0] == str(tiny_marian.resolve())


def test_the_studio_command_s_model_options_override_the_record_only_when_given(out, monkeypatch):
    from tarjama import cli
    from tarjama.studio import server

    served = []
    monkeypatch.setattr(server, "serve", lambda app, sock: served.append(app))
    assert cli.main(["studio", str(out), "--port", "0"]) == 0
    assert cli.main(["studio", str(out), "--port", "0", "--model", "/some/model", "--beam-size", "2"]) == 0
    recorded, told = (app.state.model.choice for app in served)
    record = read_record(output_paths(out, STEM).record)
    as_run = served[0].state.studio.settings_of(record)
    assert recorded.settings_for(as_run) == as_run and as_run.model == record.model.name
    mine = told.settings_for(as_run)
    assert (mine.model, mine.decoding.beam_size) == ("/some/model", 2)
    assert mine.glossary == as_run.glossary and as_run.glossary is not None  # the article's glossary still


def test_arabic_and_glossary_text_from_the_record_never_become_html(client, out):
    import json

    path = output_paths(out, STEM).record
    data = json.loads(path.read_text(encoding="utf-8"))
    segment = next(s for s in data["segments"] if s.get("terms"))
    segment["terms"][0]["target"] = '"><img src=x onerror=alert(1)>'
    segment["source"] = "<script>alert(2)</script> " + segment["source"]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    page = client.get(f"/articles/{STEM}").text
    assert "<img" not in page and "<script>alert(2)" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page and "&#34;&gt;&lt;img src=x" in page


def test_two_studios_on_one_folder_share_the_memory_s_versions(out):
    from tarjama.studio.articles import StaleVersionError, Studio

    one, other = Studio(out), Studio(out)  # as two processes: no lock in common but the memory's
    segment = one.article(STEM).segments[0]
    assert one.confirm(STEM, segment.id, "From the first studio", segment.version).version == segment.version + 1
    with pytest.raises(StaleVersionError) as stale:
        other.confirm(STEM, segment.id, "From the second studio", segment.version)
    assert stale.value.current.target == "From the first studio"
    assert other.article(STEM).segments[0].target == "From the first studio"


def _edit_record(out, change):
    import json

    path = output_paths(out, STEM).record
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_a_run_record_s_relative_paths_are_found_beside_the_outputs_folder_whatever_the_studio_s_folder(
        client, out, published, glossary_path, tmp_path, monkeypatch):
    # As `tarjama translate cut.txt --glossary news.tsv --out out` run in tmp_path records them.
    shutil.copy(published[0], tmp_path / "cut.txt")
    shutil.copy(glossary_path, tmp_path / "news.tsv")
    _edit_record(out, lambda data: (data.update(source="cut.txt"), data["glossary"].update(path="news.tsv")))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    segment = _first(client)
    assert _put(client, segment["id"], {"target": "Found from elsewhere", "version": 1}).status_code == 200
    answer = client.post(f"/api/articles/{STEM}/publish", headers={TOKEN_HEADER: TOKEN})
    assert answer.status_code == 200, answer.text
    assert "Found from elsewhere" in output_paths(out, STEM).english.read_text(encoding="utf-8")
    republished = read_record(output_paths(out, STEM).record)
    assert republished.glossary.entries > 0  # the glossary came along
    # The record the studio writes names its files absolutely: the next reader may be anywhere.
    assert republished.source == str((tmp_path / "cut.txt").resolve())
    assert republished.glossary.path == str((tmp_path / "news.tsv").resolve())
    (tmp_path / "news.tsv").unlink()
    refused = client.post(f"/api/articles/{STEM}/publish", headers={TOKEN_HEADER: TOKEN})
    assert refused.status_code == 400 and "news.tsv" in refused.json()["error"]
    assert "start the studio in the folder" in refused.json()["error"]


def test_undo_after_a_publish_shows_the_withdrawn_approval_as_waiting_and_the_next_publish_drops_it(client, out):
    segment = _first(client)
    assert _put(client, segment["id"], {"target": "Published, then undone", "version": 1}).status_code == 200
    assert client.post(f"/api/articles/{STEM}/publish", headers={TOKEN_HEADER: TOKEN}).status_code == 200
    assert _first(client)["published"] and client.get("/api/articles").json()["articles"][0]["waiting"] == 0
    undone = _undo(client).json()["segment"]
    assert undone["published"] is False and "withdrawn" in undone["origin_label"] and undone["withdrawn"]
    page = client.get(f"/articles/{STEM}").text  # as a reload shows it
    row = page[page.index(f'data-segment="{segment["id"]}"') - 200:page.index(f'data-segment="{segment["id"]}"')]
    assert "approved" not in row.split("<section")[-1]
    assert "since withdrawn" in page and "approval withdrawn, not published yet" in page
    assert client.get("/api/articles").json()["articles"][0]["waiting"] == 1
    again = client.post(f"/api/articles/{STEM}/publish", headers={TOKEN_HEADER: TOKEN}).json()
    assert segment["id"] in again["changed"]
    assert "Published, then undone" not in output_paths(out, STEM).english.read_text(encoding="utf-8")
    assert _first(client)["published"] and _first(client)["origin"] != "approved"


def test_publish_without_the_recorded_model_says_the_model_is_needed(client, out):
    _edit_record(out, lambda data: data["model"].update(name="/no/such/model", path="/no/such/model"))
    before = output_paths(out, STEM).english.read_bytes()
    answer = client.post(f"/api/articles/{STEM}/publish", headers={TOKEN_HEADER: TOKEN})
    assert answer.status_code == 400 and "/no/such/model" in answer.json()["error"]
    assert "not on this machine" in answer.json()["error"]
    assert output_paths(out, STEM).english.read_bytes() == before


def test_a_body_over_the_limit_gets_413_and_nothing_is_stored(client):
    from tarjama.studio.app import MAX_BODY_BYTES

    segment = _first(client)
    huge = {"target": "x" * (MAX_BODY_BYTES + 1), "version": 1}
    assert _put(client, segment["id"], huge).status_code == 413
    check = client.post(f"/api/articles/{STEM}/segments/{segment['id']}/check", json={"target": huge["target"]},
                        headers={TOKEN_HEADER: TOKEN})
    assert check.status_code == 413 and check.json()["error"]
    assert _first(client) == segment


def test_a_damaged_record_is_listed_apart_and_the_other_articles_still_open(client, out):
    (out / "second.run.json").write_text('{"broken', encoding="utf-8")
    articles = client.get("/api/articles").json()["articles"]
    assert [a["stem"] for a in articles] == [STEM, "second"]
    assert articles[0]["error"] is None and articles[0]["segments"] > 0
    assert "second.run.json" in articles[1]["error"]
    page = client.get("/")
    assert page.status_code == 200 and f'href="/articles/{STEM}"' in page.text and "cannot be read" in page.text


def test_a_damaged_memory_stops_the_studio_at_the_start_with_one_error_line(out, capsys):
    from tarjama import cli

    default_memory_path(out).write_bytes(b"not a database at all" * 100)
    assert cli.main(["studio", str(out), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_an_unexpected_failure_is_a_json_500_and_one_line_in_the_terminal(client, monkeypatch, capsys):
    def broken():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(client.app.state.studio, "summaries", broken)
    answer = client.get("/api/articles")
    assert answer.status_code == 500 and "disk on fire" in answer.json()["error"]
    err = capsys.readouterr().err
    assert "studio: GET /api/articles failed: RuntimeError: disk on fire" in err and "Traceback" not in err


def test_a_studio_on_every_address_answers_any_host_that_carries_the_secret(out):
    secret = "a-secret-of-the-operator"
    app = create_app(out, host="0.0.0.0", port=PORT, token=TOKEN, secret=secret)
    client = TestClient(app, base_url=f"http://192.0.2.2:{PORT}")
    assert client.get("/api/articles").status_code == 403
    assert client.get(f"/?secret={secret}").status_code == 200
    assert client.get("/api/articles", headers={"Host": f"newsroom-box:{PORT}"}).status_code == 200
    assert client.get("/api/articles?secret=wrong").status_code == 200  # the session's cookie still holds


def test_the_printed_address_is_one_a_browser_takes():
    from tarjama.studio.server import address

    assert address("127.0.0.1", 8765) == "http://127.0.0.1:8765/"
    assert address("::", 8765) == "http://[::]:8765/" and address("::1", 1) == "http://[::1]:1/"

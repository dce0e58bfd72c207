// The studio's article page: the server checks the English as the editor types (terms, numbers, Arabic left),
// Ctrl+Enter confirms a segment and moves to the next, Undo takes the last confirm back.
// Text only ever goes in through textContent or value: nothing typed or read becomes HTML.
"use strict";
(function () {
  const token = document.querySelector('meta[name="tarjama-token"]').content;
  const main = document.querySelector("main[data-article]");
  if (!main) return;
  const stem = main.dataset.article;
  const segments = Array.from(main.querySelectorAll("[data-segment]"));
  const byId = new Map(segments.map(function (section) { return [section.dataset.segment, section]; }));
  const articleUrl = "/api/articles/" + encodeURIComponent(stem);

  function segmentUrl(section, what) {
    return articleUrl + "/segments/" + encodeURIComponent(section.dataset.segment) + (what ? "/" + what : "");
  }

  // Every call answers JSON (errors too: {"error": …}); a network failure reads as an error of its own.
  async function call(url, method, body) {
    const headers = {"X-Tarjama-Token": token};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      const response = await fetch(url, {method: method, headers: headers,
                                         body: body === undefined ? undefined : JSON.stringify(body)});
      let answer;
      try { answer = await response.json(); } catch (e) { answer = {error: "error " + response.status}; }
      return {ok: response.ok, status: response.status, answer: answer};
    } catch (e) {
      return {ok: false, status: 0, answer: {error: "the studio does not answer: is it still running?"}};
    }
  }

  function say(section, text, ok) {
    const message = section.querySelector(".message");
    message.textContent = text;
    message.classList.toggle("ok", Boolean(ok));
  }

  // The server's check of the English: the chips and the Arabic's marks by term, and the warnings.
  function showCheck(section, check) {
    check.terms.forEach(function (term, index) {
      for (const element of section.querySelectorAll('[data-term="' + index + '"]')) {
        element.classList.toggle("hit", term.hit);
        element.classList.toggle("miss", !term.hit);
      }
    });
    const list = section.querySelector(".warnings");
    list.replaceChildren();
    for (const warning of check.warnings) {
      const item = document.createElement("li");
      item.dataset.flag = warning.flag;
      item.textContent = warning.message;
      list.append(item);
    }
  }

  const pending = new Map();
  function checkSoon(section) {
    clearTimeout(pending.get(section));
    pending.set(section, setTimeout(async function () {
      const box = section.querySelector("textarea");
      const asked = box.value;
      const result = await call(segmentUrl(section, "check"), "POST", {target: asked});
      if (result.ok && box.value === asked) showCheck(section, result.answer);
    }, 120));
  }

  function refreshWaiting() {
    const waiting = main.querySelectorAll(".segment.unpublished").length;
    for (const element of document.querySelectorAll(".waiting")) element.textContent = String(waiting);
  }

  // What the memory holds for each box: a box whose text differs is an edit not confirmed yet.
  const stored = new Map();
  function markEdited(section) {
    const edited = section.querySelector("textarea").value !== stored.get(section);
    section.classList.toggle("edited", edited);
  }

  function show(section, segment) {
    stored.set(section, segment.target);
    markEdited(section);
    section.dataset.version = String(segment.version);
    section.querySelector(".version").textContent = String(segment.version);
    const origin = section.querySelector(".origin");
    origin.textContent = segment.origin_label;
    origin.dataset.origin = segment.origin;
    section.classList.toggle("approved", segment.origin === "approved" && !segment.withdrawn);
    section.classList.toggle("unpublished", !segment.published);
    section.querySelector(".state").textContent = segment.waiting_label ? " · " + segment.waiting_label : "";
    showCheck(section, segment);
    refreshWaiting();
  }

  async function confirm(section) {
    const box = section.querySelector("textarea");
    say(section, "");
    const result = await call(segmentUrl(section), "PUT",
                              {target: box.value, version: Number(section.dataset.version)});
    if (result.ok) {
      section.classList.remove("conflict");
      show(section, result.answer);
      say(section, result.answer.warnings.length ? "confirmed, with the warnings above" : "confirmed", true);
      return true;
    }
    if (result.status === 409) {
      // Nothing is lost: the editor's English stays in the box, the memory's is shown beside it, and the row
      // says what the memory holds now (its origin and version), so Ctrl+Enter again puts the editor's over it.
      const typed = box.value;
      show(section, result.answer.current);
      box.value = typed;
      markEdited(section);
      checkSoon(section);
      section.classList.add("conflict");
      say(section, result.answer.error + "\nIn the memory now: " + result.answer.current.target +
          "\nYours (still in the box): " + result.answer.yours.target + "\nCtrl+Enter again puts yours over it.");
      return false;
    }
    say(section, result.answer.error || ("error " + result.status));
    return false;
  }

  // Alternatives and fuzzy matches are offered as a list; picking one fills the box (nothing is stored yet).
  function offer(section, choices) {
    const list = section.querySelector(".choices");
    const box = section.querySelector("textarea");
    list.replaceChildren();
    if (choices.length === 0) {
      const none = document.createElement("li");
      none.textContent = "nothing to offer";
      list.append(none);
      return;
    }
    for (const choice of choices) {
      const item = document.createElement("li");
      item.tabIndex = 0;
      // Each part in its own isolate: Arabic, English and figures side by side keep their own directions.
      for (const part of choice.parts) {
        const piece = document.createElement("bdi");
        piece.textContent = part.text;
        if (part.arabic) { piece.lang = "ar"; piece.dir = "rtl"; }
        if (part.note) piece.className = "note";
        item.append(piece, " ");
      }
      const take = function () {
        box.value = choice.target;
        box.dispatchEvent(new Event("input"));
        list.replaceChildren();
        box.focus();
      };
      item.addEventListener("click", take);
      item.addEventListener("keydown", function (event) { if (event.key === "Enter") take(); });
      list.append(item);
    }
  }

  async function ask(section, what, method, toChoices) {
    say(section, what === "alternatives" ? "asking the model…" : "", true);
    const result = await call(segmentUrl(section, what), method);
    say(section, result.ok ? "" : (result.answer.error || ("error " + result.status)));
    if (result.ok) offer(section, toChoices(result.answer));
  }

  const status = document.querySelector(".published");
  const publishButton = document.querySelector("button.publish");
  publishButton.addEventListener("click", async function () {
    status.textContent = "publishing…";
    publishButton.disabled = true;
    const result = await call(articleUrl + "/publish", "POST");
    publishButton.disabled = false;
    if (!result.ok) {
      status.textContent = result.answer.error || ("error " + result.status);
      return;
    }
    document.querySelector(".created").textContent = result.answer.created_shown;
    const changed = result.answer.changed;
    const unconfirmed = main.querySelectorAll(".segment.edited").length;
    status.textContent = "published " + result.answer.english + ": " +
      (changed.length ? changed.length + " segment(s) changed: " + changed.join(", ") : "nothing changed") +
      (unconfirmed ? " (" + unconfirmed + " edit(s) not confirmed are not in it: Ctrl+Enter them first)" : "");
    const article = await call(articleUrl, "GET");
    if (article.ok) {
      for (const segment of article.answer.segments) {
        const section = byId.get(segment.id);
        if (section) show(section, segment);
      }
    }
  });

  document.querySelector("button.undo").addEventListener("click", async function () {
    const edited = main.querySelectorAll(".segment.edited").length;
    if (edited && !window.confirm(edited + " segment(s) hold text not confirmed. Undo the last confirm anyway? " +
                                  "(If it is one of them, its box goes back to the English before that confirm.)")) {
      return;
    }
    const result = await call(articleUrl + "/undo", "POST");
    if (!result.ok) {
      status.textContent = result.answer.error || ("error " + result.status);
      return;
    }
    const segment = result.answer.segment;
    const section = byId.get(segment.id);
    status.textContent = "undone: " + segment.id + " is back to version " + segment.version;
    if (!section) return;
    section.querySelector("textarea").value = segment.target;
    section.querySelector("textarea").dispatchEvent(new Event("input"));
    section.classList.remove("conflict");
    show(section, segment);
    say(section, "the last confirm was undone", true);
    section.querySelector("textarea").focus();
  });

  // The box grows with its English, so a long sentence is read and typed without scrolling inside it.
  function fit(box) {
    box.style.height = "auto";
    box.style.height = (box.scrollHeight + 4) + "px";
  }

  // On load, all at once: every height read after every write, so the page is laid out once, not per box.
  const boxes = segments.map(function (section) { return section.querySelector("textarea"); });
  boxes.forEach(function (box) { box.style.height = "auto"; });
  boxes.map(function (box) { return box.scrollHeight; })
    .forEach(function (height, n) { boxes[n].style.height = (height + 4) + "px"; });

  // Nothing typed is lost by leaving the page: the browser asks first while an edit is not confirmed.
  window.addEventListener("beforeunload", function (event) {
    if (main.querySelector(".segment.edited")) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  segments.forEach(function (section, index) {
    const box = section.querySelector("textarea");
    stored.set(section, box.value);
    box.addEventListener("input", function () { fit(box); });
    section.querySelector(".ask-alternatives").addEventListener("click", function () {
      ask(section, "alternatives", "POST", function (answer) {
        return answer.alternatives.map(function (a) {
          const kind = a.kind === "strict" ? "strict terms" : "model";
          return {target: a.target, parts: [{text: a.target},
                                            {text: "(" + kind + "; glossary terms: " + a.terms_hit + ")", note: true}]};
        });
      });
    });
    section.querySelector(".ask-fuzzy").addEventListener("click", function () {
      ask(section, "fuzzy", "GET", function (answer) {
        return answer.matches.map(function (m) {
          return {target: m.target, parts: [{text: Math.round(m.similarity * 100) + "%", note: true},
                                            {text: m.source, arabic: true}, {text: "→", note: true},
                                            {text: m.target}]};
        });
      });
    });
    box.addEventListener("input", function () { markEdited(section); checkSoon(section); });
    box.addEventListener("keydown", async function (event) {
      if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
      event.preventDefault();
      if (await confirm(section) && index + 1 < segments.length) {
        segments[index + 1].querySelector("textarea").focus();
      }
    });
  });
})();

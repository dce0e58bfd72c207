// The studio's article page: chips follow the typing, Ctrl+Enter confirms a segment and moves to the next.
// Text only ever goes in through textContent or value: nothing typed or read becomes HTML.
"use strict";
(function () {
  const token = document.querySelector('meta[name="tarjama-token"]').content;
  const main = document.querySelector("main[data-article]");
  if (!main) return;
  const stem = main.dataset.article;
  const segments = Array.from(main.querySelectorAll("[data-segment]"));

  // The contract's hit test, as the pipeline's: the target, case-insensitively, in the English.
  function refreshChips(section) {
    const english = section.querySelector("textarea").value.toLowerCase();
    for (const chip of section.querySelectorAll(".chip")) {
      const hit = english.includes(chip.dataset.target.toLowerCase());
      chip.classList.toggle("hit", hit);
      chip.classList.toggle("miss", !hit);
    }
  }

  function show(section, segment) {
    section.dataset.version = String(segment.version);
    section.querySelector(".version").textContent = String(segment.version);
    section.querySelector(".origin").textContent = segment.origin;
    section.classList.toggle("approved", segment.origin === "approved");
  }

  async function confirm(section) {
    const box = section.querySelector("textarea");
    const message = section.querySelector(".message");
    message.textContent = "";
    const url = "/api/articles/" + encodeURIComponent(stem) + "/segments/" + encodeURIComponent(section.dataset.segment);
    const response = await fetch(url, {
      method: "PUT",
      headers: {"Content-Type": "application/json", "X-Tarjama-Token": token},
      body: JSON.stringify({target: box.value, version: Number(section.dataset.version)}),
    });
    const answer = await response.json();
    if (response.ok) {
      section.classList.remove("conflict");
      show(section, answer);
      return true;
    }
    if (response.status === 409) {
      // Nothing is lost: the editor's English stays in the box, the memory's is shown beside it.
      section.classList.add("conflict");
      message.textContent = answer.error + "\nIn the memory now: " + answer.current.target +
        "\nConfirm again to put yours over it.";
      section.dataset.version = String(answer.current.version);
      return false;
    }
    message.textContent = answer.error || ("error " + response.status);
    return false;
  }

  function segmentUrl(section, what) {
    return "/api/articles/" + encodeURIComponent(stem) + "/segments/" + encodeURIComponent(section.dataset.segment) +
      "/" + what;
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
      item.textContent = choice.label;
      item.addEventListener("click", function () {
        box.value = choice.target;
        refreshChips(section);
        box.focus();
      });
      list.append(item);
    }
  }

  async function ask(section, what, method, toChoices) {
    const message = section.querySelector(".message");
    message.textContent = what === "alternatives" ? "asking the model…" : "";
    const response = await fetch(segmentUrl(section, what), {method: method, headers: {"X-Tarjama-Token": token}});
    const answer = await response.json();
    message.textContent = response.ok ? "" : (answer.error || ("error " + response.status));
    if (response.ok) offer(section, toChoices(answer));
  }

  const publishButton = document.querySelector("button.publish");
  if (publishButton) {
    publishButton.addEventListener("click", async function () {
      const status = document.querySelector(".published");
      status.textContent = "publishing…";
      const response = await fetch("/api/articles/" + encodeURIComponent(stem) + "/publish",
                                   {method: "POST", headers: {"X-Tarjama-Token": token}});
      const answer = await response.json();
      status.textContent = response.ok
        ? "published: " + (answer.changed.length ? answer.changed.length + " segment(s) changed: " +
                           answer.changed.join(", ") : "nothing changed")
        : (answer.error || ("error " + response.status));
    });
  }

  segments.forEach(function (section, index) {
    const box = section.querySelector("textarea");
    section.querySelector(".ask-alternatives").addEventListener("click", function () {
      ask(section, "alternatives", "POST", function (answer) {
        return answer.alternatives.map(function (a) {
          return {target: a.target, label: a.target + "  (terms: " + a.terms_hit + ")"};
        });
      });
    });
    section.querySelector(".ask-fuzzy").addEventListener("click", function () {
      ask(section, "fuzzy", "GET", function (answer) {
        return answer.matches.map(function (m) {
          return {target: m.target, label: Math.round(m.similarity * 100) + "%  " + m.source + " → " + m.target};
        });
      });
    });
    box.addEventListener("input", function () { refreshChips(section); });
    box.addEventListener("keydown", async function (event) {
      if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
      event.preventDefault();
      if (await confirm(section) && index + 1 < segments.length) {
        segments[index + 1].querySelector("textarea").focus();
      }
    });
  });
})();

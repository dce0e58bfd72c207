"""The reviewer report: one self-contained HTML page per run (no scripts, fonts or links to fetch).

Scores with their sacrebleu signatures, a chart of per-paragraph scores, the glossary terms, the
flagged sentences and every sentence side by side, Arabic right to left. Every piece of source or
model text is HTML-escaped.
"""

from __future__ import annotations

from html import escape as _escape

from tarjama.publish.escaping import UNSAFE_CHARS, inline
from tarjama.publish.record import RunRecord, SegmentRecord
from tarjama.record.labels import Flag, flag_label

_CHART_WIDTH = 720
_CHART_HEIGHT = 180
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1d1d1f;
       background: #fff; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; }
th, td { border: 1px solid #ddd; padding: .35rem .5rem; vertical-align: top; text-align: start; }
th { background: #f4f4f6; }
.ar { font-family: "Noto Naskh Arabic", "Amiri", serif; font-size: 1.1rem; display: block; }
.num { text-align: end; font-variant-numeric: tabular-nums; }
.sig { font-family: ui-monospace, monospace; font-size: .8rem; color: #555; }
.flag { color: #9a3412; }
mark { background: #fde68a; } mark.missed { background: #fecaca; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; }
.card { border: 1px solid #ddd; border-radius: .5rem; padding: .6rem 1rem; min-width: 9rem; }
.card b { display: block; font-size: 1.5rem; }
svg text { font-size: 11px; fill: #333; }
"""


def escape(text: str) -> str:
    """HTML-escape untrusted text, dropping bidi overrides and control characters that could reorder the page."""
    return _escape(UNSAFE_CHARS.sub("", text), quote=True)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _arabic(text: str) -> str:
    return f'<span class="ar" dir="rtl" lang="ar">{escape(text)}</span>'


def _marked_arabic(segment: SegmentRecord) -> str:
    pieces, position = [], 0
    for term in sorted(segment.terms, key=lambda t: t.match.start):
        start, end = term.match.start - segment.start, term.match.end - segment.start
        if start < position:
            continue
        css = "" if term.hit else ' class="missed"'
        pieces += [escape(segment.source[position:start]),
                   f'<mark{css} title="{escape(term.match.target)}">{escape(segment.source[start:end])}</mark>']
        position = end
    pieces.append(escape(segment.source[position:]))
    return f'<span class="ar" dir="rtl" lang="ar">{"".join(pieces)}</span>'


def _cards(record: RunRecord) -> str:
    scores = record.scores
    reference = scores.reference
    cards = [("BLEU", _number(reference.bleu if reference else None)),
             ("chrF2++", _number(reference.chrf if reference else None)),
             ("TER", _number(reference.ter if reference else None)),
             ("Glossary terms", _percent(scores.term_success_rate)),
             ("Term consistency", _percent(scores.term_consistency)),
             ("Flagged sentences", str(sum(1 for s in record.segments if _problems(s)))),
             ("Approved by an editor", str(_approved(record)))]
    return '<div class="cards">' + "".join(f'<div class="card">{escape(label)}<b>{escape(value)}</b></div>'
                                           for label, value in cards) + "</div>"


def _signatures(record: RunRecord) -> str:
    reference = record.scores.reference
    if reference is None:
        return "<p>No reference was given: BLEU, chrF++ and TER are not computed.</p>"
    rows = "".join(f'<tr><td>{escape(name)}</td><td class="sig">{escape(signature)}</td></tr>'
                   for name, signature in reference.signatures.items())
    return f"<table><tr><th>metric</th><th>sacrebleu signature</th></tr>{rows}</table>"


def _paragraph_values(record: RunRecord) -> tuple[str, list[float | None]]:
    if record.scores.paragraph_chrf:
        return "chrF++ per paragraph", list(record.scores.paragraph_chrf)
    values: list[float | None] = []
    for paragraph in record.document.paragraphs:
        terms = [t for s in record.segments if s.paragraph == paragraph.index for t in s.terms]
        values.append(100 * sum(t.hit for t in terms) / len(terms) if terms else None)
    return "glossary terms with their target, per paragraph (%)", values


def _chart(record: RunRecord) -> str:
    """An inline SVG bar chart of per-paragraph scores (0-100)."""
    title, values = _paragraph_values(record)
    count = max(1, len(values))
    left, bottom, top = 32, 20, 10
    inner_width, inner_height = _CHART_WIDTH - left - 8, _CHART_HEIGHT - bottom - top
    step = inner_width / count
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{_CHART_WIDTH}" height="{_CHART_HEIGHT}" '
             f'viewBox="0 0 {_CHART_WIDTH} {_CHART_HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for tick in (0, 50, 100):
        y = top + inner_height * (1 - tick / 100)
        parts.append(f'<line x1="{left}" x2="{_CHART_WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for index, value in enumerate(values):
        x = left + index * step + step * 0.15
        label = f"paragraph {index}: " + ("no value" if value is None else f"{value:.1f}")
        if value is None:
            parts.append(f'<text x="{x + step * 0.35:.1f}" y="{top + inner_height - 2:.1f}" '
                         f'text-anchor="middle"><title>{escape(label)}</title>·</text>')
            continue
        height = inner_height * max(0.0, min(100.0, value)) / 100
        parts.append(f'<rect x="{x:.1f}" y="{top + inner_height - height:.1f}" width="{step * 0.7:.1f}" '
                     f'height="{height:.1f}" fill="#2563eb"><title>{escape(label)}</title></rect>')
        if count <= 40:
            parts.append(f'<text x="{x + step * 0.35:.1f}" y="{_CHART_HEIGHT - 6}" '
                         f'text-anchor="middle">{index}</text>')
    parts.append("</svg>")
    return f"<figure>{''.join(parts)}<figcaption>{escape(title)}</figcaption></figure>"


def _terms(record: RunRecord) -> str:
    if not record.scores.terms:
        return "<p>No glossary term was found in the article.</p>"
    rows = "".join(
        f"<tr><td>{_arabic(t.source)}</td><td>{escape(t.target)}</td><td class='num'>{t.occurrences}</td>"
        f"<td class='num'>{t.hits}</td><td class='num'>{_percent(t.success_rate)}</td>"
        f"<td class='num'>{_percent(t.consistency)}</td></tr>" for t in record.scores.terms)
    return ("<table><tr><th>Arabic</th><th>English</th><th>found</th><th>with target</th><th>success</th>"
            f"<th>consistency</th></tr>{rows}</table>")


def _problems(segment: SegmentRecord) -> list[str]:
    return [flag for flag in segment.flags if flag not in _INFORMATIONAL]


_INFORMATIONAL = frozenset(flag for flag in Flag if flag.informational)


def _approved(record: RunRecord) -> int:
    """Sentences whose English is an editor's approved translation."""
    return sum(1 for s in record.segments if Flag.APPROVED in s.flags)


def _flags(record: RunRecord) -> str:
    counts = "".join(f"<tr><td>{escape(flag_label(flag))}</td><td class='num'>{count}</td></tr>"
                     for flag, count in record.scores.flags.items() if flag != Flag.APPROVED)
    flagged = [s for s in record.segments if _problems(s)]
    rows = "".join(
        f"<tr><td>{escape(s.id)}</td><td class='flag'>{escape('; '.join(flag_label(f) for f in _problems(s)))}"
        f"</td><td>{_marked_arabic(s)}</td><td>{escape(s.target)}</td></tr>" for s in flagged)
    table = ("<table><tr><th>segment</th><th>flags</th><th>Arabic</th><th>English</th></tr>"
             f"{rows}</table>") if flagged else "<p>No sentence is flagged.</p>"
    return f"<table><tr><th>flag</th><th>sentences</th></tr>{counts}</table>{table}" if counts else table


def _sentences(record: RunRecord) -> str:
    rows = "".join(f"<tr><td>{escape(s.id)}</td><td>{_marked_arabic(s)}</td><td>{escape(s.target)}</td></tr>"
                   for s in record.segments)
    return f"<table><tr><th>segment</th><th>Arabic</th><th>English</th></tr>{rows}</table>"


def render_report(record: RunRecord) -> str:
    """The whole report as one HTML document."""
    english = record.paragraph_english()
    title = english[0] if english and english[0] else record.document.path.name
    glossary = f"{record.glossary.path} ({len(record.glossary.entries)} entries)" if record.glossary else "none"
    facts = [("source", str(record.document.path)), ("model", record.model.name), ("backend", record.backend),
             ("glossary", glossary), ("strict terms", "yes" if record.strict_terms else "no"),
             ("reference", record.reference_path or "none"), ("date", record.created)]
    facts_html = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Report: {escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
        f"<h1>{escape(title)}</h1>", f"<table>{facts_html}</table>",
        "<h2>Scores</h2>", _cards(record), _signatures(record),
        "<h2>Per paragraph</h2>", _chart(record),
        "<h2>Glossary terms</h2>", _terms(record),
        "<h2>Flags</h2>", _flags(record),
        "<h2>Sentences</h2>", _sentences(record),
        "</body>", "</html>", ""])


def scores_markdown(record: RunRecord) -> str:
    """A short Markdown summary of a run's scores (what the Prefect UI shows as the run's artifact)."""
    scores = record.scores
    reference = scores.reference
    rows = [("BLEU", _number(reference.bleu if reference else None)),
            ("chrF2++", _number(reference.chrf if reference else None)),
            ("TER", _number(reference.ter if reference else None)),
            ("glossary terms with their target", f"{scores.terms_hit}/{scores.terms_matched} "
                                                 f"({_percent(scores.term_success_rate)})"),
            ("term consistency", _percent(scores.term_consistency)),
            ("flagged sentences", str(sum(1 for s in record.segments if _problems(s)))),
            (Flag.APPROVED.label, str(_approved(record)))]
    lines = [f"# Scores: {inline(record.document.path.name)}", "",
             f"Model `{record.model.name}` ({record.backend}), strict terms: "
             f"{'yes' if record.strict_terms else 'no'}.", "", "| measure | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    if reference is not None:
        lines += ["", *[f"- {name}: `{signature}`" for name, signature in reference.signatures.items()]]
    return "\n".join(lines) + "\n"

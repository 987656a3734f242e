"""The report's three formats: Markdown, self-contained HTML and JSON.

All three are pure functions of a :class:`~convtheory.report.run.Report`.
Timings appear only in the JSON, in fields named ``seconds`` (and the
top-level ``timing``), so the Markdown of a seed is byte-identical from run
to run, and so is the JSON once those fields are dropped.
"""

from __future__ import annotations

import base64
import html
import json


from ..verdict import json_finite, jsonable
from .humanize import evidence_text, scope_text, value_text
from .run import SCHEMA_VERSION, Report

__all__ = ["FIGURE_DIR", "figure_path", "to_html", "to_json", "to_markdown"]

#: Subdirectory of the output directory that holds the figures.
FIGURE_DIR = "figures"

_STATUS = {"confirmed": "yes", "refuted": "**NO**", "error": "**ERROR**",
           "unavailable": "**NOT AVAILABLE**"}


def figure_path(figure) -> str:
    """Path of a rendered figure, relative to the report."""
    return f"{FIGURE_DIR}/{figure.filename}"


# ---- shared formatting --------------------------------------------------

def _expected(result) -> str:
    return "holds" if result.claim.expected else "fails"


def _methods(result) -> str:
    return ", ".join(dict.fromkeys(v.method for v in result.verdicts)) or "-"


def _scope(result) -> str:
    """The summary table's scope: the first verdict's, in words, and how many more there are."""
    scopes = list(dict.fromkeys(scope_text(v.scope) for v in result.verdicts))
    if not scopes:
        return result.message
    more = len(scopes) - 1
    return scopes[0] + (f" (and {more} more case{'s' if more > 1 else ''}, below)" if more else "")


def _summary_line(report: Report) -> str:
    c = report.counts()
    mode = "quick run" if report.quick else "full run"
    parts = [f"{c['confirmed']} confirmed"]
    for status, label in (("refuted", "not confirmed"), ("error", "errors"),
                          ("unavailable", "not available")):
        if c[status]:
            parts.append(f"{c[status]} {label}")
    verdict = "Every claim is confirmed." if report.confirmed else "Some claims are NOT confirmed."
    return f"Seed {report.seed}, {mode}: {c['claims']} claims, {', '.join(parts)}. {verdict}"


def _by_section(report: Report):
    for section in report.sections:
        results = [r for r in report.results if r.claim.section == section.id]
        if results:
            yield section, results


def _verdict_line(v) -> str:
    tag = "holds" if v.holds else "fails"
    return f"`{v.name}` {tag}: {v.statement} [{v.method}; {scope_text(v.scope)}]"


# ---- Markdown -------------------------------------------------------------

def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown, figures linked from ``figures/``.

    Examples
    --------
    >>> from convtheory.report.run import run_report
    >>> md = to_markdown(run_report(sections=["channels"], figures=False, progress=False))
    >>> md.splitlines()[0]
    '# convtheory verification report'
    """
    out = ["# convtheory verification report", "",
           _summary_line(report), "",
           f"Regenerate with `convtheory verify --seed {report.seed}"
           f"{' --quick' if report.quick else ''}`. Each claim states its expected outcome: "
           "a claim that a property *fails* (for example zero padding and translation "
           "equivariance at the border) is confirmed when its check fails. Timings are in "
           "`verification.json`.", "",
           "## Summary", "",
           "| claim | expected | confirmed? | method | scope | key figure |",
           "|---|---|---|---|---|---|"]
    for r in report.results:
        key = f"[{r.figures[0].name}]({figure_path(r.figures[0])})" if r.figures else ""
        out.append("| " + " | ".join(_cell(c) for c in (
            f"[{r.claim.id}](#{_anchor(r.claim.id)}) {r.claim.statement}", _expected(r),
            _STATUS[r.status], _methods(r), _scope(r), key)) + " |")
    for number, (section, results) in enumerate(_by_section(report), start=1):
        out += ["", f"## {number}. {section.title}", "", f"> {section.quote}"]
        for r in results:
            out += ["", f"### {r.claim.id}", "", f"**Claim:** {r.claim.statement}", "",
                    f"Expected: the check {_expected(r)}. Confirmed: {_STATUS[r.status]}."]
            if r.message:
                out += ["", f"{r.message}"]
            if r.verdicts:
                out.append("")
            for v in r.verdicts:
                out.append(f"- {_verdict_line(v)}")
                evidence = evidence_text(v.evidence)
                if evidence:
                    out.append(f"  - evidence: {evidence}")
                if v.counterexample is not None:
                    out.append(f"  - counterexample: {value_text(v.counterexample)}")
            for c in r.certificates:
                if c.assumptions:
                    out.append(f"  - assumptions: {'; '.join(map(str, c.assumptions))}")
                if c.argument:
                    out += ["", "**Argument.** " + " ".join(str(c.argument).split())]
            for f in r.figures:
                if f.animated:  # linked, not inlined: a Markdown viewer may not animate it
                    out += ["", f"[Animation (GIF): {f.caption}]({figure_path(f)})"]
                else:
                    out += ["", f"![{f.caption}]({figure_path(f)})", "", f"*{f.caption}*"]
    return "\n".join(out) + "\n"


def _anchor(claim_id: str) -> str:
    # GitHub's heading anchors: lower case, punctuation other than - and _ dropped.
    return "".join(ch for ch in claim_id.lower() if ch.isalnum() or ch in "-_")


# ---- HTML -----------------------------------------------------------------

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;color:#1d1d1f;background:#fff}
h1,h2,h3{line-height:1.25}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-family:ui-monospace,monospace;font-size:1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #ddd;
padding:4px 6px;vertical-align:top;text-align:left}th{background:#f5f5f7}
blockquote{margin:0;padding:.2em 1em;border-left:4px solid #ccc;color:#555}
code{font-family:ui-monospace,monospace;font-size:90%;background:#f5f5f7;padding:0 .2em}
.confirmed{color:#137333;font-weight:600}.refuted,.error,.unavailable{color:#b3261e;font-weight:700}
.evidence{color:#444;font-size:13px}figure{margin:1em 0}figure img{max-width:100%;
border:1px solid #eee}figcaption{font-size:13px;color:#555}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def to_html(report: Report) -> str:
    """The report as one self-contained HTML page (figures embedded as base64 PNG or GIF).

    Examples
    --------
    >>> from convtheory.report.run import run_report
    >>> page = to_html(run_report(sections=["channels"], figures=False, progress=False))
    >>> page.startswith("<!DOCTYPE html>"), "http" in page
    (True, False)
    """
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>convtheory verification report</title>", f"<style>{_CSS}</style>",
           "</head><body>", "<h1>convtheory verification report</h1>",
           f"<p>{_e(_summary_line(report))}</p>",
           "<h2>Summary</h2><table><tr><th>claim</th><th>expected</th><th>confirmed?</th>"
           "<th>method</th><th>scope</th></tr>"]
    for r in report.results:
        out.append(
            f'<tr><td><a href="#{_e(_anchor(r.claim.id))}"><code>{_e(r.claim.id)}</code></a> '
            f"{_e(r.claim.statement)}</td><td>{_expected(r)}</td>"
            f'<td class="{r.status}">{_e(_STATUS[r.status].strip("*").lower())}</td>'
            f"<td>{_e(_methods(r))}</td><td>{_e(_scope(r))}</td></tr>")
    out.append("</table>")
    for number, (section, results) in enumerate(_by_section(report), start=1):
        out.append(f"<h2>{number}. {_e(section.title)}</h2><blockquote>{_e(section.quote)}"
                   "</blockquote>")
        for r in results:
            out.append(f'<h3 id="{_e(_anchor(r.claim.id))}">{_e(r.claim.id)}</h3>'
                       f"<p><b>Claim:</b> {_e(r.claim.statement)}<br>Expected: the check "
                       f'{_expected(r)}. Confirmed: <span class="{r.status}">'
                       f'{_e(_STATUS[r.status].strip("*").lower())}</span>.</p>')
            if r.message:
                out.append(f"<p>{_e(r.message)}</p>")
            if r.verdicts:
                out.append("<ul>")
                for v in r.verdicts:
                    evidence = evidence_text(v.evidence)
                    extra = (f'<br><span class="evidence">evidence: {_e(evidence)}</span>'
                             if evidence else "")
                    if v.counterexample is not None:
                        extra += (f'<br><span class="evidence">counterexample: '
                                  f"{_e(value_text(v.counterexample))}</span>")
                    out.append(f"<li><code>{_e(v.name)}</code> {'holds' if v.holds else 'fails'}: "
                               f"{_e(v.statement)} [{_e(v.method)}; {_e(scope_text(v.scope))}]"
                               f"{extra}</li>")
                out.append("</ul>")
            for c in r.certificates:
                if c.assumptions:
                    assumptions = "; ".join(map(str, c.assumptions))
                    out.append(f"<p><b>Assumptions.</b> {_e(assumptions)}</p>")
                if c.argument:
                    out.append(f"<p><b>Argument.</b> {_e(' '.join(str(c.argument).split()))}</p>")
            for f in r.figures:
                data = base64.b64encode(f.png).decode("ascii")
                out.append(f'<figure><img alt="{_e(f.caption)}" src="data:{f.mime};base64,{data}">'
                           f"<figcaption>{_e(f.caption)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ---- JSON -----------------------------------------------------------------

def to_json(report: Report) -> str:
    """The report as JSON (``schema_version``, ``claims``, ``verdicts``, ``certificates``).

    Timings are only in fields named ``seconds`` and in ``timing``.

    Examples
    --------
    >>> from convtheory.report.run import run_report
    >>> data = json.loads(to_json(run_report(sections=["channels"], figures=False,
    ...                                      progress=False)))
    >>> data["schema_version"], data["verdicts"][0]["confirmed"]
    (1, True)
    """
    from .._version import __version__

    claims, verdicts, certificates = [], [], []
    for r in report.results:
        claims.append({
            "id": r.claim.id, "section": r.claim.section, "statement": r.claim.statement,
            "expected": r.claim.expected, "status": r.status, "confirmed": r.confirmed,
            "message": r.message, "figures": [figure_path(f) for f in r.figures],
            "seconds": r.seconds})
        share = r.seconds / max(len(r.verdicts), 1)
        for v in r.verdicts:
            verdicts.append({
                "claim": r.claim.id, "section": r.claim.section, "name": v.name,
                "statement": v.statement, "holds": v.holds, "expected": r.claim.expected,
                "confirmed": v.holds == r.claim.expected and r.confirmed, "method": v.method,
                "scope": v.scope, "evidence": jsonable(v.evidence),
                "counterexample": jsonable(v.counterexample), "seconds": share})
        if not r.verdicts:  # an error or a missing module is a verdict too: not confirmed
            verdicts.append({
                "claim": r.claim.id, "section": r.claim.section, "name": r.claim.id,
                "statement": r.claim.statement, "holds": None, "expected": r.claim.expected,
                "confirmed": False, "method": None, "scope": None,
                "evidence": {"status": r.status, "message": r.message},
                "counterexample": None, "seconds": r.seconds})
        for c in r.certificates:
            certificates.append({"claim": r.claim.id, **c.to_dict()})
    data = {
        "schema_version": SCHEMA_VERSION, "tool": "convtheory", "version": __version__,
        "seed": report.seed, "quick": report.quick, "all_confirmed": report.confirmed,
        "summary": report.counts(),
        "sections": [{"id": s.id, "title": s.title, "quote": s.quote} for s in report.sections],
        "claims": claims, "verdicts": verdicts, "certificates": certificates,
        "timing": {"seconds": report.seconds},
    }
    return json.dumps(json_finite(data), indent=2, allow_nan=False) + "\n"



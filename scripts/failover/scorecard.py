"""Writes a failover run's results: results.json (everything measured, for
machines) and SCORECARD.md (the verdict table, each scenario's checks and
wall log, the summary and the exact gateway config, for people)."""

from __future__ import annotations

import json
import os

MARK = {"pass": "PASS", "partial": "PARTIAL", "safe": "SAFE", "fail": "FAIL"}


def _fmt_s(value) -> str:
    return "–" if value is None else f"{value:.2f} s"


def summary_line(summary: dict[str, int], total: int) -> str:
    return (f"{summary['pass']} pass · {summary['partial']} partial · {summary['safe']} safe · "
            f"{summary['fail']} fail (of {total})")


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: dict) -> str:
    rows = doc["scenarios"]
    out = [
        f"# Steadfast failover scorecard: {doc['profile']} profile, {doc['ingress']} ingress, {doc['timing']} timing",
        "",
        f"**{summary_line(doc['summary'], len(rows))}**",
        "",
        f"- binary: `{doc['binary']}` ({doc['binary_version']})",
        f"- profile: `{doc['profile']}`, ingress: `{doc['ingress']}` SDK, timing: `{doc['timing']}`"
        + (" (local loop only: the catalogue's check values are set for full timing)" if doc["timing"] == "fast" else ""),
        f"- wall timing: {', '.join(f'{k}={v:g}' for k, v in doc['wall_timing'].items())}",
        f"- started {doc['started_at']}, took {doc['run_seconds']:.0f} s; "
        "verdicts and checks follow failoverbench methodology v0.1",
    ]
    if doc.get("gateway_exit"):
        out += ["", f"**The gateway exited during the run: {doc['gateway_exit']}** (see gateway.log)"]
    if doc.get("notes"):
        out += [""] + [f"> {n}" for n in doc["notes"]]
    out += ["", "| Scenario | Verdict | Attempts p/f | First gap | Elapsed | Reason |", "|---|---|---|---|---|---|"]
    for r in rows:
        m = r["metrics"]
        out.append(f"| {r['id']} {_md_escape(r['title'])} | **{MARK[r['verdict']]}** | "
                   f"{m['attempts_primary']}/{m['attempts_fallback']} | {_fmt_s(m['first_gap_s'])} | "
                   f"{m['elapsed_s']:.1f} s | {_md_escape(r['reason'])} |")
    for r in doc.get("not_run", []):
        out.append(f"| {r} | not run | | | | the gateway had exited |")

    out += ["", "## Scenarios"]
    for r in rows:
        m = r["metrics"]
        out += ["", f"### {r['id']} {r['title']}: {MARK[r['verdict']]}", "",
                f"- fault: {r['fault']}", f"- expected: {r['expected']}",
                f"- route `{r['model']}` = [`{r['model']}`, `{r['fallback_model']}`]; ideal outcome: {r['ideal']}",
                f"- caller: **{m['outcome']}** after {m['elapsed_s']:.2f} s, {m['content_words']}/60 words"
                + (", complete" if m["complete"] else ", not the canonical answer")
                + f"; model {m['reported_model']!r}; usage {m['usage']}; finish {m['finish_reason']!r}"
                + (f"; first token {m['ttft_s']:.2f} s" if m.get("ttft_s") is not None else "")]
        if m.get("error"):
            out.append(f"- error: `{_md_escape(m['error'])}`")
        if m["outcome"] == "success" and not m["complete"] and m.get("content"):
            out.append(f"- content: “{_md_escape(m['content'][:600])}”")
        out.append(f"- alive probe afterwards: {'ok' if m['alive_after'] else 'FAILED: ' + str(m.get('alive_error'))}")
        out += ["", "| check | kind | severity | status | detail |", "|---|---|---|---|---|"]
        for c in r["checks"]:
            sev = c["severity"] + (", informational" if c["informational"] else "")
            out.append(f"| {c['id']} | {c['kind']} | {sev} | {c['status']} | {_md_escape(c['detail'])} |")
        if m.get("seq_items"):
            out += ["", "Sequence (t sent → outcome, model):", "```"]
            out += [f"#{it['i']:<2} t={it['t_sent']:6.2f}s  {it['outcome']:<7} {it['elapsed_s']:5.2f}s  "
                    f"{'complete' if it['complete'] else 'INCOMPLETE':<10} {it['reported_model']}"
                    + (f"  {it['error'][:120]}" if it.get("error") else "") for it in m["seq_items"]]
            out.append("```")
        out += ["", "Wall log (seconds since reset):", "```"]
        log = m["wall_log"]
        if len(log) > 60:
            log = log[:30] + [f"... {len(log) - 60} more ..."] + log[-30:]
        out += log or ["(no request reached the wall)"]
        if m.get("late_wall_log"):
            out += ["after the call had ended:"] + m["late_wall_log"]
        out.append("```")

    out += ["", "## Gateway config", "", "```yaml", doc["config"].rstrip(), "```", ""]
    return "\n".join(out)


def write(out_dir: str, doc: dict) -> tuple[str, str]:
    json_path = os.path.join(out_dir, "results.json")
    md_path = os.path.join(out_dir, "SCORECARD.md")
    with open(json_path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
    with open(md_path, "w", encoding="utf-8") as fh:
        fh.write(render_markdown(doc))
    return json_path, md_path

"""Scoring of one scenario: metrics from the caller's view (CallResult) and the
provider's view (the wall's log), the catalogue's checks, and the verdict.

Verdicts (failoverbench methodology v0.1):
  pass     rescued (the ideal outcome reached) and every scored check passed
  partial  rescued, but an advisory check failed; or, for an ideal=error
           scenario (S13), the gateway answered by going around the refusal
  safe     not rescued, but the call ended in a bounded error and every
           required check passed
  fail     a hang, a truncated or altered answer presented as success, or a
           failed required check

"Rescued" is: for ideal=success, success with content equal to the canonical
answer (whitespace-normalised); for ideal=error, an error.
"""

from __future__ import annotations

from scenarios import Check, Scenario
from wall import CANONICAL_ANSWER, normalise_model

CAPABILITIES = {"fallback": True}  # every Steadfast scenario route has a fallback target


def norm(text: str | None) -> str:
    return " ".join((text or "").split())


CANON = norm(CANONICAL_ANSWER)
CANON_WORDS = len(CANON.split())


def entries_for(entries: list[dict], model: str) -> list[dict]:
    key = normalise_model(model)
    return [e for e in entries if normalise_model(e.get("model", "")) == key]


def usage_is_present(usage: dict | None) -> bool:
    """A usage block counts when it holds a token count above zero (an
    Anthropic message always has a usage object, zeros included)."""
    if not usage:
        return False
    return any(isinstance(v, (int, float)) and v > 0 for k, v in usage.items() if k.endswith("tokens"))


def wall_line(e: dict) -> str:
    """One wall log entry as a scorecard line; `progress` (how far a held or
    streamed answer got by the time the log was read) is shown unless complete."""
    extra = f" last={e.get('last_role')}" + (" stream" if e.get("stream") else " plain")
    progress = e.get("progress")
    if progress == "sending":
        progress = f"still sending, {e.get('tokens_sent', 0)} tokens so far"
    tail = f" [{progress}]" if progress and progress != "complete" else ""
    return (f"{e['t']:8.3f}s  {e.get('model')} #{e.get('attempt')}{extra} ({e.get('prompt_tokens')} tok)"
            f" -> {e.get('action')}{tail}")


def call_metrics(sc: Scenario, call: dict, entries: list[dict]) -> dict:
    """Metrics of a single call; `call` is CallResult.to_dict()."""
    prim = entries_for(entries, sc.model)
    fb = entries_for(entries, sc.fallback_model)
    return {
        "outcome": call["outcome"],
        "complete": norm(call["content"]) == CANON,
        "content": call["content"],
        "content_words": len(norm(call["content"]).split()),
        "error": call["error"],
        "error_code": call["error_code"],
        "status": call["status"],
        "elapsed_s": call["elapsed_s"],
        "ttft_s": call["ttft_s"],
        "reported_model": call["reported_model"],
        "usage": call["usage"],
        "finish_reason": call["finish_reason"],
        "fallback_model": sc.fallback_model,
        "attempts_primary": len(prim),
        "attempts_fallback": len(fb),
        "primary_times": [e["t"] for e in prim],
        "primary_prompt_tokens": [e.get("prompt_tokens") for e in prim],
        "fallback_times": [e["t"] for e in fb],
        "first_gap_s": round(prim[1]["t"] - prim[0]["t"], 3) if len(prim) >= 2 else None,
        "prefill_rejections": sum(1 for e in entries if str(e.get("action", "")).startswith("400 prefill")),
        "wall_log": [wall_line(e) for e in entries],
    }


def sequence_metrics(sc: Scenario, items: list[dict], entries: list[dict], flap_down_s: float,
                     total_s: float) -> dict:
    """Metrics of a sequence scenario (S15); `items` are its calls, each with t_sent."""
    last = items[-1]["call"] if items else {"outcome": "error", "content": "", "error": "no request sent",
                                            "error_code": None, "status": None, "elapsed_s": 0.0,
                                            "ttft_s": None, "reported_model": None, "usage": None,
                                            "finish_reason": None}
    m = call_metrics(sc, last, entries)
    prim = entries_for(entries, sc.model)
    recovered_at = [e["t"] for e in prim if e["t"] >= flap_down_s and str(e.get("action", "")).startswith("200")]
    during = [it for it in items if it["t_sent"] < flap_down_s]
    outcomes = [it["call"]["outcome"] for it in items]
    m.update({
        "outcome": "hang" if "hang" in outcomes else ("success" if outcomes and all(o == "success" for o in outcomes)
                                                     else "error"),
        "complete": bool(items) and all(norm(it["call"]["content"]) == CANON for it in items),
        "error": next((it["call"]["error"] for it in items if it["call"]["outcome"] != "success"), None),
        "elapsed_s": round(total_s, 3),
        "seq_items": [{"i": it["i"], "t_sent": it["t_sent"], "outcome": it["call"]["outcome"],
                       "complete": norm(it["call"]["content"]) == CANON, "elapsed_s": it["call"]["elapsed_s"],
                       "reported_model": it["call"]["reported_model"], "error": it["call"]["error"]}
                      for it in items],
        "seq_hangs": outcomes.count("hang"),
        "seq_requests_during_down": len(during),
        "seq_served_during_down": sum(1 for it in during if it["call"]["outcome"] == "success"),
        "seq_primary_attempts_during_down": sum(1 for e in prim if e["t"] < flap_down_s),
        "seq_recovered_after_s": round(min(recovered_at) - flap_down_s, 3) if recovered_at else None,
        "flap_down_s": flap_down_s,
    })
    return m


def evaluate(check: Check, m: dict, caps: dict = CAPABILITIES) -> dict:
    """One check against the metrics: status pass / fail / info (an informational
    check that failed) / na, with a one-line detail."""

    def result(ok: bool | None, detail: str) -> dict:
        status = "na" if ok is None else ("pass" if ok else ("info" if check.informational else "fail"))
        return {"id": check.id, "kind": check.kind, "status": status, "detail": detail,
                "severity": check.severity, "informational": check.informational}

    if check.requires and not caps.get(check.requires):
        return result(None, f"n/a: the system has no {check.requires}")
    k, v, oc = check.kind, check.value, m["outcome"]
    n_p, n_f = m["attempts_primary"], m["attempts_fallback"]

    if k == "no_hang":
        return result(oc != "hang", f"ended after {m['elapsed_s']:.1f}s ({oc})" if oc != "hang" else m.get("error") or "hang")
    if k == "complete":
        ok = oc == "success" and m["complete"]
        return result(ok, "complete answer" if ok else (f"answer altered ({m['content_words']} words)" if oc == "success" else oc))
    if k == "no_truncated_success":
        bad = oc == "success" and not m["complete"]
        if bad:
            return result(False, f"success with a {m['content_words']}-word answer that is not the canonical one")
        return result(True, "complete answer" if oc == "success" else f"no success claimed ({oc})")
    if k == "attempts_primary_min":
        return result(n_p >= v, f"{n_p} primary attempt(s), want >= {v:g}")
    if k == "attempts_primary_max":
        return result(n_p <= v, f"{n_p} primary attempt(s), want <= {v:g}")
    if k == "attempts_primary_eq":
        return result(n_p == v, f"{n_p} primary attempt(s), want {v:g}")
    if k == "attempts_fallback_min":
        return result(n_f >= v, f"{n_f} fallback attempt(s), want >= {v:g}")
    if k == "attempts_fallback_max":
        return result(n_f <= v, f"{n_f} fallback attempt(s), want <= {v:g}")
    if k == "context_retry_discipline":
        sizes = m.get("primary_prompt_tokens") or []
        if n_p <= 1:
            return result(True, f"{n_p} primary attempt(s)")
        if len(sizes) < n_p or any(s is None for s in sizes):
            return result(False, f"{n_p} primary attempts, sizes unknown: counted as a resend")
        shrinking = all(b < a for a, b in zip(sizes, sizes[1:]))
        return result(shrinking, f"{n_p} primary attempts, prompt sizes {sizes}: "
                      + ("each smaller than the last" if shrinking else "resent at the same or a larger size"))
    if k == "first_gap_min_s":
        gap = m["first_gap_s"]
        return result(gap is not None and gap >= v,
                      f"gap {gap:.2f}s, want >= {v:g}s" if gap is not None else "no second primary attempt")
    if k == "max_attempts_within":
        times = m["primary_times"]
        n = sum(1 for t in times if t - times[0] < check.window_s) if times else 0
        return result(n <= v, f"{n} primary attempt(s) in the first {check.window_s:g}s, want <= {v:g}")
    if k == "wall_max_s":
        return result(oc != "hang" and m["elapsed_s"] <= v, f"{m['elapsed_s']:.1f}s, want <= {v:g}s")
    if k == "alive_after":
        return result(m["alive_after"], "fb-ok answered afterwards" if m["alive_after"]
                      else f"fb-ok failed afterwards: {m.get('alive_error')}")
    if k == "fallback_used":
        return result(n_f >= 1, f"{n_f} fallback attempt(s)")
    if k == "reported_model_is_fallback":
        if n_f == 0:
            return result(None, "n/a: the fallback was never used")
        rm, fb = normalise_model(m.get("reported_model") or ""), normalise_model(m["fallback_model"])
        return result(bool(rm) and fb in rm, f"model = {m.get('reported_model')!r}")
    if k == "usage_present":
        u = m.get("usage")
        return result(usage_is_present(u), f"usage = {u}" if u else "no usage")
    if k == "no_prefill_masking":
        masked = oc == "error" and m["prefill_rejections"] > 0
        return result(not masked, f"{m['prefill_rejections']} prefill rejection(s) at the fallback; outcome {oc}")
    if k == "seq_no_hang":
        return result(m["seq_hangs"] == 0, f"{m['seq_hangs']} of {len(m['seq_items'])} request(s) hung")
    if k == "seq_served_during_outage":
        n, tot = m["seq_served_during_down"], m["seq_requests_during_down"]
        return result(tot > 0 and n == tot, f"{n}/{tot} request(s) answered while the primary was down")
    if k == "seq_recovered_within_s":
        rec = m["seq_recovered_after_s"]
        return result(rec is not None and rec <= v,
                      f"primary answered 200 again {rec:+.1f}s after it recovered, want <= {v:g}s" if rec is not None
                      else "the primary was never answered 200 after it recovered")
    if k == "seq_probe_discipline":
        n, tot = m["seq_primary_attempts_during_down"], m["seq_requests_during_down"]
        return result(n <= tot, f"{n} primary attempt(s) for {tot} request(s) during the outage")
    return result(False, f"unknown check kind {k!r}")


def verdict(sc: Scenario, checks: list[dict], m: dict) -> tuple[str, str]:
    oc = m["outcome"]
    if oc == "hang":
        return "fail", "hang"
    if sc.ideal == "success" and oc == "success" and not m["complete"]:
        return "fail", f"a {m['content_words']}-word answer that is not the canonical one, presented as success"
    required = [c["id"] for c in checks if c["status"] == "fail" and c["severity"] != "advisory"]
    if required:
        return "fail", "failed " + ", ".join(required)
    advisory = [c["id"] for c in checks if c["status"] == "fail" and c["severity"] == "advisory"]
    if sc.ideal == "error":
        if oc == "success":
            return "partial", "answered by going around the refusal"
        rescued = True
    else:
        rescued = oc == "success" and m["complete"]
    if rescued:
        return ("partial", "rescued; advisory failed: " + ", ".join(advisory)) if advisory else ("pass", "rescued")
    return "safe", f"not rescued, clean error: {str(m.get('error'))[:100]}"


def summarise(verdicts: list[str]) -> dict[str, int]:
    return {v: verdicts.count(v) for v in ("pass", "partial", "safe", "fail")}

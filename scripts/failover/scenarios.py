"""The sixteen failover scenarios S01-S16, as data.

The faults, check kinds, values, windows, severities and the S15 sequence
settings follow the failoverbench catalogue (methodology v0.1, the revision
with the S06 "configured budget" rule and the S12 compaction rule), so a
Steadfast scorecard can be read next to the published ones. The wording here is
our own.

A check is *required* unless its severity is "advisory": a failed required
check makes the verdict "fail", a failed advisory one makes a rescued call
"partial". An *informational* check is printed but never moves the verdict.
`requires="fallback"` marks a check that only applies to a system with a
fallback (Steadfast routes always have one, so these checks apply).

Check kinds (evaluated in run.py):
    no_hang                    the call ended before the scenario's max_wall_s
    complete                   success, and the content equals the canonical answer
    no_truncated_success       fails only when a shortened or altered answer came back as success
    attempts_primary_min/max/eq   requests the wall saw on the primary model
    context_retry_discipline   one primary attempt, or each retry strictly smaller than the one before
    attempts_fallback_min/max  requests the wall saw on the fallback model
    first_gap_min_s            seconds from primary attempt 1 to attempt 2 (no attempt 2 = fail)
    max_attempts_within        primary attempts in the first window_s seconds (from the first) <= value
    wall_max_s                 the call's wall-clock time <= value (a hang fails)
    alive_after                a healthy fb-ok call through the gateway succeeded after the scenario
    fallback_used              the fallback model saw at least one request
    reported_model_is_fallback the response's model names the fallback (n/a if the fallback was not used)
    usage_present              the response carried token usage
    no_prefill_masking         fails when the call ended in error and the fallback had rejected a prefill
    seq_no_hang                (S15) no request of the sequence hung
    seq_served_during_outage   (S15) every request sent while the primary was down succeeded
    seq_recovered_within_s     (S15) the primary answered 200 again within value s of its recovery
    seq_probe_discipline       (S15) primary attempts during the outage <= requests sent during it
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Our own question; the wall answers every healthy call with wall.CANONICAL_ANSWER.
PROMPT = "In about sixty words, say why a model gateway's failover can only be judged while its provider is failing."

DEFAULT_FALLBACK = "fb-ok"
ALIVE_PROBE_ROUTE = "fb-ok"
ALIVE_PROBE_LIMIT_S = 10.0


@dataclass(frozen=True)
class Check:
    id: str
    kind: str
    value: float | None = None
    window_s: float | None = None
    severity: str = "required"          # or "advisory"
    requires: str | None = None         # "fallback": n/a for a system without one
    informational: bool = False         # shown, never scored


@dataclass(frozen=True)
class Sequence:
    count: int
    interval_s: float
    per_request_max_wall_s: float


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    model: str
    fault: str
    expected: str
    max_wall_s: float
    checks: tuple[Check, ...]
    fallback_model: str = DEFAULT_FALLBACK
    ideal: str = "success"              # "success": the whole canonical answer; "error": a clean refusal
    stream: bool = True
    sequence: Sequence | None = None    # S15 only: many requests across an outage
    fast_sequence: Sequence | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def sequence_for(self, timing: str) -> Sequence | None:
        if timing == "fast" and self.fast_sequence is not None:
            return self.fast_sequence
        return self.sequence


ADVISORY = "advisory"
FALLBACK = "fallback"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "S01", "429 with Retry-After", "fb-s01-429-retry-after",
        fault="The first attempt is refused with 429 and `Retry-After: 2`; later attempts are answered.",
        expected="Wait as told (about 2 s) before trying the same model again, or go to the fallback; never retry in a tight loop.",
        max_wall_s=20,
        checks=(
            Check("retried", "attempts_primary_min", 2, severity=ADVISORY),
            Check("retry_after_honoured", "first_gap_min_s", 1.8, severity=ADVISORY),
            Check("no_hammer", "max_attempts_within", 2, window_s=1.5),
        ),
    ),
    Scenario(
        "S02", "429 without Retry-After, persistent", "fb-s02-429-persistent",
        fault="Every attempt is refused with 429 and no Retry-After.",
        expected="Back off with jitter and then fail over, or give up cleanly; the provider is never flooded.",
        max_wall_s=40,
        checks=(
            Check("no_hammer", "max_attempts_within", 4, window_s=3),
            Check("bounded_attempts", "attempts_primary_max", 6),
            Check("no_hang", "no_hang"),
        ),
    ),
    Scenario(
        "S03", "500 once, then healthy", "fb-s03-500-then-200",
        fault="The first attempt gets a 500; the next one is answered.",
        expected="A second try on the same model succeeds; answering from the fallback instead is fine but noted.",
        max_wall_s=20,
        checks=(
            Check("no_hang", "no_hang"),
            Check("same_provider_retry", "attempts_primary_min", 2, severity=ADVISORY),
        ),
    ),
    Scenario(
        "S04", "503 persistent", "fb-s04-503-persistent",
        fault="Every attempt gets 503 (overloaded).",
        expected="Fail over within the retry budget; with nowhere left to go, return the provider's error.",
        max_wall_s=40,
        checks=(
            Check("bounded_attempts", "attempts_primary_max", 6),
            Check("no_hang", "no_hang"),
        ),
    ),
    Scenario(
        "S05", "TCP reset before headers", "fb-s05-reset",
        fault="The first attempt's connection is reset before a single response byte; later attempts are answered.",
        expected="Treat it as retryable: try again or fail over, and answer.",
        max_wall_s=20,
        checks=(Check("no_hang", "no_hang"),),
    ),
    Scenario(
        "S06", "No response at all", "fb-s06-no-response",
        fault="The provider takes the request and says nothing (for up to 120 s in full timing).",
        expected=("The configured timeout fires and the call ends inside the baseline budget (two 30 s tries plus "
                  "slack: 100 s). Going to the fallback after the first timeout, instead of waiting on the silent "
                  "model again, is the better behaviour and is scored as advisory."),
        max_wall_s=130,
        checks=(
            Check("within_budget", "wall_max_s", 100),
            Check("no_hang", "no_hang"),
            Check("silent_route_not_retried", "attempts_primary_max", 1, severity=ADVISORY),
        ),
    ),
    Scenario(
        "S07", "Slow first token", "fb-s07-slow-ttft",
        fault="Headers come at once, the first token only after 20 s (full timing), then the rest at normal speed.",
        expected="Answer. Giving up on the slow model after a first-token limit and answering from the fallback is better, and recorded.",
        max_wall_s=60,
        checks=(
            Check("no_hang", "no_hang"),
            Check("ttft_limit", "wall_max_s", 15, severity=ADVISORY, requires=FALLBACK),
        ),
    ),
    Scenario(
        "S08", "Stream cut mid-answer", "fb-s08-stream-cut",
        fault="The stream stops after 40 of the 60 words and the connection closes without the chunked terminator.",
        expected="Deliver the whole answer from elsewhere, or end with a clear error; a short answer must never look like success.",
        max_wall_s=40,
        checks=(
            Check("no_truncated_success", "no_truncated_success"),
            Check("no_hang", "no_hang"),
        ),
    ),
    Scenario(
        "S09", "Stream stalls", "fb-s09-stream-stall",
        fault="After 20 words the stream goes quiet with the connection open (30 s in full timing), then closes.",
        expected="Notice the stall within a bounded time, fail over or fail cleanly, and keep serving afterwards.",
        max_wall_s=70,
        checks=(
            Check("bounded", "wall_max_s", 45),
            Check("no_truncated_success", "no_truncated_success"),
            Check("alive_after", "alive_after"),
            Check("no_hang", "no_hang"),
        ),
    ),
    Scenario(
        "S10", "Malformed chunk in the stream", "fb-s10-malformed-chunk",
        fault="One SSE event, just before the tenth word, is not valid JSON; everything else arrives intact.",
        expected="Skip the bad event or fail cleanly; nothing broken reaches the caller, and the gateway stays up.",
        max_wall_s=30,
        checks=(
            Check("alive_after", "alive_after"),
            Check("no_garbage", "no_truncated_success"),
            Check("no_hang", "no_hang"),
            Check("recovered_in_place", "complete", severity=ADVISORY),
        ),
    ),
    Scenario(
        "S11", "Stream ends without [DONE]", "fb-s11-no-done",
        fault="The stream is complete and properly ended at the HTTP level, but `data: [DONE]` never comes.",
        expected="Finish the answer promptly and pass on its usage; do not wait for a sentinel that is not coming.",
        max_wall_s=30,
        checks=(
            Check("prompt_finalise", "wall_max_s", 8),
            Check("usage_reported", "usage_present", severity=ADVISORY),
        ),
    ),
    Scenario(
        "S12", "Context length exceeded", "fb-s12-context-length",
        fault="Every attempt gets 400 with code `context_length_exceeded`.",
        expected=("Never send the same request again unchanged: move to a model with a larger window if there is "
                  "one, or fail cleanly. A retry only counts as fair if it is smaller than the attempt before it."),
        max_wall_s=20,
        checks=(
            Check("no_blind_retry", "context_retry_discipline"),
            Check("bounded_attempts", "attempts_primary_max", 2),
            Check("no_hang", "no_hang"),
        ),
    ),
    Scenario(
        "S13", "Content-filter rejection", "fb-s13-content-filter",
        fault="Every attempt gets 400 with code `content_policy_violation`.",
        expected="Do not ask the same model again; hand the provider's reason to the caller. Trying the fallback is noted, not scored.",
        max_wall_s=20,
        ideal="error",
        checks=(
            Check("no_same_model_retry", "attempts_primary_eq", 1),
            Check("no_hang", "no_hang"),
            Check("fallback_attempted", "fallback_used", severity=ADVISORY, informational=True),
        ),
    ),
    Scenario(
        "S14", "Fallback target rejects prefill", "fb-s14-stream-cut",
        fallback_model="fb-ok-noprefill",
        fault=("The primary's stream stops after 40 words; the fallback refuses any request that ends with an "
               "assistant message (prefill)."),
        expected=("Continue mid-stream only where the target supports it, otherwise start over cleanly; the "
                  "fallback's prefill refusal must not become the caller's final error."),
        max_wall_s=40,
        checks=(
            Check("no_prefill_masking", "no_prefill_masking"),
            Check("no_truncated_success", "no_truncated_success"),
        ),
    ),
    Scenario(
        "S15", "Primary flaps: down, then healthy", "fb-s15-flap",
        fault=("The primary answers 503 for the first 60 s after the reset (6 s in fast timing) and is healthy "
               "after that. Twenty requests go out, one every 4 s (fast: ten, one every 1.2 s)."),
        expected=("Open the breaker and answer from the fallback during the outage, probe the primary, and go back "
                  "to it soon after it recovers."),
        max_wall_s=200,
        sequence=Sequence(count=20, interval_s=4.0, per_request_max_wall_s=30.0),
        fast_sequence=Sequence(count=10, interval_s=1.2, per_request_max_wall_s=10.0),
        checks=(
            Check("no_hang", "seq_no_hang"),
            Check("served_during_outage", "seq_served_during_outage", requires=FALLBACK),
            Check("recovered", "seq_recovered_within_s", 30, requires=FALLBACK),
            Check("probe_discipline", "seq_probe_discipline", severity=ADVISORY, informational=True),
        ),
    ),
    Scenario(
        "S16", "Fail-over accounting", "fb-s16-503-persistent",
        fault="Every primary attempt gets 503; the fallback answers.",
        expected="The caller is told the fallback's model name and gets its usage; the failed attempts are not billed as answers.",
        max_wall_s=40,
        checks=(
            Check("reports_fallback_model", "reported_model_is_fallback", requires=FALLBACK),
            Check("usage_present", "usage_present", severity=ADVISORY, requires=FALLBACK),
            Check("bounded_attempts", "attempts_primary_max", 6),
        ),
    ),
)

BY_ID = {s.id: s for s in SCENARIOS}


def wall_models() -> list[str]:
    """Every model the gateway must know: each primary, each fallback, the probe's."""
    names: list[str] = [DEFAULT_FALLBACK]
    for s in SCENARIOS:
        for n in (s.model, s.fallback_model):
            if n not in names:
                names.append(n)
    return names

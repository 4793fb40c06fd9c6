"""Gateway configuration profiles for the failover harness, rendered as YAML.

A profile is two dicts of settings: `model` (added to every model entry) and
`route` (added to every route). Keys are config keys (see docs/config.md);
values are YAML snippets written verbatim ("30s", "true", "[a, b]"), or nested
dicts, which are written as flow mappings ({ key: value, ... }). To try a new
setting, add its key here; nothing else needs to change.

The generated config has:
  * server.listen on the port the harness picked,
  * one provider `wall` (kind openai) at the fault wall,
  * one model per wall model name, `models.<name>: {provider: wall, model: <name>, ...profile model settings}`,
  * one route per scenario, named exactly like its primary model, with
    `targets: [primary, fallback]` and the profile's route settings,
  * a route `fb-ok` (`targets: [fb-ok]`) for the alive probe.

Fast timing. The fast wall profile shortens the faults (first token after 3 s
instead of 20 s, a 4 s stall instead of 30 s, a 6 s outage instead of 60 s), so
the gateway's own limits must shrink with them or the fast run shows something
else than the full one: a 10 s first-token limit never fires before a 3 s slow
first token, a 30 s idle timeout never fires before the wall itself closes a
4 s stall. FAST_OVERRIDES says, per key, what a profile's value becomes with
`--timing fast`; it applies only to keys the profile sets (the `defaults`
profile sets none, so it runs on the gateway's own defaults in both timings).
A duration-looking value in a profile with no entry here is reported by
`unscaled_durations()` so a forgotten key shows up in the run's output.

    key                              full   fast   why
    model.timeout                    30s    3s     under the 4 s fast stall, so the gateway sees a stall, not a close
    model.first_token_timeout        5s     2s     under the 3 s fast slow-first-token
    model.circuit_breaker.open_for   -      2s     (when a profile sets it) the fast outage is 6 s, the fast S15 sequence 12 s
    model.circuit_breaker.window     60s    10s    the fast S15 sequence lasts 12 s
    model.health_check.interval      30s    30s    (kept: the wall's model list is always up)
    route.retry.initial_backoff      200ms  200ms  (kept: already short)
    route.retry.max_backoff          5s     5s     (kept: S01's Retry-After is 2 s in both timings)
"""

from __future__ import annotations

import copy
import re

from scenarios import ALIVE_PROBE_ROUTE, SCENARIOS, wall_models

PROFILES: dict[str, dict[str, dict]] = {
    # Nothing but what the config requires: the gateway's own defaults.
    "defaults": {
        "model": {},
        "route": {},
    },
    # What we tell users to run with: the README's example config.
    "recommended": {
        "model": {
            "timeout": "30s",
            "first_token_timeout": "5s",
            "circuit_breaker": {"failure_rate": "0.5", "min_calls": "10", "window": "60s"},
            "health_check": {"interval": "30s", "timeout": "5s", "retries": "3"},
        },
        "route": {
            "retry": {"max_attempts": "2", "initial_backoff": "200ms", "max_backoff": "5s",
                      "jitter": "full", "budget": "0.2", "same_target": "{}"},
            "stream_resume": "true",
        },
    },
}

# Dotted key (section.key[.subkey]) -> the value used with --timing fast;
# None keeps the profile's value in both timings, on purpose.
FAST_OVERRIDES: dict[str, str | None] = {
    "model.timeout": "3s",
    "model.first_token_timeout": "2s",
    "model.circuit_breaker.open_for": "2s",
    "model.circuit_breaker.window": "10s",
    "model.health_check.interval": None,
    "model.health_check.timeout": None,
    # Backoffs are already short, and S01's Retry-After is 2 s in both timings.
    "route.retry.initial_backoff": None,
    "route.retry.max_backoff": None,
}

_DURATION = re.compile(r"^\d+(\.\d+)?(ms|s|m|h)$")


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flow(value) -> str:
    """A YAML flow rendering of a nested dict (leaves are snippets, written as they are)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + " }"
    return _scalar(value)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _set_dotted(settings: dict, path: list[str], value: str) -> bool:
    """Replace settings[path] if it is present; True when it was."""
    node = settings
    for key in path[:-1]:
        node = node.get(key)
        if not isinstance(node, dict):
            return False
    if path[-1] in node and not isinstance(node[path[-1]], dict):
        node[path[-1]] = value
        return True
    return False


def profile_settings(profile: str, timing: str) -> dict[str, dict]:
    """The profile's {"model": ..., "route": ...} settings for this timing."""
    if profile not in PROFILES:
        raise KeyError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    settings = copy.deepcopy(PROFILES[profile])
    if timing == "fast":
        for dotted, value in FAST_OVERRIDES.items():
            section, *path = dotted.split(".")
            if value is not None and section in settings:
                _set_dotted(settings[section], path, value)
    return settings


def unscaled_durations(profile: str) -> list[str]:
    """Duration values of the profile that FAST_OVERRIDES does not scale."""
    found: list[str] = []

    def walk(prefix: str, node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}", v)
        elif _DURATION.match(_scalar(node)) and prefix not in FAST_OVERRIDES:
            found.append(f"{prefix} = {node}")

    for section, values in PROFILES[profile].items():
        walk(section, values)
    return found


def unset_fast_keys(profile: str) -> list[str]:
    """FAST_OVERRIDES keys the profile does not set: with --timing fast the
    gateway's own defaults for them apply unscaled."""
    missing = []
    for dotted, value in FAST_OVERRIDES.items():
        section, *path = dotted.split(".")
        node = PROFILES[profile].get(section, {})
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if value is not None and node is None:
            missing.append(dotted)
    return missing


def _settings_lines(settings: dict, indent: str) -> list[str]:
    return [f"{indent}{k}: {_flow(v)}" for k, v in settings.items()]


def render_config(profile: str, timing: str, gateway_port: int, wall_port: int) -> str:
    """The gateway config (YAML text) for this profile, timing and ports."""
    s = profile_settings(profile, timing)
    out = [
        f"# Failover harness config: profile {profile}, timing {timing}. Generated by scripts/failover/profiles.py.",
        "server:",
        f"  listen: {_q(f'127.0.0.1:{gateway_port}')}",
        "providers:",
        "  wall:",
        "    kind: openai",
        f"    base_url: {_q(f'http://127.0.0.1:{wall_port}/v1')}",
        "models:",
    ]
    for name in wall_models():
        out += [f"  {_q(name)}:", "    provider: wall", f"    model: {_q(name)}"]
        out += _settings_lines(s["model"], "    ")
    out.append("routes:")
    routes = [(sc.model, [sc.model, sc.fallback_model]) for sc in SCENARIOS]
    routes.append((ALIVE_PROBE_ROUTE, [ALIVE_PROBE_ROUTE]))
    for name, targets in routes:
        out += [f"  {_q(name)}:", f"    targets: [{', '.join(_q(t) for t in targets)}]"]
        out += _settings_lines(s["route"], "    ")
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # print a config, e.g. `python profiles.py recommended fast`
    import sys

    args = sys.argv[1:] + ["recommended", "full"][len(sys.argv[1:]):]
    print(render_config(args[0], args[1], 8080, 8401), end="")

"""Failover conformance run: the Steadfast gateway against the fault wall,
scored with the failoverbench catalogue (S01-S16).

    .venv/bin/python scripts/failover/run.py [--binary target/release/steadfast]
        [--profile defaults|recommended] [--timing full|fast] [--ingress openai|anthropic]
        [--only S01,S08] [--out DIR] [--require-pass S08,S11|all] [--require-no-fail]

What it does: starts the fault wall (wall.py, a subprocess) and the gateway
(`BINARY serve --config FILE`, config from profiles.py) on free loopback
ports, then for each scenario resets the wall, makes one streamed call through
the gateway with the chosen SDK under a hard deadline, reads the wall's log,
scores the checks (scoring.py) and sends a healthy fb-ok call (non-streamed,
10 s limit) to see that the gateway is still alive. S15 sends a sequence of
requests across the primary's outage instead of one call.

Writes to --out (default target/failover/<profile>-<ingress>-<timing>):
results.json, SCORECARD.md, gateway.yaml, gateway.log, wall.log.

Exit status: 0; 1 when a --require-pass scenario is not "pass", when
--require-no-fail is given and a verdict is "fail", or when the gateway exited
during the run; 2 when the run could not start.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

try:
    import httpx
except ImportError:  # the SDKs in this project's .venv ship it as httpx2
    import httpx2 as httpx

import profiles  # noqa: E402
import scorecard  # noqa: E402
import scoring  # noqa: E402
from ingress import INGRESSES, guarded_call  # noqa: E402
from scenarios import ALIVE_PROBE_LIMIT_S, ALIVE_PROBE_ROUTE, PROMPT, SCENARIOS, Scenario  # noqa: E402
from wall import fault_for  # noqa: E402

STARTUP_LIMIT_S = 30.0


def log(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """The wall and the gateway, stopped by their own process ids at the end."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self.files: list = []

    def start(self, name: str, argv: list[str], log_path: str) -> subprocess.Popen:
        fh = open(log_path, "wb")
        self.files.append(fh)
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT)
        self.procs[name] = proc
        return proc

    def stop_all(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                proc.terminate()  # SIGTERM to this pid
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        for fh in self.files:
            fh.close()


async def wait_http_ok(client, url: str, proc: subprocess.Popen, what: str, log_path: str) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with code {proc.returncode} at start; its log:\n{tail(log_path)}")
        try:
            if (await client.get(url, timeout=2.0)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"{what} did not answer {url} within {STARTUP_LIMIT_S:g}s; its log:\n{tail(log_path)}")


def tail(path: str, lines: int = 40) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return "(no log)"


class Wall:
    """The harness's handle on the wall's control endpoints."""

    def __init__(self, client, base: str):
        self.client, self.base = client, base

    async def reset(self) -> None:
        (await self.client.post(self.base + "/control/reset")).raise_for_status()

    async def set_timing(self, profile: str) -> dict:
        r = await self.client.post(self.base + "/control/timing", json={"profile": profile})
        r.raise_for_status()
        return r.json()["timing"]

    async def log(self) -> dict:
        r = await self.client.get(self.base + "/control/log")
        r.raise_for_status()
        return r.json()


async def run_scenario(sc: Scenario, ingress, wall: Wall, timing: str) -> dict:
    messages = [{"role": "user", "content": PROMPT}]
    started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    await wall.reset()
    t_reset = time.monotonic()
    seq = sc.sequence_for(timing)
    if seq is None:
        call = await guarded_call(ingress, sc.model, messages, sc.max_wall_s, stream=sc.stream)
        snapshot = await wall.log()
        m = scoring.call_metrics(sc, call.to_dict(), snapshot["entries"])
    else:
        items = []
        for i in range(seq.count):
            delay = t_reset + i * seq.interval_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            t_sent = round(time.monotonic() - t_reset, 3)
            call = await guarded_call(ingress, sc.model, messages, seq.per_request_max_wall_s, stream=sc.stream)
            items.append({"i": i, "t_sent": t_sent, "call": call.to_dict()})
            log(f"      #{i:<2} t={t_sent:6.2f}s {call.outcome:<7} {call.elapsed_s:5.2f}s model={call.reported_model}"
                + (f" {call.error[:80]}" if call.error else ""))
        snapshot = await wall.log()
        m = scoring.sequence_metrics(sc, items, snapshot["entries"], float(snapshot["timing"]["flap_down_s"]),
                                     time.monotonic() - t_reset)
    seen = len(snapshot["entries"])
    call_end_t = time.monotonic() - t_reset

    probe = await guarded_call(ingress, ALIVE_PROBE_ROUTE, messages, ALIVE_PROBE_LIMIT_S, stream=False)
    m["alive_after"] = probe.ok and scoring.norm(probe.content) == scoring.CANON
    m["alive_error"] = None if m["alive_after"] else (probe.error or "the answer was not the canonical text")
    # Scores use the log as it was when the call ended. Re-read now, its
    # entries show how far each held or streamed answer finally got, and any
    # request that reached the wall after the call had ended (a gateway still
    # working for a caller that is gone) is shown but not scored; the probe's
    # own request is the fb-ok one after call_end_t.
    final = (await wall.log())["entries"]
    m["wall_log"] = [scoring.wall_line(e) for e in final[:seen]]
    later = final[seen:]
    m["late_wall_log"] = [scoring.wall_line(e) for e in later
                          if not (e.get("model") == ALIVE_PROBE_ROUTE and e["t"] >= call_end_t)]

    checks = [scoring.evaluate(c, m) for c in sc.checks]
    verdict, reason = scoring.verdict(sc, checks, m)
    return {"id": sc.id, "title": sc.title, "model": sc.model, "fallback_model": sc.fallback_model,
            "fault": sc.fault, "expected": sc.expected, "ideal": sc.ideal, "stream": sc.stream,
            "mode": "sequence" if seq else "single", "max_wall_s": sc.max_wall_s, "started_at": started_at,
            "verdict": verdict, "reason": reason, "checks": checks, "metrics": m}


def binary_version(binary: str) -> str:
    """`steadfast --version`, the binary's mtime and a digest prefix: which build was scored."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        version = (out.stdout or out.stderr).strip() or "unknown version"
    except (OSError, subprocess.TimeoutExpired):
        version = "unknown version"
    try:
        built = dt.datetime.fromtimestamp(os.path.getmtime(binary), dt.timezone.utc).isoformat(timespec="seconds")
        digest = hashlib.sha256()
        with open(binary, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        identity = f"built {built}, sha256 {digest.hexdigest()[:16]}"
    except OSError:
        identity = "build unknown"
    return f"{version}, {identity}"


async def run(args, selected: list[Scenario], procs: Processes) -> dict:
    os.makedirs(args.out, exist_ok=True)
    wall_port, gateway_port = free_port(), free_port()
    wall_url, gateway_url = f"http://127.0.0.1:{wall_port}", f"http://127.0.0.1:{gateway_port}"
    paths = {k: os.path.join(args.out, f) for k, f in
             (("config", "gateway.yaml"), ("gateway_log", "gateway.log"), ("wall_log", "wall.log"))}

    version = binary_version(args.binary)
    log(f"binary  {args.binary}: {version}")
    config = profiles.render_config(args.profile, args.timing, gateway_port, wall_port)
    with open(paths["config"], "w", encoding="utf-8") as fh:
        fh.write(config)
    check = subprocess.run([args.binary, "check", "--config", paths["config"]], capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(f"steadfast check refused {paths['config']}:\n{check.stdout}{check.stderr}")
    notes = []
    if args.timing == "fast":
        notes += [f"profile key {d} is not scaled for fast timing (add it to profiles.FAST_OVERRIDES)"
                  for d in profiles.unscaled_durations(args.profile)]
        unset = profiles.unset_fast_keys(args.profile)
        if unset:
            notes.append(f"the {args.profile} profile does not set {', '.join(unset)}: the gateway's own defaults "
                         "apply unscaled against the shortened fast faults, so S06, S07, S09 and S15 measure "
                         "something else than in full timing")
    for n in notes:
        log(f"note: {n}")

    wall_proc = procs.start("wall", [sys.executable, os.path.join(HERE, "wall.py"), "--port", str(wall_port),
                                     "--timing", args.timing], paths["wall_log"])
    log(f"wall    pid {wall_proc.pid} at {wall_url}/v1 (timing {args.timing}), log {paths['wall_log']}")
    async with httpx.AsyncClient(timeout=10.0) as control:
        await wait_http_ok(control, wall_url + "/control/health", wall_proc, "the wall", paths["wall_log"])
        wall = Wall(control, wall_url)
        wall_timing = await wall.set_timing(args.timing)

        gw_proc = procs.start("gateway", [args.binary, "serve", "--config", paths["config"]], paths["gateway_log"])
        log(f"gateway pid {gw_proc.pid} at {gateway_url} ({args.profile} profile), "
            f"config {paths['config']}, log {paths['gateway_log']}")
        await wait_http_ok(control, gateway_url + "/health", gw_proc, "the gateway", paths["gateway_log"])

        ingress = INGRESSES[args.ingress](gateway_url)
        results, not_run, gateway_exit = [], [], None
        t_run = time.monotonic()
        started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        for sc in selected:
            if gateway_exit:
                not_run.append(sc.id)
                continue
            log(f"{sc.id} {sc.title} (route {sc.model}) ...")
            r = await run_scenario(sc, ingress, wall, args.timing)
            results.append(r)
            m = r["metrics"]
            gap = f"{m['first_gap_s']:.2f}s" if m["first_gap_s"] is not None else "-"
            log(f"  {sc.id} {scorecard.MARK[r['verdict']]:<7} {m['outcome']:<7} p/f {m['attempts_primary']}/"
                f"{m['attempts_fallback']}  gap {gap}  {m['elapsed_s']:.1f}s  {r['reason']}")
            if gw_proc.poll() is not None:
                gateway_exit = f"exit code {gw_proc.returncode} after {sc.id}"
                log(f"!! the gateway exited ({gateway_exit}); its log:\n{tail(paths['gateway_log'])}")

    verdicts = [r["verdict"] for r in results]
    return {
        "harness": "steadfast failover harness (failoverbench methodology v0.1)",
        "profile": args.profile, "ingress": args.ingress, "timing": args.timing,
        "wall_timing": wall_timing, "binary": args.binary, "binary_version": version,
        "started_at": started_at, "run_seconds": round(time.monotonic() - t_run, 1),
        "summary": scoring.summarise(verdicts), "scenarios": results, "not_run": not_run,
        "gateway_exit": gateway_exit, "notes": notes, "config": config,
        "profile_settings": profiles.profile_settings(args.profile, args.timing),
    }


def parse_ids(text: str) -> list[str]:
    return [s.strip().upper() for s in (text or "").split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Score the Steadfast gateway against the failover fault catalogue.")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "steadfast"))
    ap.add_argument("--profile", choices=sorted(profiles.PROFILES), default="recommended")
    ap.add_argument("--timing", choices=("full", "fast"), default="full")
    ap.add_argument("--ingress", choices=sorted(INGRESSES), default="openai")
    ap.add_argument("--only", default="", help="comma-separated scenario ids, e.g. S01,S08")
    ap.add_argument("--out", default=None, help="default: target/failover/<profile>-<ingress>-<timing>")
    ap.add_argument("--require-pass", default="",
                    help="exit 1 unless these scenarios pass, e.g. S08,S11 (all: every one run)")
    ap.add_argument("--require-no-fail", action="store_true", help="exit 1 if any verdict is fail")
    args = ap.parse_args(argv)

    known = {s.id for s in SCENARIOS}
    only, must_pass = parse_ids(args.only), parse_ids(args.require_pass)
    if must_pass == ["ALL"]:
        must_pass = only or [s.id for s in SCENARIOS]
    unknown = [i for i in only + must_pass if i not in known]
    if unknown:
        ap.error(f"unknown scenario id(s): {', '.join(unknown)}")
    selected = [s for s in SCENARIOS if not only or s.id in only]
    missing = [i for i in must_pass if i not in {s.id for s in selected}]
    if missing:
        ap.error(f"--require-pass names scenario(s) that --only leaves out: {', '.join(missing)}")
    for s in selected:
        if fault_for(s.model) is None or fault_for(s.fallback_model) is None:
            ap.error(f"{s.id}: the wall has no fault for {s.model} / {s.fallback_model}")
    args.binary = os.path.abspath(args.binary)
    if not os.access(args.binary, os.X_OK):
        print(f"no gateway binary at {args.binary}: build it with `cargo build --release -p steadfast-gateway` "
              "or pass --binary", file=sys.stderr)
        return 2
    args.out = os.path.abspath(args.out or os.path.join(ROOT, "target", "failover",
                                                        f"{args.profile}-{args.ingress}-{args.timing}"))

    log(f"failover run: profile {args.profile}, ingress {args.ingress}, timing {args.timing}, "
        f"{len(selected)} scenario(s), binary {args.binary}")
    procs = Processes()
    try:
        doc = asyncio.run(run(args, selected, procs))
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 2
        raise
    finally:
        procs.stop_all()

    json_path, md_path = scorecard.write(args.out, doc)
    log(f"\n{scorecard.summary_line(doc['summary'], len(doc['scenarios']))}")
    log(f"scorecard {md_path}\nresults   {json_path}")

    status = 0
    by_id = {r["id"]: r["verdict"] for r in doc["scenarios"]}
    not_passing = [f"{i}={by_id.get(i, 'not run')}" for i in must_pass if by_id.get(i) != "pass"]
    if not_passing:
        log(f"required to pass but did not: {', '.join(not_passing)}")
        status = 1
    failed = [i for i, v in by_id.items() if v == "fail"]
    if args.require_no_fail and failed:
        log(f"--require-no-fail: failed scenarios: {', '.join(failed)}")
        status = 1
    if doc["gateway_exit"]:
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Self-check of the fault wall: drives every fault with a plain HTTP client
(no gateway, no SDK) and asserts the bytes on the wire are what the catalogue
says: fb-ok answers the canonical text, S05 really resets the connection, S08
really ends without the chunked terminator, S10 really carries exactly one
invalid JSON event, S11 really omits [DONE], and so on.

Run it after touching wall.py:  .venv/bin/python scripts/failover/check_wall.py
It starts its own wall (fast timing) on a free port and prints one line per
check; it exits 1 if any check failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

try:
    import httpx
except ImportError:  # the SDKs in this project's .venv ship it as httpx2
    import httpx2 as httpx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wall import ANSWER_WORDS, CANONICAL_ANSWER, MODEL_FAULTS, TIMING_PROFILES  # noqa: E402

FAST = TIMING_PROFILES["fast"]
PROMPT = [{"role": "user", "content": "Say the canonical text."}]
failures: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"  {'ok  ' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}", flush=True)
    if not ok:
        failures.append(name)


def norm(text: str) -> str:
    return " ".join((text or "").split())


async def read_stream(client, base, model, messages=PROMPT, include_usage=True, read_timeout=None):
    """Returns a dict describing the raw SSE stream: content, events, bad events, done, usage, error."""
    out = {"content": "", "events": 0, "bad": 0, "done": False, "usage": None, "error": None,
           "first_data_s": None, "roles": 0, "status": None}
    body = {"model": model, "messages": messages, "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    t0 = time.monotonic()
    timeout = httpx.Timeout(read_timeout or 30.0, connect=5.0)
    try:
        async with client.stream("POST", base + "/v1/chat/completions", json=body, timeout=timeout) as resp:
            out["status"] = resp.status_code
            if resp.status_code != 200:
                out["body"] = json.loads(await resp.aread())
                return out
            async for line in resp.aiter_lines():
                if not line.startswith("data:"):
                    continue
                if out["first_data_s"] is None:
                    out["first_data_s"] = time.monotonic() - t0
                data = line[5:].strip()
                out["events"] += 1
                if data == "[DONE]":
                    out["done"] = True
                    continue
                try:
                    obj = json.loads(data)
                except ValueError:
                    out["bad"] += 1
                    continue
                if obj.get("usage"):
                    out["usage"] = obj["usage"]
                for ch in obj.get("choices") or []:
                    delta = ch.get("delta") or {}
                    if delta.get("role"):
                        out["roles"] += 1
                    out["content"] += delta.get("content") or ""
    except httpx.HTTPError as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["elapsed_s"] = time.monotonic() - t0
    return out


async def plain(client, base, model, messages=PROMPT):
    r = await client.post(base + "/v1/chat/completions", json={"model": model, "messages": messages})
    return r


async def wall_log(client, base):
    return (await client.get(base + "/control/log")).json()["entries"]


async def run_checks(base: str) -> None:
    async with httpx.AsyncClient(timeout=30.0) as c:
        await c.post(base + "/control/reset")
        models = (await c.get(base + "/v1/models")).json()["data"]
        check("GET /v1/models lists every wall model", {m["id"] for m in models} == set(MODEL_FAULTS))

        r = await plain(c, base, "fb-ok")
        check("fb-ok plain answers the canonical text", r.status_code == 200 and
              r.json()["choices"][0]["message"]["content"] == CANONICAL_ANSWER and r.json()["usage"]["completion_tokens"] == 60)
        s = await read_stream(c, base, "fb-ok")
        check("fb-ok stream: role chunk, canonical text, usage, [DONE]",
              s["content"] == CANONICAL_ANSWER and s["roles"] == 1 and s["done"] and s["bad"] == 0
              and s["usage"] and s["usage"]["completion_tokens"] == 60, str({k: s[k] for k in ("roles", "done", "usage")}))
        s = await read_stream(c, base, "fb-ok", include_usage=False)
        check("no usage chunk unless include_usage", s["usage"] is None and s["done"])

        partial = " ".join(ANSWER_WORDS[:25])
        prefill = PROMPT + [{"role": "assistant", "content": partial}]
        s = await read_stream(c, base, "fb-ok", messages=prefill)
        check("prefill: only the remainder, with a leading space",
              s["content"].startswith(" ") and norm(partial + s["content"]) == norm(CANONICAL_ANSWER)
              and len(s["content"].split()) == 35)
        r = await plain(c, base, "fb-ok", prefill)
        check("prefill (plain): only the remainder", norm(partial + r.json()["choices"][0]["message"]["content"]) == norm(CANONICAL_ANSWER))
        carry_on = prefill + [{"role": "user", "content": "continue your answer"}]
        s = await read_stream(c, base, "fb-ok", messages=carry_on)
        check("a user message last gets the whole answer again", s["content"] == CANONICAL_ANSWER)
        s = await read_stream(c, base, "fb-ok", messages=PROMPT + [{"role": "assistant", "content": "Something else"}])
        check("a non-prefix assistant message gets the whole answer", s["content"] == CANONICAL_ANSWER)
        parts = PROMPT + [{"role": "assistant", "content": [{"type": "text", "text": partial}]}]
        s = await read_stream(c, base, "fb-ok", messages=parts)
        check("prefill given as content parts is recognised", len(s["content"].split()) == 35)

        r = await plain(c, base, "fb-ok-noprefill", prefill)
        check("fb-ok-noprefill rejects a prefill with 400 invalid_prefill",
              r.status_code == 400 and r.json()["error"]["code"] == "invalid_prefill")
        s = await read_stream(c, base, "fb-ok-noprefill")
        check("fb-ok-noprefill answers a user-last request", s["content"] == CANONICAL_ANSWER)

        await c.post(base + "/control/reset")
        r1 = await plain(c, base, "fb-s01-429-retry-after")
        r2 = await plain(c, base, "fb-s01-429-retry-after")
        check("S01: 429 with Retry-After: 2, then 200", r1.status_code == 429 and r1.headers.get("retry-after") == "2"
              and r2.status_code == 200)
        r1 = await plain(c, base, "fb-s02-429-persistent")
        r2 = await plain(c, base, "fb-s02-429-persistent")
        check("S02: 429 every time, no Retry-After", r1.status_code == r2.status_code == 429
              and "retry-after" not in r1.headers and "retry-after" not in r2.headers)
        r1 = await plain(c, base, "fb-s03-500-then-200")
        s2 = await read_stream(c, base, "fb-s03-500-then-200")
        check("S03: 500 once, then a stream", r1.status_code == 500 and s2["content"] == CANONICAL_ANSWER)
        for m in ("fb-s04-503-persistent", "fb-s16-503-persistent"):
            rs = [await plain(c, base, m) for _ in range(3)]
            check(f"{m}: 503 every time", all(r.status_code == 503 for r in rs))

    # S05: first on a raw socket, to see the RST itself (ECONNRESET, not a FIN).
    async with httpx.AsyncClient(timeout=10.0) as c:
        await c.post(base + "/control/reset")
    check("S05: the first attempt's connection gets a TCP RST before any bytes",
          await asyncio.to_thread(raw_reset_probe, base), "recv() raised ConnectionResetError")
    async with httpx.AsyncClient(timeout=10.0) as c:
        await c.post(base + "/control/reset")
        s = await read_stream(c, base, "fb-s05-reset")
        check("S05: first attempt is reset before any bytes", s["status"] is None and s["error"] is not None
              and ("reset" in s["error"].lower() or "ReadError" in s["error"] or "RemoteProtocol" in s["error"]),
              s["error"])
        s = await read_stream(c, base, "fb-s05-reset")
        check("S05: second attempt answers", s["content"] == CANONICAL_ANSWER)

    async with httpx.AsyncClient() as c:
        s = await read_stream(c, base, "fb-s06-no-response", read_timeout=1.0)
        check("S06: no response bytes (client read timeout)", s["status"] is None and "Timeout" in (s["error"] or ""), s["error"])
        await asyncio.sleep(0.3)
        e = [x for x in await wall_log(c, base) if x["model"] == "fb-s06-no-response"][-1]
        check("S06: the wall noticed the client leaving", e.get("client_left_after_s") is not None, e["action"])

        s = await read_stream(c, base, "fb-s07-slow-ttft")
        check(f"S07: first data after ~{FAST['slow_ttft_s']:g}s, then the whole answer",
              s["first_data_s"] is not None and s["first_data_s"] >= FAST["slow_ttft_s"] - 0.1
              and s["content"] == CANONICAL_ANSWER and s["done"], f"first data at {s['first_data_s']:.2f}s")

        for m in ("fb-s08-stream-cut", "fb-s14-stream-cut"):
            s = await read_stream(c, base, m)
            check(f"{m}: 40 tokens, then the body ends without its terminator",
                  len(s["content"].split()) == 40 and not s["done"] and s["error"] is not None, s["error"])

        s = await read_stream(c, base, "fb-s09-stream-stall")
        check(f"S09: 20 tokens, {FAST['stall_s']:g}s of silence, closed without terminator",
              len(s["content"].split()) == 20 and s["error"] is not None and s["elapsed_s"] >= FAST["stall_s"] - 0.1,
              f"{s['error']} after {s['elapsed_s']:.1f}s")

        s = await read_stream(c, base, "fb-s10-malformed-chunk")
        check("S10: exactly one invalid JSON event, the rest complete with [DONE]",
              s["bad"] == 1 and s["content"] == CANONICAL_ANSWER and s["done"] and s["error"] is None,
              f"bad={s['bad']} events={s['events']}")

        s = await read_stream(c, base, "fb-s11-no-done")
        check("S11: complete answer and usage, clean end, no [DONE]",
              s["content"] == CANONICAL_ANSWER and not s["done"] and s["error"] is None and s["usage"])

        for m, code in (("fb-s12-context-length", "context_length_exceeded"),
                        ("fb-s13-content-filter", "content_policy_violation")):
            r = await plain(c, base, m)
            check(f"{m}: 400 {code}", r.status_code == 400 and r.json()["error"]["code"] == code)

        await c.post(base + "/control/reset")
        r = await plain(c, base, "fb-s15-flap")
        check("S15: 503 while down", r.status_code == 503)
        await asyncio.sleep(FAST["flap_down_s"] + 0.2)
        s = await read_stream(c, base, "fb-s15-flap")
        check("S15: healthy after flap_down_s", s["content"] == CANONICAL_ANSWER)

        r = await plain(c, base, "gpt-unknown")
        check("unknown model: 404 model_not_found", r.status_code == 404)
        entries = await wall_log(c, base)
        check("log entries carry t, model, attempt, stream, last_role, prompt_tokens, action",
              all({"t", "model", "attempt", "stream", "last_role", "prompt_tokens", "action"} <= set(e) for e in entries)
              and [e["attempt"] for e in entries if e["model"] == "fb-s15-flap"] == [1, 2])
        print("  wall log since the last reset:")
        for e in entries:
            print(f"    {e['t']:7.3f}s {e['model']} #{e['attempt']} -> {e['action']}")


def raw_reset_probe(base: str) -> bool:
    """Sends one S05 request on a bare socket; True if the answer is a reset."""
    host, port = base.split("//", 1)[1].split(":")
    body = json.dumps({"model": "fb-s05-reset", "messages": PROMPT, "stream": True}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(head + body)
        try:
            s.recv(1024)
        except ConnectionResetError:
            return True
        return False  # any bytes (or a clean close) mean no reset


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "wall.py"), "--port", str(port), "--timing", "fast"])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        asyncio.run(run_checks(base))
    finally:
        proc.terminate()
        proc.wait(5)
    print(f"{'all wall checks passed' if not failures else 'FAILED: ' + ', '.join(failures)}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

"""The fault wall: a fake OpenAI-compatible provider that misbehaves on purpose.

The failover harness (run.py) points the gateway at this server and picks a
fault with the *model name*: ``fb-ok`` always answers, ``fb-ok-noprefill``
answers but refuses an assistant prefill, and every ``fb-sNN-...`` model
breaks the way scenario SNN of the failoverbench catalogue describes (see
scenarios.py for the list and what each scenario scores).

It speaks HTTP/1.1 on raw asyncio sockets (keep-alive, chunked streaming)
because the faults live below what a web framework lets you do: a TCP reset
before the status line, a chunked body that never gets its terminating chunk,
a connection held open in silence.

Every healthy answer is the same sixty-word text (CANONICAL_ANSWER), streamed
one word per chunk. A request whose last message is an assistant message
holding a prefix of that text gets only the rest of it, as a provider that
supports prefill would; any other request gets the whole text from the start.

Chat endpoints (what the gateway calls):
    POST /v1/chat/completions   plain or streamed (``stream: true``)
    GET  /v1/models             the model names the wall knows

Control endpoints (for the harness, never proxied):
    POST /control/reset         forget the log and the per-model attempt counts
    GET  /control/log           every chat request since the reset
    POST /control/timing        {"profile": "full" | "fast"}
    GET  /control/health        liveness (also /health)

Standalone:  python wall.py --port 8401 --timing fast [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from email.utils import formatdate

# Sixty words, so a stream cut after forty is visible and a truncated answer
# can never compare equal to a complete one.
CANONICAL_ANSWER = (
    "Failover is only proven when something upstream actually breaks. A rate "
    "limit, a dropped stream or a silent socket shows whether the gateway "
    "retries with care, moves to another model, or quietly hands back half an "
    "answer. Sixty words make truncation obvious, so a careful caller can "
    "always tell a finished reply from a broken one that merely looks complete."
)
ANSWER_WORDS = CANONICAL_ANSWER.split()
assert len(ANSWER_WORDS) == 60, len(ANSWER_WORDS)

# The two timing profiles of the catalogue. "full" is the one a published
# scorecard uses; "fast" shortens the long waits for a local loop.
TIMING_PROFILES: dict[str, dict[str, float]] = {
    "full": {
        "retry_after_s": 2.0,       # S01: the Retry-After header value
        "slow_ttft_s": 20.0,        # S07: delay before the first chunk
        "stall_s": 30.0,            # S09: silence before the wall closes the stream
        "no_response_s": 120.0,     # S06: how long the wall holds a silent connection
        "flap_down_s": 60.0,        # S15: outage length after a reset
        "token_interval_ms": 15.0,  # pause between word chunks
        "cut_after_tokens": 40,     # S08/S14: words sent before the cut
        "stall_after_tokens": 20,   # S09: words sent before the stall
        "invalid_before_token": 10,  # S10: the invalid event precedes this word (1-based)
    },
    "fast": {
        "retry_after_s": 2.0,
        "slow_ttft_s": 3.0,
        "stall_s": 4.0,
        "no_response_s": 15.0,
        "flap_down_s": 6.0,
        "token_interval_ms": 5.0,
        "cut_after_tokens": 40,
        "stall_after_tokens": 20,
        "invalid_before_token": 10,
    },
}

# Model name -> fault. The names are the catalogue's; a name the table does not
# hold is still matched by its "fb-sNN" prefix (and a provider prefix such as
# "wall/" is ignored), so a renamed scenario model keeps its fault.
MODEL_FAULTS: dict[str, str] = {
    "fb-ok": "healthy",
    "fb-ok-noprefill": "healthy_no_prefill",
    "fb-s01-429-retry-after": "rate_limited_once",
    "fb-s02-429-persistent": "rate_limited_always",
    "fb-s03-500-then-200": "server_error_once",
    "fb-s04-503-persistent": "overloaded_always",
    "fb-s05-reset": "reset_once",
    "fb-s06-no-response": "no_response",
    "fb-s07-slow-ttft": "slow_first_token",
    "fb-s08-stream-cut": "stream_cut",
    "fb-s09-stream-stall": "stream_stall",
    "fb-s10-malformed-chunk": "invalid_event",
    "fb-s11-no-done": "no_done_sentinel",
    "fb-s12-context-length": "context_length",
    "fb-s13-content-filter": "content_filter",
    "fb-s14-stream-cut": "stream_cut",
    "fb-s15-flap": "flapping",
    "fb-s16-503-persistent": "overloaded_always",
}

STATUS_TEXT = {
    100: "Continue", 200: "OK", 400: "Bad Request", 404: "Not Found",
    429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
}
IDLE_KEEPALIVE_S = 600.0
MAX_HEAD_BYTES = 1 << 20
_SCENARIO_TAG = re.compile(r"^fb-(s\d\d)(?:-|$)")


def normalise_model(name: str) -> str:
    return (name or "").rsplit("/", 1)[-1].strip().lower()


def fault_for(model: str) -> str | None:
    """The fault the wall applies to `model`, or None for an unknown model."""
    name = normalise_model(model)
    if name in MODEL_FAULTS:
        return MODEL_FAULTS[name]
    m = _SCENARIO_TAG.match(name)
    if m:
        for known, fault in MODEL_FAULTS.items():
            if known.startswith(f"fb-{m.group(1)}-"):
                return fault
    return None


def message_text(content) -> str:
    """The text of a chat message's content, a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return ""


def estimate_prompt_tokens(messages: list) -> int:
    """A rough prompt size (words plus a per-message overhead), logged so a
    shrinking retry can be told from a same-size resend (S12)."""
    return sum(len(message_text(m.get("content")).split()) + 4 for m in messages if isinstance(m, dict))


def answer_words_for(messages: list) -> tuple[list[str], bool]:
    """The words to answer with, and whether this is a prefill continuation."""
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    if last.get("role") == "assistant":
        partial = message_text(last.get("content")).strip()
        if partial and CANONICAL_ANSWER.startswith(partial):
            return CANONICAL_ANSWER[len(partial):].split(), True
    return list(ANSWER_WORDS), False


@dataclass
class HttpRequest:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def wants_keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


@dataclass
class WallState:
    timing_name: str
    timing: dict[str, float]
    t0: float = field(default_factory=time.monotonic)
    attempts: dict[str, int] = field(default_factory=dict)
    entries: list[dict] = field(default_factory=list)
    requests_seen: int = 0

    def reset(self) -> None:
        self.t0 = time.monotonic()
        self.attempts.clear()
        self.entries.clear()

    def elapsed(self) -> float:
        return round(time.monotonic() - self.t0, 4)


@dataclass
class ChatCall:
    """One chat request as the wall sees it, and its log entry."""
    model: str
    fault: str | None
    attempt: int
    messages: list
    stream: bool
    include_usage: bool
    entry: dict

    @property
    def last_role(self) -> str | None:
        last = self.messages[-1] if self.messages else None
        return last.get("role") if isinstance(last, dict) else None

    @property
    def prompt_tokens(self) -> int:
        return estimate_prompt_tokens(self.messages)

    @property
    def words(self) -> list[str]:
        return answer_words_for(self.messages)[0]

    @property
    def continuation(self) -> bool:
        return answer_words_for(self.messages)[1]

    @property
    def note(self) -> str:
        """What the log adds to a healthy answer's action."""
        note = " (flap: recovered)" if self.fault == "flapping" else ""
        if self.continuation:
            note += f" (prefill continuation, {len(self.words)} words)"
        return note


class ClientGone(Exception):
    """The peer closed the connection while the wall was still answering."""


class FaultWall:
    def __init__(self, timing_name: str = "full", verbose: bool = False):
        self.state = WallState(timing_name, dict(TIMING_PROFILES[timing_name]))
        self.verbose = verbose
        self.started = int(time.time())

    # ------------------------------------------------------------ connection
    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                req = await self._read_request(reader, writer)
                if req is None:
                    break
                keep_open = await self._dispatch(req, reader, writer)
                if not keep_open or writer.transport.is_closing():
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ClientGone):
            pass
        except Exception as exc:  # one broken exchange must never take the wall down
            print(f"wall: internal error: {exc!r}", file=sys.stderr, flush=True)
        finally:
            if not writer.transport.is_closing():
                writer.close()
            try:
                await writer.wait_closed()
            except Exception:
                pass

    async def _read_request(self, reader, writer) -> HttpRequest | None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_KEEPALIVE_S)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        body = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            pieces = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    break
                pieces.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(pieces)
        elif headers.get("content-length"):
            body = await reader.readexactly(int(headers["content-length"]))
        return HttpRequest(parts[0].upper(), parts[1], parts[2], headers, body)

    # ---------------------------------------------------------------- output
    @staticmethod
    def _head(status: int, headers: dict[str, str], keep_alive: bool) -> bytes:
        lines = [f"HTTP/1.1 {status} {STATUS_TEXT.get(status, 'Unknown')}",
                 f"Date: {formatdate(usegmt=True)}", "Server: steadfast-fault-wall",
                 f"Connection: {'keep-alive' if keep_alive else 'close'}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _send_json(self, writer, status: int, payload, keep_alive: bool,
                         extra_headers: dict[str, str] | None = None) -> bool:
        data = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        headers.update(extra_headers or {})
        writer.write(self._head(status, headers, keep_alive) + data)
        await writer.drain()
        return keep_alive

    async def _send_api_error(self, writer, status: int, message: str, err_type: str, code: str | None,
                              keep_alive: bool, extra_headers: dict[str, str] | None = None,
                              param: str | None = None) -> bool:
        payload = {"error": {"message": message, "type": err_type, "param": param, "code": code}}
        return await self._send_json(writer, status, payload, keep_alive, extra_headers)

    @staticmethod
    def _reset_connection(writer) -> None:
        """Close with SO_LINGER 0, so the kernel sends a TCP RST instead of a FIN."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def _hold(self, reader, seconds: float) -> float | None:
        """Wait up to `seconds` without answering. Returns how long the peer
        stayed before it closed the connection, or None if it stayed throughout."""
        started = time.monotonic()
        deadline = started + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                data = await asyncio.wait_for(reader.read(1), remaining)
            except asyncio.TimeoutError:
                return None
            except ConnectionError:
                data = b""
            if not data:
                return round(time.monotonic() - started, 3)
            # a stray byte (nobody pipelines behind a chat call): keep waiting

    # -------------------------------------------------------------- dispatch
    async def _dispatch(self, req: HttpRequest, reader, writer) -> bool:
        keep = req.wants_keep_alive
        path = req.path.split("?", 1)[0].rstrip("/") or "/"
        if req.method == "POST" and path.endswith("/chat/completions"):
            return await self._chat(req, reader, writer, keep)
        if req.method == "GET" and path.endswith("/models"):
            data = [{"id": name, "object": "model", "created": self.started, "owned_by": "fault-wall"}
                    for name in MODEL_FAULTS]
            return await self._send_json(writer, 200, {"object": "list", "data": data}, keep)
        if path == "/control/reset":
            self.state.reset()
            return await self._send_json(writer, 200, {"ok": True}, keep)
        if path == "/control/log":
            snapshot = {"now": self.state.elapsed(), "timing_profile": self.state.timing_name,
                        "timing": self.state.timing, "entries": self.state.entries}
            return await self._send_json(writer, 200, snapshot, keep)
        if path == "/control/timing" and req.method == "POST":
            try:
                wanted = json.loads(req.body or b"{}").get("profile")
            except (ValueError, AttributeError):
                wanted = None
            if wanted not in TIMING_PROFILES:
                return await self._send_api_error(writer, 400, f"profile must be one of {sorted(TIMING_PROFILES)}",
                                                  "invalid_request_error", None, keep)
            self.state.timing_name, self.state.timing = wanted, dict(TIMING_PROFILES[wanted])
            return await self._send_json(writer, 200, {"ok": True, "timing_profile": wanted,
                                                       "timing": self.state.timing}, keep)
        if path in ("/health", "/control/health"):
            return await self._send_json(writer, 200, {"ok": True, "timing_profile": self.state.timing_name}, keep)
        return await self._send_api_error(writer, 404, f"nothing at {req.method} {path}",
                                          "invalid_request_error", "not_found", keep)

    # ------------------------------------------------------------------ chat
    def _record(self, **fields) -> dict:
        entry = {"t": self.state.elapsed(), **fields}
        self.state.entries.append(entry)
        return entry

    async def _chat(self, req: HttpRequest, reader, writer, keep: bool) -> bool:
        try:
            body = json.loads(req.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return await self._send_api_error(writer, 400, "the request body is not a JSON object",
                                              "invalid_request_error", None, keep)
        st = self.state
        model = str(body.get("model") or "")
        key = normalise_model(model)
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        st.attempts[key] = st.attempts.get(key, 0) + 1
        st.requests_seen += 1
        call = ChatCall(
            model=model, fault=fault_for(model), attempt=st.attempts[key], messages=messages,
            stream=bool(body.get("stream")),
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
            entry={},
        )
        call.entry = self._record(model=model, attempt=call.attempt, stream=call.stream, last_role=call.last_role,
                                  prompt_tokens=call.prompt_tokens, action="")
        try:
            return await self._apply_fault(call, reader, writer, keep)
        finally:
            if self.verbose:
                print(json.dumps(call.entry), file=sys.stderr, flush=True)

    async def _apply_fault(self, call: "ChatCall", reader, writer, keep: bool) -> bool:
        T, fault, entry, model = self.state.timing, call.fault, call.entry, call.model
        if fault is None:
            entry["action"] = "404 model_not_found"
            return await self._send_api_error(writer, 404, f"The model '{model}' is not served here.",
                                              "invalid_request_error", "model_not_found", keep, param="model")
        if fault == "healthy_no_prefill" and call.last_role == "assistant":
            entry["action"] = "400 prefill_rejected"
            return await self._send_api_error(
                writer, 400, "Assistant prefill is not supported by this model: the last message must be from the user.",
                "invalid_request_error", "invalid_prefill", keep, param="messages")
        if fault == "rate_limited_once" and call.attempt == 1:
            wait = int(T["retry_after_s"])
            entry["action"] = f"429 retry-after={wait}"
            return await self._send_api_error(writer, 429, f"Too many requests for {model}; retry in {wait} s.",
                                              "rate_limit_error", "rate_limit_exceeded", keep,
                                              {"Retry-After": str(wait)})
        if fault == "rate_limited_always":
            entry["action"] = "429"
            return await self._send_api_error(writer, 429, f"Too many requests for {model}.",
                                              "rate_limit_error", "rate_limit_exceeded", keep)
        if fault == "server_error_once" and call.attempt == 1:
            entry["action"] = "500"
            return await self._send_api_error(writer, 500, "Something went wrong on our side.",
                                              "server_error", None, keep)
        if fault == "overloaded_always":
            entry["action"] = "503"
            return await self._send_api_error(writer, 503, f"{model} is overloaded right now.",
                                              "server_error", "overloaded", keep)
        if fault == "reset_once" and call.attempt == 1:
            entry["action"] = "tcp-reset"
            self._reset_connection(writer)
            return False
        if fault == "no_response":
            entry["action"] = f"no-response (holding up to {T['no_response_s']:g}s)"
            entry["progress"] = "holding"
            left_after = await self._hold(reader, T["no_response_s"])
            entry["progress"] = (f"client left after {left_after:.2f}s" if left_after is not None
                                 else f"closed by the wall after {T['no_response_s']:g}s")
            entry["client_left_after_s"] = left_after
            return False
        if fault == "context_length":
            entry["action"] = "400 context_length_exceeded"
            return await self._send_api_error(
                writer, 400, f"This request needs more tokens than {model}'s context window holds. "
                "Shorten the messages and try again.",
                "invalid_request_error", "context_length_exceeded", keep, param="messages")
        if fault == "content_filter":
            entry["action"] = "400 content_policy_violation"
            return await self._send_api_error(writer, 400, "The request was refused by the content policy.",
                                              "invalid_request_error", "content_policy_violation", keep)
        if fault == "flapping" and self.state.elapsed() < T["flap_down_s"]:
            entry["action"] = "503 (flap: down)"
            return await self._send_api_error(writer, 503, f"{model} is down for maintenance.",
                                              "server_error", "overloaded", keep)
        if call.stream:
            return await self._stream_answer(call, reader, writer, keep)
        return await self._plain_answer(call, reader, writer, keep)

    # --------------------------------------------------------------- answers
    def _completion_id(self) -> str:
        return f"chatcmpl-wall-{self.state.requests_seen}"

    async def _plain_answer(self, call: "ChatCall", reader, writer, keep: bool) -> bool:
        T, fault, entry, model, note = self.state.timing, call.fault, call.entry, call.model, call.note
        words, continuation, prompt_tokens = call.words, call.continuation, call.prompt_tokens
        text = (" " if continuation and words else "") + " ".join(words)
        payload = {
            "id": self._completion_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
                      "total_tokens": prompt_tokens + len(words)},
        }
        data = json.dumps(payload).encode()
        json_headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        if fault == "slow_first_token":
            entry["action"] = f"200 plain after {T['slow_ttft_s']:g}s{note}"
            entry["progress"] = "holding the answer"
            left = await self._hold(reader, T["slow_ttft_s"])
            if left is not None:
                entry["progress"] = f"client left after {left:.2f}s"
                entry["client_left_after_s"] = left
                return False
            entry["progress"] = "complete"
            return await self._send_json(writer, 200, payload, False)
        if fault == "stream_cut":
            cut = len(data) * 2 // 3
            entry["action"] = f"200 plain cut after {cut}/{len(data)} bytes{note}"
            writer.write(self._head(200, json_headers, False) + data[:cut])
            await writer.drain()
            writer.close()
            return False
        if fault == "stream_stall":
            entry["action"] = f"200 plain headers, then {T['stall_s']:g}s of silence, then closed{note}"
            entry["progress"] = "holding the body"
            writer.write(self._head(200, json_headers, False))
            await writer.drain()
            left = await self._hold(reader, T["stall_s"])
            entry["progress"] = (f"client left after {left:.2f}s" if left is not None
                                 else f"closed by the wall after {T['stall_s']:g}s")
            return False
        if fault == "invalid_event":
            bad = data[: len(data) // 2] + b"<<garbled"
            entry["action"] = f"200 plain with an invalid JSON body{note}"
            headers = {"Content-Type": "application/json", "Content-Length": str(len(bad))}
            writer.write(self._head(200, headers, keep) + bad)
            await writer.drain()
            return keep
        entry["action"] = f"200 plain{note}"
        return await self._send_json(writer, 200, payload, keep)

    async def _stream_answer(self, call: "ChatCall", reader, writer, keep: bool) -> bool:
        """Streams the answer; entry["action"] says what the wall set out to do
        (written before the first byte), entry["progress"] how far it got."""
        T, fault, entry, model, note = self.state.timing, call.fault, call.entry, call.model, call.note
        words, continuation, prompt_tokens = call.words, call.continuation, call.prompt_tokens
        cid = self._completion_id()
        created = int(time.time())
        gap = T["token_interval_ms"] / 1000.0
        cut_at, stall_at = int(T["cut_after_tokens"]), int(T["stall_after_tokens"])
        invalid_before = int(T["invalid_before_token"])
        planned = {
            "slow_first_token": f"200 stream, first token after {T['slow_ttft_s']:g}s",
            "stream_cut": f"200 stream cut after {cut_at} tokens (no terminating chunk)",
            "stream_stall": f"200 stream stalled after {stall_at} tokens for {T['stall_s']:g}s, then closed "
                            "without terminating chunk",
            "invalid_event": f"200 stream with one invalid JSON event before token {invalid_before}",
            "no_done_sentinel": "200 stream without [DONE]",
        }.get(fault, "200 stream")
        entry["action"] = planned + note
        entry["tokens_sent"] = 0
        entry["progress"] = "sending"
        # Faults that end the exchange abnormally close the connection afterwards.
        keep = keep and fault not in ("slow_first_token", "stream_cut", "stream_stall")

        def chunk(delta: dict | None, finish: str | None = None, usage: dict | None = None) -> dict:
            obj = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                   "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
            if usage is not None:
                obj["usage"] = usage
            return obj

        async def emit(event: dict | bytes) -> None:
            if writer.transport.is_closing():
                raise ClientGone()
            raw = event if isinstance(event, bytes) else b"data: " + json.dumps(event).encode() + b"\n\n"
            writer.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            await writer.drain()

        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                   "Transfer-Encoding": "chunked"}
        try:
            writer.write(self._head(200, headers, keep))
            await writer.drain()
            if fault == "slow_first_token":
                entry["progress"] = "headers sent, holding the first token"
                left = await self._hold(reader, T["slow_ttft_s"])
                if left is not None:
                    entry["progress"] = f"client left after {left:.2f}s, before the first token"
                    entry["client_left_after_s"] = left
                    return False
                entry["progress"] = "sending"
            await emit(chunk({"role": "assistant", "content": ""}))
            for i, word in enumerate(words):
                if fault == "stream_cut" and i == cut_at:
                    writer.close()
                    entry["progress"] = f"cut after {i} tokens"
                    return False
                if fault == "stream_stall" and i == stall_at:
                    entry["progress"] = f"stalled after {i} tokens"
                    left = await self._hold(reader, T["stall_s"])
                    if left is not None:
                        entry["progress"] = f"stalled after {i} tokens; client left after {left:.2f}s of silence"
                        entry["client_left_after_s"] = left
                    else:
                        entry["progress"] = f"stalled after {i} tokens; closed by the wall after {T['stall_s']:g}s"
                    writer.close()
                    return False
                if fault == "invalid_event" and i == invalid_before - 1:
                    await emit(b'data: {"object": "chat.completion.chunk", "choices": [{"index": 0, '
                               b'"delta": {"content": "garbled\n\n')
                    entry["invalid_events_sent"] = 1
                await emit(chunk({"content": (" " + word) if (i or continuation) else word}))
                entry["tokens_sent"] = i + 1
                if gap:
                    await asyncio.sleep(gap)
            await emit(chunk({}, finish="stop"))
            if call.include_usage:
                n = entry["tokens_sent"]
                await emit(chunk(None, usage={"prompt_tokens": prompt_tokens, "completion_tokens": n,
                                              "total_tokens": prompt_tokens + n}))
            if fault != "no_done_sentinel":
                await emit(b"data: [DONE]\n\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            entry["progress"] = "complete"
            return keep
        except (ClientGone, ConnectionError):
            entry["progress"] = f"client left after {entry['tokens_sent']} tokens"
            return False


async def serve(host: str, port: int, timing: str, verbose: bool) -> None:
    wall = FaultWall(timing, verbose)
    server = await asyncio.start_server(wall.serve_connection, host, port, limit=MAX_HEAD_BYTES,
                                        reuse_address=True)
    bound = server.sockets[0].getsockname()
    print(f"fault wall listening on http://{bound[0]}:{bound[1]}/v1 (timing {timing})", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="A fake OpenAI-compatible provider that fails on purpose.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8401)
    ap.add_argument("--timing", choices=sorted(TIMING_PROFILES), default="full")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every chat request's log entry to stderr")
    args = ap.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, args.timing, args.verbose))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

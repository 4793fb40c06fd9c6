"""The caller's side of the failover harness: one chat call through the
gateway with an official SDK, recorded as a CallResult.

Two ingresses:
  * openai:    openai.AsyncOpenAI at <gateway>/v1, chat.completions with
               stream=True and stream_options.include_usage; content is the
               concatenated delta.content, the model is the chunks' `model`,
               usage comes from the usage chunk.
  * anthropic: anthropic.AsyncAnthropic at <gateway>, messages.stream(...);
               content is the text deltas, model and usage come from the final
               message.

Both SDKs run with max_retries=0 (the gateway is under test, not the SDK) and
a client timeout longer than the harness deadline, so a gateway that never
answers shows up as a hang rather than as an SDK timeout. Any exception is an
error; whatever text arrived before it is kept. The result object is filled
as the call goes, so a call cut by the deadline still shows what it had.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field

import anthropic
import openai

# The SDK's own timeout sits this far past the harness deadline.
SDK_TIMEOUT_SLACK_S = 30.0
# A call gets this much past its scenario's max_wall_s before it is declared a hang.
HANG_GRACE_S = 1.0


@dataclass
class CallResult:
    ok: bool = False
    hang: bool = False
    content: str = ""
    error: str | None = None
    error_code: str | None = None
    status: int | None = None
    elapsed_s: float = 0.0
    ttft_s: float | None = None
    reported_model: str | None = None
    usage: dict | None = None
    finish_reason: str | None = None
    events: int = 0
    _parts: list[str] = field(default_factory=list, repr=False)

    @property
    def outcome(self) -> str:
        return "hang" if self.hang else ("success" if self.ok else "error")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("_parts", None)
        d["outcome"] = self.outcome
        return d


def _describe_error(res: CallResult, exc: BaseException) -> None:
    res.ok = False
    res.status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        code = err.get("code") or err.get("type") if isinstance(err, dict) else None
        res.error_code = str(code) if code else None
    res.error = f"{type(exc).__name__}: {str(exc)[:300]}"


async def _recorded(res: CallResult, client, call) -> None:
    """Runs `call(t0)` with the SDK `client` into `res`: a success unless it
    raises (the SDKs raise a family of APIError subclasses, and JSON errors),
    its time kept either way, the client closed."""
    t0 = time.monotonic()
    try:
        await call(t0)
        res.ok = True
    except Exception as exc:
        _describe_error(res, exc)
    finally:
        res.elapsed_s = round(time.monotonic() - t0, 3)
        await _close_quietly(client)


def _text_arrived(res: CallResult, text: str, t0: float) -> None:
    if res.ttft_s is None:
        res.ttft_s = round(time.monotonic() - t0, 3)
    res._parts.append(text)
    res.content = "".join(res._parts)


class OpenAIIngress:
    name = "openai"

    def __init__(self, gateway_url: str):
        self.base_url = gateway_url.rstrip("/") + "/v1"

    def _client(self, limit_s: float) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url, api_key="x", max_retries=0,
                                  timeout=limit_s + SDK_TIMEOUT_SLACK_S)

    async def stream(self, route: str, messages: list[dict], limit_s: float, res: CallResult) -> None:
        client = self._client(limit_s)

        async def call(t0: float) -> None:
            stream = await client.chat.completions.create(
                model=route, messages=messages, stream=True, stream_options={"include_usage": True})
            async for chunk in stream:
                res.events += 1
                res.reported_model = chunk.model or res.reported_model
                if chunk.usage is not None:
                    res.usage = chunk.usage.model_dump(exclude_none=True)
                for choice in chunk.choices or []:
                    text = choice.delta.content if choice.delta else None
                    if text:
                        _text_arrived(res, text, t0)
                    if choice.finish_reason:
                        res.finish_reason = choice.finish_reason

        await _recorded(res, client, call)

    async def plain(self, route: str, messages: list[dict], limit_s: float, res: CallResult) -> None:
        client = self._client(limit_s)

        async def call(_t0: float) -> None:
            r = await client.chat.completions.create(model=route, messages=messages)
            res.content = (r.choices[0].message.content or "") if r.choices else ""
            res.reported_model = r.model
            res.usage = r.usage.model_dump(exclude_none=True) if r.usage else None
            res.finish_reason = r.choices[0].finish_reason if r.choices else None

        await _recorded(res, client, call)


class AnthropicIngress:
    name = "anthropic"
    max_tokens = 1024

    def __init__(self, gateway_url: str):
        self.base_url = gateway_url.rstrip("/")

    def _client(self, limit_s: float) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=self.base_url, api_key="x", max_retries=0,
                                        timeout=limit_s + SDK_TIMEOUT_SLACK_S)

    async def stream(self, route: str, messages: list[dict], limit_s: float, res: CallResult) -> None:
        client = self._client(limit_s)

        async def call(t0: float) -> None:
            async with client.messages.stream(model=route, max_tokens=self.max_tokens, messages=messages) as s:
                async for event in s:
                    res.events += 1
                    if event.type == "message_start":
                        res.reported_model = event.message.model
                    elif event.type == "content_block_delta" and getattr(event.delta, "type", None) == "text_delta":
                        _text_arrived(res, event.delta.text, t0)
                final = await s.get_final_message()
            res.reported_model = final.model or res.reported_model
            res.usage = final.usage.model_dump(exclude_none=True) if final.usage else None
            res.finish_reason = final.stop_reason

        await _recorded(res, client, call)

    async def plain(self, route: str, messages: list[dict], limit_s: float, res: CallResult) -> None:
        client = self._client(limit_s)

        async def call(_t0: float) -> None:
            m = await client.messages.create(model=route, max_tokens=self.max_tokens, messages=messages)
            res.content = "".join(b.text for b in m.content if getattr(b, "type", None) == "text")
            res.reported_model = m.model
            res.usage = m.usage.model_dump(exclude_none=True) if m.usage else None
            res.finish_reason = m.stop_reason

        await _recorded(res, client, call)


INGRESSES = {"openai": OpenAIIngress, "anthropic": AnthropicIngress}


async def _close_quietly(client) -> None:
    try:
        await asyncio.wait_for(client.close(), 5.0)
    except BaseException:  # closing must never turn a result into a crash
        pass


async def guarded_call(ingress, route: str, messages: list[dict], limit_s: float, stream: bool = True) -> CallResult:
    """One call under a hard deadline (limit_s plus HANG_GRACE_S). A call still
    running then is cancelled and recorded as a hang, with what it had so far."""
    res = CallResult()
    t0 = time.monotonic()
    call = ingress.stream if stream else ingress.plain
    try:
        await asyncio.wait_for(call(route, messages, limit_s, res), timeout=limit_s + HANG_GRACE_S)
    except asyncio.TimeoutError:
        res.ok, res.hang = False, True
        res.error = f"hang: no result within {limit_s:g}s"
    except Exception as exc:  # a crash of the harness's own caller is a finding, not a harness failure
        _describe_error(res, exc)
        res.error = "caller crashed: " + (res.error or "")
    res.elapsed_s = round(time.monotonic() - t0, 3)
    return res

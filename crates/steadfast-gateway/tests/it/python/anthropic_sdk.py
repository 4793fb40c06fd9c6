"""Drives the gateway's /v1/messages with Anthropic's official Python SDK: a
plain and a streamed message (served by an OpenAI target after the Anthropic
one fails, so translated both ways), the gateway's headers, and an error in
Anthropic's shape. Exits non-zero (with the reason) on any mismatch.
Usage: anthropic_sdk.py BASE_URL"""

import sys

import anthropic

base_url = sys.argv[1]
client = anthropic.Anthropic(base_url=base_url, api_key="unused-by-the-gateway", max_retries=0)

plain = client.messages.create(
    model="claude-first",
    max_tokens=100,
    system="Be brief.",
    messages=[{"role": "user", "content": "from the sdk"}],
)
assert plain.type == "message", plain
assert plain.content[0].type == "text", plain
assert plain.content[0].text == "gpt here. You said: from the sdk", plain
assert plain.stop_reason == "end_turn", plain
assert plain.usage.input_tokens > 0 and plain.usage.output_tokens > 0, plain.usage

raw = client.messages.with_raw_response.create(
    model="claude-first", max_tokens=100, messages=[{"role": "user", "content": "headers"}]
)
assert raw.headers["x-steadfast-target"] == "m1", dict(raw.headers)
assert raw.headers["x-steadfast-attempts"] == "2", dict(raw.headers)

with client.messages.stream(
    model="claude-first",
    max_tokens=100,
    messages=[{"role": "user", "content": "streamed"}],
) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
assert text == "gpt here. You said: streamed", text
assert final.content[0].text == text, final
assert final.stop_reason == "end_turn", final
assert final.usage.output_tokens > 0, final.usage

events = [
    event.type
    for event in client.messages.create(
        model="claude-first",
        max_tokens=100,
        messages=[{"role": "user", "content": "raw events"}],
        stream=True,
    )
]
assert events[0] == "message_start" and events[-1] == "message_stop", events
assert "content_block_delta" in events and "message_delta" in events, events

try:
    client.messages.create(model="nope", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    raise AssertionError("an unknown route must fail")
except anthropic.NotFoundError as error:
    assert error.body["type"] == "error", error.body
    assert error.body["error"]["type"] == "not_found_error", error.body

print("anthropic sdk: all checks passed")

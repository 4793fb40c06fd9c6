"""Drives a gateway whose providers are all down with the official OpenAI and
Anthropic Python SDKs: route `chat` answers a question asked before the
outage from its cache (stale), route `polite` gives its static last answer;
plain and streamed, each SDK parses them (finish reason `degraded`). Exits
non-zero (with the reason) on any mismatch. Usage: degraded_sdk.py BASE_URL
MESSAGE KEPT_TEXT"""

import sys

import anthropic
import openai

base_url, message, kept = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)
question = [{"role": "user", "content": "asked before the outage"}]

raw = client.chat.completions.with_raw_response.create(model="chat", messages=question, temperature=0)
assert raw.headers["x-steadfast-cache"] == "stale", dict(raw.headers)
assert raw.parse().choices[0].message.content == kept, raw.parse()

text = ""
for chunk in client.chat.completions.create(model="chat", messages=question, temperature=0, stream=True):
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
assert text == kept, text

polite = client.chat.completions.create(model="polite", messages=question)
assert polite.choices[0].message.content == message, polite
assert polite.choices[0].finish_reason == "degraded", polite

finish = None
text = ""
for chunk in client.chat.completions.create(model="polite", messages=question, stream=True):
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
assert (text, finish) == (message, "degraded"), (text, finish)

claude = anthropic.Anthropic(base_url=base_url, api_key="unused", max_retries=0)
answer = claude.messages.create(model="polite", max_tokens=50, messages=question)
assert answer.content[0].text == message, answer
assert answer.stop_reason == "degraded", answer
with claude.messages.stream(model="polite", max_tokens=50, messages=question) as stream:
    assert "".join(stream.text_stream) == message
    assert stream.get_final_message().stop_reason == "degraded"

print("all checks passed")

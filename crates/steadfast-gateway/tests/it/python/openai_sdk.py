"""Drives the gateway with OpenAI's official Python SDK: a plain and a streamed
chat completion, an embedding, the model list, and an error. Exits non-zero
(with the reason) on any mismatch. Usage: openai_sdk.py BASE_URL"""

import sys

import openai

base_url = sys.argv[1]
client = openai.OpenAI(base_url=base_url, api_key="unused-by-the-gateway", max_retries=0)

plain = client.chat.completions.create(
    model="chat", messages=[{"role": "user", "content": "from the sdk"}]
)
assert plain.choices[0].message.content == "secondary here. You said: from the sdk", plain
assert plain.usage.total_tokens > 0, plain.usage

raw = client.chat.completions.with_raw_response.create(
    model="chat", messages=[{"role": "user", "content": "headers"}]
)
assert raw.headers["x-steadfast-target"] == "m1", dict(raw.headers)
assert raw.headers["x-steadfast-attempts"] == "2", dict(raw.headers)

stream = client.chat.completions.create(
    model="chat",
    messages=[{"role": "user", "content": "streamed"}],
    stream=True,
    stream_options={"include_usage": True},
)
text = ""
usage = None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    if chunk.usage:
        usage = chunk.usage
assert text == "secondary here. You said: streamed", text
assert usage is not None and usage.total_tokens > 0, usage

embedding = client.embeddings.create(model="chat", input="vector please")
assert len(embedding.data[0].embedding) == 8, embedding

models = [model.id for model in client.models.list()]
assert models == ["chat"], models

try:
    client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    raise AssertionError("an unknown route must fail")
except openai.NotFoundError as error:
    assert error.body["code"] == "model_not_found", error.body

print("openai sdk: all checks passed")

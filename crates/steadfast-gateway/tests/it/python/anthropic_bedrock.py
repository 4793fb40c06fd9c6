"""Drives a route whose target is Amazon Bedrock with Anthropic's official
Python SDK: a plain and a streamed message, answered by Bedrock's Converse
API through translation. Exits non-zero (with the reason) on any mismatch.
Usage: anthropic_bedrock.py BASE_URL ROUTE"""

import sys

import anthropic

base_url, route = sys.argv[1], sys.argv[2]
client = anthropic.Anthropic(base_url=base_url, api_key="unused-by-the-gateway", max_retries=0)

plain = client.messages.create(
    model=route, max_tokens=100, system="Be brief.",
    messages=[{"role": "user", "content": "from the sdk"}],
)
assert plain.content[0].text == "bedrock here. You said: from the sdk", plain
assert plain.stop_reason == "end_turn", plain
assert plain.usage.input_tokens > 0 and plain.usage.output_tokens > 0, plain.usage

text = ""
with client.messages.stream(
    model=route, max_tokens=100, messages=[{"role": "user", "content": "streamed"}]
) as stream:
    for piece in stream.text_stream:
        text += piece
    final = stream.get_final_message()
assert text == "bedrock here. You said: streamed", text
assert final.stop_reason == "end_turn", final
assert final.usage.output_tokens > 0, final.usage

print("anthropic sdk on bedrock: all checks passed")

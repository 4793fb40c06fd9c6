"""Anthropic's official AnthropicVertex client against the simulated Vertex AI
provider, as a user would point it at Google: its default request (its own
anthropic_version, the model in the URL) must be taken, plain and streamed.
Usage: anthropic_vertex.py BASE_URL ACCESS_TOKEN"""

import sys

from anthropic import AnthropicVertex

base_url, token = sys.argv[1], sys.argv[2]
client = AnthropicVertex(region="us-east5", project_id="proj", access_token=token,
                         base_url=base_url, max_retries=0)
model = "claude-sonnet-4-5@20250929"
plain = client.messages.create(model=model, max_tokens=50, messages=[{"role": "user", "content": "hi"}])
assert plain.content[0].text.endswith("You said: hi"), plain
with client.messages.stream(model=model, max_tokens=50, messages=[{"role": "user", "content": "hi"}]) as stream:
    text = stream.get_final_text()
assert text.endswith("You said: hi"), text
print("anthropic vertex sdk: all checks passed")

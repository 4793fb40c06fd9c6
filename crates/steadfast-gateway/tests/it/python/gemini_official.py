"""Google's official SDK as the judge of the Gemini side: google-genai's
generate_content, streamed and not, against the simulated provider, and the
request the gateway sent to it read by the SDK's own types, which refuse any
field they do not know. Usage: gemini_official.py MOCK_URL GATEWAY_REQUEST_JSON MODEL"""

import json
import sys

from google import genai
from google.genai import types

mock_url, request_path, model = sys.argv[1], sys.argv[2], sys.argv[3]
client = genai.Client(api_key="test-key",
                      http_options=types.HttpOptions(base_url=mock_url, api_version="v1beta"))
answer = client.models.generate_content(model=model, contents="hi")
assert answer.text and answer.text.endswith("You said: hi"), answer
assert answer.usage_metadata.total_token_count > 0, answer
text = "".join(chunk.text or "" for chunk in client.models.generate_content_stream(model=model, contents="hi"))
assert text.endswith("You said: hi"), text
v1 = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=mock_url, api_version="v1"))
assert v1.models.generate_content(model=model, contents="hi").text, "the v1 path"

sent = json.load(open(request_path))
known = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
assert set(sent) <= known, f"fields Gemini does not know: {set(sent) - known}"
for content in sent["contents"]:
    read = types.Content.model_validate(content)
    for part in read.parts:
        assert part.text != "", f"empty text sent: {content}"
if "systemInstruction" in sent:
    types.Content.model_validate(sent["systemInstruction"])
for tool in sent.get("tools", []):
    types.Tool.model_validate(tool)
if "toolConfig" in sent:
    types.ToolConfig.model_validate(sent["toolConfig"])
if "generationConfig" in sent:
    types.GenerationConfig.model_validate(sent["generationConfig"])
print("gemini official sdk: all checks passed")

"""Google's official SDK as the judge of the Gemini side: google-genai's
generate_content, streamed and not, against the simulated provider (function
calls too, and on Gemini 3 their thought signature, which a chat sends back
with its history), and the request the gateway sent to it read by the SDK's
own types, which refuse any field they do not know.
Usage: gemini_official.py MOCK_URL GATEWAY_REQUEST_JSON MODEL"""

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

# A declared function is called, plain and streamed; only Gemini 3 signs its call.
weather = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="weather", description="The weather of a city",
    parameters_json_schema={"type": "object", "properties": {"text": {"type": "string"}}})])
config = types.GenerateContentConfig(tools=[weather])
called = client.models.generate_content(model=model, contents="Weather in Paris?", config=config)
assert [(c.name, c.args) for c in called.function_calls] == [("weather", {"text": "Weather in Paris?"})], called
assert called.candidates[0].finish_reason == types.FinishReason.STOP, called
assert called.candidates[0].content.parts[0].thought_signature is None, called
chunks = list(client.models.generate_content_stream(model=model, contents="Weather in Paris?", config=config))
assert [c.name for chunk in chunks for c in chunk.function_calls or []] == ["weather"], chunks

# Gemini 3: the call comes signed; a chat keeps the signature in its history
# (the simulated provider refuses the next turn without it), and the
# function's response is answered in words.
chat = client.chats.create(model="gemini-3-pro-preview", config=config)
first = chat.send_message("Weather in Paris?")
part = first.candidates[0].content.parts[0]
assert part.function_call.name == "weather" and part.thought_signature, first
answer = chat.send_message(types.Part.from_function_response(name="weather", response={"celsius": 21}))
assert not answer.function_calls and "You said:" in answer.text, answer

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

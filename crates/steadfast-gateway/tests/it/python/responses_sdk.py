"""Drives the gateway's Responses API with OpenAI's official Python SDK: a
plain and a streamed `client.responses.create`, input items with a function
call and its output, a function call answered and its result answered in
words, and the refusal of `previous_response_id`. Exits
non-zero (with the reason) on any mismatch. Usage: responses_sdk.py BASE_URL"""

import sys

import openai

base_url = sys.argv[1]
client = openai.OpenAI(base_url=base_url, api_key="unused-by-the-gateway", max_retries=0)

plain = client.responses.create(model="chat", input="from the sdk", instructions="Be brief.")
assert plain.output_text == "secondary here. You said: from the sdk", plain
assert plain.status == "completed", plain.status
assert plain.usage.total_tokens > 0, plain.usage
assert plain.id.startswith("resp_"), plain.id

items = client.responses.create(
    model="chat",
    input=[
        {"role": "user", "content": "What is the weather in Paris?"},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": '{"celsius":21}'},
        {"role": "user", "content": [{"type": "input_text", "text": "thanks"}]},
    ],
    tools=[{"type": "function", "name": "get_weather", "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
)
# The model calls the offered tool again (the simulated one calls the first
# tool offered until a result comes last): a function_call item the SDK reads.
call = items.output[0]
assert (call.type, call.name, call.arguments) == ("function_call", "get_weather", '{"text":"thanks"}'), items

# The tool's result as the last item is answered in words.
answered = client.responses.create(
    model="chat",
    input=[
        {"role": "user", "content": "What is the weather in Paris?"},
        {"type": "function_call", "call_id": call.call_id, "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": call.call_id, "output": "21C"},
    ],
    tools=[{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
)
assert answered.output_text == "secondary here. You said: 21C", answered

stream = client.responses.create(model="chat", input="streamed", stream=True)
kinds = []
text = ""
final = None
for event in stream:
    kinds.append(event.type)
    if event.type == "response.output_text.delta":
        text += event.delta
    if event.type == "response.completed":
        final = event.response
assert text == "secondary here. You said: streamed", text
assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
assert "response.output_item.added" in kinds and "response.output_text.done" in kinds, kinds
assert final is not None and final.output_text == text, final
assert final.usage.output_tokens > 0, final.usage

try:
    client.responses.create(model="chat", input="again", previous_response_id=plain.id)
    raise AssertionError("previous_response_id must be refused")
except openai.BadRequestError as error:
    assert error.body["code"] == "unsupported_parameter", error.body

print("responses sdk: all checks passed")

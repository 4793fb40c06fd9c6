"""The official OpenAI SDK replays a tool conversation through the gateway:
a system prompt, a tool, the user's question, the assistant's call (its
content "", as the SDK's own objects serialise it), the tool's result and a
follow-up, to each route named; each must answer (text or a new call) with a
finish reason. Usage: tool_conversation.py BASE_URL ROUTE..."""

import sys

import openai

base_url, routes = sys.argv[1], sys.argv[2:]
client = openai.OpenAI(base_url=base_url, api_key="unused-by-the-gateway", max_retries=0)
tools = [{"type": "function", "function": {
    "name": "weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]
for route in routes:
    messages = [
        {"role": "system", "content": "Use the tools."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"celsius":21}'},
        {"role": "user", "content": "And tomorrow?"},
    ]
    answer = client.chat.completions.create(model=route, messages=messages, tools=tools)
    choice = answer.choices[0]
    assert choice.finish_reason in ("stop", "tool_calls"), (route, answer)
    assert choice.message.content or choice.message.tool_calls, (route, answer)
print("tool conversation through the official openai sdk: all checks passed")

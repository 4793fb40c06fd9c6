"""OpenAI's official AzureOpenAI client as the judge of the simulated Azure
OpenAI resource, then an OpenAI client of the gateway in front of it (a
`kind: azure` provider). Against the resource: the client's default request
(the deployment in the path, `api-version` in the query, the key in
`api-key`) is taken; the content filter's annotations parse, plain and
streamed (the first chunk has no choices); a tool call parses, whole and
accumulated by the SDK's stream helper, and its result is answered; an answer
the filter withholds ends with `content_filter`. Through the gateway: the same
answers, annotations and all, break nothing. The resource's last model call
is the client's own. Exits non-zero (with the reason) on any mismatch.
Usage: azure_openai.py RESOURCE_URL GATEWAY_URL API_KEY"""

import json
import sys
import urllib.request

import openai

resource, gateway, key = sys.argv[1], sys.argv[2], sys.argv[3]
weather = [{"type": "function", "function": {"name": "weather", "description": "The weather of a city",
            "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}]
asked = [{"role": "user", "content": "Weather in Paris?"}]
hello = [{"role": "user", "content": "hello"}]


def set_faults(faults):
    """Sets the simulated resource's faults through its control API."""
    request = urllib.request.Request(f"{resource}/_mock/faults", data=json.dumps(faults).encode(), method="PUT",
                                     headers={"content-type": "application/json"})
    urllib.request.urlopen(request).close()


def streamed_text(chunks):
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def check_answers(client, model):
    """Words, plain and streamed; a tool call, plain and streamed; its result answered."""
    plain = client.chat.completions.create(model=model, messages=hello)
    assert plain.choices[0].message.content == "azure here. You said: hello", plain
    chunks = list(client.chat.completions.create(model=model, messages=hello, stream=True))
    assert streamed_text(chunks) == "azure here. You said: hello", chunks
    called = client.chat.completions.create(model=model, messages=asked, tools=weather)
    assert called.choices[0].finish_reason == "tool_calls", called
    call = called.choices[0].message.tool_calls[0]
    assert (call.type, call.function.name) == ("function", "weather"), called
    assert json.loads(call.function.arguments) == {"text": "Weather in Paris?"}, called
    with client.chat.completions.stream(model=model, messages=asked, tools=weather) as stream:
        done = [event.name for event in stream if event.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
    assert done == ["weather"], done
    accumulated = final.choices[0].message.tool_calls[0]
    assert (accumulated.id, accumulated.function.arguments) == (call.id, call.function.arguments), final
    assert final.choices[0].finish_reason == "tool_calls", final
    history = asked + [{"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                       {"role": "tool", "tool_call_id": call.id, "content": "21C"}]
    answered = client.chat.completions.create(model=model, messages=history, tools=weather)
    assert answered.choices[0].message.content == "azure here. You said: 21C", answered
    return plain, chunks


# Through the gateway (route `chat`, its first target the Azure resource).
check_answers(openai.OpenAI(base_url=f"{gateway}/v1", api_key="unused", max_retries=0), "chat")

# The resource itself, as the AzureOpenAI client calls it by default.
azure = openai.AzureOpenAI(azure_endpoint=resource, api_key=key, api_version="2024-10-21", max_retries=0)
plain, chunks = check_answers(azure, "sdk-deployment")
safe = {"filtered": False, "severity": "safe"}
prompt = plain.model_extra["prompt_filter_results"][0]
assert prompt["prompt_index"] == 0 and prompt["content_filter_results"]["hate"] == safe, plain
assert plain.choices[0].model_extra["content_filter_results"]["violence"] == safe, plain
assert chunks[0].choices == [] and chunks[0].model_extra["prompt_filter_results"] == [prompt], chunks[0]
verdicts = [chunk.choices[0].model_extra["content_filter_results"] for chunk in chunks[1:] if chunk.choices]
assert verdicts[0] == {} and verdicts[1]["sexual"] == safe, verdicts

# The content filter withholds the answer: finish_reason content_filter.
set_faults({"mode": "safety_block"})
withheld = azure.chat.completions.create(model="sdk-deployment", messages=hello)
choice = withheld.choices[0]
assert (choice.finish_reason, choice.message.content) == ("content_filter", None), withheld
assert choice.model_extra["content_filter_results"]["protected_material_text"] == {"filtered": True, "detected": True}
chunks = list(azure.chat.completions.create(model="sdk-deployment", messages=hello, stream=True))
finish = [chunk.choices[0] for chunk in chunks if chunk.choices][-1]
assert finish.finish_reason == "content_filter", chunks
assert finish.model_extra["content_filter_results"]["protected_material_text"]["filtered"] is True, finish
assert streamed_text(chunks) == "azure here. ", chunks
set_faults({})

print("azure openai sdk: all checks passed")

"""Amazon's official SDK as the judge of the Bedrock side: boto3's converse
and converse_stream against the simulated provider (its answers parse, its
refusal of a blank text block is botocore's ValidationException), and the
request the gateway sent to it checked against botocore's own service model
of Converse. boto3 signs every call itself, so the mock's Signature Version 4
check is judged too: the right secret passes, a wrong one is refused.
Usage: bedrock_official.py MOCK_URL GATEWAY_REQUEST_JSON MODEL_ID AWS_SECRET"""

import json
import sys

import boto3
import botocore.session
from botocore.validate import ParamValidator

mock_url, request_path, model, secret = sys.argv[1:5]


def client_with(secret_key):
    return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=mock_url,
                        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key=secret_key)


client = client_with(secret)
try:
    client_with("not-the-secret").converse(
        modelId=model, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    raise AssertionError("a call signed with the wrong secret was taken")
except client.exceptions.ClientError as refused:
    assert refused.response["Error"]["Code"] == "InvalidSignatureException", refused

answer = client.converse(modelId=model, messages=[{"role": "user", "content": [{"text": "hi"}]}],
                         system=[{"text": "Be brief."}], inferenceConfig={"maxTokens": 50})
assert answer["output"]["message"]["content"][0]["text"], answer
assert answer["stopReason"] == "end_turn", answer
assert answer["usage"]["totalTokens"] > 0, answer

streamed = client.converse_stream(modelId=model, messages=[{"role": "user", "content": [{"text": "hi"}]}])
text, stop, usage = "", None, None
for event in streamed["stream"]:
    text += event.get("contentBlockDelta", {}).get("delta", {}).get("text", "")
    stop = event.get("messageStop", {}).get("stopReason", stop)
    usage = event.get("metadata", {}).get("usage", usage)
assert text and stop == "end_turn" and usage, (text, stop, usage)

try:
    client.converse(modelId=model, messages=[{"role": "user", "content": [{"text": " "}]}])
    raise AssertionError("a blank text block was taken")
except client.exceptions.ValidationException as refused:
    assert "is blank" in str(refused), refused

# A tool offered: the simulated model calls it, whole and streamed.
tools = {"tools": [{"toolSpec": {"name": "weather", "inputSchema": {"json": {"type": "object"}}}}]}
called = client.converse(modelId=model, toolConfig=tools,
                         messages=[{"role": "user", "content": [{"text": "Paris?"}]}])
use = [b["toolUse"] for b in called["output"]["message"]["content"] if "toolUse" in b]
assert called["stopReason"] == "tool_use" and use[0]["name"] == "weather", called
assert use[0]["input"] == {"text": "Paris?"}, use
streamed = client.converse_stream(modelId=model, toolConfig=tools,
                                  messages=[{"role": "user", "content": [{"text": "Paris?"}]}])
started, arguments, stop = None, "", None
for event in streamed["stream"]:
    started = event.get("contentBlockStart", {}).get("start", {}).get("toolUse", started)
    arguments += event.get("contentBlockDelta", {}).get("delta", {}).get("toolUse", {}).get("input", "")
    stop = event.get("messageStop", {}).get("stopReason", stop)
assert started["name"] == "weather" and started["toolUseId"], started
assert json.loads(arguments) == {"text": "Paris?"} and stop == "tool_use", (arguments, stop)

converse = botocore.session.get_session().get_service_model("bedrock-runtime").operation_model("Converse")
sent = json.load(open(request_path))
report = ParamValidator().validate({"modelId": model, **sent}, converse.input_shape)
assert not report.has_errors(), report.generate_report()
for message in sent["messages"]:
    for block in message["content"]:
        assert block.get("text", "x").strip(), f"blank text sent: {message}"
print("bedrock official sdk: all checks passed")

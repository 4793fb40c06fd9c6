"""Amazon's official SDK as the judge of the Bedrock side: boto3's converse
and converse_stream against the simulated provider (its answers parse, its
refusal of a blank text block is botocore's ValidationException), and the
request the gateway sent to it checked against botocore's own service model
of Converse. Usage: bedrock_official.py MOCK_URL GATEWAY_REQUEST_JSON MODEL_ID"""

import json
import sys

import boto3
import botocore.session
from botocore.validate import ParamValidator

mock_url, request_path, model = sys.argv[1], sys.argv[2], sys.argv[3]
client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=mock_url,
                      aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret")

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

converse = botocore.session.get_session().get_service_model("bedrock-runtime").operation_model("Converse")
sent = json.load(open(request_path))
report = ParamValidator().validate({"modelId": model, **sent}, converse.input_shape)
assert not report.has_errors(), report.generate_report()
for message in sent["messages"]:
    for block in message["content"]:
        assert block.get("text", "x").strip(), f"blank text sent: {message}"
print("bedrock official sdk: all checks passed")

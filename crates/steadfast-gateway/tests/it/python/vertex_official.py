"""Google's official libraries as the judge of the simulated Vertex AI:
google-auth exchanges a service account's signed JWT at the mock's token
endpoint (the mock checks its RS256 signature: a key the mock does not know
is refused with Google's "invalid_grant"), and google-genai, in Vertex AI
mode with those credentials, is answered by the mock, whole and streamed.
Usage: vertex_official.py MOCK_URL KEY_FILE OTHER_KEY_FILE"""

import sys

import google.auth.exceptions
import google.auth.transport.requests
from google import genai
from google.genai import types
from google.oauth2 import service_account

mock_url, key_file, other_key_file = sys.argv[1:4]
scopes = ["https://www.googleapis.com/auth/cloud-platform"]

credentials = service_account.Credentials.from_service_account_file(key_file, scopes=scopes)
credentials.refresh(google.auth.transport.requests.Request())
assert credentials.token.startswith("ya29."), credentials.token

stranger = service_account.Credentials.from_service_account_file(other_key_file, scopes=scopes)
try:
    stranger.refresh(google.auth.transport.requests.Request())
    raise AssertionError("an assertion signed by an unknown key was taken")
except google.auth.exceptions.RefreshError as refused:
    assert "invalid_grant" in str(refused) and "Invalid JWT Signature" in str(refused), refused

client = genai.Client(vertexai=True, project="proj-1", location="us-central1",
                      credentials=credentials,
                      http_options=types.HttpOptions(base_url=mock_url))
answer = client.models.generate_content(model="gemini-2.0-flash", contents="from the sdk")
assert answer.text == "vertex here. You said: from the sdk", answer
streamed = "".join(chunk.text or "" for chunk in client.models.generate_content_stream(
    model="gemini-2.0-flash", contents="streamed"))
assert streamed == "vertex here. You said: streamed", streamed
print("vertex official libraries: all checks passed")

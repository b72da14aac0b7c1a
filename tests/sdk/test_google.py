"""The official `google-genai` client against the gateway's Google AI proxy (/api/ai/google)."""

import json
import sys
import urllib.request

from google import genai
from google.genai import types

from harness import BASE, MOCK_URL, TOKEN, run

client = genai.Client(
    api_key=TOKEN,
    http_options=types.HttpOptions(base_url=f"{BASE}/api/ai/google", api_version="v1beta", timeout=20_000),
)
MODEL = "gemini-2.5-flash"


def test_every_api_version_the_sdk_uses_works_with_only_the_base_url_changed():
    # The SDK's own default version, and the others it can be told to use.
    for options in (
        types.HttpOptions(base_url=f"{BASE}/api/ai/google", timeout=20_000),
        types.HttpOptions(base_url=f"{BASE}/api/ai/google", api_version="v1", timeout=20_000),
        types.HttpOptions(base_url=f"{BASE}/api/ai/google", api_version="v1alpha", timeout=20_000),
    ):
        c = genai.Client(api_key=TOKEN, http_options=options)
        r = c.models.generate_content(model=MODEL, contents="hello")
        assert "Mock reply" in (r.text or ""), (options.api_version, r)


def upstream_requests():
    with urllib.request.urlopen(f"{MOCK_URL}/_requests", timeout=5) as r:
        return json.load(r)["requests"]


def test_generate_content_returns_the_mock_text():
    r = client.models.generate_content(model=MODEL, contents="hello")
    assert "Mock reply" in (r.text or ""), r


def test_generate_content_stream_yields_chunks():
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="hello again"))
    assert chunks, "no chunk"
    text = "".join(c.text or "" for c in chunks)
    assert text.strip(), chunks


def test_models_list_and_get_name_the_configured_model():
    names = [m.name for m in client.models.list()]
    assert f"models/{MODEL}" in names, names
    assert client.models.get(model=MODEL).name == f"models/{MODEL}"


def test_the_gateway_token_is_not_forwarded_upstream():
    sent = [r for r in upstream_requests() if "generateContent" in r["path"] or "GenerateContent" in r["path"]]
    assert sent, "the mock saw no Gemini call"
    for r in sent:
        assert TOKEN not in r["path"], r["path"]
        assert r["headers"].get("x-goog-api-key") != TOKEN, r["headers"]


if __name__ == "__main__":
    sys.exit(run(globals()))

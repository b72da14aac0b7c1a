"""The official `openai` Python client against the gateway's OpenAI-compatible routes (/v1)."""

import sys

from openai import OpenAI

from harness import BASE, TOKEN, run

client = OpenAI(base_url=f"{BASE}/v1", api_key=TOKEN, timeout=20, max_retries=0)
QUESTION = [{"role": "user", "content": "top 2 servers by memory"}]


def test_models_list_has_auto_and_local():
    ids = [m.id for m in client.models.list()]
    assert "auto" in ids and "local" in ids, ids


def test_chat_completion_local_has_a_percentage():
    c = client.chat.completions.create(model="local", messages=QUESTION)
    text = c.choices[0].message.content or ""
    assert c.object == "chat.completion", c
    assert "%" in text, text


def test_streamed_completion_yields_text():
    chunks = list(client.chat.completions.create(model="local", messages=QUESTION, stream=True))
    assert chunks, "no chunk"
    text = "".join((ch.choices[0].delta.content or "") for ch in chunks if ch.choices)
    assert text.strip(), chunks
    assert all(ch.object == "chat.completion.chunk" for ch in chunks), [ch.object for ch in chunks]


def test_stream_usage_comes_last_only_when_asked():
    chunks = list(client.chat.completions.create(
        model="local", messages=QUESTION, stream=True, stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage and last.usage.total_tokens > 0, last
    assert all(ch.usage is None for ch in chunks[:-1]), chunks
    plain = list(client.chat.completions.create(model="local", messages=QUESTION, stream=True))
    assert all(ch.usage is None for ch in plain), plain


def test_auto_answers():
    # `auto` walks the chain: Google AI (the mock upstream, set by run.sh) answers first.
    c = client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "How are my servers?"}])
    text = c.choices[0].message.content or ""
    assert "Mock reply" in text, (c.model, text)


if __name__ == "__main__":
    sys.exit(run(globals()))

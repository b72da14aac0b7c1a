"""The official MCP Python SDK (`mcp`) against the gateway's MCP server: connect over Streamable HTTP with
the gateway token, list the tools, call every one, and check a tool error comes back as `isError`."""

import logging
import sys

import anyio
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from harness import BASE, TOKEN, run

# One call per tool, with arguments named as the REST API names them.
CALLS = {
    "list_servers": {},
    "get_server": {"id": "web-01"},
    "get_metrics_history": {"serverId": "web-01", "timeRange": "1h"},
    "list_alerts": {},
    "fleet_summary": {},
    "analyze": {"type": "health", "serverId": "web-01"},
    "ai_gateway_status": {},
    "free_tier_budget": {},
    "list_checks": {},
}


async def with_session(body):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with streamable_http_client(f"{BASE}/mcp", http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await body(session)


def test_lists_every_tool_with_schemas():
    async def body(session):
        tools = (await session.list_tools()).tools
        names = {t.name for t in tools}
        assert set(CALLS) <= names, names
        for t in tools:
            assert t.input_schema["type"] == "object", t
            assert t.output_schema and t.output_schema["type"] == "object", t

    anyio.run(with_session, body)


def test_calls_every_tool():
    async def body(session):
        for name, args in CALLS.items():
            result = await session.call_tool(name, args)
            assert not result.is_error, (name, result)
            assert result.structured_content, (name, result)
            assert result.content and result.content[0].type == "text", (name, result)

    anyio.run(with_session, body)


def test_a_missing_server_is_a_tool_error():
    async def body(session):
        result = await session.call_tool("get_server", {"id": "no-such-server"})
        assert result.is_error, result
        assert "no-such-server" in result.content[0].text, result

    anyio.run(with_session, body)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_ending_a_session_is_what_the_sdk_expects():
    # The SDK sends DELETE when the session ends and warns unless it gets 200 or 204.
    records = _Records()
    logging.getLogger().addHandler(records)
    try:
        async def body(session):
            await session.list_tools()

        anyio.run(with_session, body)
    finally:
        logging.getLogger().removeHandler(records)
    failed = [m for m in records.messages if "termination failed" in m.lower()]
    assert not failed, failed


if __name__ == "__main__":
    sys.exit(run(globals()))

//! The MCP `ServerHandler`: `tools/list` and `tools/call` over the tool registry. Results carry
//! `structuredContent` (matching each tool's `outputSchema`) and the same JSON as text for older
//! clients; a failing tool is a result with `isError`, an unknown tool the JSON-RPC error -32602.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler};
use serde_json::Value;

use super::McpStats;
use crate::tools::{ToolDef, ToolError, Tools};

#[derive(Clone)]
pub struct Handler {
    pub tools: Arc<Tools>,
    pub stats: Arc<McpStats>,
}

fn object(v: &Value) -> Arc<serde_json::Map<String, Value>> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

/// The registry's definition as an MCP tool. Every tool only reads.
pub fn tool(def: &ToolDef) -> Tool {
    Tool::new(def.name, def.description, object(&def.input_schema))
        .with_title(def.title)
        .with_raw_output_schema(object(&def.output_schema))
        .with_annotations(ToolAnnotations::new().read_only(true).destructive(false))
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("openmanager", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "OpenManager monitors a fleet of servers. Use list_servers or fleet_summary first, then get_server, \
                 get_metrics_history, list_alerts or analyze for one server; list_checks for the services checked \
                 (websites, ports, certificates); free_tier_budget and ai_gateway_status describe the hub itself.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.tools().iter().map(tool).collect()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get(name).map(tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.stats.record_call();
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        match self.tools.call(&request.name, args).await {
            Ok(value) => Ok(CallToolResult::structured(value).into()),
            Err(ToolError::Unknown(name)) => Err(ErrorData::invalid_params(format!("unknown tool `{name}`"), None)),
            Err(e) => {
                self.stats.record_error();
                Ok(CallToolResult::error(vec![ContentBlock::text(e.to_string())]).into())
            }
        }
    }
}

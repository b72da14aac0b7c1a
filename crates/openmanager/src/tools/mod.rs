//! The tool registry: one definition per tool (name, description, JSON input and output schemas,
//! handler), shared by the MCP server and by the AI gateway's function calling, so both read the
//! fleet the same way the REST API does. A tool's failure (a missing server, a bad range) is a
//! [`ToolError`] the caller shows to the model or client; it never panics or hangs.

mod catalog;
mod schema;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::http::error::ApiError;
use crate::state::AppState;

pub use catalog::definitions;

/// Why a call did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// No tool by that name (a protocol error, not a tool result).
    #[error("unknown tool `{0}`")]
    Unknown(String),
    /// The arguments do not match the input schema.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool ran and failed; the message is for the caller.
    #[error("{0}")]
    Failed(String),
}

impl From<ApiError> for ToolError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Validation { details, .. } => ToolError::InvalidArguments(
                details.iter().map(|d| format!("`{}` {}", d.field, d.reason)).collect::<Vec<_>>().join("; "),
            ),
            // Internal details stay in the log, as for the REST API.
            ApiError::Internal(err) => {
                tracing::error!(error = %err, "tool failed");
                ToolError::Failed("internal error".into())
            }
            other => ToolError::Failed(other.to_string()),
        }
    }
}

pub type Handler = fn(AppState, Value) -> BoxFuture<'static, Result<Value, ToolError>>;

/// One tool.
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments object.
    pub input_schema: Value,
    /// JSON Schema of the result object (MCP `outputSchema`; results always match it).
    pub output_schema: Value,
    pub handler: Handler,
}

/// Every tool, built once at start.
pub struct Registry {
    tools: Vec<ToolDef>,
}

impl Default for Registry {
    fn default() -> Self {
        Self { tools: definitions() }
    }
}

impl Registry {
    pub fn tools(&self) -> &[ToolDef] {
        &self.tools
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.tools.iter().map(|t| t.name).collect()
    }

    pub fn get(&self, name: &str) -> Option<&ToolDef> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// Runs a tool. `null` or absent arguments mean `{}`.
    pub async fn call(&self, state: &AppState, name: &str, args: Value) -> Result<Value, ToolError> {
        let tool = self.get(name).ok_or_else(|| ToolError::Unknown(name.to_owned()))?;
        let args = if args.is_null() { Value::Object(Default::default()) } else { args };
        if !args.is_object() {
            return Err(ToolError::InvalidArguments("arguments must be an object".into()));
        }
        (tool.handler)(state.clone(), args).await
    }

    /// The registry as function declarations for the AI gateway.
    pub fn specs(&self) -> Vec<ai::ToolSpec> {
        self.tools
            .iter()
            .map(|t| ai::ToolSpec {
                name: t.name.to_owned(),
                description: t.description.to_owned(),
                parameters: t.input_schema.clone(),
            })
            .collect()
    }
}

/// Parses a tool's arguments, naming the field at fault.
pub fn args<T: DeserializeOwned>(value: Value) -> Result<T, ToolError> {
    crate::http::json::from_value(value).map_err(ToolError::from)
}

/// Runs registry tools for the AI gateway's tool-calling loop.
pub struct GatewayRunner {
    pub state: AppState,
    pub registry: Arc<Registry>,
}

impl ai::ToolRunner for GatewayRunner {
    fn call<'a>(&'a self, name: &'a str, args: Value) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(async move { self.registry.call(&self.state, name, args).await.map_err(|e| e.to_string()) })
    }
}

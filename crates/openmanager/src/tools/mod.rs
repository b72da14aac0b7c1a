//! The tool registry: one definition per tool (name, description, input schema derived from its
//! argument type, output schema, handler), shared by the MCP server and by the AI gateway's function
//! calling, so both read the fleet the same way the REST API does. Every tool only reads. A tool's
//! failure (a missing server, a bad range) is a [`ToolError`] the caller shows to the model or
//! client; it never panics or hangs.

mod catalog;
mod schema;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::alerts::AlertingError;
use crate::analyses::AnalysesError;
use crate::fleet::FleetError;
use crate::services::Services;
use crate::validation::FieldError;

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

fn describe(errors: &[FieldError]) -> String {
    errors.iter().map(|d| format!("`{}` {}", d.field, d.reason)).collect::<Vec<_>>().join("; ")
}

/// Internal details stay in the log, as for the REST API.
fn internal(e: &dyn std::fmt::Display) -> ToolError {
    tracing::error!(error = %e, "tool failed");
    ToolError::Failed("internal error".into())
}

impl From<FleetError> for ToolError {
    fn from(e: FleetError) -> Self {
        match e {
            FleetError::Invalid(errors) => ToolError::InvalidArguments(describe(&errors)),
            FleetError::Store(err) => internal(&format!("{err:#}")),
            other => ToolError::Failed(other.to_string()),
        }
    }
}

impl From<AlertingError> for ToolError {
    fn from(e: AlertingError) -> Self {
        match e {
            AlertingError::Invalid(errors) => ToolError::InvalidArguments(describe(&errors)),
            AlertingError::Store(err) => internal(&format!("{err:#}")),
            other => ToolError::Failed(other.to_string()),
        }
    }
}

impl From<AnalysesError> for ToolError {
    fn from(e: AnalysesError) -> Self {
        ToolError::Failed(e.to_string())
    }
}

pub type Handler = fn(Services, Value) -> BoxFuture<'static, Result<Value, ToolError>>;

/// One tool.
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments object, derived from the type the handler parses.
    pub input_schema: Value,
    /// JSON Schema of the result object (MCP `outputSchema`; results always match it).
    pub output_schema: Value,
    pub handler: Handler,
}

/// Every tool, with the services they read.
pub struct Tools {
    tools: Vec<ToolDef>,
    services: Services,
}

impl Tools {
    pub fn new(services: Services) -> Self {
        Self { tools: catalog::definitions(), services }
    }

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
    pub async fn call(&self, name: &str, args: Value) -> Result<Value, ToolError> {
        let tool = self.get(name).ok_or_else(|| ToolError::Unknown(name.to_owned()))?;
        let args = if args.is_null() { Value::Object(Default::default()) } else { args };
        if !args.is_object() {
            return Err(ToolError::InvalidArguments("arguments must be an object".into()));
        }
        (tool.handler)(self.services.clone(), args).await
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
    crate::validation::from_value(value).map_err(|e| ToolError::InvalidArguments(describe(&e)))
}

/// Runs registry tools for the AI gateway's tool-calling loop.
pub struct GatewayRunner(pub Arc<Tools>);

impl ai::ToolRunner for GatewayRunner {
    fn call<'a>(&'a self, name: &'a str, args: Value) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(async move { self.0.call(name, args).await.map_err(|e| e.to_string()) })
    }
}

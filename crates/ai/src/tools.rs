//! The tool-calling loop: run the calls a model asks for, hand back the results, ask again.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::error::AiError;
use crate::provider::local::BoxFuture;
use crate::request::{AiAnswer, AiRequest, Message, Target, ThinkingStep};
use crate::router::{Router, millis};

/// Runs the tools the gateway offers to models. The binary implements it (a later issue fills
/// the tools); an `Err` is a message the model sees, not a failure of the request.
pub trait ToolRunner: Send + Sync {
    fn call<'a>(&'a self, name: &'a str, args: Value) -> BoxFuture<'a, Result<Value, String>>;
}

/// A short, bounded description of a call for the thinking steps.
fn describe(name: &str, args: &Value) -> String {
    let mut a = args.to_string();
    if a.len() > 200 {
        let mut cut = 200;
        while !a.is_char_boundary(cut) {
            cut -= 1;
        }
        a.truncate(cut);
        a.push('…');
    }
    format!("{name}({a})")
}

impl Router {
    /// Answers `req`, running tool calls through `runner` and re-asking, for up to `max_steps`
    /// rounds (default from config) within the request's deadline. After the first answer the
    /// conversation stays pinned to the engine that gave it, since call ids and formats are
    /// that engine's. Each call becomes a thinking step; attempts of every round are kept.
    pub async fn query_with_tools(
        &self,
        mut req: AiRequest,
        runner: Arc<dyn ToolRunner>,
        max_steps: Option<u32>,
    ) -> Result<AiAnswer, AiError> {
        let started = Instant::now();
        let l = &self.inner.limits;
        let deadline = started + req.timeout.unwrap_or(l.default_timeout).min(l.max_timeout);
        let max_steps = max_steps.unwrap_or(l.max_tool_steps);
        let mut steps: Vec<ThinkingStep> = Vec::new();
        let mut attempts = Vec::new();
        let mut fallback = None;
        let mut round = 0;
        loop {
            req.timeout = Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)));
            let mut ans = self.query(req.clone()).await?;
            attempts.append(&mut ans.attempts);
            let first_fallback = *fallback.get_or_insert(ans.fallback);
            if ans.tool_calls.is_empty() || round >= max_steps || Instant::now() >= deadline {
                steps.append(&mut ans.thinking_steps);
                ans.thinking_steps = steps;
                ans.attempts = attempts;
                ans.fallback = first_fallback;
                ans.elapsed_ms = millis(started.elapsed());
                return Ok(ans);
            }
            round += 1;
            req.target = Target::Pinned { engine: ans.engine.clone(), model: Some(ans.model.clone()) };
            let mut asked = Message::assistant(ans.text.clone());
            asked.tool_calls = ans.tool_calls.clone();
            req.chat.messages.push(asked);
            for call in &ans.tool_calls {
                let t0 = Instant::now();
                let left = deadline.saturating_duration_since(t0);
                let result = match tokio::time::timeout(left, runner.call(&call.name, call.arguments.clone())).await {
                    Ok(r) => r,
                    Err(_) => Err("tool timed out".to_string()),
                };
                let (status, value) = match result {
                    Ok(v) => ("completed", v),
                    Err(msg) => ("failed", json!({"error": msg})),
                };
                steps.push(ThinkingStep {
                    step: format!("tool:{}", call.name),
                    description: describe(&call.name, &call.arguments),
                    status: status.into(),
                    duration_ms: millis(t0.elapsed()),
                });
                req.chat.messages.push(Message::tool_result(call, &value));
            }
        }
    }
}

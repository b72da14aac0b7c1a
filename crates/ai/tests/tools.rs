//! The tool-calling loop over both wire formats.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ai::{AiRequest, ChatRequest, ToolRunner, ToolSpec};
use common::{Mock, Reply, Wire, config, router};
use serde_json::{Value, json};

struct Cpu(AtomicUsize);

impl ToolRunner for Cpu {
    fn call<'a>(&'a self, name: &'a str, args: Value) -> ai::BoxFuture<'a, Result<Value, String>> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            match name {
                "get_cpu" => Ok(json!({"server": args["server"], "cpu": 42.5})),
                _ => Err(format!("unknown tool {name}")),
            }
        })
    }
}

fn ask() -> AiRequest {
    let mut chat = ChatRequest::user("cpu of web-1?");
    chat.tools.push(ToolSpec {
        name: "get_cpu".into(),
        description: "Current CPU of a server".into(),
        parameters: json!({"type": "object", "properties": {"server": {"type": "string"}}, "required": ["server"]}),
    });
    AiRequest::new(chat).timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn openai_tool_calls_are_run_and_answered() {
    let o = Mock::start(Wire::OpenAi).await;
    o.push(Reply::Tool { name: "get_cpu".into(), args: json!({"server": "web-1"}) });
    o.set_default(Reply::Text("web-1 is at 42.5% CPU".into()));
    let (cfg, env) = config(None, Some(&o));
    let runner = Arc::new(Cpu(AtomicUsize::new(0)));
    let a = router(&cfg, &env).query_with_tools(ask(), runner.clone(), None).await.unwrap();
    assert_eq!(a.text, "web-1 is at 42.5% CPU");
    assert_eq!(a.engine, "groq");
    assert_eq!(runner.0.load(Ordering::SeqCst), 1);
    assert_eq!(a.thinking_steps[0].step, "tool:get_cpu");
    assert_eq!(a.thinking_steps[0].status, "completed");
    assert_eq!(a.attempts.len(), 2);
    let bodies = o.bodies();
    assert_eq!(bodies[0]["tools"][0]["function"]["name"], "get_cpu");
    let msgs = bodies[1]["messages"].as_array().unwrap();
    assert_eq!(msgs[1]["tool_calls"][0]["id"], "call_abc");
    assert_eq!(msgs[2]["role"], "tool");
    assert_eq!(msgs[2]["tool_call_id"], "call_abc");
    assert_eq!(serde_json::from_str::<Value>(msgs[2]["content"].as_str().unwrap()).unwrap()["cpu"], 42.5);
}

#[tokio::test]
async fn gemini_function_calls_round_trip_and_steps_are_bounded() {
    let g = Mock::start(Wire::Gemini).await;
    g.push(Reply::Tool { name: "get_cpu".into(), args: json!({"server": "web-1"}) });
    g.set_default(Reply::Text("42.5%".into()));
    let (cfg, env) = config(Some(&g), None);
    let r = router(&cfg, &env);
    let runner = Arc::new(Cpu(AtomicUsize::new(0)));
    let a = r.query_with_tools(ask(), runner.clone(), None).await.unwrap();
    assert_eq!(a.text, "42.5%");
    let bodies = g.bodies();
    assert_eq!(bodies[0]["tools"][0]["functionDeclarations"][0]["name"], "get_cpu");
    assert_eq!(bodies[1]["contents"][1]["parts"][0]["functionCall"]["name"], "get_cpu");
    assert_eq!(bodies[1]["contents"][2]["parts"][0]["functionResponse"]["response"]["result"]["cpu"], 42.5);

    // A model that keeps calling tools is stopped after `max_steps` rounds.
    g.set_default(Reply::Tool { name: "nope".into(), args: json!({}) });
    let a = r.query_with_tools(ask(), runner, Some(2)).await.unwrap();
    assert_eq!(a.thinking_steps.len(), 2);
    assert!(a.thinking_steps.iter().all(|s| s.status == "failed"));
    assert_eq!(a.tool_calls.len(), 1, "the last answer still carries its unrun call");
}

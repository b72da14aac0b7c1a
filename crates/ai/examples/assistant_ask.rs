//! Asks the local engine a question against the evaluation's fixed world and prints how it read the
//! question, what it fetched and the answer: `cargo run -p ai --example assistant_ask -- "earlier question"
//! "question"` (earlier questions first, the last argument is the one answered).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/eval/mod.rs"]
mod eval;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((question, history)) = args.split_last() else {
        eprintln!("usage: assistant_ask [earlier question ...] question");
        std::process::exit(2);
    };
    let world = eval::World::build();
    let source = eval::source(&world);
    let engine = ai::local::LocalEngine::new();
    let mut facts = source.snapshot_now();
    let q = engine.resolve(question, history, &facts);
    let need = q.need(&facts);
    source.fill_now(&need, &mut facts);
    let more = q.more(&facts);
    source.fill_now(&more, &mut facts);
    let a = engine.compose(&q, &facts);
    println!("question: {q:?}\nneed: {need:?}\nmore: {more:?}\n");
    println!(
        "{} ({}, confidence {:.2}) clarify={:?} window={:?}\n\n{}",
        a.intent, a.lang, a.confidence, a.clarify, a.window, a.text
    );
}

//! `mock-upstream`: runs the mock on loopback and prints `listening on 127.0.0.1:PORT` as its first
//! stdout line, so a test harness can read the port instead of sleeping.
//!
//! Usage: `mock-upstream [--port N] [--host ADDR] [--models a,b,c]`; `MOCK_KEY` sets the required key.

use std::io::Write;
use std::process::ExitCode;

use mock_upstream::Options;

const USAGE: &str = "usage: mock-upstream [--port N (default 0)] [--host ADDR (default 127.0.0.1)] [--models a,b]";

struct Args {
    host: String,
    port: u16,
    models: Option<Vec<String>>,
}

fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args { host: "127.0.0.1".to_owned(), port: 0, models: None };
    while let Some(flag) = raw.next() {
        let mut value = |name: &str| raw.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--port" => args.port = value("--port")?.parse().map_err(|_| "--port must be 0-65535".to_owned())?,
            "--host" => args.host = value("--host")?,
            "--models" => args.models = Some(value("--models")?.split(',').map(str::to_owned).collect()),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut options = Options::from_env();
    if let Some(models) = args.models {
        options.models = models;
    }
    let listener = match tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot bind {}:{}: {error}", args.host, args.port);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("cannot read the bound address: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    // A harness blocks on this line, so it must leave the buffer now.
    if writeln!(stdout, "listening on {addr}").and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    match mock_upstream::serve_with(listener, options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server error: {error}");
            ExitCode::FAILURE
        }
    }
}

//! The `openmanager` binary: parse the command line, load the configuration, run the command.

use std::process::ExitCode;

use clap::Parser;
use openmanager::cli::{Cli, Command, ServeArgs};
use openmanager::config;
use openmanager::server::Outcome;

/// jemalloc with its background purging gives freed memory back to the system within seconds
/// (glibc's arenas hold a burst's memory long after it is freed); measured with bench/analysis.sh.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    ai::install_tls_provider();
    let cli = Cli::parse();
    match cli.command.as_ref().unwrap_or(&Command::Serve(ServeArgs::default())) {
        Command::Version => {
            println!("openmanager {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::CheckConfig(args) => match config::load(&cli.flags(args)) {
            Ok(loaded) => {
                print!("{}", config::render(&loaded));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("openmanager: {e}");
                ExitCode::from(2)
            }
        },
        Command::Serve(args) => serve(cli.flags(args)),
        Command::Install(args) => exit_code("install", openmanager::ops::install::run(&cli, args)),
        Command::Backup(args) => exit_code("backup", openmanager::ops::backup::run(&cli, args)),
        Command::Token(args) => exit_code("token", openmanager::ops::tokens::run(&cli, args)),
        Command::Tls(args) => exit_code("tls", openmanager::ops::tls::run(&cli, args)),
        Command::Migrate(args) => exit_code("migrate", openmanager::ops::migrate::run(&cli, args)),
        Command::Agent(args) => match openmanager::agent::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("openmanager agent: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn exit_code(command: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("openmanager {command}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(flags: config::Flags) -> ExitCode {
    // Before any thread exists: this clears LISTEN_FDS and LISTEN_PID from the environment.
    let inherited = match openmanager::lifecycle::inherited_socket::take() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("openmanager: {e}");
            return ExitCode::from(2);
        }
    };
    let start = openmanager::server::Start { inherited, exec: openmanager::lifecycle::handover::Exec::capture() };
    let loaded = match config::load(&flags) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("openmanager: {e}");
            return ExitCode::from(2);
        }
    };
    let _log_guard = match openmanager::logging::init(&loaded.config.log) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("openmanager: cannot start logging: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Some(file) = &loaded.file {
        tracing::info!(file = %file.display(), "configuration loaded");
    }
    // HTTP is served by its own per-core threads (http::workers); this runtime runs start-up, signals
    // and the background jobs, which are light or move their heavy parts to blocking threads.
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(openmanager::server::run(loaded.config, start)) {
        Ok(Outcome::Stopped | Outcome::HandedOver) => ExitCode::SUCCESS,
        // Non-zero, so that systemd's Restart= (or any supervisor) starts a fresh process.
        Ok(Outcome::MemoryLimit) => ExitCode::FAILURE,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "server failed");
            ExitCode::FAILURE
        }
    }
}

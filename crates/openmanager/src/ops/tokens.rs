//! `openmanager token create | list | revoke`: issued API tokens in the store (see
//! `tokens::issued`). Works while a server runs on the same data directory; the server picks the
//! change up within seconds.

use anyhow::anyhow;

use crate::cli::{Cli, ServeArgs, TokenArgs, TokenCommand};
use crate::config;
use crate::tokens::issued;

pub fn run(cli: &Cli, args: &TokenArgs) -> anyhow::Result<()> {
    let serve = ServeArgs { data_dir: args.data_dir.clone(), ..ServeArgs::default() };
    let loaded = config::load(&cli.flags(&serve)).map_err(|e| anyhow!("{e}"))?;
    let data_dir = std::path::absolute(&loaded.config.server.data_dir)?;
    std::fs::create_dir_all(&data_dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let store = super::database::open(&loaded.config, &data_dir).await?;
        let outcome = command(&store, &args.command).await;
        store.close().await?;
        outcome
    })
}

async fn command(store: &store::Store, command: &TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { name, scopes } => {
            let (token, record) = issued::create(store, name, scopes).await?;
            let scopes: Vec<String> = record.scopes.iter().map(scope_name).collect();
            eprintln!("created token `{}` with scopes {}; it is shown only now:", record.name, scopes.join(", "));
            println!("{token}");
        }
        TokenCommand::List => {
            for t in issued::list(store).await? {
                let scopes: Vec<String> = t.scopes.iter().map(scope_name).collect();
                println!("{}\t{}\t{}", t.name, scopes.join(","), t.created_at);
            }
        }
        TokenCommand::Revoke { name } => {
            issued::revoke(store, name).await?;
            eprintln!("revoked `{name}`");
        }
    }
    Ok(())
}

fn scope_name(s: &crate::config::Scope) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

//! Layering of configuration sources, defaults < TOML file < environment < command-line flags, and
//! error messages that name the key and the source (file path, variable or flag) of a bad value.

use std::collections::BTreeMap;
use std::path::PathBuf;

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Deserializer};

use super::Config;

/// The prefix of every variable that is not one of the short names in API.md.
const PREFIX: &str = "OPENMANAGER_";

/// Variables with names of their own (API.md), and the key each sets.
const NAMED_VARS: &[(&str, &str)] = &[
    ("PORT", "server.port"),
    ("HOST", "server.host"),
    ("ALLOWED_ORIGINS", "server.allowed_origins"),
    ("OPENMANAGER_DATA_DIR", "server.data_dir"),
    ("OPENMANAGER_ADMIN_TOKEN", "auth.admin_token"),
    ("OPENMANAGER_RATE_LIMIT_PER_MINUTE", "rate_limit.per_minute"),
    ("OPENMANAGER_LOG", "log.filter"),
    ("OPENMANAGER_LOG_FORMAT", "log.format"),
    ("OPENMANAGER_MAX_MEMORY_MB", "memory.max_mb"),
    ("OPENMANAGER_DATABASE_URL", "database.url"),
    ("OPENMANAGER_REDIS_URL", "redis.url"),
];

/// `OPENMANAGER_*` variables that are not configuration keys (they choose the file, or are set by a
/// predecessor for its hand-over successor).
const NOT_KEYS: &[&str] = &["OPENMANAGER_CONFIG", crate::lifecycle::inherited_socket::HANDOVER_FROM_VAR];

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<String>,
    pub data_dir: Option<PathBuf>,
}

/// A loaded, validated configuration and where its file came from.
#[derive(Debug)]
pub struct LoadedConfig {
    pub config: Config,
    pub file: Option<PathBuf>,
}

/// Everything that can stop start-up before the server runs, each naming a key and a source.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path} cannot be read: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("invalid configuration:\n{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

/// Loads the configuration from `flags` and the process environment.
pub fn load(flags: &Flags) -> Result<LoadedConfig, ConfigError> {
    load_from(flags, std::env::vars().collect())
}

/// Same as [`load`], with the environment given, so tests need not change the process's.
pub fn load_from(flags: &Flags, env: BTreeMap<String, String>) -> Result<LoadedConfig, ConfigError> {
    let file = flags
        .config
        .clone()
        .or_else(|| env.get("OPENMANAGER_CONFIG").filter(|s| !s.is_empty()).map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("openmanager.toml")).filter(|p| p.is_file()));
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = &file {
        // Figment quietly skips a missing file; a file the user named must exist.
        std::fs::metadata(path).map_err(|e| ConfigError::File { path: path.clone(), reason: e.to_string() })?;
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(env_layer(&env)?).merge(flag_layer(flags));
    let mut config: Config = figment.extract().map_err(|e| ConfigError::Invalid(describe(e)))?;
    config.status_page.add_to_certificate(&mut config.tls);
    let invalid = config.validate();
    if !invalid.is_empty() {
        let lines = invalid
            .iter()
            .map(|i| format!("`{}`: {} (from {})", i.key, i.reason, source_of(&figment, &i.key)))
            .collect();
        return Err(ConfigError::Invalid(lines));
    }
    Ok(LoadedConfig { config, file })
}

/// A provider whose values each know the variable or flag they came from, for error messages.
struct Layer {
    name: &'static str,
    /// key path (`server.port`) -> (label for messages, value)
    entries: Vec<(String, String, Value)>,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let labels: BTreeMap<String, String> =
            self.entries.iter().map(|(k, label, _)| (k.clone(), label.clone())).collect();
        Metadata::named(self.name).interpolater(move |_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            labels.get(&key).cloned().unwrap_or(key)
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, _, value) in &self.entries {
            insert(&mut dict, key, value.clone());
        }
        Ok(Profile::Default.collect(dict))
    }
}

fn insert(dict: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = dict.entry(head.to_string()).or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// Maps variables to keys: the named ones from API.md, then `OPENMANAGER_<SECTION>__<KEY>`. Any other
/// `OPENMANAGER_` variable is an error, since it is most likely a typo of a real one.
fn env_layer(env: &BTreeMap<String, String>) -> Result<Layer, ConfigError> {
    let mut entries = Vec::new();
    let mut unknown = Vec::new();
    for (var, raw) in env {
        let key = if let Some((_, key)) = NAMED_VARS.iter().find(|(name, _)| name == var) {
            key.to_string()
        } else if let Some(rest) = var.strip_prefix(PREFIX) {
            if NOT_KEYS.contains(&var.as_str()) || rest.is_empty() {
                continue;
            }
            match rest.split_once("__") {
                Some(_) => rest.to_ascii_lowercase().replace("__", "."),
                None => {
                    unknown
                        .push(format!("`{var}`: not a configuration variable (sections use {PREFIX}<SECTION>__<KEY>)"));
                    continue;
                }
            }
        } else {
            continue;
        };
        entries.push((key, format!("environment variable {var}"), parse_value(raw)));
    }
    if !unknown.is_empty() {
        return Err(ConfigError::Invalid(unknown));
    }
    Ok(Layer { name: "environment", entries })
}

/// Values from the environment are typed the way figment types them (`10000` is a number, `true` a
/// boolean); a bracketed list is a list.
fn parse_value(raw: &str) -> Value {
    raw.parse::<Value>().unwrap_or_else(|_| Value::from(raw.to_string()))
}

fn flag_layer(flags: &Flags) -> Layer {
    let mut entries = Vec::new();
    if let Some(h) = &flags.host {
        entries.push(("server.host".into(), "flag --host".into(), Value::from(h.clone())));
    }
    if let Some(p) = &flags.port {
        entries.push(("server.port".into(), "flag --port".into(), parse_value(p)));
    }
    if let Some(d) = &flags.data_dir {
        entries.push(("server.data_dir".into(), "flag --data-dir".into(), Value::from(d.display().to_string())));
    }
    Layer { name: "command line", entries }
}

/// Names where the value of `key` came from.
fn source_of(figment: &Figment, key: &str) -> String {
    // Validation keys may be a section (`rate_limit`) or an indexed item (`auth.tokens[0].token`);
    // look up the longest plain prefix that figment knows.
    let plain: String = key.split('[').next().unwrap_or(key).to_string();
    let mut probe = plain.as_str();
    loop {
        if let Some(md) = figment.find_metadata(probe) {
            return describe_source(md, &probe.split('.').collect::<Vec<_>>());
        }
        match probe.rsplit_once('.') {
            Some((head, _)) => probe = head,
            None => return "defaults".into(),
        }
    }
}

fn describe_source(md: &Metadata, path: &[&str]) -> String {
    match &md.source {
        Some(figment::Source::File(p)) => format!("file {}", p.display()),
        _ if md.name == "Serialized" || md.name.starts_with("Default") => "defaults".into(),
        _ => md.interpolate(&Profile::Default, path),
    }
}

/// One line per problem: the key, what is wrong, and where the value came from.
fn describe(err: figment::Error) -> Vec<String> {
    err.into_iter()
        .map(|e| {
            let path: Vec<String> = e.path.clone();
            let refs: Vec<&str> = path.iter().map(String::as_str).collect();
            let source = e.metadata.as_ref().map(|md| describe_source(md, &refs)).unwrap_or_else(|| "defaults".into());
            let key = if path.is_empty() { "(root)".to_string() } else { path.join(".") };
            format!("`{key}`: {} (from {source})", e.kind)
        })
        .collect()
}

/// Accepts `["a", "b"]` or `"a,b"` (how `ALLOWED_ORIGINS` is written in the environment).
pub(crate) fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Either::deserialize(d)? {
        Either::One(s) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
        Either::Many(v) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn errors(flags: &Flags, e: BTreeMap<String, String>) -> String {
        match load_from(flags, e) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn precedence_is_defaults_file_env_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[server]\nport = 1111\nhost = \"127.0.0.1\"\n[log]\nfilter = \"debug\"\n").unwrap();
        let flags = Flags { config: Some(file.clone()), port: Some("3333".into()), ..Flags::default() };
        let loaded = load_from(&flags, env(&[("PORT", "2222"), ("OPENMANAGER_LOG", "warn")])).unwrap();
        assert_eq!(loaded.config.server.port, 3333);
        assert_eq!(loaded.config.server.host.to_string(), "127.0.0.1");
        assert_eq!(loaded.config.log.filter, "warn");
        let loaded = load_from(&Flags { config: Some(file), ..Flags::default() }, env(&[])).unwrap();
        assert_eq!(loaded.config.server.port, 1111);
        assert_eq!(loaded.config.log.filter, "debug");
    }

    #[test]
    fn sectioned_variables_and_lists() {
        let e = env(&[
            ("OPENMANAGER_RATE_LIMIT__BURST", "7"),
            ("ALLOWED_ORIGINS", "https://a.example, http://localhost:3000"),
        ]);
        let c = load_from(&Flags::default(), e).unwrap().config;
        assert_eq!(c.rate_limit.burst, 7);
        assert_eq!(c.server.allowed_origins, vec!["https://a.example", "http://localhost:3000"]);
        // The memory limit's own name; the hand-over marker is not a key (and not an error).
        let e = env(&[("OPENMANAGER_MAX_MEMORY_MB", "0"), ("OPENMANAGER_HANDOVER_FROM", "1")]);
        assert_eq!(load_from(&Flags::default(), e).unwrap().config.memory.max_mb, 0);
    }

    #[test]
    fn bad_port_names_key_and_variable() {
        let msg = errors(&Flags::default(), env(&[("PORT", "70000")]));
        assert!(msg.contains("server.port"), "{msg}");
        assert!(msg.contains("environment variable PORT"), "{msg}");
    }

    #[test]
    fn unknown_keys_name_the_file_or_variable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[server]\nprot = 1\n").unwrap();
        let msg = errors(&Flags { config: Some(file.clone()), ..Flags::default() }, env(&[]));
        assert!(msg.contains("server.prot") && msg.contains(&file.display().to_string()), "{msg}");
        let msg = errors(&Flags::default(), env(&[("OPENMANAGER_SERVER__NOPE", "1")]));
        assert!(msg.contains("server.nope") && msg.contains("OPENMANAGER_SERVER__NOPE"), "{msg}");
        let msg = errors(&Flags::default(), env(&[("OPENMANAGER_TYPO", "1")]));
        assert!(msg.contains("OPENMANAGER_TYPO"), "{msg}");
    }

    #[test]
    fn short_token_names_its_source() {
        let msg = errors(&Flags::default(), env(&[("OPENMANAGER_ADMIN_TOKEN", "abc")]));
        assert!(msg.contains("auth.admin_token") && msg.contains("OPENMANAGER_ADMIN_TOKEN"), "{msg}");
        assert!(!msg.contains("abc\n") && !msg.contains("`abc`"), "the value itself is not echoed: {msg}");
    }

    #[test]
    fn missing_named_file_is_an_error() {
        let msg = errors(&Flags { config: Some("/nonexistent/x.toml".into()), ..Flags::default() }, env(&[]));
        assert!(msg.contains("/nonexistent/x.toml"), "{msg}");
    }

    #[test]
    fn example_config_parses() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config.example.toml");
        let loaded = load_from(&Flags { config: Some(example.into()), ..Flags::default() }, env(&[])).unwrap();
        assert_eq!(loaded.config.server.port, 10000);
    }
}

//! The layers a setting can come from (defaults, the TOML file, `.env`, the environment,
//! flags), which one won for each setting, and the error that names a bad value's origin.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::settings::SETTINGS;

/// Where a value came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    DotEnv,
    Env,
    Flag,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the default"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::DotEnv => f.write_str(".env"),
            Origin::Env => f.write_str("the environment"),
            Origin::Flag => f.write_str("the command line"),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid {name} (from {origin}): {reason}")]
    Invalid {
        name: String,
        origin: Origin,
        reason: String,
    },
    #[error("cannot read config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("missing {name}: {hint}")]
    Missing { name: String, hint: String },
}

/// Raw values by TOML key, each with its origin.
#[derive(Debug, Default)]
pub struct Sources {
    values: BTreeMap<&'static str, (String, Origin)>,
}

impl Sources {
    /// Collects the layers. `env` answers environment lookups (tests pass a map); `dotenv` is
    /// the `.env` file's pairs; `flags` are (TOML key, value) pairs from the command line.
    pub fn collect(
        file: Option<&Path>,
        dotenv: &[(String, String)],
        env: &dyn Fn(&str) -> Option<String>,
        flags: &[(&'static str, String)],
    ) -> Result<Self, ConfigError> {
        // An empty value (`ML_SELLER_ID=` in a CI file, say) means "not set here": the
        // layer below, or the default, still applies.
        let mut values = BTreeMap::new();
        let mut set = |key: &'static str, value: &str, origin: Origin| {
            if !value.trim().is_empty() {
                values.insert(key, (value.to_owned(), origin));
            }
        };
        for s in SETTINGS {
            if let Some(default) = s.default {
                set(s.key, default, Origin::Default);
            }
        }

        if let Some(path) = file {
            for (key, value) in read_toml(path)? {
                set(key, &value, Origin::File(path.to_owned()));
            }
        }

        for s in SETTINGS {
            if let Some((_, v)) = dotenv.iter().find(|(k, _)| k == s.env) {
                set(s.key, v, Origin::DotEnv);
            }
            if let Some(v) = env(s.env) {
                set(s.key, &v, Origin::Env);
            }
        }

        for (key, value) in flags {
            set(key, value, Origin::Flag);
        }

        Ok(Self { values })
    }

    pub(crate) fn get(&self, key: &str) -> Option<&(String, Origin)> {
        self.values.get(key)
    }

    pub(crate) fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(|(v, _)| v.trim().to_owned())
    }

    pub(crate) fn parse<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let Some((raw, origin)) = self.get(key) else {
            return Ok(None);
        };
        parse(raw.trim())
            .map(Some)
            .map_err(|reason| ConfigError::Invalid {
                name: display_name(key, origin),
                origin: origin.clone(),
                reason,
            })
    }

    pub(crate) fn required<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        self.parse(key, parse)?.ok_or_else(|| ConfigError::Missing {
            name: display_name(key, &Origin::Default),
            hint: "it has a built-in default, so this is a bug".to_owned(),
        })
    }

    /// The effective values with their origins, secrets masked (`meli-stock config`).
    pub fn describe(&self) -> Vec<(String, String, String)> {
        SETTINGS
            .iter()
            .map(|s| match self.get(s.key) {
                Some((_, origin)) if s.secret => {
                    (s.env.to_owned(), "(set)".to_owned(), origin.to_string())
                }
                Some((v, origin)) => (s.env.to_owned(), v.clone(), origin.to_string()),
                None => (s.env.to_owned(), "(unset)".to_owned(), String::new()),
            })
            .collect()
    }
}

pub(crate) fn display_name(key: &str, origin: &Origin) -> String {
    let setting = SETTINGS.iter().find(|s| s.key == key);
    match (setting, origin) {
        (Some(s), Origin::File(_)) => s.key.to_owned(),
        (Some(s), _) => s.env.to_owned(),
        (None, _) => key.to_owned(),
    }
}

fn read_toml(path: &Path) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.to_string()))?;

    let mut out = Vec::new();
    for (section, body) in &table {
        let toml::Value::Table(body) = body else {
            return Err(file_error(format!("`{section}` must be a [section]")));
        };
        for (name, value) in body {
            let key = format!("{section}.{name}");
            let Some(setting) = SETTINGS.iter().find(|s| s.key == key) else {
                return Err(file_error(format!("unknown setting `{key}`")));
            };
            let value = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => return Err(file_error(format!("`{key}` must be a string or a number"))),
            };
            out.push((setting.key, value));
        }
    }
    Ok(out)
}

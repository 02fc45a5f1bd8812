//! Editor settings (`initializationOptions`, `workspace/didChangeConfiguration`):
//! the VS Code extension mirrors a few keys of `[tool.alembic-lsp]`, and
//! they add to the configuration file as the CLI flags do — lists extend,
//! per-rule severities and scalars override.

use serde::Deserialize;
use serde_json::Value;

use crate::config::Config;
use crate::diagnostic::Severity;
use crate::rules;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSettings {
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub severity: Option<std::collections::BTreeMap<String, String>>,
    pub max_heads: Option<usize>,
    pub branches: Option<Vec<String>>,
    pub concurrent_index_helpers: Option<Vec<String>>,
    pub require_reason: Option<bool>,
}

/// Where the settings may sit: the object itself (`initializationOptions`),
/// or under the extension's section (`{"settings": {"alembicLsp": {...}}}`).
const SECTIONS: [&str; 3] = ["alembicLsp", "alembic-lsp", "alembic_lsp"];

impl ClientSettings {
    /// Reads the settings; keys the server does not use (`path`, `trace`)
    /// are the client's own and pass silently.
    pub fn from_json(value: &Value) -> Result<ClientSettings, String> {
        let mut value = value;
        if let Some(inner) = value.get("settings") {
            value = inner;
        }
        for section in SECTIONS {
            if let Some(inner) = value.get(section) {
                value = inner;
                break;
            }
        }
        if value.is_null() {
            return Ok(ClientSettings::default());
        }
        if !value.is_object() {
            return Err(format!(
                "editor settings: expected an object, got `{value}`"
            ));
        }
        // Null means "not set" (the extension's defaults are null).
        let cleaned: serde_json::Map<String, Value> = value
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        serde_json::from_value(Value::Object(cleaned)).map_err(|e| format!("editor settings: {e}"))
    }

    /// Whether a `didChangeConfiguration` says anything: clients (Neovim)
    /// send `{"settings": {}}` or `null` when nothing is configured, which
    /// must not wipe out the `initializationOptions`.
    pub fn carries_settings(value: &Value) -> bool {
        let value = value.get("settings").unwrap_or(value);
        match value {
            Value::Null => false,
            Value::Object(map) => !map.is_empty(),
            _ => true,
        }
    }

    /// Adds these settings to a configuration read from the file.
    pub fn apply(&self, config: &mut Config) -> Result<(), String> {
        let where_ = "editor settings";
        config
            .add_selectors(
                self.select.as_deref().unwrap_or_default(),
                self.ignore.as_deref().unwrap_or_default(),
            )
            .map_err(|e| e.0)?;
        for (code, level) in self.severity.iter().flatten() {
            let rule = rules::by_code(code)
                .ok_or_else(|| format!("{where_}: severity: unknown rule `{code}`"))?;
            let level = match level.as_str() {
                "error" => Some(Severity::Error),
                "warning" => Some(Severity::Warning),
                "info" => Some(Severity::Info),
                "off" => None,
                other => {
                    return Err(format!(
                    "{where_}: severity.{code}: `{other}` is not one of error, warning, info, off"
                ))
                }
            };
            config.severity.insert(rule.code, level);
        }
        if let Some(n) = self.max_heads {
            if n == 0 {
                return Err(format!("{where_}: maxHeads must be at least 1"));
            }
            config.max_heads = n;
        }
        config
            .branches
            .extend(self.branches.iter().flatten().cloned());
        config
            .concurrent_index_helpers
            .extend(self.concurrent_index_helpers.iter().flatten().cloned());
        if let Some(r) = self.require_reason {
            config.require_reason = r;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_under_the_section_or_flat() {
        let flat = ClientSettings::from_json(&json!({"maxHeads": 2, "path": "/bin/x"})).unwrap();
        assert_eq!(flat.max_heads, Some(2));
        let nested = ClientSettings::from_json(
            &json!({"settings": {"alembicLsp": {"ignore": ["MG205"], "select": null}}}),
        )
        .unwrap();
        assert_eq!(nested.ignore, Some(vec!["MG205".to_owned()]));
        assert_eq!(nested.select, None);
        assert_eq!(
            ClientSettings::from_json(&Value::Null).unwrap(),
            ClientSettings::default()
        );
    }

    #[test]
    fn empty_notifications_carry_nothing() {
        assert!(!ClientSettings::carries_settings(&json!({"settings": {}})));
        assert!(!ClientSettings::carries_settings(
            &json!({"settings": null})
        ));
        assert!(ClientSettings::carries_settings(
            &json!({"settings": {"alembicLsp": {}}})
        ));
    }

    #[test]
    fn settings_add_to_the_file() {
        let mut config = Config::default();
        let s = ClientSettings::from_json(
            &json!({"ignore": ["MG205"], "severity": {"MG201": "warning"}, "maxHeads": 3}),
        )
        .unwrap();
        s.apply(&mut config).unwrap();
        assert!(config
            .severity_of(rules::by_code("MG205").unwrap())
            .is_none());
        assert_eq!(
            config.severity_of(rules::by_code("MG201").unwrap()),
            Some(Severity::Warning)
        );
        assert_eq!(config.max_heads, 3);
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(ClientSettings::from_json(&json!({"maxHeads": "two"})).is_err());
        let s = ClientSettings::from_json(&json!({"severity": {"MG999": "error"}})).unwrap();
        assert!(s.apply(&mut Config::default()).is_err());
        let s = ClientSettings::from_json(&json!({"select": ["XX"]})).unwrap();
        assert!(s.apply(&mut Config::default()).is_err());
    }
}

//! The metadata every event carries: who did it, in which request, from where, and when.
//! This is the audit trail; no separate audit table is written by hand.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The actor id used until users exist: every change is attributed to the system.
pub const SYSTEM_ACTOR: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub request_id: String,
    pub actor_id: String,
    pub actor_role: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl EventMetadata {
    pub fn system(request_id: Option<String>) -> Self {
        Self {
            request_id: request_id.unwrap_or_else(|| Uuid::new_v4().to_string()),
            actor_id: SYSTEM_ACTOR.to_string(),
            actor_role: "system".to_string(),
            client_ip: None,
            user_agent: None,
            recorded_at: Utc::now(),
        }
    }

    pub fn to_map(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        m.insert("request_id".into(), self.request_id.clone());
        m.insert("actor_id".into(), self.actor_id.clone());
        m.insert("actor_role".into(), self.actor_role.clone());
        if let Some(ip) = &self.client_ip {
            m.insert("client_ip".into(), ip.clone());
        }
        if let Some(ua) = &self.user_agent {
            m.insert("user_agent".into(), ua.clone());
        }
        m.insert(
            "recorded_at".into(),
            self.recorded_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        );
        m
    }

    /// Reads metadata back from a stored event; missing fields fall back to neutral values so
    /// that history written by older versions still reads.
    pub fn from_json(value: &serde_json::Value) -> Self {
        let get = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
        Self {
            request_id: get("request_id").unwrap_or_default(),
            actor_id: get("actor_id").unwrap_or_else(|| SYSTEM_ACTOR.to_string()),
            actor_role: get("actor_role").unwrap_or_else(|| "system".to_string()),
            client_ip: get("client_ip"),
            user_agent: get("user_agent"),
            recorded_at: get("recorded_at")
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_through_the_stored_form() {
        let mut m = EventMetadata::system(Some("req-1".into()));
        m.client_ip = Some("127.0.0.1".into());
        let stored = serde_json::to_value(m.to_map()).unwrap();
        let back = EventMetadata::from_json(&stored);
        assert_eq!(back.request_id, "req-1");
        assert_eq!(back.client_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(back.user_agent, None);
        assert_eq!(
            back.recorded_at.timestamp_micros(),
            m.recorded_at.timestamp_micros()
        );
    }
}

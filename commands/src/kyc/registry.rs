//! Look-ups at the KYC Registration Agency (KRA) and the Central KYC Registry (CKYC), behind a
//! provider trait. Nothing external is reachable from here: the provider in use reads fixtures
//! (`fixtures/kyc-registries.json`, or a file named by `CRM_KYC_REGISTRY_FIXTURES`).

use std::collections::HashMap;

use domain::kyc::KraStatus;
use domain::values::{CkycNumber, Pan};
use futures::future::BoxFuture;
use serde::Deserialize;

/// What the registries say of a PAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAnswer {
    pub kra_status: KraStatus,
    pub ckyc_number: Option<CkycNumber>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the registry could not be asked: {0}")]
    Unavailable(String),
}

/// A KRA/CKYC look-up service.
pub trait RegistryProvider: Send + Sync + 'static {
    fn lookup<'a>(&'a self, pan: &'a Pan) -> BoxFuture<'a, Result<RegistryAnswer, RegistryError>>;
}

/// Answers from a fixture file.
#[derive(Debug, Clone, Default)]
pub struct FixtureRegistry {
    records: HashMap<String, RegistryAnswer>,
}

#[derive(Deserialize)]
struct FixtureFile {
    records: Vec<FixtureRecord>,
}

#[derive(Deserialize)]
struct FixtureRecord {
    pan: String,
    kra_status: String,
    ckyc_number: Option<String>,
}

/// The fixtures shipped with the build.
const BUILT_IN: &str = include_str!("../../../fixtures/kyc-registries.json");

impl FixtureRegistry {
    /// The records of a fixture file's text (`BUILT_IN` when `None`).
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        let file: FixtureFile = serde_json::from_str(text.unwrap_or(BUILT_IN))
            .map_err(|e| format!("KYC registry fixtures: {e}"))?;
        let mut records = HashMap::new();
        for r in file.records {
            let pan = Pan::parse(&r.pan).map_err(|e| format!("fixture PAN {}: {e}", r.pan))?;
            let kra_status = KraStatus::parse(&r.kra_status)
                .ok_or_else(|| format!("fixture KRA status {}", r.kra_status))?;
            let ckyc_number = r
                .ckyc_number
                .as_deref()
                .map(CkycNumber::parse)
                .transpose()
                .map_err(|e| format!("fixture CKYC number: {e}"))?;
            records.insert(
                pan.as_str().to_string(),
                RegistryAnswer {
                    kra_status,
                    ckyc_number,
                },
            );
        }
        Ok(Self { records })
    }
}

impl RegistryProvider for FixtureRegistry {
    fn lookup<'a>(&'a self, pan: &'a Pan) -> BoxFuture<'a, Result<RegistryAnswer, RegistryError>> {
        Box::pin(async move {
            Ok(self
                .records
                .get(pan.as_str())
                .cloned()
                .unwrap_or(RegistryAnswer {
                    kra_status: KraStatus::NotChecked,
                    ckyc_number: None,
                }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_built_in_fixtures_answer_listed_pans_and_not_checked_for_others() {
        let r = FixtureRegistry::parse(None).unwrap();
        let known = r.lookup(&Pan::parse("ABHPK4821M").unwrap()).await.unwrap();
        assert_eq!(known.kra_status, KraStatus::Validated);
        assert_eq!(known.ckyc_number.unwrap().as_str(), "30012345678901");
        let unknown = r.lookup(&Pan::parse("ZZZPZ9999Z").unwrap()).await.unwrap();
        assert_eq!(unknown.kra_status, KraStatus::NotChecked);
        assert!(unknown.ckyc_number.is_none());
        assert!(FixtureRegistry::parse(Some(
            r#"{"records":[{"pan":"bad","kra_status":"validated","ckyc_number":null}]}"#
        ))
        .is_err());
    }
}

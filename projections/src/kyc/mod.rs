//! The KYC read model: one row per client with its KYC (the case in hand, risk, registries)
//! as a sealed document, and the columns the review queue filters on.

pub mod query;
pub mod report;
mod view;

use cqrs_es::Aggregate;
use domain::kyc::{Kyc, KycEvent, KycStatus};
use store::privacy::Keyring;
use store::EventMetadata;

pub use view::{AlertView, KycDocumentView, KycView, RiskView, PERSONAL};

use crate::sealed::{Cell, SealedDocument, SealedProjection};

pub const NAME: &str = "kyc";

/// The KYC read model's projection.
pub type KycProjection = SealedProjection<KycView>;

impl SealedDocument for KycView {
    const PROJECTION: &'static str = NAME;
    const TABLE: &'static str = "kyc_cases";
    const KEY: &'static str = "client_id";
    const PERSONAL: &'static [&'static str] = PERSONAL;
    // 6: the expiry index leads with the status, so that the planner takes it for verified
    // cases' expiries (the report index led with the status too, and won).
    const VERSION: i64 = 6;
    const DDL: &'static str = include_str!("../../../migrations/read_models/kyc.sql");
    const TABLES: &'static [&'static str] = &["kyc_cases"];

    fn key(&self) -> String {
        self.client_id.to_string()
    }

    /// The KYC has no erasure of its own: the client's erasure destroys the key it is sealed
    /// with, and the document then keeps nothing personal.
    fn erased(&self) -> bool {
        false
    }

    fn restricted(&self) -> bool {
        false
    }

    fn columns(&self, _keyring: &Keyring, shredded: bool) -> Vec<(&'static str, Cell)> {
        let makers: String = self.makers.iter().map(|m| format!(" {m}")).collect();
        // The blind indexes of whole Aadhaar numbers (gone with the client's key).
        let aadhaar: String = match shredded {
            true => String::new(),
            false => self
                .documents
                .iter()
                .filter_map(|d| d.number_index.as_deref())
                .map(|i| format!(" {i}"))
                .collect(),
        };
        // The types of the documents rejected in the case in hand, and the expiry dates of the
        // documents a verified case counts on (what the KYC report counts without opening).
        let rejected: String = self
            .documents
            .iter()
            .filter(|d| d.state == "rejected")
            .map(|d| format!(" {}", d.document_type.as_str()))
            .collect();
        let expiries: String = match self.status {
            KycStatus::Verified => self.expiries().map(|e| format!(" {e}")).collect(),
            _ => String::new(),
        };
        vec![
            ("status", self.status.as_str().into()),
            ("client_type", self.client_type.as_str().into()),
            ("submitted_at", self.submitted_at.into()),
            ("makers", format!("{makers} ").into()),
            ("aadhaar_tokens", format!("{aadhaar} ").into()),
            (
                "trading_block",
                self.trading_block().map(str::to_string).into(),
            ),
            (
                "approval_seconds",
                match (self.status, self.submitted_at, self.decided_at) {
                    (KycStatus::Verified, Some(s), Some(d)) => Some((d - s).num_seconds()),
                    _ => None,
                }
                .into(),
            ),
            ("rejected_types", format!("{rejected} ").into()),
            ("expiries", format!("{expiries} ").into()),
            (
                "next_rekyc_on",
                self.next_rekyc_on.map(|d| d.to_string()).into(),
            ),
            (
                "next_expiry",
                self.verified_next_expiry.map(|d| d.to_string()).into(),
            ),
            ("alert_count", (self.alerts.len() as i64).into()),
            ("updated_at", self.updated_at.into()),
            ("version", self.version.into()),
        ]
    }

    fn sealed_columns(&self, sealed: &serde_json::Value) -> Vec<(&'static str, Cell)> {
        let reasons = self.sent_back().then(|| {
            let documents: Vec<serde_json::Value> = sealed["documents"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["reason"].is_string())
                .map(|d| serde_json::json!({ "reason": d["reason"] }))
                .collect();
            serde_json::json!({ "reasons": sealed["reasons"], "documents": documents }).to_string()
        });
        vec![("sealed_reasons", reasons.into())]
    }
}

impl KycView {
    /// Whether the case in hand carries a reviewer's reasons the KYC report counts.
    fn sent_back(&self) -> bool {
        matches!(
            self.status,
            KycStatus::Rejected | KycStatus::RevisionRequested
        )
    }
}

impl crate::timeline::RecordView for KycView {
    type Event = KycEvent;
    const AGGREGATE: &'static str = Kyc::TYPE;

    fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
        domain::kyc::upcasters()
    }

    fn start(event: &KycEvent, meta: &EventMetadata, sequence: i64, position: i64) -> Option<Self> {
        KycView::start(event, meta, sequence, position)
    }

    fn apply(&mut self, event: &KycEvent, meta: &EventMetadata, sequence: i64, position: i64) {
        KycView::apply(self, event, meta, sequence, position)
    }
}

/// The client's KYC events as entries of the client's timeline (oldest first), the fields they
/// changed named under `kyc/`, and the KYC they leave now.
pub async fn client_timeline(
    db: &store::Db,
    keyring: &Keyring,
    client_id: uuid::Uuid,
) -> Result<(Vec<crate::timeline::TimelineEntry>, Option<KycView>), crate::ProjectionError> {
    let (mut entries, view) = crate::timeline::history::<KycView>(db, keyring, client_id).await?;
    for e in &mut entries {
        // An Aadhaar number's blind index is for finding the same number, not for reading.
        e.changes.retain(|c| !c.field.ends_with("/number_index"));
        if let Some(d) = e.data.pointer_mut("/document") {
            if let Some(d) = d.as_object_mut() {
                d.remove("number_index");
            }
        }
        for c in &mut e.changes {
            c.field = format!("kyc/{}", c.field);
        }
    }
    Ok((entries, view))
}

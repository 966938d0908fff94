//! The KYC read model: one row per client with its KYC (the case in hand, risk, registries)
//! as a sealed document, and the columns the review queue filters on.

pub mod query;
pub mod report;
mod view;

use cqrs_es::Aggregate;
use domain::kyc::{Kyc, KycEvent};
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
    const VERSION: i64 = 4;
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
        vec![
            ("status", self.status.as_str().into()),
            ("client_type", self.client_type.as_str().into()),
            ("submitted_at", self.submitted_at.into()),
            ("makers", format!("{makers} ").into()),
            ("aadhaar_tokens", format!("{aadhaar} ").into()),
            ("trading_blocked", self.trading_block().is_some().into()),
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

//! A portfolio folded straight from its events, for `?as_of=` (what was recorded by then) and
//! for the client's history. Its document (what history compares event by event) holds the
//! counts and the profile, not every trade: each event's own content shows the trade.

use cqrs_es::Aggregate;
use domain::investments::{Portfolio, PortfolioEvent, RiskProfileLevel};
use serde::{Deserialize, Serialize};
use store::EventMetadata;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PortfolioRecord {
    #[serde(skip)]
    pub portfolio: Portfolio,
    pub trades_in_force: usize,
    pub reversals: usize,
    pub profile: Option<RiskProfileLevel>,
}

impl PortfolioRecord {
    fn fold(&mut self, event: &PortfolioEvent) {
        if matches!(event, PortfolioEvent::TradeReversed { .. }) {
            self.reversals += 1;
        }
        self.portfolio.apply(event.clone());
        self.trades_in_force = self.portfolio.trades_in_force();
        self.profile = self.portfolio.profile();
    }
}

impl crate::timeline::RecordView for PortfolioRecord {
    type Event = PortfolioEvent;
    const AGGREGATE: &'static str = Portfolio::TYPE;

    fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
        domain::investments::upcasters()
    }

    fn start(event: &PortfolioEvent, _: &EventMetadata, _: i64, _: i64) -> Option<Self> {
        let mut record = Self::default();
        record.fold(event);
        Some(record)
    }

    fn apply(&mut self, event: &PortfolioEvent, _: &EventMetadata, _: i64, _: i64) {
        self.fold(event)
    }
}

//! Where a portfolio holds personal data, and how older event versions are read.
//!
//! The ledger itself (instruments, quantities, prices, dates, references) is kept plain: the
//! aggregate's id is the client's, so once the client is erased the trades are no longer tied
//! to a person, while the firm keeps its books. What the client said of themselves (the
//! questionnaire) and the free-text reasons are sealed with the client's key.

use crate::personal::EventFields;

/// Upcasters for older versions of portfolio events; every event is at its first version.
pub fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
    Vec::new()
}

const TRADE: &[&str] = &[
    "/TradeRecorded/trade_id",
    "/TradeRecorded/client_id",
    "/TradeRecorded/recorded_by",
    "/TradeRecorded/corrects",
    "/TradeRecorded/trade/side",
    "/TradeRecorded/trade/asset_class",
    "/TradeRecorded/trade/fund_category",
    "/TradeRecorded/trade/isin",
    "/TradeRecorded/trade/symbol",
    "/TradeRecorded/trade/exchange",
    "/TradeRecorded/trade/quantity",
    "/TradeRecorded/trade/price",
    "/TradeRecorded/trade/fees/brokerage",
    "/TradeRecorded/trade/fees/stt",
    "/TradeRecorded/trade/fees/gst",
    "/TradeRecorded/trade/fees/stamp_duty",
    "/TradeRecorded/trade/fees/other",
    "/TradeRecorded/trade/trade_date",
    "/TradeRecorded/trade/settlement_date",
    "/TradeRecorded/trade/reference",
    "/TradeRecorded/suitability_override/product_risk",
    "/TradeRecorded/suitability_override/profile",
    "/TradeRecorded/suitability_override/acknowledged_by",
];

/// Every portfolio event with its personal fields and its plain string fields.
pub const EVENTS: &[EventFields] = &[
    EventFields {
        event: "TradeRecorded",
        personal: &["/TradeRecorded/suitability_override/reason"],
        plain: TRADE,
    },
    EventFields {
        event: "TradeReversed",
        personal: &["/TradeReversed/reason"],
        plain: &["/TradeReversed/trade_id", "/TradeReversed/reversed_by"],
    },
    EventFields {
        event: "RiskProfiled",
        personal: &[
            "/RiskProfiled/answers/age",
            "/RiskProfiled/answers/income_range",
            "/RiskProfiled/answers/horizon_years",
            "/RiskProfiled/answers/experience",
            "/RiskProfiled/answers/loss_tolerance",
            "/RiskProfiled/answers/dependants",
            "/RiskProfiled/answers/goals/*",
            "/RiskProfiled/answers/preferred_products/*",
        ],
        plain: &[
            "/RiskProfiled/client_id",
            "/RiskProfiled/profile",
            "/RiskProfiled/profiled_by",
        ],
    },
];

pub const EVENT_TABLES: &[&[EventFields]] = &[EVENTS];

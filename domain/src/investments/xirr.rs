//! The annualised internal rate of return of dated cash flows, as spreadsheet XIRR computes it:
//! the rate r at which Σ amount / (1 + r)^(days since the first flow / 365) is zero.
//!
//! Amounts are decimal everywhere else; the rate is found numerically, so the flows are read
//! as floating point here only (the answer is a rate, not money).

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// The NPV at `rate` and its derivative, in one pass: (1 + r)^-t is exp(-t·ln(1 + r)), one
/// `exp` per flow instead of two `powf`.
fn npv_and_slope(flows: &[(f64, f64)], rate: f64) -> (f64, f64) {
    let ln = (1.0 + rate).ln();
    let mut value = 0.0;
    let mut slope = 0.0;
    for (years, amount) in flows {
        let discounted = amount * (-years * ln).exp();
        value += discounted;
        slope -= years * discounted / (1.0 + rate);
    }
    (value, slope)
}

fn npv(flows: &[(f64, f64)], rate: f64) -> f64 {
    npv_and_slope(flows, rate).0
}

/// The XIRR of `flows` (negative: money in, positive: money out), or `None` when there is no
/// solution (all flows of one sign, or none found between -99.99 % and 10⁶ %).
pub fn xirr(flows: &[(NaiveDate, Decimal)]) -> Option<f64> {
    let first = flows.iter().map(|(d, _)| *d).min()?;
    let flows: Vec<(f64, f64)> = flows
        .iter()
        .filter_map(|(d, a)| Some(((*d - first).num_days() as f64 / 365.0, a.to_f64()?)))
        .filter(|(_, a)| *a != 0.0)
        .collect();
    let positive = flows.iter().any(|(_, a)| *a > 0.0);
    let negative = flows.iter().any(|(_, a)| *a < 0.0);
    if !(positive && negative) {
        return None;
    }
    let scale: f64 = flows.iter().map(|(_, a)| a.abs()).fold(0.0, f64::max);
    let tolerance = 1e-9 * scale.max(1.0);
    // Newton from 10 %, as spreadsheets start.
    let mut rate = 0.1;
    for _ in 0..50 {
        let (value, slope) = npv_and_slope(&flows, rate);
        if value.abs() < tolerance {
            return Some(rate);
        }
        if slope == 0.0 || !slope.is_finite() {
            break;
        }
        let next = rate - value / slope;
        if !next.is_finite() || next <= -1.0 {
            break;
        }
        if (next - rate).abs() < 1e-12 {
            return Some(next);
        }
        rate = next;
    }
    // Bisection where Newton wandered off: the NPV changes sign somewhere in the bracket.
    let (mut lo, mut hi) = (-0.9999, 10_000.0);
    let (mut f_lo, f_hi) = (npv(&flows, lo), npv(&flows, hi));
    if !f_lo.is_finite() || !f_hi.is_finite() || f_lo.signum() == f_hi.signum() {
        return None;
    }
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        let f_mid = npv(&flows, mid);
        if f_mid.abs() < tolerance || (hi - lo) < 1e-12 {
            return Some(mid);
        }
        if f_mid.signum() == f_lo.signum() {
            lo = mid;
            f_lo = f_mid;
        } else {
            hi = mid;
        }
    }
    Some((lo + hi) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn m(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// An independent solver: bisection on the NPV computed with exact day counts.
    fn brute(flows: &[(NaiveDate, Decimal)]) -> f64 {
        let first = flows[0].0;
        let f = |r: f64| -> f64 {
            flows
                .iter()
                .map(|(d, a)| {
                    a.to_f64().unwrap() * (1.0 + r).powf(-((*d - first).num_days() as f64) / 365.0)
                })
                .sum()
        };
        let (mut lo, mut hi) = (-0.99, 100.0);
        for _ in 0..500 {
            let mid = (lo + hi) / 2.0;
            if f(mid).signum() == f(lo).signum() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    #[test]
    fn the_spreadsheet_example() {
        // The example of the XIRR function's documentation: 0.373362535.
        let flows = vec![
            (d("2008-01-01"), m("-10000")),
            (d("2008-03-01"), m("2750")),
            (d("2008-10-30"), m("4250")),
            (d("2009-02-15"), m("3250")),
            (d("2009-04-01"), m("2750")),
        ];
        let r = xirr(&flows).unwrap();
        assert!((r - 0.373362535).abs() < 1e-8, "{r}");
    }

    #[test]
    fn a_year_at_ten_percent_by_hand() {
        // 1,00,000 in, 1,10,000 out 365 days later: exactly 10 %.
        let flows = vec![
            (d("2025-01-01"), m("-100000")),
            (d("2026-01-01"), m("110000")),
        ];
        assert!((xirr(&flows).unwrap() - 0.10).abs() < 1e-10);
        // A loss: 1,00,000 to 80,000 over two years (730 days): 0.8^(1/2) - 1.
        let flows = vec![
            (d("2024-01-01"), m("-100000")),
            (d("2025-12-31"), m("80000")),
        ];
        let expected = 0.8f64.powf(365.0 / 730.0) - 1.0;
        assert!((xirr(&flows).unwrap() - expected).abs() < 1e-9);
    }

    #[test]
    fn agrees_with_an_independent_solver() {
        let flows = vec![
            (d("2023-04-03"), m("-25000.50")),
            (d("2023-09-15"), m("-12000")),
            (d("2024-02-01"), m("5000.25")),
            (d("2024-11-20"), m("-8000")),
            (d("2026-11-30"), m("47500")),
        ];
        let r = xirr(&flows).unwrap();
        assert!((r - brute(&flows)).abs() < 1e-7, "{r} vs {}", brute(&flows));
    }

    #[test]
    fn no_solution_is_none() {
        assert_eq!(xirr(&[]), None);
        assert_eq!(xirr(&[(d("2025-01-01"), m("-100"))]), None);
        let all_out = vec![(d("2025-01-01"), m("100")), (d("2025-06-01"), m("50"))];
        assert_eq!(xirr(&all_out), None);
    }
}

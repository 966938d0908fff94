//! Lead scoring from engagement: a transparent, deterministic rule (0–100) so that an agent can
//! see why a lead ranks where it does. The read model recomputes it on every event.

use super::{LeadSource, LeadStatus};

/// The engagement facts a score is computed from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Engagement {
    pub has_email: bool,
    pub has_phone: bool,
    pub product_interests: usize,
    pub interactions: usize,
    pub inbound_interactions: usize,
    pub completed_follow_ups: usize,
}

pub fn lead_score(source: LeadSource, status: LeadStatus, e: Engagement) -> i64 {
    if matches!(status, LeadStatus::Lost) {
        return 0;
    }
    let source_points = match source {
        LeadSource::Referral => 20,
        LeadSource::Partner | LeadSource::WalkIn => 15,
        LeadSource::Website | LeadSource::Campaign => 10,
        LeadSource::Import | LeadSource::Other => 5,
    };
    let status_points = match status {
        LeadStatus::New | LeadStatus::Lost => 0,
        LeadStatus::Contacted => 10,
        LeadStatus::Qualified => 25,
        LeadStatus::Converted => 40,
    };
    let reach = if e.has_email && e.has_phone { 10 } else { 5 };
    let interest = (e.product_interests.min(3) * 3) as i64;
    let talks = (e.interactions.min(6) * 4 + e.inbound_interactions.min(3) * 3) as i64;
    let follow_through = (e.completed_follow_ups.min(3) * 3) as i64;
    (source_points + status_points + reach + interest + talks + follow_through).min(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engagement_raises_the_score_and_loss_zeroes_it() {
        let cold = lead_score(LeadSource::Import, LeadStatus::New, Engagement::default());
        let warm = lead_score(
            LeadSource::Referral,
            LeadStatus::Qualified,
            Engagement {
                has_email: true,
                has_phone: true,
                product_interests: 2,
                interactions: 3,
                inbound_interactions: 1,
                completed_follow_ups: 1,
            },
        );
        assert_eq!(cold, 10);
        assert_eq!(warm, 20 + 25 + 10 + 6 + 12 + 3 + 3);
        assert_eq!(
            lead_score(
                LeadSource::Referral,
                LeadStatus::Lost,
                Engagement::default()
            ),
            0
        );
        let maxed = Engagement {
            has_email: true,
            has_phone: true,
            product_interests: 50,
            interactions: 50,
            inbound_interactions: 50,
            completed_follow_ups: 50,
        };
        assert_eq!(
            lead_score(LeadSource::Referral, LeadStatus::Converted, maxed),
            100
        );
    }
}

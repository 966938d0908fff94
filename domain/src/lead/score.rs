//! Lead scoring from engagement: a transparent, deterministic rule (0–100) so that an agent can
//! see why a lead ranks where it does. Each factor's points come from [`ScoreWeights`]
//! (configuration); [`explain`] lists every contribution. Recency decays: its points halve
//! every `half_life_days` since the lead's last activity.

use super::{InvestmentCapacity, LeadSource, LeadStatus};

/// The engagement facts a score is computed from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Engagement {
    pub has_email: bool,
    pub has_phone: bool,
    pub product_interests: usize,
    pub interactions: usize,
    pub inbound_interactions: usize,
    pub completed_follow_ups: usize,
    /// How much the prospect said they mean to invest.
    pub stated_capacity: Option<InvestmentCapacity>,
}

/// How many points each factor gives (each counted item up to its cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreWeights {
    pub referral: i64,
    pub partner: i64,
    pub walk_in: i64,
    pub website: i64,
    pub campaign: i64,
    pub import: i64,
    pub other: i64,
    pub contacted: i64,
    pub qualified: i64,
    pub converted: i64,
    /// Both an e-mail address and a phone number; only one.
    pub reach_both: i64,
    pub reach_one: i64,
    /// Per product asked about (up to 3).
    pub interest: i64,
    /// Per interaction (up to 6), and per inbound one on top (up to 3).
    pub interaction: i64,
    pub inbound: i64,
    /// Per follow-up kept (up to 3).
    pub follow_up_kept: i64,
    /// Points for activity today, halving every `half_life_days` without activity.
    pub recency: i64,
    pub half_life_days: i64,
    /// Points for the highest stated investment capacity (above ₹1 crore); lower bands get
    /// their share (a quarter per band above the lowest).
    pub capacity: i64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        Self {
            referral: 20,
            partner: 15,
            walk_in: 15,
            website: 10,
            campaign: 10,
            import: 5,
            other: 5,
            contacted: 10,
            qualified: 25,
            converted: 40,
            reach_both: 10,
            reach_one: 5,
            interest: 3,
            interaction: 4,
            inbound: 3,
            follow_up_kept: 3,
            recency: 10,
            half_life_days: 14,
            capacity: 12,
        }
    }
}

impl ScoreWeights {
    /// The defaults with `name=points` pairs (comma-separated) replacing some of them, e.g.
    /// `referral=25,qualified=30,recency=15,half_life_days=7`. Points are 0 to 100.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut w = Self::default();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}`: write name=points"))?;
            let value: i64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v| (0..=100).contains(v))
                .ok_or_else(|| format!("`{pair}`: points are a whole number 0 to 100"))?;
            let slot = match name.trim() {
                "referral" => &mut w.referral,
                "partner" => &mut w.partner,
                "walk_in" => &mut w.walk_in,
                "website" => &mut w.website,
                "campaign" => &mut w.campaign,
                "import" => &mut w.import,
                "other" => &mut w.other,
                "contacted" => &mut w.contacted,
                "qualified" => &mut w.qualified,
                "converted" => &mut w.converted,
                "reach_both" => &mut w.reach_both,
                "reach_one" => &mut w.reach_one,
                "interest" => &mut w.interest,
                "interaction" => &mut w.interaction,
                "inbound" => &mut w.inbound,
                "follow_up_kept" => &mut w.follow_up_kept,
                "recency" => &mut w.recency,
                "half_life_days" => &mut w.half_life_days,
                "capacity" => &mut w.capacity,
                other => return Err(format!("`{other}` is not a score weight")),
            };
            *slot = value;
        }
        if w.half_life_days == 0 {
            return Err("half_life_days must be at least 1".into());
        }
        Ok(w)
    }

    /// A number that changes when any weight does (read models scored with other weights are
    /// rebuilt).
    pub fn fingerprint(&self) -> i64 {
        let all = [
            self.referral,
            self.partner,
            self.walk_in,
            self.website,
            self.campaign,
            self.import,
            self.other,
            self.contacted,
            self.qualified,
            self.converted,
            self.reach_both,
            self.reach_one,
            self.interest,
            self.interaction,
            self.inbound,
            self.follow_up_kept,
            self.recency,
            self.half_life_days,
            self.capacity,
        ];
        // FNV-1a over the values: stable across builds and platforms.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for v in all {
            for b in v.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        (h >> 34) as i64
    }

    fn source(&self, s: LeadSource) -> i64 {
        match s {
            LeadSource::Referral => self.referral,
            LeadSource::Partner => self.partner,
            LeadSource::WalkIn => self.walk_in,
            LeadSource::Website => self.website,
            LeadSource::Campaign => self.campaign,
            LeadSource::Import => self.import,
            LeadSource::Other => self.other,
        }
    }
}

/// One factor's part of a score.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub factor: &'static str,
    pub points: i64,
    /// The most this factor can give.
    pub max: i64,
    /// What the points are for.
    pub detail: String,
}

/// A score with its contributions. The score is their sum, at most 100; a lost lead scores 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub score: i64,
    pub contributions: Vec<Contribution>,
}

/// The score of a lead and why: `idle_days` since its last activity.
pub fn explain(
    source: LeadSource,
    status: LeadStatus,
    e: Engagement,
    idle_days: f64,
    w: &ScoreWeights,
) -> Explained {
    let count = |n: usize, cap: usize| n.min(cap) as i64;
    let stage = match status {
        LeadStatus::New | LeadStatus::Lost => 0,
        LeadStatus::Contacted => w.contacted,
        LeadStatus::Qualified => w.qualified,
        LeadStatus::Converted => w.converted,
    };
    let reach = match (e.has_email, e.has_phone) {
        (true, true) => w.reach_both,
        _ => w.reach_one,
    };
    let idle = idle_days.max(0.0);
    let recency =
        (w.recency as f64 * 0.5f64.powf(idle / w.half_life_days.max(1) as f64)).round() as i64;
    let contributions = vec![
        Contribution {
            factor: "source",
            points: w.source(source),
            max: [
                w.referral, w.partner, w.walk_in, w.website, w.campaign, w.import, w.other,
            ]
            .into_iter()
            .max()
            .unwrap_or(0),
            detail: format!("came through {}", source.as_str()),
        },
        Contribution {
            factor: "stage",
            points: stage,
            max: w.converted.max(w.qualified).max(w.contacted),
            detail: format!("status {}", status.as_str()),
        },
        Contribution {
            factor: "reach",
            points: reach,
            max: w.reach_both.max(w.reach_one),
            detail: match (e.has_email, e.has_phone) {
                (true, true) => "e-mail and phone".into(),
                (true, false) => "e-mail only".into(),
                _ => "phone only".into(),
            },
        },
        Contribution {
            factor: "interest",
            points: count(e.product_interests, 3) * w.interest,
            max: 3 * w.interest,
            detail: format!("{} product(s) asked about", e.product_interests),
        },
        Contribution {
            factor: "interactions",
            points: count(e.interactions, 6) * w.interaction
                + count(e.inbound_interactions, 3) * w.inbound,
            max: 6 * w.interaction + 3 * w.inbound,
            detail: format!(
                "{} interaction(s), {} of them inbound",
                e.interactions, e.inbound_interactions
            ),
        },
        Contribution {
            factor: "follow_ups_kept",
            points: count(e.completed_follow_ups, 3) * w.follow_up_kept,
            max: 3 * w.follow_up_kept,
            detail: format!("{} follow-up(s) completed", e.completed_follow_ups),
        },
        Contribution {
            factor: "recency",
            points: recency,
            max: w.recency,
            detail: format!(
                "{:.0} day(s) since the last activity (halves every {} days)",
                idle.floor(),
                w.half_life_days
            ),
        },
        Contribution {
            factor: "stated_capacity",
            points: e
                .stated_capacity
                .map(|c| (w.capacity as f64 * c.rank() as f64 / 4.0).round() as i64)
                .unwrap_or(0),
            max: w.capacity,
            detail: match e.stated_capacity {
                Some(c) => format!("means to invest {}", c.as_str()),
                None => "no investment capacity stated".into(),
            },
        },
    ];
    let score = if status == LeadStatus::Lost {
        0
    } else {
        contributions.iter().map(|c| c.points).sum::<i64>().min(100)
    };
    Explained {
        score,
        contributions,
    }
}

/// The score alone (see [`explain`]).
pub fn lead_score(
    source: LeadSource,
    status: LeadStatus,
    e: Engagement,
    idle_days: f64,
    w: &ScoreWeights,
) -> i64 {
    explain(source, status, e, idle_days, w).score
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warm() -> Engagement {
        Engagement {
            has_email: true,
            has_phone: true,
            product_interests: 2,
            interactions: 3,
            inbound_interactions: 1,
            completed_follow_ups: 1,
            stated_capacity: None,
        }
    }

    #[test]
    fn engagement_raises_the_score_and_loss_zeroes_it() {
        let w = ScoreWeights::default();
        let cold = lead_score(
            LeadSource::Import,
            LeadStatus::New,
            Engagement::default(),
            365.0,
            &w,
        );
        assert_eq!(cold, 5 + 5, "import, one channel, long idle");
        let warm_now = lead_score(LeadSource::Referral, LeadStatus::Qualified, warm(), 0.0, &w);
        assert_eq!(warm_now, 20 + 25 + 10 + 6 + (12 + 3) + 3 + 10);
        assert_eq!(
            lead_score(LeadSource::Referral, LeadStatus::Lost, warm(), 0.0, &w),
            0
        );
        let maxed = Engagement {
            has_email: true,
            has_phone: true,
            product_interests: 50,
            interactions: 50,
            inbound_interactions: 50,
            completed_follow_ups: 50,
            stated_capacity: Some(InvestmentCapacity::Above1Crore),
        };
        assert_eq!(
            lead_score(LeadSource::Referral, LeadStatus::Converted, maxed, 0.0, &w),
            100
        );
    }

    #[test]
    fn recency_halves_every_half_life() {
        let w = ScoreWeights::default();
        let points = |days: f64| {
            explain(LeadSource::Website, LeadStatus::New, warm(), days, &w).contributions[6].points
        };
        assert_eq!(points(0.0), 10);
        assert_eq!(points(14.0), 5);
        assert_eq!(points(28.0), 3, "2.5 rounds to 3");
        assert_eq!(points(70.0), 0);
    }

    #[test]
    fn the_contributions_add_up_to_the_score() {
        let w = ScoreWeights::default();
        let x = explain(LeadSource::Partner, LeadStatus::Contacted, warm(), 7.0, &w);
        let factors: Vec<&str> = x.contributions.iter().map(|c| c.factor).collect();
        assert_eq!(
            factors,
            vec![
                "source",
                "stage",
                "reach",
                "interest",
                "interactions",
                "follow_ups_kept",
                "recency",
                "stated_capacity"
            ]
        );
        let sum: i64 = x.contributions.iter().map(|c| c.points).sum();
        assert_eq!(x.score, sum);
        assert!(x.contributions.iter().all(|c| c.points <= c.max));
    }

    #[test]
    fn a_stated_capacity_counts_by_its_band() {
        let w = ScoreWeights::default();
        let points = |c: Option<InvestmentCapacity>| {
            let e = Engagement {
                stated_capacity: c,
                ..warm()
            };
            explain(LeadSource::Website, LeadStatus::New, e, 0.0, &w).contributions[7].points
        };
        assert_eq!(points(None), 0);
        assert_eq!(points(Some(InvestmentCapacity::Below1Lakh)), 0);
        assert_eq!(points(Some(InvestmentCapacity::Lakh1To5)), 3);
        assert_eq!(points(Some(InvestmentCapacity::Lakh5To25)), 6);
        assert_eq!(points(Some(InvestmentCapacity::Lakh25To1Crore)), 9);
        assert_eq!(points(Some(InvestmentCapacity::Above1Crore)), 12);
        let w = ScoreWeights::parse("capacity=20").unwrap();
        let e = Engagement {
            stated_capacity: Some(InvestmentCapacity::Lakh5To25),
            ..warm()
        };
        assert_eq!(
            explain(LeadSource::Website, LeadStatus::New, e, 0.0, &w).contributions[7].points,
            10
        );
    }

    #[test]
    fn weights_come_from_configuration() {
        let w = ScoreWeights::parse("referral=30, qualified=40,half_life_days=7").unwrap();
        assert_eq!((w.referral, w.qualified, w.half_life_days), (30, 40, 7));
        assert_eq!(w.partner, 15, "the others keep their defaults");
        assert_ne!(w.fingerprint(), ScoreWeights::default().fingerprint());
        assert_eq!(ScoreWeights::parse("").unwrap(), ScoreWeights::default());
        assert!(ScoreWeights::parse("charm=5")
            .unwrap_err()
            .contains("charm"));
        assert!(ScoreWeights::parse("referral=500").is_err());
        assert!(ScoreWeights::parse("referral").is_err());
        assert!(ScoreWeights::parse("half_life_days=0").is_err());
    }
}

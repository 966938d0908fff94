//! The read models answering what the write side asks of them ([`store::lookups::Lookups`]).

use domain::user::Role;
use store::lookups::{ClientWatched, LeadOnFile, Lookup, LookupError, Lookups, StaffMember};

use crate::users::UserRow;
use std::sync::Arc;
use store::privacy::Keyring;
use store::Db;
use uuid::Uuid;

pub struct ReadModels {
    pub db: Db,
    pub keyring: Arc<Keyring>,
}

fn staff(row: UserRow) -> Option<StaffMember> {
    Some(StaffMember {
        user_id: Uuid::parse_str(&row.user_id).ok()?,
        role: Role::parse(&row.role)?,
        branch: row.branch,
        active: row.active,
    })
}

impl Lookups for ReadModels {
    fn staff_member(&self, user_id: Uuid) -> Lookup<'_, Option<StaffMember>> {
        Box::pin(async move {
            let row = crate::users::get(&self.db, user_id)
                .await
                .map_err(LookupError::new)?;
            Ok(row.and_then(staff))
        })
    }

    fn active_staff<'a>(&'a self, branch: Option<&'a str>) -> Lookup<'a, Vec<StaffMember>> {
        Box::pin(async move {
            let rows = crate::users::list(&self.db, branch, None, true)
                .await
                .map_err(LookupError::new)?;
            Ok(rows.into_iter().filter_map(staff).collect())
        })
    }

    fn branch_members<'a>(&'a self, branch: &'a str) -> Lookup<'a, Vec<Uuid>> {
        Box::pin(async move {
            crate::users::branch_members(&self.db, branch)
                .await
                .map_err(LookupError::new)
        })
    }

    fn leads_with_contact<'a>(
        &'a self,
        email: Option<&'a str>,
        phone: Option<&'a str>,
    ) -> Lookup<'a, Vec<LeadOnFile>> {
        Box::pin(async move {
            let q = crate::leads::checks::duplicates(&self.db, &self.keyring, email, phone);
            let ids = q.await.map_err(LookupError::new)?;
            let mut found = Vec::with_capacity(ids.len());
            for lead_id in ids {
                let view = crate::leads::query::get(&self.db, &self.keyring, lead_id)
                    .await
                    .map_err(LookupError::new)?;
                found.push(LeadOnFile {
                    lead_id,
                    assignee: view.and_then(|v| v.assignee),
                });
            }
            Ok(found)
        })
    }

    fn lead_erasures_due(&self) -> Lookup<'_, Vec<String>> {
        Box::pin(async move {
            crate::leads::checks::erasures_due(&self.db)
                .await
                .map_err(LookupError::new)
        })
    }

    fn clients_to_watch(&self) -> Lookup<'_, Vec<ClientWatched>> {
        Box::pin(async move {
            let rows = crate::clients::query::retention_watch(&self.db)
                .await
                .map_err(LookupError::new)?;
            Ok(rows
                .into_iter()
                .map(|(client_id, erasure_asked)| ClientWatched {
                    client_id,
                    erasure_asked,
                })
                .collect())
        })
    }

    fn lag_of<'a>(&'a self, projections: &'a [&'a str]) -> Lookup<'a, i64> {
        Box::pin(async move {
            let mut worst = 0;
            for name in projections {
                let cp = crate::checkpoint::load(&self.db, name)
                    .await
                    .map_err(LookupError::new)?;
                let lag = store::log::lag(&self.db, cp, 1000)
                    .await
                    .map_err(LookupError::new)?;
                worst = worst.max(lag);
            }
            Ok(worst)
        })
    }

    fn dormant_clients(
        &self,
        cutoff: chrono::NaiveDate,
    ) -> Lookup<'_, Vec<(Uuid, chrono::NaiveDate)>> {
        Box::pin(async move {
            crate::clients::query::dormant(&self.db, cutoff)
                .await
                .map_err(LookupError::new)
        })
    }

    fn kyc_to_check(&self, by: chrono::NaiveDate) -> Lookup<'_, Vec<Uuid>> {
        Box::pin(async move {
            crate::kyc::query::to_check(&self.db, by)
                .await
                .map_err(LookupError::new)
        })
    }
}

//! The broker CRM's domain: aggregates with their commands, events and errors, and the validated
//! value types they are made of. Pure: no I/O, no SQL, no HTTP.

/// A closed set of values stored and shown as snake_case words.
#[macro_export]
macro_rules! snake_enum {
    // Each variant stored under its word exactly (for words `rename_all` would spell
    // otherwise, such as `1_to_5_lakh`).
    (@exact $(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        snake_enum!(@impls $name { $($variant => $text),+ });
    };
    (@impls $name:ident { $($variant:ident => $text:literal),+ }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::Word for $name {
            const NAME: &'static str = stringify!($name);

            fn all() -> &'static [Self] {
                Self::ALL
            }

            fn word(self) -> &'static str {
                self.as_str()
            }

            fn from_word(s: &str) -> Option<Self> {
                Self::parse(s)
            }
        }
    };
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        snake_enum!(@impls $name { $($variant => $text),+ });
    };
}

/// A closed set of words (an enum stored and sent as its snake_case name), so that the edge
/// can describe and read any of them the same way.
pub trait Word: Copy + Send + Sync + 'static {
    /// The type's name (the schema's name at the edge).
    const NAME: &'static str;
    fn all() -> &'static [Self];
    fn word(self) -> &'static str;
    fn from_word(s: &str) -> Option<Self>;
}

pub mod access;
pub mod capture_key;
pub mod client;
pub mod input;
pub mod investments;
pub mod kinds;
pub mod kyc;
pub mod lead;
pub mod merge;
pub mod personal;
pub mod privacy;
pub mod report_pack;
pub mod user;
pub mod values;
pub mod webhook;
pub mod worklog;

use chrono::{DateTime, Utc};

/// Where the personal data is in a stored event payload (JSON pointers), for every aggregate.
/// `None` when the aggregate's table does not list the event type (the store refuses to write
/// it: nobody said where its personal data is).
pub fn personal_fields(aggregate_type: &str, event_type: &str) -> Option<&'static [&'static str]> {
    kinds::kind(aggregate_type).and_then(|k| k.personal_fields(event_type))
}
use std::sync::Arc;

/// The wall clock the aggregates consult, injected so that tests can fix the time.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Arc::new(move || at))
    }

    /// A clock that reads what `set` last put in it: the demo seed replays a year with it.
    pub fn manual(start: DateTime<Utc>) -> (Self, ManualTime) {
        let time = ManualTime(Arc::new(std::sync::atomic::AtomicI64::new(
            start.timestamp_micros(),
        )));
        let read = time.clone();
        (
            Self(Arc::new(move || {
                DateTime::from_timestamp_micros(read.0.load(std::sync::atomic::Ordering::SeqCst))
                    .expect("a time set from a time")
            })),
            time,
        )
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

/// The setter of a [`Clock::manual`].
#[derive(Clone, Debug)]
pub struct ManualTime(Arc<std::sync::atomic::AtomicI64>);

impl ManualTime {
    pub fn set(&self, at: DateTime<Utc>) {
        self.0
            .store(at.timestamp_micros(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

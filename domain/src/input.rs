//! Checking what a caller sent, field by field: every field that is not acceptable is named
//! with why, so that an answer can list them all at once.

use crate::values::InvalidValue;

/// One field of an input that is not acceptable, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

/// What a change does to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

/// The fields found wanting so far.
#[derive(Debug, Default)]
pub struct Checked {
    pub invalid: Vec<Invalid>,
}

impl Checked {
    pub fn fail(&mut self, field: &'static str, message: impl Into<String>) {
        self.invalid.push(Invalid {
            field,
            message: message.into(),
        });
    }

    /// The value, or `None` with why `field` is not acceptable noted.
    pub fn take<T>(&mut self, field: &'static str, parsed: Result<T, InvalidValue>) -> Option<T> {
        parsed.map_err(|e| self.fail(field, e.message)).ok()
    }

    /// An optional value parsed when present.
    pub fn opt<T>(
        &mut self,
        field: &'static str,
        raw: Option<&str>,
        parse: impl Fn(&str) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        raw.and_then(|s| self.take(field, parse(s)))
    }

    /// A change of an optional field: `Some(None)` clears it, `None` keeps it (also when the
    /// new value is not acceptable, which is noted).
    pub fn change<R, T>(
        &mut self,
        field: &'static str,
        change: Change<R>,
        parse: impl Fn(R) -> Result<T, InvalidValue>,
    ) -> Option<Option<T>> {
        match change {
            Change::Keep => None,
            Change::Clear => Some(None),
            Change::Set(raw) => self.take(field, parse(raw)).map(Some),
        }
    }

    /// A change of a field that must keep a value: clearing it is noted as not acceptable.
    pub fn required_change<R, T>(
        &mut self,
        field: &'static str,
        what: &str,
        change: Change<R>,
        parse: impl Fn(R) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        if matches!(change, Change::Clear) {
            self.fail(field, format!("{what} cannot be cleared"));
            return None;
        }
        self.change(field, change, parse).flatten()
    }

    /// `value` when nothing was found wanting.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<Invalid>> {
        match value {
            Some(v) if self.invalid.is_empty() => Ok(v),
            _ => Err(self.invalid),
        }
    }
}

//! The enrollment crate's tables.

pub mod assignment_rule;
pub mod cohort;
pub mod enrollment;

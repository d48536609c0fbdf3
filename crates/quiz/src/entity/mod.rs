//! sea-orm entities for the tables this crate owns. Never exposed through GraphQL directly: a
//! question version's `body` holds the answer key.

pub mod attempt_item;
pub mod question;
pub mod question_bank;
pub mod question_bank_loan;
pub mod question_tag;
pub mod question_version;
pub mod quiz;
pub mod quiz_attempt;
pub mod quiz_grant;
pub mod quiz_question;
pub mod quiz_result;

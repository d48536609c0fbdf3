//! The evaluation crate's tables (created by the `m20261129_000006_evaluation` migration).

pub mod certificate;
pub mod course_survey_setting;
pub mod follow_up_request;
pub mod notification;
pub mod supervisor;
pub mod survey_answer;
pub mod survey_default;
pub mod survey_question;
pub mod survey_response;
pub mod survey_template;

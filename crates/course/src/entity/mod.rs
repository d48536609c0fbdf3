//! sea-orm entities for the tables this crate owns. Never exposed through GraphQL directly.

pub mod course;
pub mod course_module;
pub mod course_owner;
pub mod course_tag;
pub mod lesson;
pub mod material;
pub mod upload;

//! Certificates: issued once per completed enrollment (after the reaction survey when the
//! course requires it), carrying a snapshot of the holder, the course and its JP, and a
//! verification code anyone can check without signing in.
//!
//! - [`code`]: verification codes (10 characters of an unambiguous alphabet, shown grouped).
//! - [`issue`]: issuing, idempotently: on submitting the reaction survey, when a learner lists
//!   their certificates, and in the sweep job. The progress crate needs no change.
//! - [`pdf`]: a hand-written PDF 1.4 with a QR code of the verification link.
//! - [`http`]: the signed download route and the public verification page.
//! - [`graphql`]: `CertificateQuery` and `CertificateMutation`.

pub mod code;
pub mod graphql;
pub mod http;
pub mod issue;
pub mod pdf;

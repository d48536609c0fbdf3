//! Signed export links, and the two ways to an export: [`Evaluation::report_export_url`] (the
//! link, for a browser) and [`Evaluation::report_export`] (the file itself, for a caller in
//! the process such as the benchmark).
//!
//! A link is `<public_url>/reports/<course>/export.<csv|xlsx|html>?cohort=…&section=…&unit=…
//! &by=…&exp=<unix s>&sig=<hex>`: HMAC-SHA256 with the server's URL key over
//! `lms-report-export-v1` and every parameter, so changing any of them (another cohort, no
//! unit restriction) breaks the signature. `unit` is the unit admin's unit whose subtree the
//! export is restricted to, absent for admins and trainers; `by` is who asked, for the log.
//!
//! Rules checked when the link is made: who may read (as `learningReport`), the cohort belongs
//! to the course, a CSV file names its section and the other formats do not, and item
//! analysis is not for unit admins (FORBIDDEN).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use kernel::{Actor, Secret};
use sea_orm::EntityTrait;
use sha2::Sha256;
use uuid::Uuid;

use super::csv::CsvEncoder;
use super::sections::{self, ExportScope};
use super::xlsx::XlsxEncoder;
use super::{ExportBody, ReportFormat, ReportSection, html, slug};
use crate::Evaluation;
use crate::error::EvaluationError;
use crate::report::learning::{self, Audience};

type HmacSha256 = Hmac<Sha256>;

/// What a link is for: everything in it but the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportClaims {
    /// The course.
    pub course_id: Uuid,
    /// The cohort, or every cohort.
    pub cohort_id: Option<Uuid>,
    /// The format.
    pub format: ReportFormat,
    /// The section of a CSV file.
    pub section: Option<ReportSection>,
    /// The unit whose subtree the export is restricted to (a unit admin's).
    pub unit_id: Option<Uuid>,
    /// Who asked.
    pub by: Option<Uuid>,
    /// Expiry, unix seconds.
    pub exp: i64,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl ExportClaims {
    /// The signed text: one line per field, in a fixed order.
    fn message(&self) -> String {
        format!(
            "lms-report-export-v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.course_id,
            opt(self.cohort_id),
            self.format.extension(),
            opt(self.section.map(ReportSection::as_str)),
            opt(self.unit_id),
            opt(self.by),
            self.exp
        )
    }

    fn mac(&self, key: &Secret) -> HmacSha256 {
        // HMAC takes keys of any length, so the fallback never runs; it keeps the code
        // panic-free.
        let mut mac = HmacSha256::new_from_slice(key.expose().as_bytes())
            .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
        mac.update(self.message().as_bytes());
        mac
    }

    /// The signature, in hex.
    pub fn sign(&self, key: &Secret) -> String {
        hex::encode(self.mac(key).finalize().into_bytes())
    }

    /// Whether `sig` signs these claims and they have not expired at `now` (unix seconds).
    pub fn verify(&self, key: &Secret, sig: &str, now: i64) -> bool {
        let Ok(sig) = hex::decode(sig) else {
            return false;
        };
        self.mac(key).verify_slice(&sig).is_ok() && now <= self.exp
    }

    /// The path and query of the link, signed with `key`.
    pub fn path_and_query(&self, key: &Secret) -> String {
        let mut q = Vec::new();
        if let Some(c) = self.cohort_id {
            q.push(format!("cohort={c}"));
        }
        if let Some(s) = self.section {
            q.push(format!("section={}", s.as_str()));
        }
        if let Some(u) = self.unit_id {
            q.push(format!("unit={u}"));
        }
        if let Some(b) = self.by {
            q.push(format!("by={b}"));
        }
        q.push(format!("exp={}", self.exp));
        q.push(format!("sig={}", self.sign(key)));
        format!(
            "/reports/{}/export.{}?{}",
            self.course_id,
            self.format.extension(),
            q.join("&")
        )
    }
}

/// A signed link to an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportLink {
    /// The link; it works without a token until `expires_at`.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The name the file is saved under.
    pub file_name: String,
}

/// An export ready to be sent.
pub struct ReportDownload {
    /// The name the file is saved under.
    pub file_name: String,
    /// Its format.
    pub format: ReportFormat,
    /// Its bytes, produced while they are sent.
    pub body: ExportBody,
}

/// The file name of an export: `laporan-evaluasi-<course>[-<cohort>][-unit-<unit>]
/// [-<section>]-<WIB date>.<ext>`, ASCII only.
pub fn file_name(
    scope: &ExportScope,
    format: ReportFormat,
    section: Option<ReportSection>,
) -> String {
    let mut parts = vec!["laporan-evaluasi".to_owned(), slug(&scope.course.code)];
    if let Some(c) = &scope.cohort {
        parts.push(slug(&c.name));
    }
    if let Some(u) = &scope.unit {
        parts.push(format!("unit-{}", slug(&u.code)));
    }
    if let Some(s) = section {
        parts.push(s.as_str().to_owned());
    }
    parts.push(
        scope
            .generated_at
            .with_timezone(&kernel::time::wib())
            .format("%Y-%m-%d")
            .to_string(),
    );
    parts.retain(|p| !p.is_empty());
    format!("{}.{}", parts.join("-"), format.extension())
}

/// Checks the format/section combination for `audience`.
fn check_request(
    format: ReportFormat,
    section: Option<ReportSection>,
    audience: &Audience,
) -> Result<(), EvaluationError> {
    match (format, section) {
        (ReportFormat::Csv, None) => {
            return Err(EvaluationError::invalid(
                "section",
                "a CSV file holds one section: choose it with `section`",
            ));
        }
        (ReportFormat::Xlsx | ReportFormat::Html, Some(_)) => {
            return Err(EvaluationError::invalid(
                "section",
                "`section` is for CSV files only; XLSX and HTML hold every section",
            ));
        }
        _ => {}
    }
    if section == Some(ReportSection::Items) && *audience != Audience::All {
        return Err(EvaluationError::Forbidden);
    }
    Ok(())
}

impl Evaluation {
    /// Authorizes `actor` for an export and works out its scope.
    async fn export_scope(
        &self,
        actor: &Actor,
        course_id: Uuid,
        cohort_id: Option<Uuid>,
        format: ReportFormat,
        section: Option<ReportSection>,
    ) -> Result<ExportScope, EvaluationError> {
        let course = course::access::find_course(&self.db, course_id).await?;
        let audience = learning::audience(&self.db, actor, &course).await?;
        check_request(format, section, &audience)?;
        self.scope_of(course, cohort_id, audience).await
    }

    /// The scope of an export of `course` for `audience` (loads the cohort and the unit).
    async fn scope_of(
        &self,
        course: course::entity::course::Model,
        cohort_id: Option<Uuid>,
        audience: Audience,
    ) -> Result<ExportScope, EvaluationError> {
        let cohort = match cohort_id {
            Some(id) => {
                let c = enrollment::entity::cohort::Entity::find_by_id(id)
                    .one(&self.db)
                    .await?
                    .filter(|c| c.course_id == course.id)
                    .ok_or(EvaluationError::NotFound("cohort"))?;
                Some(c)
            }
            None => None,
        };
        let unit = match &audience {
            Audience::All => None,
            Audience::Subtree { unit_id, .. } => {
                identity::entity::unit::Entity::find_by_id(*unit_id)
                    .one(&self.db)
                    .await?
            }
        };
        Ok(ExportScope {
            course,
            cohort,
            audience,
            unit,
            generated_at: self.clock.now(),
        })
    }

    /// A signed link, valid [`crate::EvaluationSettings::url_ttl`] (15 minutes), to the export
    /// of `course_id` (one cohort or all) in `format`; a CSV file holds one `section`. Admins
    /// and the course's trainers export every learner; a unit admin the people of their unit
    /// subtree, without item analysis.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course, or a cohort of another course; FORBIDDEN for others
    /// (learners, other trainers) and for item analysis asked by a unit admin; BAD_USER_INPUT
    /// for a CSV file without a section, or a section with another format; INTERNAL on
    /// database failure.
    pub async fn report_export_url(
        &self,
        actor: &Actor,
        course_id: Uuid,
        cohort_id: Option<Uuid>,
        format: ReportFormat,
        section: Option<ReportSection>,
    ) -> Result<ExportLink, EvaluationError> {
        let scope = self
            .export_scope(actor, course_id, cohort_id, format, section)
            .await?;
        let expires_at = self.clock.now() + self.settings.url_ttl.max(chrono::Duration::seconds(1));
        let claims = ExportClaims {
            course_id,
            cohort_id,
            format,
            section,
            unit_id: scope.unit.as_ref().map(|u| u.id),
            by: actor.person_id,
            exp: expires_at.timestamp(),
        };
        Ok(ExportLink {
            url: format!(
                "{}{}",
                self.base_url(),
                claims.path_and_query(&self.settings.url_key)
            ),
            expires_at,
            file_name: file_name(&scope, format, section),
        })
    }

    /// The export itself, for a caller in the process (the benchmark, tests), with the same
    /// rules as [`Evaluation::report_export_url`].
    ///
    /// # Errors
    /// As [`Evaluation::report_export_url`].
    pub async fn report_export(
        &self,
        actor: &Actor,
        course_id: Uuid,
        cohort_id: Option<Uuid>,
        format: ReportFormat,
        section: Option<ReportSection>,
    ) -> Result<ReportDownload, EvaluationError> {
        let scope = self
            .export_scope(actor, course_id, cohort_id, format, section)
            .await?;
        self.open_export(&scope, format, section).await
    }

    /// The export a verified link is for. The scope comes from the link: the rule was
    /// checked when it was made.
    ///
    /// # Errors
    /// NOT_FOUND when the course, cohort or unit no longer exists; INTERNAL on database
    /// failure.
    pub async fn linked_export(
        &self,
        claims: &ExportClaims,
    ) -> Result<ReportDownload, EvaluationError> {
        let course = course::access::find_course(&self.db, claims.course_id).await?;
        let audience = match claims.unit_id {
            None => Audience::All,
            Some(unit_id) => {
                let unit = identity::entity::unit::Entity::find_by_id(unit_id)
                    .one(&self.db)
                    .await?
                    .ok_or(EvaluationError::NotFound("unit"))?;
                Audience::Subtree {
                    unit_id,
                    path: unit.path,
                }
            }
        };
        let scope = self.scope_of(course, claims.cohort_id, audience).await?;
        self.open_export(&scope, claims.format, claims.section)
            .await
    }

    async fn open_export(
        &self,
        scope: &ExportScope,
        format: ReportFormat,
        section: Option<ReportSection>,
    ) -> Result<ReportDownload, EvaluationError> {
        let (sections, page) = sections::build(self, scope, format, section).await?;
        let body = match format {
            ReportFormat::Csv => ExportBody::new(Box::new(CsvEncoder::new()), sections),
            ReportFormat::Xlsx => {
                ExportBody::new(Box::new(XlsxEncoder::new(scope.generated_at)), sections)
            }
            ReportFormat::Html => ExportBody::ready(html::render(&page).into_bytes()),
        };
        Ok(ReportDownload {
            file_name: file_name(scope, format, section),
            format,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> ExportClaims {
        ExportClaims {
            course_id: Uuid::from_u128(1),
            cohort_id: Some(Uuid::from_u128(2)),
            format: ReportFormat::Csv,
            section: Some(ReportSection::Learners),
            unit_id: Some(Uuid::from_u128(3)),
            by: Some(Uuid::from_u128(4)),
            exp: 1000,
        }
    }

    #[test]
    fn a_signature_binds_every_parameter_and_the_expiry() {
        let key = Secret::new("k".repeat(64));
        let c = claims();
        let sig = c.sign(&key);
        assert!(c.verify(&key, &sig, 999));
        assert!(c.verify(&key, &sig, 1000));
        assert!(!c.verify(&key, &sig, 1001), "expired");
        let changed = [
            ExportClaims {
                cohort_id: None,
                ..c.clone()
            },
            ExportClaims {
                unit_id: None,
                ..c.clone()
            },
            ExportClaims {
                format: ReportFormat::Xlsx,
                ..c.clone()
            },
            ExportClaims {
                section: Some(ReportSection::Items),
                ..c.clone()
            },
            ExportClaims {
                course_id: Uuid::from_u128(9),
                ..c.clone()
            },
            ExportClaims {
                by: None,
                ..c.clone()
            },
            ExportClaims {
                exp: 2000,
                ..c.clone()
            },
        ];
        for other in changed {
            assert!(!other.verify(&key, &sig, 999), "{other:?}");
        }
        assert!(!c.verify(&Secret::new("x"), &sig, 999));
        assert!(!c.verify(&key, "zz", 999));
        // A certificate signature of the same key never passes: another prefix.
        assert!(c.message().starts_with("lms-report-export-v1\n"));
    }

    #[test]
    fn the_link_carries_every_signed_parameter() {
        let key = Secret::new("k".repeat(64));
        let c = claims();
        let link = c.path_and_query(&key);
        assert_eq!(
            link,
            format!(
                "/reports/{}/export.csv?cohort={}&section=peserta&unit={}&by={}&exp=1000&sig={}",
                Uuid::from_u128(1),
                Uuid::from_u128(2),
                Uuid::from_u128(3),
                Uuid::from_u128(4),
                c.sign(&key)
            )
        );
    }

    #[test]
    fn formats_and_sections_go_together() {
        let all = Audience::All;
        let unit = Audience::Subtree {
            unit_id: Uuid::nil(),
            path: "/a/".into(),
        };
        use crate::export::ReportFormat::*;
        use crate::export::ReportSection::*;
        assert!(check_request(Csv, Some(Learners), &all).is_ok());
        assert!(check_request(Xlsx, None, &unit).is_ok());
        assert!(check_request(Html, None, &unit).is_ok());
        assert!(matches!(
            check_request(Csv, None, &all),
            Err(EvaluationError::Invalid { .. })
        ));
        assert!(matches!(
            check_request(Xlsx, Some(Learning), &all),
            Err(EvaluationError::Invalid { .. })
        ));
        assert!(check_request(Csv, Some(Items), &all).is_ok());
        assert!(matches!(
            check_request(Csv, Some(Items), &unit),
            Err(EvaluationError::Forbidden)
        ));
    }
}

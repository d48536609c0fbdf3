//! The export part of the GraphQL API: `reportExportUrl`, a signed link to a report export.
//! A mutation, as a link is something handed out (and logged when used), not data.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use identity::graphql::parse_id;
use kernel::GqlResultExt;
use kernel::context::{actor, service};

use super::{ReportFormat, ReportSection};
use crate::Evaluation;

/// A signed, short-lived link to a report export.
#[derive(SimpleObject, Debug, Clone)]
pub struct ReportExportLink {
    /// The file; works without a token until `expiresAt`.
    pub url: String,
    /// When the link stops working (15 minutes after it was made).
    pub expires_at: DateTime<Utc>,
    /// The name the file is saved under.
    pub file_name: String,
}

/// Export mutations.
#[derive(Default)]
pub struct ExportMutation;

#[Object]
impl ExportMutation {
    /// A link to a course's reports as a file: XLSX (a sheet per section), CSV (one `section`
    /// per file) or a printable HTML page with charts. Of one cohort or of all. Who may:
    /// as `learningReport` (admins and the course's trainers everything; unit admins the people
    /// of their unit subtree, and no item analysis).
    async fn report_export_url(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        cohort_id: Option<ID>,
        format: ReportFormat,
        section: Option<ReportSection>,
    ) -> async_graphql::Result<ReportExportLink> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        let cohort_id = cohort_id.map(|c| parse_id("cohortId", &c)).transpose()?;
        service::<Evaluation>(ctx)?
            .report_export_url(actor, course_id, cohort_id, format, section)
            .await
            .map(|l| ReportExportLink {
                url: l.url,
                expires_at: l.expires_at,
                file_name: l.file_name,
            })
            .gql()
    }
}

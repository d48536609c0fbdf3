//! The certificate part of the GraphQL API: the learner's certificates with a signed PDF link,
//! the admins' list, and the public `verifyCertificate`, which needs no sign-in.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use identity::graphql::parse_id;
use kernel::GqlResultExt;
use kernel::context::{actor, service};
use kernel::pagination::Page;

use super::code;
use super::issue::CertificatePage;
use crate::Evaluation;
use crate::entity::certificate;
use crate::error::EvaluationError;

fn evaluation<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Evaluation> {
    service::<Evaluation>(ctx)
}

/// The completion date in WIB, as `YYYY-MM-DD`.
fn wib_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&kernel::time::wib())
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// A signed, short-lived link to a certificate's PDF.
#[derive(SimpleObject, Debug, Clone)]
pub struct CertificateDownload {
    /// The PDF; works without a token until `expiresAt`.
    pub url: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// A certificate of completion, as its holder and admins see it.
pub struct Certificate(pub certificate::Model);

#[Object]
impl Certificate {
    /// The certificate.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The verification code, grouped (`KX7P-9QMR-2D`).
    async fn code(&self) -> String {
        code::display(&self.0.code)
    }
    /// The holder's name when it was issued.
    async fn holder_name(&self) -> &str {
        &self.0.holder_name
    }
    /// The holder's NIP/NI when it was issued.
    async fn holder_nip(&self) -> Option<&str> {
        self.0.holder_nip.as_deref()
    }
    /// The completed enrollment.
    async fn enrollment_id(&self) -> ID {
        ID(self.0.enrollment_id.to_string())
    }
    /// The holder.
    async fn person_id(&self) -> ID {
        ID(self.0.person_id.to_string())
    }
    /// The course.
    async fn course_id(&self) -> ID {
        ID(self.0.course_id.to_string())
    }
    /// The course's code when it was issued.
    async fn course_code(&self) -> &str {
        &self.0.course_code
    }
    /// The course's title when it was issued.
    async fn course_title(&self) -> &str {
        &self.0.course_title
    }
    /// Training hours (JP) credited.
    async fn jp(&self) -> i32 {
        self.0.jp
    }
    /// When the course was completed.
    async fn completed_at(&self) -> DateTime<Utc> {
        self.0.completed_at
    }
    /// The completion date in WIB (`YYYY-MM-DD`).
    async fn completed_on(&self) -> String {
        wib_date(self.0.completed_at)
    }
    /// When it was issued.
    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.issued_at
    }
    /// The public verification link (the one in the QR code).
    async fn verification_url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(evaluation(ctx)?.verification_url(&self.0))
    }
    /// A signed link to the PDF, valid for a few minutes: ask again for a fresh one.
    async fn download(&self, ctx: &Context<'_>) -> async_graphql::Result<CertificateDownload> {
        let (url, expires_at) = evaluation(ctx)?.download_url(&self.0);
        Ok(CertificateDownload { url, expires_at })
    }
}

/// What anyone may learn from a verification code.
pub struct CertificateVerification(pub certificate::Model);

#[Object]
impl CertificateVerification {
    /// The verification code, grouped.
    async fn code(&self) -> String {
        code::display(&self.0.code)
    }
    /// The holder's name.
    async fn holder_name(&self) -> &str {
        &self.0.holder_name
    }
    /// The holder's NIP with its middle hidden (`1985**********1001`).
    async fn holder_nip_masked(&self) -> Option<String> {
        self.0.holder_nip.as_deref().map(code::mask_nip)
    }
    /// The course's code.
    async fn course_code(&self) -> &str {
        &self.0.course_code
    }
    /// The course's title.
    async fn course_title(&self) -> &str {
        &self.0.course_title
    }
    /// Training hours (JP).
    async fn jp(&self) -> i32 {
        self.0.jp
    }
    /// The completion date in WIB (`YYYY-MM-DD`).
    async fn completed_on(&self) -> String {
        wib_date(self.0.completed_at)
    }
    /// When it was issued.
    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.issued_at
    }
}

fn connection(page: CertificatePage, after: bool) -> Connection<String, Certificate> {
    let mut conn = Connection::new(after, page.has_next_page);
    conn.edges.extend(
        page.rows
            .into_iter()
            .map(|(cursor, c)| Edge::new(cursor, Certificate(c))),
    );
    conn
}

fn page_of(first: Option<i32>, after: Option<String>) -> async_graphql::Result<Page> {
    Page::new(first, after).map_err(EvaluationError::from).gql()
}

/// Certificate queries.
#[derive(Default)]
pub struct CertificateQuery;

#[Object]
impl CertificateQuery {
    /// The signed-in person's certificates, newest first. Certificates that became due (a
    /// completed course, and its reaction survey when the course requires it) are issued first.
    async fn my_certificates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Certificate>> {
        let actor = actor(ctx)?;
        let page = page_of(first, after.clone())?;
        let result = evaluation(ctx)?.my_certificates(actor, page).await.gql()?;
        Ok(connection(result, after.is_some()))
    }

    /// One certificate: its holder and admins.
    async fn certificate(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Certificate> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        evaluation(ctx)?
            .certificate(actor, id)
            .await
            .map(Certificate)
            .gql()
    }

    /// Certificates of a course and/or a person, newest first (admins).
    async fn certificates(
        &self,
        ctx: &Context<'_>,
        course_id: Option<ID>,
        person_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Certificate>> {
        let actor = actor(ctx)?;
        let course_id = course_id.map(|c| parse_id("courseId", &c)).transpose()?;
        let person_id = person_id.map(|p| parse_id("personId", &p)).transpose()?;
        let page = page_of(first, after.clone())?;
        let result = evaluation(ctx)?
            .list_certificates(actor, course_id, person_id, page)
            .await
            .gql()?;
        Ok(connection(result, after.is_some()))
    }

    /// Checks a verification code (case, spaces and dashes do not matter). Needs no sign-in.
    /// NOT_FOUND when no certificate has the code.
    async fn verify_certificate(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<CertificateVerification> {
        evaluation(ctx)?
            .verify_certificate(&code)
            .await
            .map(CertificateVerification)
            .gql()
    }
}

/// Certificate mutations.
#[derive(Default)]
pub struct CertificateMutation;

#[Object]
impl CertificateMutation {
    /// Issues every certificate that is due now, without waiting for the periodic sweep
    /// (admins). Returns how many were issued.
    async fn issue_due_certificates(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let actor = actor(ctx)?;
        let report = evaluation(ctx)?.run_sweep(actor, false).await.gql()?;
        Ok(i32::try_from(report.certificates_issued).unwrap_or(i32::MAX))
    }
}

//! The download route of exports, merged into the gateway's router beside the certificates':
//!
//! - `GET /reports/<course>/export.<csv|xlsx|html>?…&exp=<unix s>&sig=<hex>`: the file, from a
//!   link made by `reportExportUrl` (see [`super::link`]). A bad, changed or expired
//!   signature is 403, whatever else is wrong with the link; an unknown course or cohort 404;
//!   neither says more.
//!
//! CSV and XLSX are attachments, streamed as they are produced. The HTML page is shown inline
//! (it is made to be printed from the browser), under a Content-Security-Policy that allows no
//! script. Nothing is cached.

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use uuid::Uuid;

use super::link::ExportClaims;
use super::{ReportFormat, ReportSection, html};
use crate::Evaluation;
use crate::error::EvaluationError;

/// The route above.
pub fn router(evaluation: Evaluation) -> Router {
    Router::new()
        .route("/reports/{course}/{file}", get(download))
        .with_state(evaluation)
}

#[derive(Debug, Deserialize)]
struct LinkQuery {
    cohort: Option<String>,
    section: Option<String>,
    unit: Option<String>,
    by: Option<String>,
    exp: i64,
    sig: String,
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

fn refused() -> Response {
    plain(
        StatusCode::FORBIDDEN,
        "this link is invalid or has expired; ask for a new one",
    )
}

/// An optional id of the link: absent, or a UUID (`Err` for anything else).
fn opt_id(s: Option<&str>) -> Result<Option<Uuid>, ()> {
    s.map(|s| Uuid::parse_str(s).map_err(|_| ())).transpose()
}

/// The claims a link states, when it is well formed.
fn claims_of(course: &str, file: &str, q: &LinkQuery) -> Option<ExportClaims> {
    let format = ReportFormat::parse(file.strip_prefix("export.")?)?;
    let section = match q.section.as_deref() {
        None => None,
        Some(s) => Some(ReportSection::parse(s)?),
    };
    Some(ExportClaims {
        course_id: Uuid::parse_str(course).ok()?,
        cohort_id: opt_id(q.cohort.as_deref()).ok()?,
        format,
        section,
        unit_id: opt_id(q.unit.as_deref()).ok()?,
        by: opt_id(q.by.as_deref()).ok()?,
        exp: q.exp,
    })
}

async fn download(
    State(ev): State<Evaluation>,
    Path((course, file)): Path<(String, String)>,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return refused();
    };
    // A link that does not parse was not made by us: the same answer as a bad signature.
    let Some(claims) = claims_of(&course, &file, &q) else {
        return refused();
    };
    if !claims.verify(&ev.settings.url_key, &q.sig, ev.clock.now().timestamp()) {
        return refused();
    }
    let download = match ev.linked_export(&claims).await {
        Ok(d) => d,
        Err(
            EvaluationError::NotFound(_)
            | EvaluationError::Course(course::CourseError::NotFound(_)),
        ) => {
            return plain(StatusCode::NOT_FOUND, "not found");
        }
        Err(e) => {
            tracing::error!(error = %e, course.id = %claims.course_id, "report export failed");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
        }
    };
    tracing::info!(
        course.id = %claims.course_id,
        cohort.id = ?claims.cohort_id,
        unit.id = ?claims.unit_id,
        person.id = ?claims.by,
        format = claims.format.extension(),
        "report export downloaded"
    );
    let disposition = match download.format {
        ReportFormat::Html => "inline",
        ReportFormat::Csv | ReportFormat::Xlsx => "attachment",
    };
    let mut resp = Body::from_stream(download.body.into_stream()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(download.format.content_type()),
    );
    // The file name is ASCII (a slug), so no `filename*` is needed.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{disposition}; filename=\"{}\"",
        download.file_name
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if download.format == ReportFormat::Html {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(html::CSP),
        );
    }
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(section: Option<&str>, unit: Option<&str>) -> LinkQuery {
        LinkQuery {
            cohort: None,
            section: section.map(str::to_owned),
            unit: unit.map(str::to_owned),
            by: None,
            exp: 5,
            sig: String::new(),
        }
    }

    #[test]
    fn only_well_formed_links_have_claims() {
        let course = Uuid::from_u128(7).to_string();
        let c = claims_of(&course, "export.csv", &q(Some("peserta"), None)).unwrap();
        assert_eq!(c.format, ReportFormat::Csv);
        assert_eq!(c.section, Some(ReportSection::Learners));
        assert_eq!(c.exp, 5);
        assert!(claims_of(&course, "export.pdf", &q(None, None)).is_none());
        assert!(claims_of(&course, "laporan.xlsx", &q(None, None)).is_none());
        assert!(claims_of("x", "export.xlsx", &q(None, None)).is_none());
        assert!(claims_of(&course, "export.csv", &q(Some("semua"), None)).is_none());
        assert!(claims_of(&course, "export.csv", &q(None, Some("dinkes"))).is_none());
    }
}

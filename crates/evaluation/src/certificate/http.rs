//! HTTP routes of certificates, merged into the gateway's router:
//!
//! - `GET /certificates/<CODE>.pdf?exp=<unix s>&sig=<hex>`: the PDF. The URL is signed
//!   (HMAC-SHA256 with the certificate URL key over `lms-certificate-v1\n<code>\n<exp>`) and
//!   lives `url_ttl` (15 minutes); only the holder and admins get one, through GraphQL, since a
//!   browser download cannot send a bearer token. A bad or expired signature is 403.
//! - `GET /verify/<code>`: the public verification page the QR code opens: a small HTML page
//!   with the holder's name, masked NIP, course, JP and date, or "not found" (404).

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use kernel::Secret;
use serde::Deserialize;
use sha2::Sha256;

use super::{code, pdf};
use crate::Evaluation;
use crate::entity::certificate;
use crate::error::EvaluationError;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &Secret, code: &str, exp: i64) -> HmacSha256 {
    // HMAC takes keys of any length, so the fallback never runs; it keeps the code panic-free.
    let mut mac = HmacSha256::new_from_slice(key.expose().as_bytes())
        .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    mac.update(format!("lms-certificate-v1\n{code}\n{exp}").as_bytes());
    mac
}

/// Whether `sig` signs (`code`, `exp`) and `exp` has not passed at `now`.
fn verify(key: &Secret, code: &str, exp: i64, sig: &str, now: i64) -> bool {
    let Ok(sig) = hex::decode(sig) else {
        return false;
    };
    mac(key, code, exp).verify_slice(&sig).is_ok() && now <= exp
}

impl Evaluation {
    /// The verification link of a certificate: `<public_url>/verify/<KX7P-9QMR-2D>`.
    pub fn verification_url(&self, c: &certificate::Model) -> String {
        format!("{}/verify/{}", self.base_url(), code::display(&c.code))
    }

    /// A signed download URL of a certificate's PDF and when it expires. Hand it only to those
    /// who may download (the resolver's object is only given to the holder and admins).
    pub fn download_url(&self, c: &certificate::Model) -> (String, DateTime<Utc>) {
        let expires = self.clock.now() + self.settings.url_ttl.max(chrono::Duration::seconds(1));
        let exp = expires.timestamp();
        let sig = hex::encode(
            mac(&self.settings.url_key, &c.code, exp)
                .finalize()
                .into_bytes(),
        );
        (
            format!(
                "{}/certificates/{}.pdf?exp={exp}&sig={sig}",
                self.base_url(),
                c.code
            ),
            expires,
        )
    }

    /// The PDF of a certificate.
    ///
    /// # Errors
    /// INTERNAL when the verification link does not fit a QR code.
    pub fn certificate_pdf(&self, c: &certificate::Model) -> Result<Vec<u8>, EvaluationError> {
        pdf::render(&pdf::CertificateText {
            holder_name: c.holder_name.clone(),
            holder_nip: c.holder_nip.clone(),
            course_code: c.course_code.clone(),
            course_title: c.course_title.clone(),
            jp: c.jp,
            completed_at: c.completed_at,
            issued_at: c.issued_at,
            code: code::display(&c.code),
            verify_url: self.verification_url(c),
            issuer: self.settings.issuer.clone(),
        })
    }
}

/// The routes above.
pub fn router(evaluation: Evaluation) -> Router {
    Router::new()
        .route("/certificates/{file}", get(download))
        .route("/verify/{code}", get(verify_page))
        .with_state(evaluation)
}

#[derive(Debug, Deserialize)]
struct Signed {
    exp: i64,
    sig: String,
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn download(
    State(ev): State<Evaluation>,
    Path(file): Path<String>,
    query: Result<Query<Signed>, QueryRejection>,
) -> Response {
    let Some(code) = file.strip_suffix(".pdf") else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    let Ok(Query(signed)) = query else {
        return plain(StatusCode::FORBIDDEN, "this link is not signed");
    };
    if !verify(
        &ev.settings.url_key,
        code,
        signed.exp,
        &signed.sig,
        ev.clock.now().timestamp(),
    ) {
        return plain(
            StatusCode::FORBIDDEN,
            "this link is invalid or has expired; ask for a new one",
        );
    }
    let found = ev.verify_certificate(code).await;
    let c = match found {
        Ok(c) => c,
        Err(EvaluationError::UnknownCertificateCode) => {
            return plain(StatusCode::NOT_FOUND, "no certificate has this code");
        }
        Err(e) => {
            tracing::error!(error = %e, "certificate download failed");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
        }
    };
    match ev.certificate_pdf(&c) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"sertifikat-{}.pdf\"",
                        code::display(&c.code)
                    ),
                ),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, certificate.id = %c.id, "certificate PDF failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
        }
    }
}

/// Escapes text for HTML.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let doc = format!(
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>body{{font-family:sans-serif;max-width:36rem;margin:2rem auto;\
         padding:0 1rem;line-height:1.5}}dt{{color:#555}}dd{{margin:0 0 .6rem;font-weight:bold}}\
         </style></head><body><h1>{}</h1>{body}</body></html>",
        html(title),
        html(title)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        doc,
    )
        .into_response()
}

async fn verify_page(State(ev): State<Evaluation>, Path(input): Path<String>) -> Response {
    match ev.verify_certificate(&input).await {
        Ok(c) => {
            let nip = c
                .holder_nip
                .as_deref()
                .map(code::mask_nip)
                .unwrap_or_else(|| "-".into());
            let body = format!(
                "<p>Sertifikat ini sah dan tercatat di platform pembelajaran {}.</p><dl>\
                 <dt>Kode verifikasi</dt><dd>{}</dd><dt>Nama</dt><dd>{}</dd><dt>NIP</dt><dd>{}</dd>\
                 <dt>Pelatihan</dt><dd>{}</dd><dt>Jam pelajaran</dt><dd>{} JP</dd>\
                 <dt>Diselesaikan pada</dt><dd>{} (WIB)</dd></dl>",
                html(&ev.settings.issuer),
                html(&code::display(&c.code)),
                html(&c.holder_name),
                html(&nip),
                html(&c.course_title),
                c.jp,
                html(&pdf::tanggal(c.completed_at)),
            );
            page(StatusCode::OK, "Sertifikat sah", &body)
        }
        Err(EvaluationError::UnknownCertificateCode) => page(
            StatusCode::NOT_FOUND,
            "Sertifikat tidak ditemukan",
            "<p>Tidak ada sertifikat dengan kode ini. Periksa kembali kode yang dimasukkan.</p>",
        ),
        Err(e) => {
            tracing::error!(error = %e, "certificate verification page failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_binds_the_code_and_the_expiry() {
        let key = Secret::new("k".repeat(64));
        let sig = hex::encode(mac(&key, "KX7P9QMR2D", 1000).finalize().into_bytes());
        assert!(verify(&key, "KX7P9QMR2D", 1000, &sig, 999));
        assert!(!verify(&key, "KX7P9QMR2D", 1000, &sig, 1001), "expired");
        assert!(!verify(&key, "KX7P9QMR2E", 1000, &sig, 999), "another code");
        assert!(
            !verify(&key, "KX7P9QMR2D", 2000, &sig, 999),
            "another expiry"
        );
        assert!(!verify(&Secret::new("x"), "KX7P9QMR2D", 1000, &sig, 999));
        assert!(!verify(&key, "KX7P9QMR2D", 1000, "zz", 999));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html("<b>\"O'Neil\" & co</b>"),
            "&lt;b&gt;&quot;O&#39;Neil&quot; &amp; co&lt;/b&gt;"
        );
    }
}

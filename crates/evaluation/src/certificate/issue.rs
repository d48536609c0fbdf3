//! Issuing certificates. A completed enrollment gets one when its course does not require the
//! reaction survey, or once that survey is answered. Issuing is idempotent and needs no hook in
//! the progress crate: it runs when the reaction survey is submitted, when the learner lists
//! their certificates, and in the periodic sweep. The unique index on `enrollment_id` makes a
//! race end in one certificate; a clash of random codes (unique index on `code`) is retried
//! with a new code.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use enrollment::entity::enrollment as enrollment_entity;
use identity::entity::person;
use kernel::Actor;
use kernel::pagination::{Page, encode_cursor};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set,
};
use uuid::Uuid;

use super::code;
use crate::Evaluation;
use crate::entity::{certificate, course_survey_setting, survey_response};
use crate::error::EvaluationError;
use crate::survey::SurveyLevel;

/// Enrollments looked at per statement.
const BATCH: u64 = 500;

/// Attempts at a fresh random code before giving up (a clash is already a one in 10^14 event).
const CODE_ATTEMPTS: usize = 5;

/// Which completed enrollments to issue for.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// One enrollment.
    Enrollment(Uuid),
    /// A person's enrollments.
    Person(Uuid),
    /// Every enrollment, in id order after the given one.
    All {
        /// Start after this enrollment id.
        after: Option<Uuid>,
    },
}

/// A page of certificates.
#[derive(Debug, Clone)]
pub struct CertificatePage {
    /// (cursor, certificate), newest first.
    pub rows: Vec<(String, certificate::Model)>,
    /// Whether more follow.
    pub has_next_page: bool,
}

/// Completed enrollments in `scope` that have no certificate and may have one now.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn eligible(
    conn: &impl ConnectionTrait,
    scope: Scope,
) -> Result<Vec<enrollment_entity::Model>, EvaluationError> {
    let issued = certificate::Entity::find()
        .select_only()
        .column(certificate::Column::EnrollmentId)
        .into_query();
    let requiring = course_survey_setting::Entity::find()
        .select_only()
        .column(course_survey_setting::Column::CourseId)
        .filter(course_survey_setting::Column::ReactionRequiredForCertificate.eq(true))
        .into_query();
    let answered = survey_response::Entity::find()
        .select_only()
        .column(survey_response::Column::EnrollmentId)
        .filter(survey_response::Column::Level.eq(SurveyLevel::Reaction.as_str()))
        .into_query();
    let mut q = enrollment_entity::Entity::find()
        .filter(enrollment_entity::Column::State.eq(enrollment::state::COMPLETED))
        .filter(enrollment_entity::Column::CompletedAt.is_not_null())
        .filter(enrollment_entity::Column::Id.not_in_subquery(issued))
        .filter(
            Condition::any()
                .add(enrollment_entity::Column::CourseId.not_in_subquery(requiring))
                .add(enrollment_entity::Column::Id.in_subquery(answered)),
        );
    q = match scope {
        Scope::Enrollment(id) => q.filter(enrollment_entity::Column::Id.eq(id)),
        Scope::Person(p) => q.filter(enrollment_entity::Column::PersonId.eq(p)),
        Scope::All { after: Some(a) } => q.filter(enrollment_entity::Column::Id.gt(a)),
        Scope::All { after: None } => q,
    };
    Ok(q.order_by_asc(enrollment_entity::Column::Id)
        .limit(BATCH)
        .all(conn)
        .await?)
}

/// Issues certificates for `enrollments` (from [`eligible`]); returns those issued now. Four
/// statements to read, then one insert per certificate.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn issue(
    conn: &impl ConnectionTrait,
    enrollments: &[enrollment_entity::Model],
    now: DateTime<Utc>,
) -> Result<Vec<certificate::Model>, EvaluationError> {
    if enrollments.is_empty() {
        return Ok(Vec::new());
    }
    let people: HashMap<Uuid, person::Model> = person::Entity::find()
        .filter(person::Column::Id.is_in(enrollments.iter().map(|e| e.person_id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let courses: HashMap<Uuid, course::entity::course::Model> =
        course::entity::course::Entity::find()
            .filter(
                course::entity::course::Column::Id.is_in(enrollments.iter().map(|e| e.course_id)),
            )
            .all(conn)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    // The JP actually credited for the completion, when the ledger has it.
    let credited: HashMap<Uuid, i32> = progress::entity::jp_ledger::Entity::find()
        .filter(
            progress::entity::jp_ledger::Column::EnrollmentId
                .is_in(enrollments.iter().map(|e| e.id)),
        )
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|r| r.enrollment_id.map(|e| (e, r.jp)))
        .collect();
    let mut out = Vec::new();
    for e in enrollments {
        let (Some(p), Some(c), Some(completed_at)) = (
            people.get(&e.person_id),
            courses.get(&e.course_id),
            e.completed_at,
        ) else {
            continue;
        };
        let jp = credited
            .get(&e.id)
            .copied()
            .unwrap_or(if c.jp_approved_at.is_some() {
                c.jp_credit.max(0)
            } else {
                0
            });
        for attempt in 0.. {
            let row = certificate::Model {
                id: kernel::new_id(),
                code: code::generate(),
                enrollment_id: e.id,
                person_id: p.id,
                course_id: c.id,
                holder_name: p.name.chars().take(200).collect(),
                holder_nip: p.nip.clone(),
                course_code: c.code.chars().take(32).collect(),
                course_title: c.title.chars().take(200).collect(),
                jp,
                completed_at,
                issued_at: now,
            };
            // DO NOTHING on either unique index: on PostgreSQL a failed insert would abort the
            // caller's transaction.
            let inserted = certificate::Entity::insert(certificate::ActiveModel {
                id: Set(row.id),
                code: Set(row.code.clone()),
                enrollment_id: Set(row.enrollment_id),
                person_id: Set(row.person_id),
                course_id: Set(row.course_id),
                holder_name: Set(row.holder_name.clone()),
                holder_nip: Set(row.holder_nip.clone()),
                course_code: Set(row.course_code.clone()),
                course_title: Set(row.course_title.clone()),
                jp: Set(row.jp),
                completed_at: Set(row.completed_at),
                issued_at: Set(row.issued_at),
            })
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(conn)
            .await?;
            if inserted > 0 {
                tracing::info!(certificate.id = %row.id, enrollment.id = %e.id, "certificate issued");
                out.push(row);
                break;
            }
            let exists = certificate::Entity::find()
                .filter(certificate::Column::EnrollmentId.eq(e.id))
                .one(conn)
                .await?
                .is_some();
            if exists {
                break;
            }
            if attempt + 1 >= CODE_ATTEMPTS {
                return Err(EvaluationError::Internal(format!(
                    "no free certificate code after {CODE_ATTEMPTS} attempts"
                )));
            }
        }
    }
    Ok(out)
}

/// Issues the certificate of one enrollment if it may have one, and returns the enrollment's
/// certificate (new or earlier), if any.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn for_enrollment(
    conn: &impl ConnectionTrait,
    enrollment_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<certificate::Model>, EvaluationError> {
    let pending = eligible(conn, Scope::Enrollment(enrollment_id)).await?;
    issue(conn, &pending, now).await?;
    Ok(certificate::Entity::find()
        .filter(certificate::Column::EnrollmentId.eq(enrollment_id))
        .one(conn)
        .await?)
}

fn page_of(mut rows: Vec<certificate::Model>, page: &Page) -> CertificatePage {
    let has_next_page = page.cut(&mut rows);
    CertificatePage {
        rows: rows
            .into_iter()
            .map(|c| (encode_cursor(&c.id.to_string()), c))
            .collect(),
        has_next_page,
    }
}

fn after_of(page: &Page) -> Result<Option<Uuid>, EvaluationError> {
    page.after
        .as_deref()
        .map(|a| {
            Uuid::parse_str(a).map_err(|_| EvaluationError::invalid("after", "invalid cursor"))
        })
        .transpose()
}

impl Evaluation {
    /// Issues every certificate that is due, 500 enrollments per transaction; returns how many.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    pub async fn issue_due_certificates(&self) -> Result<usize, EvaluationError> {
        let mut after = None;
        let mut issued = 0;
        loop {
            let now = self.clock.now();
            let txn = kernel::db::begin_write(&self.db).await?;
            let batch = eligible(&txn, Scope::All { after }).await?;
            issued += issue(&txn, &batch, now).await?.len();
            txn.commit().await?;
            if (batch.len() as u64) < BATCH {
                return Ok(issued);
            }
            after = batch.last().map(|e| e.id);
        }
    }

    /// The signed-in person's certificates, newest first; any that became due are issued first.
    ///
    /// # Errors
    /// UNAUTHENTICATED without a person; BAD_USER_INPUT for a bad cursor; INTERNAL on database
    /// failure.
    pub async fn my_certificates(
        &self,
        actor: &Actor,
        page: Page,
    ) -> Result<CertificatePage, EvaluationError> {
        let person = actor.person_id.ok_or(EvaluationError::Unauthenticated)?;
        // Read first: the write lock is taken only when something is to be issued.
        if !eligible(&self.db, Scope::Person(person)).await?.is_empty() {
            let now = self.clock.now();
            let txn = kernel::db::begin_write(&self.db).await?;
            let pending = eligible(&txn, Scope::Person(person)).await?;
            issue(&txn, &pending, now).await?;
            txn.commit().await?;
        }
        let mut q = certificate::Entity::find().filter(certificate::Column::PersonId.eq(person));
        if let Some(a) = after_of(&page)? {
            q = q.filter(certificate::Column::Id.lt(a));
        }
        let rows = q
            .order_by_desc(certificate::Column::Id)
            .limit(page.fetch())
            .all(&self.db)
            .await?;
        Ok(page_of(rows, &page))
    }

    /// Certificates, newest first, of a course and/or a person. Admins only.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; BAD_USER_INPUT for a bad cursor; INTERNAL on database failure.
    pub async fn list_certificates(
        &self,
        actor: &Actor,
        course_id: Option<Uuid>,
        person_id: Option<Uuid>,
        page: Page,
    ) -> Result<CertificatePage, EvaluationError> {
        if !actor.is_admin() {
            return Err(EvaluationError::Forbidden);
        }
        let mut q = certificate::Entity::find();
        if let Some(c) = course_id {
            q = q.filter(certificate::Column::CourseId.eq(c));
        }
        if let Some(p) = person_id {
            q = q.filter(certificate::Column::PersonId.eq(p));
        }
        if let Some(a) = after_of(&page)? {
            q = q.filter(certificate::Column::Id.lt(a));
        }
        let rows = q
            .order_by_desc(certificate::Column::Id)
            .limit(page.fetch())
            .all(&self.db)
            .await?;
        Ok(page_of(rows, &page))
    }

    /// One certificate: its holder and admins.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for anyone else; INTERNAL on database failure.
    pub async fn certificate(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<certificate::Model, EvaluationError> {
        let c = certificate::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(EvaluationError::NotFound("certificate"))?;
        if actor.is_admin() || actor.is_person(c.person_id) {
            Ok(c)
        } else {
            Err(EvaluationError::Forbidden)
        }
    }

    /// The certificate with verification code `input` (any case, with or without spaces and
    /// dashes). Anyone, signed in or not.
    ///
    /// # Errors
    /// NOT_FOUND ([`EvaluationError::UnknownCertificateCode`]) for a code no certificate has,
    /// whatever its shape; INTERNAL on database failure.
    pub async fn verify_certificate(
        &self,
        input: &str,
    ) -> Result<certificate::Model, EvaluationError> {
        let code = code::normalise(input).ok_or(EvaluationError::UnknownCertificateCode)?;
        certificate::Entity::find()
            .filter(certificate::Column::Code.eq(code))
            .one(&self.db)
            .await?
            .ok_or(EvaluationError::UnknownCertificateCode)
    }
}

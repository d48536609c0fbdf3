//! The JP ledger: course credits (written by [`crate::completion`]), credits recorded by admins
//! for training outside the platform, a person's ledger for a year, and who is below the
//! yearly target, aggregated in the database.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use course::entity::course as course_entity;
use identity::entity::{person, unit};
use identity::scope::{self, Scope};
use kernel::Actor;
use kernel::pagination::{Page, encode_cursor};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, Set, Statement, Value,
};
use uuid::Uuid;

use crate::Progress;
use crate::entity::jp_ledger;
use crate::error::ProgressError;

/// Ledger source of a completed course.
pub const SOURCE_COURSE: &str = "course";
/// Ledger source of training recorded by an admin.
pub const SOURCE_EXTERNAL: &str = "external";
/// JP every civil servant should earn in a year (PP 11/2017 art. 203(4)).
pub const JP_TARGET: i64 = 20;
/// The largest single external credit: a typo guard (a long classroom programme is ~100 JP).
pub const MAX_EXTERNAL_JP: i32 = 500;

/// JP recorded for training outside the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalJp {
    /// Who earned it.
    pub person_id: Uuid,
    /// Training hours, 1 to [`MAX_EXTERNAL_JP`].
    pub jp: i32,
    /// When it was earned; its WIB year is the JP year.
    pub earned_at: DateTime<Utc>,
    /// What it was (course name, organiser), 1 to 500 characters.
    pub description: String,
}

/// A ledger row with the course behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The row.
    pub row: jp_ledger::Model,
    /// The course title, for a course credit.
    pub course_title: Option<String>,
}

/// A person's JP in one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonJp {
    /// The person.
    pub person_id: Uuid,
    /// The JP year.
    pub year: i32,
    /// Sum of `entries`.
    pub total: i64,
    /// The rows, oldest first.
    pub entries: Vec<LedgerEntry>,
}

/// One person below the target.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct BelowTarget {
    /// The person.
    pub person_id: Uuid,
    /// Their name.
    pub name: String,
    /// Their NIP/NI.
    pub nip: Option<String>,
    /// Their unit.
    pub unit_id: Uuid,
    /// The unit's name.
    pub unit_name: String,
    /// The unit's path (the sort key: people of one unit come together, subtree by subtree).
    pub unit_path: String,
    /// JP earned in the year.
    pub total: i64,
}

/// A page of [`BelowTarget`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BelowTargetPage {
    /// The rows.
    pub rows: Vec<BelowTarget>,
    /// Whether more follow.
    pub has_next: bool,
}

impl BelowTarget {
    /// The row's cursor.
    pub fn cursor(&self) -> String {
        encode_cursor(&format!("{}|{}", self.unit_path, self.person_id))
    }
}

/// A placeholder for parameter `n` in raw SQL on `backend`.
pub(crate) fn ph(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// The JP ledger summed per person, as SQL to use as a subquery: one row per enabled person who
/// has a unit, with the columns of [`BelowTarget`] (`person_id`, `name`, `nip`, `unit_id`,
/// `unit_name`, `unit_path`, `total`). `year` is the placeholder of the JP year; `filter` adds
/// conditions on the person `p` and their unit `u`, each starting with ` AND `. Shared by
/// [`Progress::jp_below_target`] and the evaluation crate's JP compliance report, so the two
/// never disagree on who counts or what a total is.
pub fn person_totals_sql(year: &str, filter: &str) -> String {
    // SUM of integers is bigint on PostgreSQL and integer on SQLite: cast to one type.
    format!(
        "SELECT p.id AS person_id, p.name AS name, p.nip AS nip, u.id AS unit_id, \
         u.name AS unit_name, u.path AS unit_path, \
         CAST(COALESCE(SUM(l.jp), 0) AS BIGINT) AS total \
         FROM people p \
         JOIN units u ON u.id = p.unit_id \
         LEFT JOIN jp_ledger l ON l.person_id = p.id AND l.year = {year} \
         WHERE p.disabled_at IS NULL{filter} \
         GROUP BY p.id, p.name, p.nip, u.id, u.name, u.path"
    )
}

/// Loads ledger rows and their course titles.
async fn with_titles(
    conn: &impl ConnectionTrait,
    rows: Vec<jp_ledger::Model>,
) -> Result<Vec<LedgerEntry>, ProgressError> {
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.course_id).collect();
    let titles: HashMap<Uuid, String> = if ids.is_empty() {
        HashMap::new()
    } else {
        course_entity::Entity::find()
            .filter(course_entity::Column::Id.is_in(ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|c| (c.id, c.title))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|row| LedgerEntry {
            course_title: row.course_id.and_then(|c| titles.get(&c).cloned()),
            row,
        })
        .collect())
}

/// A person's ledger for `year`.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn ledger(
    conn: &impl ConnectionTrait,
    person_id: Uuid,
    year: i32,
) -> Result<PersonJp, ProgressError> {
    let rows = jp_ledger::Entity::find()
        .filter(jp_ledger::Column::PersonId.eq(person_id))
        .filter(jp_ledger::Column::Year.eq(year))
        .order_by_asc(jp_ledger::Column::EarnedAt)
        .order_by_asc(jp_ledger::Column::Id)
        .all(conn)
        .await?;
    let total = rows.iter().map(|r| i64::from(r.jp)).sum();
    Ok(PersonJp {
        person_id,
        year,
        total,
        entries: with_titles(conn, rows).await?,
    })
}

/// The unit path an actor's report covers: `unit_id` (which must be inside their scope) or
/// their whole scope; `None` means everything (admins without a unit filter).
pub(crate) async fn report_root(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    unit_id: Option<Uuid>,
) -> Result<Option<unit::Model>, ProgressError> {
    let scope = scope::of(conn, actor).await?;
    if scope == Scope::None {
        return Err(ProgressError::Forbidden);
    }
    let target = match unit_id {
        Some(id) => Some(id),
        None if scope == Scope::All => None,
        None => actor.unit_id,
    };
    let Some(id) = target else {
        return Ok(None);
    };
    let u = unit::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(ProgressError::NotFound("unit"))?;
    if !scope.covers_path(&u.path) {
        return Err(ProgressError::Forbidden);
    }
    Ok(Some(u))
}

impl Progress {
    /// Records JP earned outside the platform. Admins for anyone, unit admins for people in
    /// their subtree; audited in the same transaction.
    ///
    /// # Errors
    /// FORBIDDEN outside the actor's scope; NOT_FOUND for an unknown person; BAD_USER_INPUT for
    /// JP outside 1..=500, an empty or too long description or a future `earnedAt`; INTERNAL on
    /// database failure.
    pub async fn record_external_jp(
        &self,
        actor: &Actor,
        input: ExternalJp,
    ) -> Result<jp_ledger::Model, ProgressError> {
        let now = self.clock.now();
        let earned_at = input.earned_at.trunc_subsecs(6);
        if !(1..=MAX_EXTERNAL_JP).contains(&input.jp) {
            return Err(ProgressError::invalid(
                "jp",
                format!("JP must be between 1 and {MAX_EXTERNAL_JP}"),
            ));
        }
        let description = input.description.trim().to_owned();
        if description.is_empty() || description.chars().count() > 500 {
            return Err(ProgressError::invalid(
                "description",
                "the description needs 1 to 500 characters",
            ));
        }
        if earned_at > now + crate::sync::clock_skew() {
            return Err(ProgressError::invalid(
                "earnedAt",
                "JP cannot be earned in the future",
            ));
        }
        let txn = kernel::db::begin_write(&self.db).await?;
        let person = person::Entity::find_by_id(input.person_id)
            .one(&txn)
            .await?
            .ok_or(ProgressError::NotFound("person"))?;
        scope::require_unit(&txn, actor, person.unit_id).await?;
        let row = jp_ledger::ActiveModel {
            id: Set(kernel::new_id()),
            person_id: Set(person.id),
            year: Set(kernel::time::wib_year(earned_at)),
            course_id: Set(None),
            enrollment_id: Set(None),
            jp: Set(input.jp),
            source: Set(SOURCE_EXTERNAL.to_owned()),
            description: Set(description),
            earned_at: Set(earned_at),
            recorded_by: Set(actor.person_id),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        identity::audit::record(
            &txn,
            actor,
            now,
            "jp.record_external",
            "person",
            person.id,
            serde_json::json!({
                "ledgerId": row.id,
                "jp": row.jp,
                "year": row.year,
                "earnedAt": row.earned_at,
                "description": row.description,
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    /// A person's JP ledger for `year` (default: this WIB year) with the courses behind it: the
    /// person themself, admins, and unit admins whose subtree holds the person.
    ///
    /// # Errors
    /// FORBIDDEN for anyone else; NOT_FOUND for an unknown person; INTERNAL on database failure.
    pub async fn person_jp(
        &self,
        actor: &Actor,
        person_id: Uuid,
        year: Option<i32>,
    ) -> Result<PersonJp, ProgressError> {
        let year = year.unwrap_or_else(|| kernel::time::wib_year(self.clock.now()));
        if !actor.is_person(person_id) {
            let person = person::Entity::find_by_id(person_id)
                .one(&self.db)
                .await?
                .ok_or(ProgressError::NotFound("person"))?;
            scope::require_unit(&self.db, actor, person.unit_id).await?;
        }
        ledger(&self.db, person_id, year).await
    }

    /// People (enabled, with a unit) below [`JP_TARGET`] in `year`, ordered by unit subtree, with
    /// their total: admins for any unit, unit admins within their subtree. One aggregate query
    /// per page.
    ///
    /// # Errors
    /// FORBIDDEN outside the actor's scope; NOT_FOUND for an unknown unit; BAD_USER_INPUT for a
    /// bad page or cursor; INTERNAL on database failure.
    pub async fn jp_below_target(
        &self,
        actor: &Actor,
        year: Option<i32>,
        unit_id: Option<Uuid>,
        page: Page,
    ) -> Result<BelowTargetPage, ProgressError> {
        let year = year.unwrap_or_else(|| kernel::time::wib_year(self.clock.now()));
        let root = report_root(&self.db, actor, unit_id).await?;
        let backend = self.db.get_database_backend();
        let p = |n| ph(backend, n);
        let mut values: Vec<Value> = vec![year.into(), JP_TARGET.into()];
        let mut filter = String::new();
        if let Some(u) = &root {
            values.push(format!("{}%", u.path).into());
            filter.push_str(&format!(" AND u.path LIKE {}", p(values.len())));
        }
        if let Some(after) = &page.after {
            let (path, id) = after
                .rsplit_once('|')
                .and_then(|(path, id)| Some((path.to_owned(), Uuid::parse_str(id).ok()?)))
                .ok_or_else(|| ProgressError::invalid("after", "invalid cursor"))?;
            values.push(path.into());
            let a = p(values.len());
            values.push(id.into());
            let b = p(values.len());
            filter.push_str(&format!(
                " AND (u.path > {a} OR (u.path = {a} AND p.id > {b}))"
            ));
        }
        values.push(i64::try_from(page.fetch()).unwrap_or(i64::MAX).into());
        let limit = p(values.len());
        let sql = format!(
            "SELECT t.* FROM ({totals}) t \
             WHERE t.total < {t} \
             ORDER BY t.unit_path, t.person_id \
             LIMIT {limit}",
            totals = person_totals_sql(&p(1), &filter),
            t = p(2),
        );
        let mut rows =
            BelowTarget::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
                .all(&self.db)
                .await?;
        let has_next = page.cut(&mut rows);
        Ok(BelowTargetPage { rows, has_next })
    }
}

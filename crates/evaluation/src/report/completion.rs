//! The completion report of a course: how many were enrolled, started, completed, how long
//! completion took, who is overdue, who left; for the whole course (or one cohort) and by the
//! learner's unit.
//!
//! Decisions:
//! - Counted per enrollment, not per person: someone in two cohorts of the course counts in
//!   each (a cohort is where the seat, the due date and the completion are).
//! - `enrolled` is active + completed enrollments: people holding a seat, as progress's
//!   `unitCompletion` counts them. Pending, waitlisted and rejected requests never had a seat
//!   and are not counted; withdrawn and expired ones are counted apart (`withdrawn`,
//!   `expired`), so both rates can be read: `completed / enrolled` (the completion rate given
//!   here) and `completed / (enrolled + withdrawn + expired)`.
//! - `started`: completed, or active with any recorded progress. Every accepted progress event
//!   and every lesson completed by a quiz sets the enrollment's `last_activity_at`, so that
//!   column is the test; no join with `lesson_progress`.
//! - `overdue`: active with a due date before the moment of the report (the enrollment's own
//!   due date, which assignment may set apart from the cohort's), as `Enrollment.overdue` says.
//! - Days to complete run from the enrollment's activation (when it got its seat; the request
//!   time when it has none) to its completion, in fractional days. A completion recorded before
//!   the activation (progress kept from an earlier, withdrawn enrollment) counts as 0 days.
//! - The median is computed **in the database**, with window functions both SQLite and
//!   PostgreSQL have: rows numbered by duration within each unit (and over the whole
//!   selection), and the mean of the middle one or two (`rn` in `(n+1)/2, (n+2)/2`, integer
//!   division). No duration is fetched.
//! - A unit row is the learner's current unit (not its subtree, unlike `unitCompletion`), so
//!   the rows add up to the total. People without a unit form a row with no unit (only admins
//!   and trainers see it: a unit admin's people all have one).
//!
//! SQL: at most 6 statements whatever the number of learners: the course (1), the
//! authorization (0 to 2), the cohort (0 or 1), the counts per unit (one `GROUP BY`) and the
//! medians per unit and overall (one statement). The totals are the sums of the unit rows.

use chrono::{DateTime, Utc};
use kernel::Actor;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::learning::{Audience, course_audience};
use super::ph;
use crate::Evaluation;
use crate::error::EvaluationError;

/// The completion figures of a group of enrollments.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompletionFigures {
    /// Active or completed enrollments.
    pub enrolled: i64,
    /// Of those, completed or with any progress.
    pub started: i64,
    /// Completed.
    pub completed: i64,
    /// Active and past their due date.
    pub overdue: i64,
    /// Withdrawn (by the learner, an admin or an owner).
    pub withdrawn: i64,
    /// Ended by an admin after the learning window.
    pub expired: i64,
    /// The median of the days from activation to completion; `None` without completions.
    pub median_days: Option<f64>,
}

impl CompletionFigures {
    /// `completed / enrolled`, a share in `[0, 1]`; `None` when nobody is enrolled.
    pub fn completion_rate(&self) -> Option<f64> {
        (self.enrolled > 0).then(|| self.completed as f64 / self.enrolled as f64)
    }

    fn add(&mut self, o: &CompletionFigures) {
        self.enrolled += o.enrolled;
        self.started += o.started;
        self.completed += o.completed;
        self.overdue += o.overdue;
        self.withdrawn += o.withdrawn;
        self.expired += o.expired;
    }
}

/// The figures of the learners of one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitFigures {
    /// The unit; `None` for people without a unit.
    pub unit_id: Option<Uuid>,
    /// Its name.
    pub unit_name: Option<String>,
    /// Its figures.
    pub figures: CompletionFigures,
}

/// The completion report of a course.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionReport {
    /// The course.
    pub course_id: Uuid,
    /// The cohort it is restricted to.
    pub cohort_id: Option<Uuid>,
    /// The unit whose subtree it is restricted to (a unit admin's own unit).
    pub unit_id: Option<Uuid>,
    /// The moment `overdue` refers to.
    pub at: DateTime<Utc>,
    /// Every enrollment counted.
    pub total: CompletionFigures,
    /// By the learner's unit, by unit name (people without a unit last).
    pub units: Vec<UnitFigures>,
}

/// The joins and `WHERE` that select a course's enrollments `e` (with their people `pe` and
/// units `u`) for a cohort and an audience. Placeholders are numbered from 1; a caller appends
/// its own values after [`EnrollmentScope::values`].
pub(crate) struct EnrollmentScope {
    /// `JOIN people pe … LEFT JOIN units u …`.
    pub joins: &'static str,
    /// Conditions on `e` and `u`.
    pub conditions: String,
    /// Their values.
    pub values: Vec<Value>,
}

impl EnrollmentScope {
    /// Adds a value; returns its placeholder.
    pub fn bind(&mut self, backend: DbBackend, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        ph(backend, self.values.len())
    }
}

/// See [`EnrollmentScope`].
pub(crate) fn enrollment_scope(
    backend: DbBackend,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: &Audience,
) -> EnrollmentScope {
    let mut scope = EnrollmentScope {
        joins: "JOIN people pe ON pe.id = e.person_id LEFT JOIN units u ON u.id = pe.unit_id",
        conditions: String::new(),
        values: Vec::new(),
    };
    let course = scope.bind(backend, course_id);
    scope.conditions = format!("e.course_id = {course}");
    if let Some(c) = cohort_id {
        let p = scope.bind(backend, c);
        scope
            .conditions
            .push_str(&format!(" AND e.cohort_id = {p}"));
    }
    if let Audience::Subtree { path, .. } = audience {
        // Unit paths are `/<uuid>/…/<uuid>/`: no LIKE wildcards inside.
        let p = scope.bind(backend, format!("{path}%"));
        scope.conditions.push_str(&format!(" AND u.path LIKE {p}"));
    }
    scope
}

/// Completed enrollments of a course for a cohort and an audience: one statement.
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn completed_count(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: &Audience,
) -> Result<i64, EvaluationError> {
    #[derive(FromQueryResult)]
    struct Row {
        n: i64,
    }
    let backend = conn.get_database_backend();
    let mut scope = enrollment_scope(backend, course_id, cohort_id, audience);
    let done = scope.bind(backend, enrollment::state::COMPLETED);
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM enrollments e {joins} \
         WHERE {conditions} AND e.state = {done}",
        joins = scope.joins,
        conditions = scope.conditions,
    );
    let row = Row::find_by_statement(Statement::from_sql_and_values(backend, sql, scope.values))
        .one(conn)
        .await?;
    Ok(row.map_or(0, |r| r.n))
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    unit_id: Option<Uuid>,
    unit_name: Option<String>,
    enrolled: i64,
    started: i64,
    completed: i64,
    overdue: i64,
    withdrawn: i64,
    expired: i64,
}

#[derive(Debug, FromQueryResult)]
struct MedianRow {
    whole: i32,
    unit_id: Option<Uuid>,
    median: Option<f64>,
}

/// Days from `start` to `end` (timestamp columns) as a double, on `backend`.
fn days_between(backend: DbBackend, start: &str, end: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS DOUBLE PRECISION) / 86400")
        }
        // SQLite keeps timestamps as RFC 3339 text, which julianday() reads.
        _ => format!("(julianday({end}) - julianday({start}))"),
    }
}

impl Evaluation {
    /// The completion report of `course_id`, of one cohort or of all. Admins and the course's
    /// trainers see every learner; a unit admin the learners of their unit subtree.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course, or a cohort of another course; FORBIDDEN for others;
    /// INTERNAL on database failure.
    pub async fn completion_report(
        &self,
        actor: &Actor,
        course_id: Uuid,
        cohort_id: Option<Uuid>,
    ) -> Result<CompletionReport, EvaluationError> {
        let audience = course_audience(&self.db, actor, course_id, cohort_id).await?;
        let at = self.clock.now();
        let (total, units) = completion(&self.db, course_id, cohort_id, &audience, at).await?;
        Ok(CompletionReport {
            course_id,
            cohort_id,
            unit_id: match audience {
                Audience::All => None,
                Audience::Subtree { unit_id, .. } => Some(unit_id),
            },
            at,
            total,
            units,
        })
    }
}

/// Computes the figures (no authorization: callers have checked). Two statements.
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn completion(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: &Audience,
    at: DateTime<Utc>,
) -> Result<(CompletionFigures, Vec<UnitFigures>), EvaluationError> {
    use enrollment::state::{ACTIVE, COMPLETED, EXPIRED, WITHDRAWN};
    let backend = conn.get_database_backend();

    // 1. The counts per unit.
    let mut scope = enrollment_scope(backend, course_id, cohort_id, audience);
    let active = scope.bind(backend, ACTIVE);
    let done = scope.bind(backend, COMPLETED);
    let withdrawn = scope.bind(backend, WITHDRAWN);
    let expired = scope.bind(backend, EXPIRED);
    let now = scope.bind(backend, at);
    let count = |condition: String| {
        format!("CAST(COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0) AS BIGINT)")
    };
    let counts_sql = format!(
        "SELECT pe.unit_id AS unit_id, u.name AS unit_name, \
         {enrolled} AS enrolled, {started} AS started, {completed} AS completed, \
         {overdue} AS overdue, {withdrawn_n} AS withdrawn, {expired_n} AS expired \
         FROM enrollments e {joins} \
         WHERE {conditions} AND e.state IN ({active}, {done}, {withdrawn}, {expired}) \
         GROUP BY pe.unit_id, u.name",
        enrolled = count(format!("e.state IN ({active}, {done})")),
        started = count(format!(
            "e.state = {done} OR (e.state = {active} AND e.last_activity_at IS NOT NULL)"
        )),
        completed = count(format!("e.state = {done}")),
        overdue = count(format!("e.state = {active} AND e.due_at < {now}")),
        withdrawn_n = count(format!("e.state = {withdrawn}")),
        expired_n = count(format!("e.state = {expired}")),
        joins = scope.joins,
        conditions = scope.conditions,
    );
    let rows = CountRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        counts_sql,
        scope.values,
    ))
    .all(conn)
    .await?;

    let mut total = CompletionFigures::default();
    let mut units: Vec<UnitFigures> = rows
        .into_iter()
        .map(|r| UnitFigures {
            unit_id: r.unit_id,
            unit_name: r.unit_name,
            figures: CompletionFigures {
                enrolled: r.enrolled,
                started: r.started,
                completed: r.completed,
                overdue: r.overdue,
                withdrawn: r.withdrawn,
                expired: r.expired,
                median_days: None,
            },
        })
        .collect();
    for u in &units {
        total.add(&u.figures);
    }

    // 2. The medians per unit (whole = 0) and over everyone (whole = 1).
    if total.completed > 0 {
        let mut scope = enrollment_scope(backend, course_id, cohort_id, audience);
        let done = scope.bind(backend, COMPLETED);
        let days = days_between(
            backend,
            "COALESCE(e.activated_at, e.requested_at)",
            "e.completed_at",
        );
        let medians_sql = format!(
            "WITH d AS (\
               SELECT pe.unit_id AS unit_id, \
               CASE WHEN {days} < 0 THEN 0 ELSE {days} END AS days \
               FROM enrollments e {joins} \
               WHERE {conditions} AND e.state = {done} AND e.completed_at IS NOT NULL), \
             r AS (\
               SELECT 0 AS whole, unit_id, days, \
               ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY days) AS rn, \
               COUNT(*) OVER (PARTITION BY unit_id) AS cnt FROM d \
               UNION ALL \
               SELECT 1 AS whole, NULL AS unit_id, days, \
               ROW_NUMBER() OVER (ORDER BY days) AS rn, \
               COUNT(*) OVER () AS cnt FROM d) \
             SELECT whole, unit_id, AVG(days) AS median FROM r \
             WHERE rn = (cnt + 1) / 2 OR rn = (cnt + 2) / 2 \
             GROUP BY whole, unit_id",
            joins = scope.joins,
            conditions = scope.conditions,
        );
        for m in MedianRow::find_by_statement(Statement::from_sql_and_values(
            backend,
            medians_sql,
            scope.values,
        ))
        .all(conn)
        .await?
        {
            if m.whole == 1 {
                total.median_days = m.median;
            } else if let Some(u) = units.iter_mut().find(|u| u.unit_id == m.unit_id) {
                u.figures.median_days = m.median;
            }
        }
    }

    units.sort_by(|a, b| {
        (a.unit_id.is_none(), &a.unit_name, a.unit_id).cmp(&(
            b.unit_id.is_none(),
            &b.unit_name,
            b.unit_id,
        ))
    });
    Ok((total, units))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_completion_rate_is_a_share_of_the_enrolled() {
        let f = CompletionFigures {
            enrolled: 8,
            completed: 6,
            ..CompletionFigures::default()
        };
        assert_eq!(f.completion_rate(), Some(0.75));
        assert_eq!(CompletionFigures::default().completion_rate(), None);
    }

    #[test]
    fn the_scope_numbers_its_placeholders_in_order() {
        let s = enrollment_scope(
            DbBackend::Postgres,
            Uuid::nil(),
            Some(Uuid::nil()),
            &Audience::Subtree {
                unit_id: Uuid::nil(),
                path: "/a/".into(),
            },
        );
        assert_eq!(
            s.conditions,
            "e.course_id = $1 AND e.cohort_id = $2 AND u.path LIKE $3"
        );
        assert_eq!(s.values.len(), 3);
        let s = enrollment_scope(DbBackend::Sqlite, Uuid::nil(), None, &Audience::All);
        assert_eq!(s.conditions, "e.course_id = ?1");
    }
}

//! JP compliance: per child unit of a unit (each row counting its whole subtree), how many
//! people earned the yearly target of [`JP_TARGET`] (20) JP, how many did not, the compliance
//! rate and the mean JP; and a page of the people below the target with their JP.
//!
//! Decisions:
//! - **One ledger, one sum.** The per-person totals come from the progress crate's
//!   [`progress::jp::person_totals_sql`], the same SQL behind `jpBelowTarget`, and the page of
//!   people below the target is `jpBelowTarget` itself ([`progress::Progress::jp_below_target`]).
//!   So the report counts exactly what the ledger says: course credits and JP recorded for
//!   classroom or other training outside the platform, in the JP year (the calendar year in WIB
//!   of when it was earned), and exactly the people `jpBelowTarget` counts: enabled people with
//!   a unit, PNS and PPPK alike.
//! - **Rows, `total` and who may read** are those of the completion matrix
//!   ([`super::matrix`]): the child units of the given unit (default: the caller's scope root),
//!   each counting its subtree by unit path; `total` the whole subtree; admins any unit, unit
//!   admins their subtree, others FORBIDDEN; a retired child unit only when it has people.
//! - **Rates and means** are over the row's people: compliance rate = people at or above the
//!   target / people (a share from 0 to 1), mean JP = their JP / people; both null for a row
//!   without people.
//! - **The year** defaults to this WIB year; outside 2000..=2100 it is BAD_USER_INPUT (a typo,
//!   not a question anyone asks).
//!
//! SQL, whatever the number of people: the scope (0 or 1), the root unit (0 or 1), the row
//! units (1), the counts per unit (1 GROUP BY over the per-person totals), then the page of
//! people below the target (`jpBelowTarget`: its own scope check, 0 to 2, and 1 statement).

use std::collections::HashMap;

use identity::entity::unit;
use kernel::Actor;
use kernel::pagination::Page;
use progress::ProgressError;
use progress::jp::{BelowTargetPage, JP_TARGET, person_totals_sql};
use sea_orm::{FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::matrix::{report_root, row_units, rows_condition};
use super::ph;
use crate::Evaluation;
use crate::error::EvaluationError;

/// The JP years a report may ask for.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// JP compliance of one subtree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComplianceCounts {
    /// People counted (enabled, with a unit in the subtree).
    pub people: i64,
    /// Of those, people with at least [`JP_TARGET`] JP in the year.
    pub compliant: i64,
    /// Their JP in the year, summed.
    pub jp: i64,
}

impl ComplianceCounts {
    /// People below the target.
    pub fn below(&self) -> i64 {
        self.people - self.compliant
    }

    /// `compliant / people`, a share in `[0, 1]`; `None` without people.
    pub fn rate(&self) -> Option<f64> {
        (self.people > 0).then(|| self.compliant as f64 / self.people as f64)
    }

    /// `jp / people`; `None` without people.
    pub fn mean_jp(&self) -> Option<f64> {
        (self.people > 0).then(|| self.jp as f64 / self.people as f64)
    }
}

/// One unit's row.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceRow {
    /// The unit (its whole subtree counts).
    pub unit: unit::Model,
    /// Its figures.
    pub counts: ComplianceCounts,
}

/// The JP compliance report.
#[derive(Debug, Clone, PartialEq)]
pub struct JpCompliance {
    /// The JP year.
    pub year: i32,
    /// The unit whose children are the rows; `None`: the top-level units.
    pub unit: Option<unit::Model>,
    /// The child units.
    pub rows: Vec<ComplianceRow>,
    /// The whole subtree of `unit` (everyone without one).
    pub total: ComplianceCounts,
    /// A page of the people below the target, ordered by unit path.
    pub below_target: BelowTargetPage,
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    unit_id: Uuid,
    people: i64,
    compliant: i64,
    jp: i64,
}

/// A progress error as this crate's, keeping its code and field.
fn from_progress(e: ProgressError) -> EvaluationError {
    match e {
        ProgressError::Unauthenticated => EvaluationError::Unauthenticated,
        ProgressError::Forbidden => EvaluationError::Forbidden,
        ProgressError::NotFound(what) => EvaluationError::NotFound(what),
        ProgressError::Invalid { field, message } => EvaluationError::invalid(field, message),
        ProgressError::Identity(e) => EvaluationError::Identity(e),
        ProgressError::Course(e) => EvaluationError::Course(e),
        ProgressError::Enrollment(e) => EvaluationError::Enrollment(e),
        ProgressError::Database(e) => EvaluationError::Database(e),
        ProgressError::Internal(m) => EvaluationError::Internal(m),
        // Only a phone sync is turned away; reports never sync.
        busy @ ProgressError::Busy { .. } => EvaluationError::Internal(busy.to_string()),
    }
}

impl Evaluation {
    /// JP compliance in `year` (default: this WIB year) of the child units of `unit_id`
    /// (default: the caller's scope root), with a page of the people below the target. Admins;
    /// unit admins within their subtree.
    ///
    /// # Errors
    /// FORBIDDEN outside the caller's scope and for people who manage no unit; NOT_FOUND for an
    /// unknown unit; BAD_USER_INPUT for a year outside 2000..=2100 or a bad cursor; INTERNAL on
    /// database failure.
    pub async fn jp_compliance(
        &self,
        actor: &Actor,
        unit_id: Option<Uuid>,
        year: Option<i32>,
        page: Page,
    ) -> Result<JpCompliance, EvaluationError> {
        let year = year.unwrap_or_else(|| kernel::time::wib_year(self.clock.now()));
        if !YEARS.contains(&year) {
            return Err(EvaluationError::invalid(
                "year",
                format!(
                    "the year must be between {} and {}",
                    YEARS.start(),
                    YEARS.end()
                ),
            ));
        }
        let conn = &self.db;
        let backend = conn.get_database_backend();
        let root = report_root(conn, actor, unit_id).await?;
        let (root_row, children) = row_units(conn, root.as_ref()).await?;

        let mut values: Vec<Value> = vec![year.into(), JP_TARGET.into()];
        let mut filter = String::new();
        if let Some(r) = &root {
            // Unit paths are `/<uuid>/…/<uuid>/`: no LIKE wildcards inside.
            values.push(format!("{}%", r.path).into());
            filter = format!(" AND u.path LIKE {}", ph(backend, values.len()));
        }
        let which = rows_condition(backend, root.as_ref(), &mut values);
        let sql = format!(
            "SELECT c.id AS unit_id, \
             CAST(COUNT(t.person_id) AS BIGINT) AS people, \
             CAST(COALESCE(SUM(CASE WHEN t.total >= {target} THEN 1 ELSE 0 END), 0) AS BIGINT) \
             AS compliant, \
             CAST(COALESCE(SUM(t.total), 0) AS BIGINT) AS jp \
             FROM units c \
             JOIN ({totals}) t ON t.unit_path LIKE c.path || '%' \
             WHERE {which} \
             GROUP BY c.id",
            target = ph(backend, 2),
            totals = person_totals_sql(&ph(backend, 1), &filter),
        );
        let counts: HashMap<Uuid, ComplianceCounts> =
            CountRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
                .all(conn)
                .await?
                .into_iter()
                .map(|r| {
                    (
                        r.unit_id,
                        ComplianceCounts {
                            people: r.people,
                            compliant: r.compliant,
                            jp: r.jp,
                        },
                    )
                })
                .collect();
        let counts_of = |id: Uuid| counts.get(&id).copied().unwrap_or_default();
        let rows: Vec<ComplianceRow> = children
            .into_iter()
            .map(|u| ComplianceRow {
                counts: counts_of(u.id),
                unit: u,
            })
            .filter(|r| r.unit.retired_at.is_none() || r.counts.people > 0)
            .collect();
        let total = match &root_row {
            Some(r) => counts_of(r.id),
            // Top-level subtrees are disjoint and cover every unit: their sums are exact.
            None => rows
                .iter()
                .fold(ComplianceCounts::default(), |acc, r| ComplianceCounts {
                    people: acc.people + r.counts.people,
                    compliant: acc.compliant + r.counts.compliant,
                    jp: acc.jp + r.counts.jp,
                }),
        };

        let below_target = progress::Progress::new(self.db.clone(), self.clock.clone())
            .jp_below_target(actor, Some(year), root.as_ref().map(|r| r.id), page)
            .await
            .map_err(from_progress)?;
        Ok(JpCompliance {
            year,
            unit: root_row,
            rows,
            total,
            below_target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_means_are_over_the_people_counted() {
        // 3 of 4 people reached 20 JP with 20 + 24 + 30 + 6 = 80 JP: rate 0.75, mean 20.
        let c = ComplianceCounts {
            people: 4,
            compliant: 3,
            jp: 80,
        };
        assert_eq!(c.below(), 1);
        assert_eq!(c.rate(), Some(0.75));
        assert_eq!(c.mean_jp(), Some(20.0));
        let none = ComplianceCounts::default();
        assert_eq!(none.rate(), None);
        assert_eq!(none.mean_jp(), None);
        assert_eq!(none.below(), 0);
    }

    #[test]
    fn progress_errors_keep_their_code() {
        use kernel::{Coded, ErrorCode};
        let cases = [
            (ProgressError::Forbidden, ErrorCode::Forbidden),
            (ProgressError::NotFound("unit"), ErrorCode::NotFound),
            (
                ProgressError::invalid("after", "x"),
                ErrorCode::BadUserInput,
            ),
            (
                ProgressError::Database(sea_orm::DbErr::Custom("x".into())),
                ErrorCode::Internal,
            ),
        ];
        for (e, code) in cases {
            assert_eq!(from_progress(e).code(), code);
        }
        assert_eq!(
            from_progress(ProgressError::invalid("after", "invalid cursor")).extensions(),
            vec![("field", serde_json::json!("after"))]
        );
    }
}

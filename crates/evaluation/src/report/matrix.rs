//! The unit × course completion matrix: for the child units of a unit (each row counting its
//! whole subtree) and up to [`MAX_MATRIX_COURSES`] courses, how many people are enrolled, how
//! many completed, and the completion rate. Also [`report_root`], the unit a unit-tree report
//! starts from, shared with [`super::compliance`].
//!
//! Decisions:
//! - **Rows** are the child units of the given unit (default: the caller's scope root, that is
//!   a unit admin's own unit, or for admins the top-level units), ordered by name. A row counts
//!   people whose *current* unit is in its subtree: unit paths are materialised
//!   (`/<uuid>/…/<uuid>/`), so "in the subtree" is one `LIKE 'path%'`. A retired child unit is
//!   listed only when someone in its subtree is counted.
//! - **`total`** is the given unit's whole subtree, people attached to the unit itself
//!   included (they are in no child row); for admins without a unit, every unit.
//! - **Cells count people, not enrollments**: enrolled = people with an active or completed
//!   enrollment in the course (any cohort); completed = people with a completed one. A person
//!   who took two cohorts counts once, as completed if either is. Pending, waitlisted,
//!   withdrawn, expired and rejected requests are not enrolled. The rate is completed /
//!   enrolled, a share from 0 to 1, null when nobody is enrolled.
//! - **Who**: admins any unit; unit admins units in their subtree (FORBIDDEN outside); others
//!   FORBIDDEN. An unknown unit or course is NOT_FOUND; no course, or more than 50, is
//!   BAD_USER_INPUT. Repeated course ids are kept once, in their first place.
//!
//! SQL, whatever the number of people, units and courses: the scope (0 or 1), the root unit (0
//! or 1), the courses (1), the row units (1) and the counts per (unit, course) (1 GROUP BY).

use std::collections::HashMap;

use identity::entity::unit;
use identity::scope::{self, Scope};
use kernel::Actor;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    Statement, Value,
};
use uuid::Uuid;

use super::ph;
use crate::Evaluation;
use crate::error::EvaluationError;

/// Most courses in one matrix.
pub const MAX_MATRIX_COURSES: usize = 50;

/// A course column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixCourse {
    /// The course.
    pub course_id: Uuid,
    /// Its code.
    pub code: String,
    /// Its title.
    pub title: String,
}

/// Completion of one course in one subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatrixCell {
    /// The course.
    pub course_id: Uuid,
    /// People with an active or completed enrollment.
    pub enrolled: i64,
    /// Of those, people with a completed one.
    pub completed: i64,
}

impl MatrixCell {
    /// `completed / enrolled`, a share in `[0, 1]`; `None` when nobody is enrolled.
    pub fn completion_rate(&self) -> Option<f64> {
        (self.enrolled > 0).then(|| self.completed as f64 / self.enrolled as f64)
    }
}

/// One unit's row.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixRow {
    /// The unit (its whole subtree counts).
    pub unit: unit::Model,
    /// One cell per course, in column order.
    pub cells: Vec<MatrixCell>,
}

/// The matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionMatrix {
    /// The unit whose children are the rows; `None`: the top-level units.
    pub unit: Option<unit::Model>,
    /// The columns.
    pub courses: Vec<MatrixCourse>,
    /// The child units.
    pub rows: Vec<MatrixRow>,
    /// The whole subtree of `unit` (everything without one), per course.
    pub total: Vec<MatrixCell>,
}

/// The unit a unit-tree report starts from: `unit_id`, which must be inside the actor's scope,
/// or by default the actor's scope root (a unit admin's own unit; `None` for admins: the
/// top-level units).
///
/// # Errors
/// FORBIDDEN for people who manage no unit, and for a unit outside the actor's subtree;
/// NOT_FOUND for an unknown unit; INTERNAL on database failure.
pub(crate) async fn report_root(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    unit_id: Option<Uuid>,
) -> Result<Option<unit::Model>, EvaluationError> {
    let scope = scope::of(conn, actor).await?;
    let target = match (&scope, unit_id) {
        (Scope::None, _) => return Err(EvaluationError::Forbidden),
        (_, Some(id)) => id,
        (Scope::All, None) => return Ok(None),
        (Scope::Subtree(_), None) => actor.unit_id.ok_or(EvaluationError::Forbidden)?,
    };
    let u = unit::Entity::find_by_id(target)
        .one(conn)
        .await?
        .ok_or(EvaluationError::NotFound("unit"))?;
    if !scope.covers_path(&u.path) {
        return Err(EvaluationError::Forbidden);
    }
    Ok(Some(u))
}

/// The root and its child units (`root` itself first, when there is one): the rows of a
/// unit-tree report. One statement.
pub(crate) async fn row_units(
    conn: &impl ConnectionTrait,
    root: Option<&unit::Model>,
) -> Result<(Option<unit::Model>, Vec<unit::Model>), EvaluationError> {
    let which = match root {
        Some(r) => Condition::any()
            .add(unit::Column::Id.eq(r.id))
            .add(unit::Column::ParentId.eq(r.id)),
        None => Condition::all().add(unit::Column::ParentId.is_null()),
    };
    let units = unit::Entity::find()
        .filter(which)
        .order_by_asc(unit::Column::Name)
        .order_by_asc(unit::Column::Id)
        .all(conn)
        .await?;
    let (roots, children): (Vec<_>, Vec<_>) = units
        .into_iter()
        .partition(|u| root.is_some_and(|r| r.id == u.id));
    Ok((roots.into_iter().next(), children))
}

/// The SQL condition choosing the row units `c` of `root` (the root itself and its children,
/// or the top-level units), pushing its parameter to `values`.
pub(crate) fn rows_condition(
    backend: sea_orm::DbBackend,
    root: Option<&unit::Model>,
    values: &mut Vec<Value>,
) -> String {
    match root {
        Some(r) => {
            values.push(r.id.into());
            format!(
                "(c.id = {x} OR c.parent_id = {x})",
                x = ph(backend, values.len())
            )
        }
        None => "c.parent_id IS NULL".to_owned(),
    }
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    unit_id: Uuid,
    course_id: Uuid,
    enrolled: i64,
    completed: i64,
}

impl Evaluation {
    /// The completion matrix of the child units of `unit_id` (default: the caller's scope
    /// root) by `course_ids`. Admins; unit admins within their subtree.
    ///
    /// # Errors
    /// FORBIDDEN outside the caller's scope and for people who manage no unit; BAD_USER_INPUT
    /// for no course or more than [`MAX_MATRIX_COURSES`]; NOT_FOUND for an unknown unit or
    /// course; INTERNAL on database failure.
    pub async fn completion_matrix(
        &self,
        actor: &Actor,
        unit_id: Option<Uuid>,
        course_ids: &[Uuid],
    ) -> Result<CompletionMatrix, EvaluationError> {
        let conn = &self.db;
        let backend = conn.get_database_backend();
        let root = report_root(conn, actor, unit_id).await?;
        let mut ids: Vec<Uuid> = Vec::with_capacity(course_ids.len());
        for id in course_ids {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        if ids.is_empty() || ids.len() > MAX_MATRIX_COURSES {
            return Err(EvaluationError::invalid(
                "courseIds",
                format!("give 1 to {MAX_MATRIX_COURSES} courses"),
            ));
        }

        let found: HashMap<Uuid, course::entity::course::Model> =
            course::entity::course::Entity::find()
                .filter(course::entity::course::Column::Id.is_in(ids.clone()))
                .all(conn)
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
        let courses: Vec<MatrixCourse> = ids
            .iter()
            .map(|id| {
                found
                    .get(id)
                    .map(|c| MatrixCourse {
                        course_id: c.id,
                        code: c.code.clone(),
                        title: c.title.clone(),
                    })
                    .ok_or(EvaluationError::NotFound("course"))
            })
            .collect::<Result<_, _>>()?;

        let (root_row, children) = row_units(conn, root.as_ref()).await?;

        let mut values: Vec<Value> = vec![
            enrollment::state::ACTIVE.into(),
            enrollment::state::COMPLETED.into(),
        ];
        let mut course_list = Vec::with_capacity(ids.len());
        for id in &ids {
            values.push((*id).into());
            course_list.push(ph(backend, values.len()));
        }
        let mut inner_filter = String::new();
        if let Some(r) = &root {
            // Unit paths are `/<uuid>/…/<uuid>/`: no LIKE wildcards inside.
            values.push(format!("{}%", r.path).into());
            inner_filter = format!(" AND pu.path LIKE {}", ph(backend, values.len()));
        }
        let which = rows_condition(backend, root.as_ref(), &mut values);
        // A row counts its whole subtree: the person's unit path starts with the row's path.
        let sql = format!(
            "SELECT c.id AS unit_id, x.course_id AS course_id, \
             CAST(COUNT(DISTINCT x.person_id) AS BIGINT) AS enrolled, \
             CAST(COUNT(DISTINCT CASE WHEN x.state = {done} THEN x.person_id END) AS BIGINT) \
             AS completed \
             FROM units c \
             JOIN (SELECT e.course_id AS course_id, e.person_id AS person_id, e.state AS state, \
                   pu.path AS path \
                   FROM enrollments e \
                   JOIN people pe ON pe.id = e.person_id \
                   JOIN units pu ON pu.id = pe.unit_id \
                   WHERE e.state IN ({active}, {done}) AND e.course_id IN ({list}){inner_filter}) x \
               ON x.path LIKE c.path || '%' \
             WHERE {which} \
             GROUP BY c.id, x.course_id",
            active = ph(backend, 1),
            done = ph(backend, 2),
            list = course_list.join(", "),
        );
        let counts: HashMap<(Uuid, Uuid), (i64, i64)> =
            CountRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
                .all(conn)
                .await?
                .into_iter()
                .map(|r| ((r.unit_id, r.course_id), (r.enrolled, r.completed)))
                .collect();
        let cells_of = |unit_id: Uuid| -> Vec<MatrixCell> {
            ids.iter()
                .map(|c| {
                    let (enrolled, completed) =
                        counts.get(&(unit_id, *c)).copied().unwrap_or((0, 0));
                    MatrixCell {
                        course_id: *c,
                        enrolled,
                        completed,
                    }
                })
                .collect()
        };

        let rows: Vec<MatrixRow> = children
            .into_iter()
            .map(|u| MatrixRow {
                cells: cells_of(u.id),
                unit: u,
            })
            .filter(|r| r.unit.retired_at.is_none() || r.cells.iter().any(|c| c.enrolled > 0))
            .collect();
        let total = match &root_row {
            Some(r) => cells_of(r.id),
            // Top-level subtrees are disjoint and cover every unit: their sums are exact.
            None => ids
                .iter()
                .enumerate()
                .map(|(i, c)| MatrixCell {
                    course_id: *c,
                    enrolled: rows.iter().map(|r| r.cells[i].enrolled).sum(),
                    completed: rows.iter().map(|r| r.cells[i].completed).sum(),
                })
                .collect(),
        };
        Ok(CompletionMatrix {
            unit: root_row,
            courses,
            rows,
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_completion_rate_is_a_share_and_undefined_without_enrolled_people() {
        let c = |enrolled, completed| MatrixCell {
            course_id: Uuid::nil(),
            enrolled,
            completed,
        };
        // 3 of 4 = 0.75; 0 of 2 = 0; nobody enrolled: null, not 0.
        assert_eq!(c(4, 3).completion_rate(), Some(0.75));
        assert_eq!(c(2, 0).completion_rate(), Some(0.0));
        assert_eq!(c(0, 0).completion_rate(), None);
    }
}

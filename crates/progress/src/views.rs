//! Read models: the learner's dashboard and completion of a course by unit subtree.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use course::entity::{course as course_entity, lesson};
use enrollment::entity::enrollment as enrollment_entity;
use kernel::Actor;
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, Statement, Value,
};
use uuid::Uuid;

use crate::Progress;
use crate::error::ProgressError;
use crate::jp::{self, PersonJp, ph, report_root};

/// One enrollment on the learner's dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningItem {
    /// The enrollment (state, percent, next lesson, due date).
    pub enrollment: enrollment_entity::Model,
    /// The course title.
    pub course_title: String,
    /// The next lesson's title.
    pub next_lesson_title: Option<String>,
    /// Past its due date and not completed.
    pub overdue: bool,
}

/// The learner's dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct MyLearning {
    /// Enrollments that are pending, waitlisted, active or completed: active first (earliest due
    /// first), then the rest.
    pub items: Vec<LearningItem>,
    /// JP of this WIB year with the ledger rows behind it.
    pub jp: PersonJp,
}

/// Completion of one course in one unit subtree.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct UnitCompletion {
    /// The unit (its subtree counts).
    pub unit_id: Uuid,
    /// Its name.
    pub unit_name: String,
    /// Its path.
    pub unit_path: String,
    /// Active or completed enrollments of people in the subtree.
    pub enrolled: i64,
    /// Completed ones.
    pub completed: i64,
}

const SHOWN: [&str; 4] = [
    enrollment::state::ACTIVE,
    enrollment::state::COMPLETED,
    enrollment::state::PENDING,
    enrollment::state::WAITLISTED,
];

impl Progress {
    /// The signed-in learner's enrollments and their JP this year against the target.
    ///
    /// # Errors
    /// UNAUTHENTICATED without a person; INTERNAL on database failure.
    pub async fn my_learning(&self, actor: &Actor) -> Result<MyLearning, ProgressError> {
        let person_id = actor.person_id.ok_or(ProgressError::Unauthenticated)?;
        let now = self.clock.now();
        let enrollments = enrollment_entity::Entity::find()
            .filter(enrollment_entity::Column::PersonId.eq(person_id))
            .filter(enrollment_entity::Column::State.is_in(SHOWN))
            .order_by_asc(enrollment_entity::Column::RequestedAt)
            .all(&self.db)
            .await?;
        let course_ids: Vec<Uuid> = enrollments.iter().map(|e| e.course_id).collect();
        let titles: HashMap<Uuid, String> = if course_ids.is_empty() {
            HashMap::new()
        } else {
            course_entity::Entity::find()
                .filter(course_entity::Column::Id.is_in(course_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|c| (c.id, c.title))
                .collect()
        };
        let next_ids: Vec<Uuid> = enrollments
            .iter()
            .filter_map(|e| e.next_lesson_id)
            .collect();
        let lessons: HashMap<Uuid, String> = if next_ids.is_empty() {
            HashMap::new()
        } else {
            lesson::Entity::find()
                .filter(lesson::Column::Id.is_in(next_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|l| (l.id, l.title))
                .collect()
        };
        let mut items: Vec<LearningItem> = enrollments
            .into_iter()
            .map(|e| LearningItem {
                course_title: titles.get(&e.course_id).cloned().unwrap_or_default(),
                next_lesson_title: e.next_lesson_id.and_then(|l| lessons.get(&l).cloned()),
                overdue: is_overdue(&e, now),
                enrollment: e,
            })
            .collect();
        // Active first, by due date (none last), then completed and waiting ones.
        items.sort_by_key(|i| {
            (
                i.enrollment.state != enrollment::state::ACTIVE,
                i.enrollment.due_at.is_none(),
                i.enrollment.due_at,
            )
        });
        let jp = jp::ledger(&self.db, person_id, kernel::time::wib_year(now)).await?;
        Ok(MyLearning { items, jp })
    }

    /// Completion of `course_id` by unit subtree: for `unit_id` (default: the unit admin's own
    /// unit; for admins the top-level units) and each of its child units, the enrolled and
    /// completed people of that subtree. Admins and unit admins within their subtree.
    ///
    /// # Errors
    /// FORBIDDEN outside the actor's scope; NOT_FOUND for an unknown unit or course; INTERNAL
    /// on database failure.
    pub async fn unit_completion(
        &self,
        actor: &Actor,
        course_id: Uuid,
        unit_id: Option<Uuid>,
    ) -> Result<Vec<UnitCompletion>, ProgressError> {
        let root = report_root(&self.db, actor, unit_id).await?;
        course_entity::Entity::find_by_id(course_id)
            .one(&self.db)
            .await?
            .ok_or(ProgressError::NotFound("course"))?;
        let backend = self.db.get_database_backend();
        let p = |n| ph(backend, n);
        let mut values: Vec<Value> = vec![
            course_id.into(),
            enrollment::state::ACTIVE.into(),
            enrollment::state::COMPLETED.into(),
        ];
        let which = match &root {
            Some(u) => {
                values.push(u.id.into());
                format!("(c.id = {x} OR c.parent_id = {x})", x = p(4))
            }
            None => "c.parent_id IS NULL".to_owned(),
        };
        // A unit's row counts its whole subtree: the enrolled person's unit path starts with
        // the unit's path (one indexed LIKE, no recursive query).
        let sql = format!(
            "SELECT c.id AS unit_id, c.name AS unit_name, c.path AS unit_path, \
             CAST(COUNT(x.id) AS BIGINT) AS enrolled, \
             CAST(COALESCE(SUM(CASE WHEN x.state = {done} THEN 1 ELSE 0 END), 0) AS BIGINT) AS completed \
             FROM units c \
             LEFT JOIN (SELECT e.id AS id, e.state AS state, pu.path AS path \
                        FROM enrollments e \
                        JOIN people pe ON pe.id = e.person_id \
                        JOIN units pu ON pu.id = pe.unit_id \
                        WHERE e.course_id = {course} AND e.state IN ({active}, {done})) x \
               ON x.path LIKE c.path || '%' \
             WHERE {which} \
             GROUP BY c.id, c.name, c.path \
             ORDER BY c.path",
            course = p(1),
            active = p(2),
            done = p(3),
        );
        let rows =
            UnitCompletion::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
                .all(&self.db)
                .await?;
        Ok(rows)
    }
}

/// Whether an enrollment is past its due date and not completed.
pub fn is_overdue(e: &enrollment_entity::Model, now: DateTime<Utc>) -> bool {
    e.state != enrollment::state::COMPLETED && e.due_at.is_some_and(|d| d < now)
}

/// The share of a unit's enrolled people who completed, in percent (0 when none enrolled).
pub fn percent(enrolled: i64, completed: i64) -> f64 {
    if enrolled == 0 {
        0.0
    } else {
        ((completed as f64 / enrolled as f64) * 1000.0).round() / 10.0
    }
}

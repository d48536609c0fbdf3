//! A course as progress sees it: its lessons in course order, which are required, and the rule
//! that completes each. Loaded for several courses at once with a fixed number of queries.

use std::collections::HashMap;

use course::entity::{course as course_entity, course_module, lesson};
use course::structure::LessonKind;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::ProgressError;
use crate::rules::LessonRule;

/// One lesson of a course plan.
#[derive(Debug, Clone)]
pub struct PlannedLesson {
    /// The lesson.
    pub id: Uuid,
    /// Its course.
    pub course_id: Uuid,
    /// Whether it counts toward completion.
    pub required: bool,
    /// Whether it (or its module) is archived: kept for learners' records, not counted.
    pub archived: bool,
    /// What completes it.
    pub rule: LessonRule,
    /// The material learners are shown, which the rule measures.
    pub material_id: Option<Uuid>,
}

/// A course, its lessons and their rules.
#[derive(Debug, Clone)]
pub struct CoursePlan {
    /// The course row (title, JP).
    pub course: course_entity::Model,
    /// Every published lesson by id, archived ones included (late events for them are still
    /// recorded). A lesson not published yet is not part of the plan: learners do not see it, so
    /// events for it are refused as for an unknown lesson, and it does not count.
    pub lessons: HashMap<Uuid, PlannedLesson>,
    /// The active lessons in course order (module position, then lesson position).
    pub order: Vec<Uuid>,
}

impl CoursePlan {
    /// The lessons that count toward completion, in course order. When a course marks none as
    /// required, every active lesson counts (a course cannot complete by having no content).
    pub fn required(&self) -> Vec<Uuid> {
        let marked: Vec<Uuid> = self
            .order
            .iter()
            .copied()
            .filter(|id| self.lessons.get(id).is_some_and(|l| l.required))
            .collect();
        if marked.is_empty() {
            self.order.clone()
        } else {
            marked
        }
    }
}

fn kind_of(l: &lesson::Model) -> Result<LessonKind, ProgressError> {
    LessonKind::from_stored(&l.kind)
        .ok_or_else(|| ProgressError::Internal(format!("unknown lesson kind `{}`", l.kind)))
}

/// The plans of `course_ids`, in four queries whatever their number (five while a lesson's
/// replacement material is being processed).
///
/// # Errors
/// INTERNAL on database failure or a stored lesson kind this version does not know.
pub async fn load(
    conn: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> Result<HashMap<Uuid, CoursePlan>, ProgressError> {
    if course_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let courses = course_entity::Entity::find()
        .filter(course_entity::Column::Id.is_in(course_ids.iter().copied()))
        .all(conn)
        .await?;
    let modules: HashMap<Uuid, course_module::Model> = course_module::Entity::find()
        .filter(course_module::Column::CourseId.is_in(course_ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let lessons = lesson::Entity::find()
        .filter(lesson::Column::CourseId.is_in(course_ids.iter().copied()))
        .all(conn)
        .await?;
    // What learners are shown: while a replacement is processed, the recording before it.
    let materials = course::delivery::playable_materials(conn, &lessons).await?;
    let mut plans: HashMap<Uuid, CoursePlan> = courses
        .into_iter()
        .map(|c| {
            (
                c.id,
                CoursePlan {
                    course: c,
                    lessons: HashMap::new(),
                    order: Vec::new(),
                },
            )
        })
        .collect();
    let mut ordered: Vec<(Uuid, i32, Uuid, i32, Uuid)> = Vec::new();
    for l in lessons {
        let Some(plan) = plans.get_mut(&l.course_id) else {
            continue;
        };
        if l.published_at.is_none() {
            continue;
        }
        let module = modules.get(&l.module_id);
        let archived = l.archived_at.is_some() || module.is_none_or(|m| m.archived_at.is_some());
        let m = materials.get(&l.id);
        let rule = LessonRule {
            kind: kind_of(&l)?,
            threshold: l.completion_threshold,
            duration_seconds: m.and_then(|m| m.duration_ms).map(|ms| ms as f64 / 1000.0),
            page_count: m.and_then(|m| m.page_count),
        };
        if !archived {
            let mpos = module.map_or(i32::MAX, |m| m.position);
            ordered.push((l.course_id, mpos, l.module_id, l.position, l.id));
        }
        plan.lessons.insert(
            l.id,
            PlannedLesson {
                id: l.id,
                course_id: l.course_id,
                required: l.required,
                archived,
                rule,
                material_id: m.map(|m| m.id),
            },
        );
    }
    ordered.sort();
    for (course_id, _, _, _, id) in ordered {
        if let Some(plan) = plans.get_mut(&course_id) {
            plan.order.push(id);
        }
    }
    Ok(plans)
}

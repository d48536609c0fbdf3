//! Whether a course's quiz lessons can be taken, asked by the course lifecycle before the course
//! reaches learners (course's [`LessonReadiness`] port). Without this, a course could be
//! published with a quiz that has no settings or no questions, and every learner would be told
//! "not ready" at every attempt.
//!
//! The rules mirror what starting an attempt needs: settings; a fixed list with at least one
//! question that is not archived; or a draw whose bank (and tag) holds at least as many active
//! questions as it draws. A parallel post-test form, which leaves out what each learner saw in
//! the pre-test, can still run short for one learner: that depends on the learner, not the course.

use std::collections::{HashMap, HashSet};

use course::CourseError;
use course::entity::lesson;
use course::readiness::LessonReadiness;
use course::structure::LessonKind;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::entity::{question, quiz, quiz_question};
use crate::error::QuizError;

/// The quiz crate's judgement of quiz lessons.
#[derive(Debug, Default, Clone, Copy)]
pub struct QuizReadiness;

#[async_trait::async_trait]
impl LessonReadiness for QuizReadiness {
    async fn not_ready(
        &self,
        conn: &DatabaseTransaction,
        lessons: &[lesson::Model],
    ) -> Result<Vec<(Uuid, String)>, CourseError> {
        not_ready(conn, lessons).await.map_err(|e| match e {
            QuizError::Database(db) => CourseError::Database(db),
            other => CourseError::Internal(other.to_string()),
        })
    }
}

/// Why quiz lessons among `lessons` cannot be attempted. Two statements for the fixed lists,
/// plus one per drawing quiz.
async fn not_ready(
    conn: &DatabaseTransaction,
    lessons: &[lesson::Model],
) -> Result<Vec<(Uuid, String)>, QuizError> {
    let quiz_lessons: Vec<&lesson::Model> = lessons
        .iter()
        .filter(|l| l.kind == LessonKind::Quiz.as_str())
        .collect();
    if quiz_lessons.is_empty() {
        return Ok(Vec::new());
    }
    let quizzes: HashMap<Uuid, quiz::Model> = quiz::Entity::find()
        .filter(quiz::Column::LessonId.is_in(quiz_lessons.iter().map(|l| l.id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|q| (q.lesson_id, q))
        .collect();
    let fixed = active_fixed_counts(conn, quizzes.values()).await?;
    let mut found = Vec::new();
    for lesson in quiz_lessons {
        let title = &lesson.title;
        let Some(quiz) = quizzes.get(&lesson.id) else {
            found.push((lesson.id, format!("quiz \"{title}\" has no settings yet")));
            continue;
        };
        let why = match (quiz.draw_bank_id, quiz.draw_count) {
            (Some(bank), Some(count)) => {
                let available = crate::bank::candidates(conn, bank, quiz.draw_tag.as_deref())
                    .await?
                    .len();
                let from = quiz
                    .draw_tag
                    .as_deref()
                    .map_or_else(String::new, |tag| format!(" tagged \"{tag}\""));
                (available < usize::try_from(count).unwrap_or(usize::MAX)).then(|| {
                    format!(
                        "quiz \"{title}\" draws {count} questions but its bank has {available} \
                         active{from}"
                    )
                })
            }
            _ => (fixed.get(&quiz.id).copied().unwrap_or(0) == 0)
                .then(|| format!("quiz \"{title}\" has no questions yet")),
        };
        found.extend(why.map(|why| (lesson.id, why)));
    }
    Ok(found)
}

/// How many questions of each quiz's fixed list are not archived (quizzes without any left
/// out).
async fn active_fixed_counts(
    conn: &DatabaseTransaction,
    quizzes: impl Iterator<Item = &quiz::Model>,
) -> Result<HashMap<Uuid, usize>, QuizError> {
    let ids: Vec<Uuid> = quizzes.map(|q| q.id).collect();
    let listed: Vec<(Uuid, Uuid)> = quiz_question::Entity::find()
        .select_only()
        .column(quiz_question::Column::QuizId)
        .column(quiz_question::Column::QuestionId)
        .filter(quiz_question::Column::QuizId.is_in(ids))
        .into_tuple()
        .all(conn)
        .await?;
    if listed.is_empty() {
        return Ok(HashMap::new());
    }
    let active: HashSet<Uuid> = question::Entity::find()
        .select_only()
        .column(question::Column::Id)
        .filter(question::Column::Id.is_in(listed.iter().map(|(_, q)| *q)))
        .filter(question::Column::ArchivedAt.is_null())
        .into_tuple()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let mut counts = HashMap::new();
    for (quiz, question) in listed {
        if active.contains(&question) {
            *counts.entry(quiz).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

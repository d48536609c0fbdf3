//! Item analysis of a quiz (classical test theory): per question version, its facility,
//! discrimination index, point-biserial and review flags; for the quiz, KR-20 when every item
//! score is 0 or 1, Cronbach's alpha otherwise. The formulas are in [`super::stats`].
//!
//! Decisions:
//! - **Per question version** (`attempt_items.question_version_id`): editing a question that
//!   attempts were given writes a new version, and the two are different items.
//! - **One attempt per learner: their first graded attempt** (lowest attempt number among the
//!   graded ones). Retakes are practice on known questions and would count a learner twice.
//!   Open attempts are never counted.
//! - An item score is `x_ij = score / max_score`, clamped to `[0, 1]` (a missing score counts
//!   0); items worth 0 points are left out. An attempt's total is the sum of its `x_ij`, every
//!   item weighing the same, which is what KR-20 and alpha assume.
//! - Attempts are ordered by id (UUID v7, so roughly by start time); that order breaks ties
//!   in the discrimination ranking (see [`super::stats::discrimination`]).
//! - Items are listed by their first position in the attempts (the quiz's order when questions
//!   are not shuffled), then by version id.
//! - When attempts were given different items (a random draw, or a question edited between
//!   attempts), each item's statistics use the attempts that had it, and the reliability is
//!   left out: both coefficients need every attempt to answer every item.
//!
//! SQL: the quiz (1), its course (1), course ownership for trainers (0 or 1), every item
//! score of the counted attempts in one statement (a join with the first-graded-attempt
//! condition, so no list of attempt ids goes back to the database), and the question versions
//! in chunks of 500 ids (1 for any quiz of up to 500 versions). Everything else is computed in
//! memory: 5 statements for a typical quiz, whatever the number of learners. The item scores
//! are streamed into a matrix of one number per answer (16 bytes: 1.6 MB for 10,000 learners
//! and 10 questions) rather than collected as rows.

use std::collections::{BTreeMap, HashMap};

use futures::TryStreamExt as _;
use kernel::Actor;
use quiz::entity::{question_version, quiz as quiz_entity};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, Statement, StreamTrait,
};
use uuid::Uuid;

use super::stats::{self, ItemStats, ReliabilityMethod};
use super::{IN_CHUNK, ph};
use crate::Evaluation;
use crate::error::EvaluationError;

/// One question version and its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReport {
    /// The question.
    pub question_id: Uuid,
    /// The version analysed.
    pub question_version_id: Uuid,
    /// Its number (from 1).
    pub version: i32,
    /// Its kind, as stored.
    pub kind: String,
    /// Its prompt.
    pub prompt: String,
    /// The statistics.
    pub stats: ItemStats,
}

/// The item analysis of a quiz.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemAnalysis {
    /// The quiz.
    pub quiz_id: Uuid,
    /// Its kind, as stored.
    pub kind: String,
    /// Attempts counted (`n`: one per learner).
    pub attempts: usize,
    /// Items (`k`: question versions).
    pub item_count: usize,
    /// KR-20 or Cronbach's alpha.
    pub method: ReliabilityMethod,
    /// The coefficient, when defined.
    pub reliability: Option<f64>,
    /// Mean total (sum of item scores) per attempt.
    pub mean_total: Option<f64>,
    /// Per question version.
    pub items: Vec<ItemReport>,
}

#[derive(Debug, FromQueryResult)]
struct ItemRow {
    attempt_id: Uuid,
    question_id: Uuid,
    question_version_id: Uuid,
    position: i32,
    score: Option<f64>,
    max_score: f64,
}

/// The item score `x = score / max` in `[0, 1]`; `None` for an item worth nothing.
fn item_score(score: Option<f64>, max: f64) -> Option<f64> {
    (max > 0.0).then(|| (score.unwrap_or(0.0) / max).clamp(0.0, 1.0))
}

impl Evaluation {
    /// The item analysis of `quiz_id`. The course's trainers and admins.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown quiz; FORBIDDEN for others (unit admins included); INTERNAL on
    /// database failure.
    pub async fn item_analysis(
        &self,
        actor: &Actor,
        quiz_id: Uuid,
    ) -> Result<ItemAnalysis, EvaluationError> {
        let quiz = quiz_entity::Entity::find_by_id(quiz_id)
            .one(&self.db)
            .await?
            .ok_or(EvaluationError::NotFound("quiz"))?;
        let course = course::access::find_course(&self.db, quiz.course_id).await?;
        course::access::require_editor(&self.db, actor, &course).await?;
        analyse_quiz(&self.db, &quiz).await
    }
}

/// Computes the item analysis of `quiz` (no authorization: callers have checked).
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn analyse_quiz<C>(
    conn: &C,
    quiz: &quiz_entity::Model,
) -> Result<ItemAnalysis, EvaluationError>
where
    C: ConnectionTrait + StreamTrait + Send,
{
    let backend = ConnectionTrait::get_database_backend(conn);
    let sql = format!(
        "SELECT ai.attempt_id AS attempt_id, ai.question_id AS question_id, \
         ai.question_version_id AS question_version_id, ai.position AS position, \
         ai.score AS score, ai.max_score AS max_score \
         FROM attempt_items ai \
         JOIN quiz_attempts a ON a.id = ai.attempt_id \
         WHERE a.quiz_id = {quiz} AND a.state = {graded} \
         AND a.number = (SELECT MIN(b.number) FROM quiz_attempts b \
                         WHERE b.quiz_id = a.quiz_id AND b.person_id = a.person_id \
                         AND b.state = {graded})",
        quiz = ph(backend, 1),
        graded = ph(backend, 2),
    );
    // Streamed, not collected: only the score matrix (one number per answer) stays in memory,
    // not the rows with their ids (measured on 10,000 learners' 100,000 answers: the XLSX
    // export grew by 45 MiB on SQLite with the rows collected).
    let mut rows = ItemRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [quiz.id.into(), quiz::attempt::state::GRADED.into()],
    ))
    .stream(conn)
    .await?;
    // Question versions in the order first met, with their first position and question.
    let mut met: HashMap<Uuid, usize> = HashMap::new();
    let mut versions_met: Vec<(Uuid, i32, Uuid)> = Vec::new();
    // Per attempt: (version in the order met, item score).
    let mut by_attempt: BTreeMap<Uuid, Vec<(usize, Option<f64>)>> = BTreeMap::new();
    while let Some(r) = rows.try_next().await? {
        let at = *met.entry(r.question_version_id).or_insert_with(|| {
            versions_met.push((r.question_version_id, r.position, r.question_id));
            versions_met.len() - 1
        });
        let first = &mut versions_met[at].1;
        *first = (*first).min(r.position);
        by_attempt
            .entry(r.attempt_id)
            .or_default()
            .push((at, item_score(r.score, r.max_score)));
    }
    drop(rows);

    // Columns: question versions by first position, then id.
    let mut order: Vec<usize> = (0..versions_met.len()).collect();
    order.sort_by_key(|&i| (versions_met[i].1, versions_met[i].0));
    let mut column_of = vec![0; versions_met.len()];
    for (column, &i) in order.iter().enumerate() {
        column_of[i] = column;
    }
    let columns: Vec<(Uuid, i32, Uuid)> = order.iter().map(|&i| versions_met[i]).collect();
    let k = columns.len();

    // Rows: attempts by id.
    let matrix: Vec<Vec<Option<f64>>> = by_attempt
        .into_values()
        .map(|scores| {
            let mut row = vec![None; k];
            for (at, x) in scores {
                row[column_of[at]] = x;
            }
            row
        })
        .collect();
    let analysis = stats::analyse(&matrix, k);

    // The versions' prompts, 500 ids at a time.
    let mut versions: HashMap<Uuid, question_version::Model> = HashMap::new();
    let ids: Vec<Uuid> = columns.iter().map(|(v, _, _)| *v).collect();
    for chunk in ids.chunks(IN_CHUNK) {
        for v in question_version::Entity::find()
            .filter(question_version::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            versions.insert(v.id, v);
        }
    }

    let items = columns
        .iter()
        .zip(analysis.items)
        .map(|((version_id, _, question_id), stats)| {
            let v = versions.get(version_id);
            ItemReport {
                question_id: *question_id,
                question_version_id: *version_id,
                version: v.map_or(0, |v| v.version),
                kind: v.map(|v| v.kind.clone()).unwrap_or_default(),
                prompt: v.map(|v| v.prompt.clone()).unwrap_or_default(),
                stats,
            }
        })
        .collect();
    Ok(ItemAnalysis {
        quiz_id: quiz.id,
        kind: quiz.kind.clone(),
        attempts: analysis.n,
        item_count: analysis.k,
        method: analysis.method,
        reliability: analysis.reliability,
        mean_total: analysis.mean_total,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_scores_are_shares_of_the_points() {
        // 1.5 of 2 points: 0.75; missing score: 0; over the maximum or negative: clamped.
        assert_eq!(item_score(Some(1.5), 2.0), Some(0.75));
        assert_eq!(item_score(None, 1.0), Some(0.0));
        assert_eq!(item_score(Some(3.0), 2.0), Some(1.0));
        assert_eq!(item_score(Some(-1.0), 2.0), Some(0.0));
        assert_eq!(item_score(Some(0.0), 0.0), None);
    }
}

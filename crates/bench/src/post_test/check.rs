//! After the burst, the database itself: every attempt graded, every item there, every answer
//! stored once and as it was sent, every score what the answers earn. Counts come from SQL
//! (`COUNT`, `GROUP BY`), comparisons of content from the rows read back.

use std::collections::HashMap;

use quiz::attempt::state;
use quiz::entity::{attempt_item, quiz_attempt, quiz_result};
use quiz::grading::Answer;
use sea_orm::sea_query::{Expr, Func, SelectStatement};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter,
    QuerySelect, QueryTrait,
};
use uuid::Uuid;

use crate::post_test::setup::{PostTest, QUESTIONS, verdict};

/// One check: what was counted, what it should be.
pub struct Check {
    /// What is counted.
    pub what: String,
    /// The count found.
    pub got: u64,
    /// The count it must be.
    pub want: u64,
}

impl Check {
    /// Whether it holds.
    pub fn ok(&self) -> bool {
        self.got == self.want
    }
}

fn attempts_of_quiz(quiz: Uuid) -> SelectStatement {
    quiz_attempt::Entity::find()
        .select_only()
        .column(quiz_attempt::Column::Id)
        .filter(quiz_attempt::Column::QuizId.eq(quiz))
        .into_query()
}

/// Runs every check, on the attempts of learners `0..burst` (the only ones so far).
///
/// # Errors
/// When a query fails.
pub async fn run(
    db: &DatabaseConnection,
    test: &PostTest,
    burst: usize,
) -> anyhow::Result<Vec<Check>> {
    let n = burst as u64;
    let q = QUESTIONS as u64;
    let mut out = Vec::new();
    let mut add = |what: String, got: u64, want: u64| out.push(Check { what, got, want });

    let attempts = quiz_attempt::Entity::find()
        .filter(quiz_attempt::Column::QuizId.eq(test.quiz_id))
        .count(db)
        .await?;
    add("attempts at the quiz".into(), attempts, n);
    let graded = quiz_attempt::Entity::find()
        .filter(quiz_attempt::Column::QuizId.eq(test.quiz_id))
        .filter(quiz_attempt::Column::State.eq(state::GRADED))
        .count(db)
        .await?;
    add("graded attempts at the quiz".into(), graded, n);

    let per_attempt: Vec<(Uuid, i64)> = attempt_item::Entity::find()
        .select_only()
        .column(attempt_item::Column::AttemptId)
        .column_as(attempt_item::Column::Id.count(), "n")
        .filter(attempt_item::Column::AttemptId.in_subquery(attempts_of_quiz(test.quiz_id)))
        .group_by(attempt_item::Column::AttemptId)
        .into_tuple()
        .all(db)
        .await?;
    let full = per_attempt
        .iter()
        .filter(|(_, c)| *c == QUESTIONS as i64)
        .count() as u64;
    add(format!("attempts with exactly {QUESTIONS} items"), full, n);

    let answered = attempt_item::Entity::find()
        .filter(attempt_item::Column::AttemptId.in_subquery(attempts_of_quiz(test.quiz_id)))
        .filter(attempt_item::Column::Answer.is_not_null())
        .count(db)
        .await?;
    add("attempt_items with a saved answer".into(), answered, n * q);

    // The unique index on (attempt, question) forbids duplicates; counted anyway, since a
    // missing index or a second item per question is exactly what this would reveal.
    let duplicated: Vec<(Uuid, Uuid, i64)> = attempt_item::Entity::find()
        .select_only()
        .column(attempt_item::Column::AttemptId)
        .column(attempt_item::Column::QuestionId)
        .column_as(attempt_item::Column::Id.count(), "n")
        .filter(attempt_item::Column::AttemptId.in_subquery(attempts_of_quiz(test.quiz_id)))
        .group_by(attempt_item::Column::AttemptId)
        .group_by(attempt_item::Column::QuestionId)
        .having(Expr::expr(Func::count(Expr::col(attempt_item::Column::Id))).gt(1))
        .into_tuple()
        .all(db)
        .await?;
    add(
        "(attempt, question) pairs with more than one item".into(),
        duplicated.len() as u64,
        0,
    );

    // Content: read the rows back and compare with what each learner sent.
    let learner_of: HashMap<Uuid, usize> = test
        .learners
        .iter()
        .take(burst)
        .enumerate()
        .map(|(i, l)| (l.person_id, i))
        .collect();
    let question_of: HashMap<Uuid, usize> = test
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id, i))
        .collect();
    let rows = quiz_attempt::Entity::find()
        .filter(quiz_attempt::Column::QuizId.eq(test.quiz_id))
        .all(db)
        .await?;
    let attempt_learner: HashMap<Uuid, usize> = rows
        .iter()
        .filter_map(|a| learner_of.get(&a.person_id).map(|i| (a.id, *i)))
        .collect();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    let scored = rows
        .iter()
        .filter(|a| {
            attempt_learner
                .get(&a.id)
                .zip(a.score)
                .is_some_and(|(i, got)| close(got, test.expected_score(*i)))
        })
        .count() as u64;
    add(
        "graded attempts whose score = the answers' expected score".into(),
        scored,
        n,
    );
    let passed = rows.iter().filter(|a| a.passed == Some(true)).count() as u64;
    let should_pass = (0..burst).filter(|i| test.expected_pass(*i)).count() as u64;
    add(
        format!("attempts passed (≥ {} %)", super::setup::PASSING_PERCENT),
        passed,
        should_pass,
    );

    let items: Vec<attempt_item::Model> = attempt_item::Entity::find()
        .filter(attempt_item::Column::AttemptId.in_subquery(attempts_of_quiz(test.quiz_id)))
        .all(db)
        .await?;
    let (mut same, mut scored_items) = (0u64, 0u64);
    for item in &items {
        let (Some(l), Some(qn)) = (
            attempt_learner.get(&item.attempt_id),
            question_of.get(&item.question_id),
        ) else {
            continue;
        };
        let plan = test.questions[*qn].plan(verdict(*l, *qn));
        let stored = item.answer.as_deref().and_then(Answer::from_stored);
        if stored.as_ref() == Some(&plan.stored) && item.answer_seq == Some(1) {
            same += 1;
        }
        if item.score.is_some_and(|s| close(s, plan.score)) {
            scored_items += 1;
        }
    }
    add(
        "saved answers equal to the answer sent (seq 1)".into(),
        same,
        n * q,
    );
    add(
        "attempt_items whose score = the answer's expected score".into(),
        scored_items,
        n * q,
    );

    let results = quiz_result::Entity::find()
        .filter(quiz_result::Column::QuizId.eq(test.quiz_id))
        .count(db)
        .await?;
    add("quiz_results rows (one per learner)".into(), results, n);
    Ok(out)
}

//! The learning report (Kirkpatrick level 2) of a course: for each post-test that has a paired
//! pre-test, the pre-test and post-test means, Hake's class gain `<g>`, the distribution of
//! individual gains with how many were left out, and the post-test's pass rate.
//!
//! Decisions:
//! - A learner's pre-test score is the pre-test's `first_percent` (the baseline before any
//!   retake) and their post-test score the post-test's `final_percent` (by its grading method),
//!   both from `quiz_results`, on the percent scale (`max = 100`).
//! - Means and gains are over **paired** learners: those with a result in both. `<g>` compares
//!   the same group before and after.
//! - The pass rate is over everyone with a post-test result (paired or not): passed / taken.
//! - With a cohort, a learner counts when their post-test result belongs to an enrollment in
//!   that cohort. For a unit admin, when the learner's current unit is in the admin's subtree.
//!
//! SQL: whatever the number of learners and of post-tests, the report runs at most 7
//! statements: the course (1), the authorization (0 to 2: course ownership for trainers,
//! the unit admin's unit), the cohort (0 or 1), then three report statements: the course's
//! pre/post pairs with their lesson titles, per post-test the counts and means (one GROUP BY),
//! and per post-test the learners per distinct (pre, post) score pair (one GROUP BY; at most
//! `(k+1)^2` rows for `k` equally weighted questions, from which the individual gains are
//! categorised in memory with [`stats`]). Without a paired post-test, the last two are skipped.

use std::collections::HashMap;

use identity::scope::{self, Scope};
use kernel::Actor;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::ph;
use super::stats::{self, GainDistribution};
use crate::Evaluation;
use crate::error::EvaluationError;

/// The maximum of the percent scale.
pub const MAX_PERCENT: f64 = 100.0;

/// A quiz named by its lesson.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizRef {
    /// The quiz.
    pub quiz_id: Uuid,
    /// Its lesson.
    pub lesson_id: Uuid,
    /// The lesson's title.
    pub title: String,
}

/// One post-test and its paired pre-test.
#[derive(Debug, Clone, PartialEq)]
pub struct PrePostResult {
    /// The pre-test.
    pub pre_test: QuizRef,
    /// The post-test.
    pub post_test: QuizRef,
    /// Learners with a result in both.
    pub paired: i64,
    /// Their mean pre-test percent.
    pub pre_mean: Option<f64>,
    /// Their mean post-test percent.
    pub post_mean: Option<f64>,
    /// `<g> = (mean post - mean pre) / (100 - mean pre)`; `None` without paired learners or
    /// when every one of them had 100 in the pre-test.
    pub class_gain: Option<f64>,
    /// Individual gains of the paired learners.
    pub gains: GainDistribution,
    /// Learners with a post-test result.
    pub post_taken: i64,
    /// Of those, who passed it.
    pub post_passed: i64,
}

impl PrePostResult {
    /// `post_passed / post_taken`, a share in `[0, 1]`; `None` when nobody took it.
    pub fn pass_rate(&self) -> Option<f64> {
        (self.post_taken > 0).then(|| self.post_passed as f64 / self.post_taken as f64)
    }
}

/// The learning report of a course.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningReport {
    /// The course.
    pub course_id: Uuid,
    /// The cohort it is restricted to.
    pub cohort_id: Option<Uuid>,
    /// The unit whose subtree it is restricted to (a unit admin's own unit); `None`: every
    /// learner.
    pub unit_id: Option<Uuid>,
    /// One entry per post-test with a paired pre-test, in course order.
    pub tests: Vec<PrePostResult>,
}

/// Whose results a report may include.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Every learner (admins, the course's editors).
    All,
    /// People whose unit path starts with `path` (a unit admin's subtree).
    Subtree {
        /// The unit admin's unit.
        unit_id: Uuid,
        /// Its path.
        path: String,
    },
}

/// Who may read `course`'s learning report: admins and its editors everything, unit admins
/// their subtree.
///
/// # Errors
/// FORBIDDEN for everyone else; INTERNAL on database failure.
pub(crate) async fn audience(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    course: &course::entity::course::Model,
) -> Result<Audience, EvaluationError> {
    match course::access::require_editor(conn, actor, course).await {
        Ok(()) => return Ok(Audience::All),
        Err(course::CourseError::Forbidden) => {}
        Err(e) => return Err(e.into()),
    }
    match scope::of(conn, actor).await? {
        Scope::All => Ok(Audience::All),
        Scope::Subtree(path) => Ok(Audience::Subtree {
            unit_id: actor.unit_id.ok_or(EvaluationError::Forbidden)?,
            path,
        }),
        Scope::None => Err(EvaluationError::Forbidden),
    }
}

/// The audience of a report on `course_id`, of one cohort or of all: the course must exist,
/// the actor may read it (see [`audience`]), and the cohort must be one of the course's.
///
/// # Errors
/// NOT_FOUND for an unknown course, or a cohort of another course; FORBIDDEN; INTERNAL.
pub(crate) async fn course_audience(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
) -> Result<Audience, EvaluationError> {
    let course = course::access::find_course(conn, course_id).await?;
    let audience = audience(conn, actor, &course).await?;
    if let Some(c) = cohort_id {
        require_cohort_of(conn, course_id, c).await?;
    }
    Ok(audience)
}

/// Checks that `cohort_id` is a cohort of `course_id`.
///
/// # Errors
/// NOT_FOUND otherwise; INTERNAL on database failure.
pub(crate) async fn require_cohort_of(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    cohort_id: Uuid,
) -> Result<(), EvaluationError> {
    use sea_orm::EntityTrait;
    let cohort = enrollment::entity::cohort::Entity::find_by_id(cohort_id)
        .one(conn)
        .await?;
    if cohort.is_none_or(|c| c.course_id != course_id) {
        return Err(EvaluationError::NotFound("cohort"));
    }
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct PairRow {
    post_id: Uuid,
    post_lesson_id: Uuid,
    post_title: String,
    pre_id: Uuid,
    pre_lesson_id: Uuid,
    pre_title: String,
}

#[derive(Debug, FromQueryResult)]
struct SummaryRow {
    quiz_id: Uuid,
    taken: i64,
    passed: i64,
    paired: i64,
    pre_mean: Option<f64>,
    post_mean: Option<f64>,
}

#[derive(Debug, FromQueryResult)]
struct ScorePairRow {
    quiz_id: Uuid,
    pre: f64,
    post: f64,
    n: i64,
}

/// The `WHERE` of the report statements over post-test results `po` of quizzes `q`: the
/// course, post-tests with a pre-test, and the cohort and unit filters, with their joins.
/// Placeholders are numbered from 1, in the order of `values`. The exports' score
/// distribution selects the same results with it.
pub(crate) struct Filter {
    /// `JOIN enrollments e …` (with a cohort), `JOIN people pe … JOIN units u …` (a subtree).
    pub(crate) joins: String,
    /// Conditions on `q`, `e` and `u`.
    pub(crate) conditions: String,
    /// Their values.
    pub(crate) values: Vec<Value>,
}

/// See [`Filter`].
pub(crate) fn filter(
    backend: DbBackend,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: &Audience,
) -> Filter {
    let mut values: Vec<Value> = vec![
        course_id.into(),
        quiz::quiz::QuizKind::PostTest.as_str().into(),
    ];
    let mut joins = String::new();
    let mut conditions = format!(
        "q.course_id = {} AND q.kind = {} AND q.paired_quiz_id IS NOT NULL",
        ph(backend, 1),
        ph(backend, 2)
    );
    if let Some(c) = cohort_id {
        values.push(c.into());
        joins.push_str(" JOIN enrollments e ON e.id = po.enrollment_id");
        conditions.push_str(&format!(" AND e.cohort_id = {}", ph(backend, values.len())));
    }
    if let Audience::Subtree { path, .. } = audience {
        // Unit paths are `/<uuid>/…/<uuid>/`: no LIKE wildcards inside.
        values.push(format!("{path}%").into());
        joins.push_str(" JOIN people pe ON pe.id = po.person_id JOIN units u ON u.id = pe.unit_id");
        conditions.push_str(&format!(" AND u.path LIKE {}", ph(backend, values.len())));
    }
    Filter {
        joins,
        conditions,
        values,
    }
}

impl Evaluation {
    /// The learning report of `course_id`, of one cohort or of all. Admins and the course's
    /// trainers see every learner; a unit admin the learners of their unit subtree.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course, or a cohort of another course; FORBIDDEN for others;
    /// INTERNAL on database failure.
    pub async fn learning_report(
        &self,
        actor: &Actor,
        course_id: Uuid,
        cohort_id: Option<Uuid>,
    ) -> Result<LearningReport, EvaluationError> {
        let audience = course_audience(&self.db, actor, course_id, cohort_id).await?;
        let tests = learning(&self.db, course_id, cohort_id, &audience).await?;
        Ok(LearningReport {
            course_id,
            cohort_id,
            unit_id: match audience {
                Audience::All => None,
                Audience::Subtree { unit_id, .. } => Some(unit_id),
            },
            tests,
        })
    }
}

/// Computes the pre/post results of a course (no authorization: callers have checked). At
/// most three statements.
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn learning(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: &Audience,
) -> Result<Vec<PrePostResult>, EvaluationError> {
    let backend = conn.get_database_backend();
    let p = |n| ph(backend, n);

    // 1. The course's post-tests with their pre-tests, in course order; a post-test lesson
    // not published yet has had no learners.
    let pairs_sql = format!(
        "SELECT q.id AS post_id, q.lesson_id AS post_lesson_id, l.title AS post_title, \
         pq.id AS pre_id, pq.lesson_id AS pre_lesson_id, pl.title AS pre_title \
         FROM quizzes q \
         JOIN quizzes pq ON pq.id = q.paired_quiz_id \
         JOIN lessons l ON l.id = q.lesson_id \
         JOIN lessons pl ON pl.id = pq.lesson_id \
         JOIN course_modules m ON m.id = l.module_id \
         WHERE q.course_id = {course} AND q.kind = {kind} AND l.published_at IS NOT NULL \
         ORDER BY m.position, l.position, q.id",
        course = p(1),
        kind = p(2),
    );
    let pairs = PairRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        pairs_sql,
        [
            course_id.into(),
            quiz::quiz::QuizKind::PostTest.as_str().into(),
        ],
    ))
    .all(conn)
    .await?;
    if pairs.is_empty() {
        return Ok(Vec::new());
    }

    let f = filter(backend, course_id, cohort_id, audience);

    // 2. Per post-test: results, passes, paired learners and their means. The pre-test result
    // is a LEFT JOIN so that unpaired post-test results still count for the pass rate.
    let summary_sql = format!(
        "SELECT q.id AS quiz_id, \
         CAST(COUNT(*) AS BIGINT) AS taken, \
         CAST(COALESCE(SUM(CASE WHEN po.passed THEN 1 ELSE 0 END), 0) AS BIGINT) AS passed, \
         CAST(COUNT(pr.person_id) AS BIGINT) AS paired, \
         AVG(pr.first_percent) AS pre_mean, \
         AVG(CASE WHEN pr.person_id IS NOT NULL THEN po.final_percent END) AS post_mean \
         FROM quizzes q \
         JOIN quiz_results po ON po.quiz_id = q.id \
         LEFT JOIN quiz_results pr ON pr.quiz_id = q.paired_quiz_id AND pr.person_id = po.person_id \
         {joins} \
         WHERE {conditions} \
         GROUP BY q.id",
        joins = f.joins,
        conditions = f.conditions,
    );
    let summaries: HashMap<Uuid, SummaryRow> = SummaryRow::find_by_statement(
        Statement::from_sql_and_values(backend, summary_sql, f.values.clone()),
    )
    .all(conn)
    .await?
    .into_iter()
    .map(|r| (r.quiz_id, r))
    .collect();

    // 3. Per post-test: learners per distinct (pre, post) pair, for the individual gains.
    let mut score_pairs: HashMap<Uuid, Vec<(f64, f64, u64)>> = HashMap::new();
    if summaries.values().any(|s| s.paired > 0) {
        let gains_sql = format!(
            "SELECT q.id AS quiz_id, pr.first_percent AS pre, po.final_percent AS post, \
             CAST(COUNT(*) AS BIGINT) AS n \
             FROM quizzes q \
             JOIN quiz_results po ON po.quiz_id = q.id \
             JOIN quiz_results pr ON pr.quiz_id = q.paired_quiz_id AND pr.person_id = po.person_id \
             {joins} \
             WHERE {conditions} \
             GROUP BY q.id, pr.first_percent, po.final_percent",
            joins = f.joins,
            conditions = f.conditions,
        );
        for row in ScorePairRow::find_by_statement(Statement::from_sql_and_values(
            backend, gains_sql, f.values,
        ))
        .all(conn)
        .await?
        {
            score_pairs.entry(row.quiz_id).or_default().push((
                row.pre,
                row.post,
                u64::try_from(row.n).unwrap_or(0),
            ));
        }
    }

    Ok(pairs
        .into_iter()
        .map(|pair| {
            let summary = summaries.get(&pair.post_id);
            let paired = summary.map_or(0, |s| s.paired);
            let pre_mean = summary.and_then(|s| s.pre_mean).filter(|_| paired > 0);
            let post_mean = summary.and_then(|s| s.post_mean).filter(|_| paired > 0);
            let class_gain = match (pre_mean, post_mean) {
                (Some(pre), Some(post)) => stats::class_gain(pre, post, MAX_PERCENT),
                _ => None,
            };
            let gains = stats::gain_distribution(
                score_pairs.remove(&pair.post_id).unwrap_or_default(),
                MAX_PERCENT,
            );
            PrePostResult {
                pre_test: QuizRef {
                    quiz_id: pair.pre_id,
                    lesson_id: pair.pre_lesson_id,
                    title: pair.pre_title,
                },
                post_test: QuizRef {
                    quiz_id: pair.post_id,
                    lesson_id: pair.post_lesson_id,
                    title: pair.post_title,
                },
                paired,
                pre_mean,
                post_mean,
                class_gain,
                gains,
                post_taken: summary.map_or(0, |s| s.taken),
                post_passed: summary.map_or(0, |s| s.passed),
            }
        })
        .collect())
}

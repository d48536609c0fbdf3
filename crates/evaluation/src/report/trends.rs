//! Trends across cohorts over time, so that a falling trainer or module stands out: per course
//! ([`Evaluation::course_trend`]) one point per cohort with its reaction mean and the class gain
//! `<g>` of its post-test; per trainer ([`Evaluation::trainer_trend`]) one point per (course,
//! cohort) they trained with their own per-trainer reaction mean and the cohort's `<g>`.
//!
//! Decisions:
//! - **Time order** is the cohort's learning-window start (`starts_at`); a cohort without one
//!   takes its creation time instead, then the cohort id breaks ties. Every cohort is a point,
//!   archived ones included (they are the past runs a trend is about), empty ones with null
//!   figures.
//! - **Reaction mean of a cohort**: the mean of every Likert answer of the course-wide questions
//!   (per-trainer blocks left out, as in the survey results) of the reaction responses of that
//!   cohort; `n` is the number of those responses.
//! - **Per-trainer mean**: the mean of every Likert answer given about the trainer in the
//!   reaction responses of the cohort; `n` is the number of responses that answered about them
//!   (as in the survey results). The trainer reading their own trend sees a mean only from
//!   [`crate::EvaluationSettings::min_responses`] (5) responses; below, null with its `n`.
//!   Admins see every mean.
//! - **`<g>` of a cohort** is that of the course's first post-test (course order) that has a
//!   paired pre-test, with the scores [`super::learning`] uses: the pre-test's first attempt,
//!   the post-test's final percent, over learners with both, a learner counting in the cohort of
//!   their post-test result's enrollment; [`stats::class_gain`] on the means.
//! - **Who reads a course trend**: admins and the course's trainers see every learner; a unit
//!   admin sees the learners of their unit subtree (like the learning report), and reaction
//!   means only from the minimum number of responses: a unit admin knows who of their people
//!   took which cohort, so a mean over one or two of them would show those people's answers.
//! - **Who reads a trainer trend**: admins, and the trainer themself; anyone else FORBIDDEN (an
//!   unknown person is NOT_FOUND only for admins, so nobody else learns who exists).
//! - **A trainer's points** are the cohorts of the courses they own, and any cohort whose
//!   reaction responses answered about them (a former owner keeps their history).
//! - **Falling** (see [`falling`]): a point falls when its reaction mean is at least
//!   [`REACTION_DROP`] below that of the previous point that has one, or its `<g>` at least
//!   [`GAIN_DROP`] below that of the previous point that has one. Hidden means (below the
//!   minimum) take no part, so the flag never reveals them. In a trainer trend the reaction is
//!   compared along the trainer's whole timeline (it is about the trainer, whatever the course),
//!   but `<g>` only with the previous cohort of the same course (gains of different tests are
//!   not comparable).
//!
//! - **A course's trainers across its cohorts** ([`course_trainer_lines`], the exports' chart):
//!   the course's owners and anyone its reaction responses answered about, each with their
//!   per-trainer mean per cohort of the course, over the reader's audience, and only from the
//!   minimum number of responses for every reader, admins included: the chart is on a page
//!   meant to be printed and passed around, and a co-trainer who asks for it may not see what
//!   `trainerTrend` shows only to admins and the trainer themself.
//!
//! SQL, whatever the number of cohorts and learners: a course trend runs the course (1), the
//! authorization (0 to 2), the cohorts (1), the reaction per cohort (1 GROUP BY), the first
//! paired post-test (1) and its gains per cohort (1 GROUP BY, skipped without a post-test). A
//! trainer trend runs the person (1), the cohorts (1), the trainer's answers per cohort (1 GROUP
//! BY), the paired post-tests of those courses (1) and their gains per (post-test, cohort) (1
//! GROUP BY).

use std::collections::HashMap;

use async_graphql::Enum;
use chrono::{DateTime, Utc};
use kernel::Actor;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, Statement,
    Value,
};
use uuid::Uuid;

use super::learning::{self, Audience, MAX_PERCENT, QuizRef};
use super::ph;
use super::stats::{self, EPSILON};
use crate::Evaluation;
use crate::error::EvaluationError;
use crate::survey::SurveyLevel;

/// A reaction mean this far below the previous one marks a falling point. Half a step on the
/// 1–5 scale: every second answer one step lower. Cohort means over a few dozen answers move by
/// a tenth or two from one run to the next; half a point is a change a learner would notice.
pub const REACTION_DROP: f64 = 0.5;

/// A class gain this far below the previous cohort's marks a falling point. A tenth of the
/// gain scale, a quarter of the width of the medium band (0.3 to 0.7): the post-test moved
/// about ten percent of the room learners had, which is a lesson worth of learning, not noise.
pub const GAIN_DROP: f64 = 0.1;

/// What fell at a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum TrendMeasure {
    /// The reaction mean (course-wide, or the trainer's own).
    Reaction,
    /// The class gain `<g>` of the post-test.
    ClassGain,
}

/// Which of `values` fell: entry `i` is true when `values[i]` is at least `drop` below the
/// nearest earlier defined value. Undefined values neither fall nor serve as a reference.
/// Differences equal to `drop` within [`EPSILON`] count as reached.
pub fn falling(values: &[Option<f64>], drop: f64) -> Vec<bool> {
    let mut previous: Option<f64> = None;
    values
        .iter()
        .map(|v| {
            let Some(v) = *v else { return false };
            let fell = previous.is_some_and(|p| p - v >= drop - EPSILON);
            previous = Some(v);
            fell
        })
        .collect()
}

/// The class gain of one cohort.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CohortGain {
    /// Learners with a pre-test and a post-test result.
    pub paired: i64,
    /// Their mean pre-test percent.
    pub pre_mean: Option<f64>,
    /// Their mean post-test percent.
    pub post_mean: Option<f64>,
    /// `<g>`; `None` without paired learners or when all had 100 before.
    pub class_gain: Option<f64>,
}

/// One cohort of a course trend.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortPoint {
    /// The cohort.
    pub cohort_id: Uuid,
    /// Its name.
    pub cohort_name: String,
    /// Its learning-window start.
    pub starts_at: Option<DateTime<Utc>>,
    /// Reaction responses with course-wide Likert answers (`n`).
    pub reaction_responses: i64,
    /// The mean of those answers; `None` without any, or hidden below the minimum.
    pub reaction_mean: Option<f64>,
    /// The class gain of the course's post-test in this cohort.
    pub gain: CohortGain,
    /// What fell here, empty when nothing did.
    pub falling: Vec<TrendMeasure>,
}

/// A course across its cohorts.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseTrend {
    /// The course.
    pub course_id: Uuid,
    /// Set for a unit admin: only people of this unit's subtree count.
    pub unit_id: Option<Uuid>,
    /// The post-test whose gains are shown (the first with a paired pre-test), if any.
    pub post_test: Option<QuizRef>,
    /// Responses needed before a reaction mean is shown to this reader (0: always shown).
    pub minimum_responses: i64,
    /// One point per cohort, in time order.
    pub points: Vec<CohortPoint>,
}

/// One (course, cohort) of a trainer trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerPoint {
    /// The course.
    pub course_id: Uuid,
    /// Its title.
    pub course_title: String,
    /// The cohort.
    pub cohort_id: Uuid,
    /// Its name.
    pub cohort_name: String,
    /// Its learning-window start.
    pub starts_at: Option<DateTime<Utc>>,
    /// Reaction responses that answered about the trainer (`n`).
    pub trainer_responses: i64,
    /// The mean of the Likert answers about the trainer; `None` without any, or hidden below
    /// the minimum.
    pub trainer_mean: Option<f64>,
    /// The cohort's class gain (every learner of the cohort).
    pub gain: CohortGain,
    /// What fell here.
    pub falling: Vec<TrendMeasure>,
}

/// A trainer across the cohorts they trained.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerTrend {
    /// The trainer.
    pub person_id: Uuid,
    /// Their name.
    pub name: String,
    /// Responses needed before a per-trainer mean is shown to this reader (0: always shown).
    pub minimum_responses: i64,
    /// One point per (course, cohort), in time order.
    pub points: Vec<TrainerPoint>,
}

#[derive(Debug, FromQueryResult)]
struct CohortRow {
    cohort_id: Uuid,
    cohort_name: String,
    starts_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    course_id: Uuid,
    course_title: String,
}

impl CohortRow {
    fn time_key(&self) -> (DateTime<Utc>, Uuid) {
        (self.starts_at.unwrap_or(self.created_at), self.cohort_id)
    }
}

/// The columns of a [`LikertRow`] over responses `r` and their answers `a`: responses
/// (`n`, counted once however many answers each has), Likert answers and their sum.
const LIKERT_SUMS: &str = "CAST(COUNT(DISTINCT r.id) AS BIGINT) AS responses, \
                           CAST(COUNT(a.likert) AS BIGINT) AS answers, \
                           CAST(COALESCE(SUM(a.likert), 0) AS BIGINT) AS total";

#[derive(Debug, FromQueryResult)]
struct LikertRow {
    cohort_id: Uuid,
    responses: i64,
    answers: i64,
    total: i64,
}

impl LikertRow {
    fn mean(&self) -> Option<f64> {
        (self.answers > 0).then(|| self.total as f64 / self.answers as f64)
    }
}

#[derive(Debug, FromQueryResult)]
struct PairRow {
    course_id: Uuid,
    post_id: Uuid,
    post_lesson_id: Uuid,
    post_title: String,
}

#[derive(Debug, FromQueryResult)]
struct GainRow {
    quiz_id: Uuid,
    cohort_id: Uuid,
    paired: i64,
    pre_mean: Option<f64>,
    post_mean: Option<f64>,
}

impl From<&GainRow> for CohortGain {
    fn from(r: &GainRow) -> Self {
        let pre_mean = r.pre_mean.filter(|_| r.paired > 0);
        let post_mean = r.post_mean.filter(|_| r.paired > 0);
        CohortGain {
            paired: r.paired,
            pre_mean,
            post_mean,
            class_gain: match (pre_mean, post_mean) {
                (Some(pre), Some(post)) => stats::class_gain(pre, post, MAX_PERCENT),
                _ => None,
            },
        }
    }
}

/// Joins and conditions restricting rows of person column `person` to a unit subtree.
fn subtree(
    audience: &Audience,
    person: &str,
    values: &mut Vec<Value>,
    b: DbBackend,
) -> (String, String) {
    match audience {
        Audience::All => (String::new(), String::new()),
        Audience::Subtree { path, .. } => {
            // Unit paths are `/<uuid>/…/<uuid>/`: no LIKE wildcards inside.
            values.push(format!("{path}%").into());
            (
                format!(" JOIN people pe ON pe.id = {person} JOIN units u ON u.id = pe.unit_id"),
                format!(" AND u.path LIKE {}", ph(b, values.len())),
            )
        }
    }
}

/// The paired post-tests of the courses matching `course_condition` (on `q.course_id`) whose
/// lessons are published, in course order within each course. One statement.
async fn paired_post_tests(
    conn: &impl ConnectionTrait,
    course_condition: &str,
    values: Vec<Value>,
) -> Result<Vec<PairRow>, EvaluationError> {
    let backend = conn.get_database_backend();
    let sql = format!(
        "SELECT q.course_id AS course_id, q.id AS post_id, q.lesson_id AS post_lesson_id, \
         l.title AS post_title \
         FROM quizzes q \
         JOIN quizzes pq ON pq.id = q.paired_quiz_id \
         JOIN lessons l ON l.id = q.lesson_id \
         JOIN course_modules m ON m.id = l.module_id \
         WHERE {course_condition} AND q.kind = {kind} AND l.published_at IS NOT NULL \
         ORDER BY q.course_id, m.position, l.position, q.id",
        kind = ph(backend, values.len() + 1),
    );
    let mut values = values;
    values.push(quiz::quiz::QuizKind::PostTest.as_str().into());
    Ok(
        PairRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(conn)
            .await?,
    )
}

/// Pre/post means per (post-test, cohort) for the paired post-tests matching `quiz_condition`
/// (on `q`), people restricted to `audience`. One statement.
async fn gains_by_cohort(
    conn: &impl ConnectionTrait,
    quiz_condition: &str,
    mut values: Vec<Value>,
    audience: &Audience,
) -> Result<HashMap<(Uuid, Uuid), CohortGain>, EvaluationError> {
    let backend = conn.get_database_backend();
    values.push(quiz::quiz::QuizKind::PostTest.as_str().into());
    let kind = ph(backend, values.len());
    let (joins, conditions) = subtree(audience, "po.person_id", &mut values, backend);
    let sql = format!(
        "SELECT q.id AS quiz_id, e.cohort_id AS cohort_id, \
         CAST(COUNT(*) AS BIGINT) AS paired, \
         AVG(pr.first_percent) AS pre_mean, AVG(po.final_percent) AS post_mean \
         FROM quizzes q \
         JOIN quiz_results po ON po.quiz_id = q.id \
         JOIN quiz_results pr ON pr.quiz_id = q.paired_quiz_id AND pr.person_id = po.person_id \
         JOIN enrollments e ON e.id = po.enrollment_id{joins} \
         WHERE {quiz_condition} AND q.kind = {kind}{conditions} \
         GROUP BY q.id, e.cohort_id"
    );
    Ok(
        GainRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(conn)
            .await?
            .iter()
            .map(|r| ((r.quiz_id, r.cohort_id), CohortGain::from(r)))
            .collect(),
    )
}

/// Lists the measures that fell at each point, from the two flag vectors.
fn merge_flags(reaction: &[bool], gain: &[bool]) -> Vec<Vec<TrendMeasure>> {
    reaction
        .iter()
        .zip(gain)
        .map(|(r, g)| {
            let mut out = Vec::new();
            if *r {
                out.push(TrendMeasure::Reaction);
            }
            if *g {
                out.push(TrendMeasure::ClassGain);
            }
            out
        })
        .collect()
}

impl Evaluation {
    /// The trend of `course_id` across its cohorts: reaction mean and `<g>` per cohort, with
    /// falling points marked. Admins and the course's trainers; unit admins over the people of
    /// their subtree.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course; FORBIDDEN for others; INTERNAL on database failure.
    pub async fn course_trend(
        &self,
        actor: &Actor,
        course_id: Uuid,
    ) -> Result<CourseTrend, EvaluationError> {
        let course = course::access::find_course(&self.db, course_id).await?;
        let audience = learning::audience(&self.db, actor, &course).await?;
        trend_of_course(&self.db, course_id, &audience, self.settings.min_responses).await
    }

    /// The trend of trainer `person_id` across the cohorts they trained: their per-trainer
    /// reaction mean and the cohort's `<g>`, with falling points marked. Admins, and the
    /// trainer themself (means from the minimum number of responses only).
    ///
    /// # Errors
    /// FORBIDDEN for anyone else; NOT_FOUND for an unknown person; INTERNAL on database
    /// failure.
    pub async fn trainer_trend(
        &self,
        actor: &Actor,
        person_id: Uuid,
    ) -> Result<TrainerTrend, EvaluationError> {
        let minimum = if actor.is_admin() {
            0
        } else if actor.is_person(person_id) {
            self.settings.min_responses
        } else {
            return Err(EvaluationError::Forbidden);
        };
        let conn = &self.db;
        let backend = conn.get_database_backend();
        let person = identity::entity::person::Entity::find_by_id(person_id)
            .one(conn)
            .await?
            .ok_or(EvaluationError::NotFound("person"))?;
        let level = SurveyLevel::Reaction.as_str();
        let (p1, p2) = (ph(backend, 1), ph(backend, 2));

        // The cohorts they trained: of the courses they own, or answered about them.
        let answered_about = format!(
            "SELECT r.cohort_id FROM survey_responses r \
             JOIN survey_answers a ON a.response_id = r.id \
             WHERE a.trainer_id = {p1} AND r.level = {p2}"
        );
        let sql = format!(
            "SELECT ch.id AS cohort_id, ch.name AS cohort_name, ch.starts_at AS starts_at, \
             ch.created_at AS created_at, c.id AS course_id, c.title AS course_title \
             FROM cohorts ch JOIN courses c ON c.id = ch.course_id \
             WHERE ch.course_id IN (SELECT o.course_id FROM course_owners o WHERE o.person_id = {p1}) \
             OR ch.id IN ({answered_about})"
        );
        let mut cohorts = CohortRow::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql,
            [person_id.into(), level.into()],
        ))
        .all(conn)
        .await?;
        cohorts.sort_by_key(CohortRow::time_key);

        // Their answers per cohort. `n` counts the responses that answered about them, as the
        // survey results do.
        let sql = format!(
            "SELECT r.cohort_id AS cohort_id, \
             {LIKERT_SUMS} \
             FROM survey_answers a \
             JOIN survey_responses r ON r.id = a.response_id \
             WHERE a.trainer_id = {p1} AND r.level = {p2} \
             GROUP BY r.cohort_id"
        );
        let answers: HashMap<Uuid, LikertRow> = LikertRow::find_by_statement(
            Statement::from_sql_and_values(backend, sql, [person_id.into(), level.into()]),
        )
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.cohort_id, r))
        .collect();

        // The first paired post-test of each of those courses, and the gains per cohort.
        let courses = format!(
            "(SELECT o.course_id FROM course_owners o WHERE o.person_id = {p1} \
             UNION SELECT ch.course_id FROM cohorts ch WHERE ch.id IN ({answered_about}))"
        );
        let mut first_post: HashMap<Uuid, Uuid> = HashMap::new();
        let mut gains = HashMap::new();
        if !cohorts.is_empty() {
            for pair in paired_post_tests(
                conn,
                &format!("q.course_id IN {courses}"),
                vec![person_id.into(), level.into()],
            )
            .await?
            {
                first_post.entry(pair.course_id).or_insert(pair.post_id);
            }
            if !first_post.is_empty() {
                gains = gains_by_cohort(
                    conn,
                    &format!("q.course_id IN {courses} AND q.paired_quiz_id IS NOT NULL"),
                    vec![person_id.into(), level.into()],
                    &Audience::All,
                )
                .await?;
            }
        }

        let mut points: Vec<TrainerPoint> = cohorts
            .into_iter()
            .map(|c| {
                let a = answers.get(&c.cohort_id);
                let responses = a.map_or(0, |a| a.responses);
                TrainerPoint {
                    gain: first_post
                        .get(&c.course_id)
                        .and_then(|q| gains.get(&(*q, c.cohort_id)).copied())
                        .unwrap_or_default(),
                    course_id: c.course_id,
                    course_title: c.course_title,
                    cohort_id: c.cohort_id,
                    cohort_name: c.cohort_name,
                    starts_at: c.starts_at,
                    trainer_responses: responses,
                    trainer_mean: a.and_then(LikertRow::mean).filter(|_| responses >= minimum),
                    falling: Vec::new(),
                }
            })
            .collect();
        let reaction_fell = falling(
            &points.iter().map(|p| p.trainer_mean).collect::<Vec<_>>(),
            REACTION_DROP,
        );
        // Gains fall only against the previous cohort of the same course.
        let mut gain_fell = vec![false; points.len()];
        let mut by_course: HashMap<Uuid, Vec<usize>> = HashMap::new();
        for (i, p) in points.iter().enumerate() {
            by_course.entry(p.course_id).or_default().push(i);
        }
        for indices in by_course.values() {
            let values: Vec<Option<f64>> =
                indices.iter().map(|i| points[*i].gain.class_gain).collect();
            for (i, fell) in indices.iter().zip(falling(&values, GAIN_DROP)) {
                gain_fell[*i] = fell;
            }
        }
        for (p, f) in points
            .iter_mut()
            .zip(merge_flags(&reaction_fell, &gain_fell))
        {
            p.falling = f;
        }
        Ok(TrainerTrend {
            person_id,
            name: person.name,
            minimum_responses: minimum,
            points,
        })
    }
}

/// Computes the trend of `course_id` for `audience` (no authorization: callers have checked):
/// reaction means hidden below `min_responses` for a unit admin's subtree, shown to everyone
/// else, as [`Evaluation::course_trend`] says. The exports call it too.
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn trend_of_course(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    audience: &Audience,
    min_responses: i64,
) -> Result<CourseTrend, EvaluationError> {
    let backend = conn.get_database_backend();
    let minimum = match audience {
        Audience::All => 0,
        Audience::Subtree { .. } => min_responses,
    };

    let mut cohorts: Vec<enrollment::entity::cohort::Model> =
        enrollment::entity::cohort::Entity::find()
            .filter(enrollment::entity::cohort::Column::CourseId.eq(course_id))
            .all(conn)
            .await?;
    cohorts.sort_by_key(|c| (c.starts_at.unwrap_or(c.created_at), c.id));

    // Reaction: course-wide Likert answers per cohort.
    let mut values: Vec<Value> = vec![course_id.into(), SurveyLevel::Reaction.as_str().into()];
    let (joins, conditions) = subtree(audience, "r.respondent_id", &mut values, backend);
    let sql = format!(
        "SELECT r.cohort_id AS cohort_id, \
         {LIKERT_SUMS} \
         FROM survey_responses r \
         JOIN survey_answers a ON a.response_id = r.id{joins} \
         WHERE r.course_id = {course} AND r.level = {level} \
         AND a.trainer_id IS NULL AND a.likert IS NOT NULL{conditions} \
         GROUP BY r.cohort_id",
        course = ph(backend, 1),
        level = ph(backend, 2),
    );
    let reaction: HashMap<Uuid, LikertRow> =
        LikertRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(conn)
            .await?
            .into_iter()
            .map(|r| (r.cohort_id, r))
            .collect();

    // The first paired post-test and its gains per cohort.
    let pair = paired_post_tests(
        conn,
        &format!("q.course_id = {}", ph(backend, 1)),
        vec![course_id.into()],
    )
    .await?
    .into_iter()
    .next();
    let gains = match &pair {
        Some(p) => {
            gains_by_cohort(
                conn,
                &format!("q.id = {}", ph(backend, 1)),
                vec![p.post_id.into()],
                audience,
            )
            .await?
        }
        None => HashMap::new(),
    };

    let mut points: Vec<CohortPoint> = cohorts
        .into_iter()
        .map(|c| {
            let r = reaction.get(&c.id);
            let responses = r.map_or(0, |r| r.responses);
            CohortPoint {
                cohort_id: c.id,
                cohort_name: c.name,
                starts_at: c.starts_at,
                reaction_responses: responses,
                reaction_mean: r.and_then(LikertRow::mean).filter(|_| responses >= minimum),
                gain: pair
                    .as_ref()
                    .and_then(|p| gains.get(&(p.post_id, c.id)).copied())
                    .unwrap_or_default(),
                falling: Vec::new(),
            }
        })
        .collect();
    let reaction_fell = falling(
        &points.iter().map(|p| p.reaction_mean).collect::<Vec<_>>(),
        REACTION_DROP,
    );
    let gain_fell = falling(
        &points.iter().map(|p| p.gain.class_gain).collect::<Vec<_>>(),
        GAIN_DROP,
    );
    for (p, f) in points
        .iter_mut()
        .zip(merge_flags(&reaction_fell, &gain_fell))
    {
        p.falling = f;
    }
    Ok(CourseTrend {
        course_id,
        unit_id: match audience {
            Audience::All => None,
            Audience::Subtree { unit_id, .. } => Some(*unit_id),
        },
        post_test: pair.map(|p| QuizRef {
            quiz_id: p.post_id,
            lesson_id: p.post_lesson_id,
            title: p.post_title,
        }),
        minimum_responses: minimum,
        points,
    })
}

/// A trainer of a course across its cohorts, for the exports' chart.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseTrainerLine {
    /// The trainer.
    pub person_id: Uuid,
    /// Their name.
    pub name: String,
    /// Per cohort that answered about them: the responses that did (`n`) and the mean of the
    /// Likert answers about them, `None` below the minimum.
    pub cohorts: HashMap<Uuid, (i64, Option<f64>)>,
}

#[derive(Debug, FromQueryResult)]
struct TrainerCohortRow {
    trainer_id: Uuid,
    trainer_name: String,
    cohort_id: Uuid,
    responses: i64,
    answers: i64,
    total: i64,
}

/// The trainers of `course_id` (its owners, then anyone else its reaction responses answered
/// about, by name) with their per-trainer reaction mean in each cohort, over the responses of
/// `audience`; a mean only from `minimum` responses about the trainer in that cohort (no
/// authorization: callers have checked). Three statements: the owners and their people, and
/// the answers about trainers per (trainer, cohort) in one GROUP BY.
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn course_trainer_lines(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    audience: &Audience,
    minimum: i64,
) -> Result<Vec<CourseTrainerLine>, EvaluationError> {
    let backend = conn.get_database_backend();
    let mut lines: Vec<CourseTrainerLine> = crate::survey::respond::trainers_of(conn, course_id)
        .await?
        .into_iter()
        .map(|t| CourseTrainerLine {
            person_id: t.id,
            name: t.name,
            cohorts: HashMap::new(),
        })
        .collect();
    let owners = lines.len();

    let mut values: Vec<Value> = vec![course_id.into(), SurveyLevel::Reaction.as_str().into()];
    let (joins, conditions) = subtree(audience, "r.respondent_id", &mut values, backend);
    // `n` counts the responses that answered about the trainer, as the survey results do.
    let sql = format!(
        "SELECT a.trainer_id AS trainer_id, t.name AS trainer_name, r.cohort_id AS cohort_id, \
         {LIKERT_SUMS} \
         FROM survey_answers a \
         JOIN survey_responses r ON r.id = a.response_id \
         JOIN people t ON t.id = a.trainer_id{joins} \
         WHERE r.course_id = {course} AND r.level = {level}{conditions} \
         GROUP BY a.trainer_id, t.name, r.cohort_id",
        course = ph(backend, 1),
        level = ph(backend, 2),
    );
    for r in
        TrainerCohortRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(conn)
            .await?
    {
        let i = match lines.iter().position(|l| l.person_id == r.trainer_id) {
            Some(i) => i,
            None => {
                lines.push(CourseTrainerLine {
                    person_id: r.trainer_id,
                    name: r.trainer_name,
                    cohorts: HashMap::new(),
                });
                lines.len() - 1
            }
        };
        let mean =
            (r.answers > 0 && r.responses >= minimum).then(|| r.total as f64 / r.answers as f64);
        lines[i].cohorts.insert(r.cohort_id, (r.responses, mean));
    }
    lines[owners..].sort_by(|a, b| (&a.name, a.person_id).cmp(&(&b.name, b.person_id)));
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_falls_against_the_previous_defined_value() {
        // 4.5 -> 4.2: down 0.3, not falling; None is skipped; 4.2 -> 3.5: down 0.7, falling;
        // 3.5 -> 3.0: down exactly 0.5, falling (the threshold counts as reached);
        // 3.0 -> 3.4: up.
        let v = [Some(4.5), Some(4.2), None, Some(3.5), Some(3.0), Some(3.4)];
        assert_eq!(
            falling(&v, REACTION_DROP),
            vec![false, false, false, true, true, false]
        );
        // A drop of 0.0999 is below 0.1; the first value never falls.
        assert_eq!(
            falling(&[Some(0.5), Some(0.4001), Some(0.3001)], GAIN_DROP),
            vec![false, false, true]
        );
        // Binary rounding: 0.7 - 0.6 is 0.09999999999999998, still a drop of 0.1.
        assert_eq!(
            falling(&[Some(0.7), Some(0.6)], GAIN_DROP),
            vec![false, true]
        );
        assert!(falling(&[], GAIN_DROP).is_empty());
        assert_eq!(falling(&[None, None], GAIN_DROP), vec![false, false]);
    }

    #[test]
    fn flags_are_merged_in_a_fixed_order() {
        assert_eq!(
            merge_flags(&[true, false, true], &[true, true, false]),
            vec![
                vec![TrendMeasure::Reaction, TrendMeasure::ClassGain],
                vec![TrendMeasure::ClassGain],
                vec![TrendMeasure::Reaction],
            ]
        );
    }
}

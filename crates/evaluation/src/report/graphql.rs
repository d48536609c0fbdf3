//! The report part of the GraphQL API: `learningReport` (pre-test/post-test gains of a course)
//! and `itemAnalysis` (question quality of a quiz). Resolvers parse ids, call an
//! [`Evaluation`] method with the actor and wrap the result.
//!
//! The helpers at the top serve every report resolver (`course_graphql` and
//! `overview_graphql` too): [`course_report`] and [`report_of`] are the whole body of a
//! resolver whose arguments are ids, so that each checks the actor before its input, names the
//! argument of a bad id, and codes its error the same way.

use async_graphql::{Context, ID, Object, SimpleObject};
use identity::graphql::parse_id;
use kernel::context::{actor, service};
use kernel::{Actor, GqlResultExt};
use quiz::question::QuestionKind;
use quiz::quiz::QuizKind;
use uuid::Uuid;

use super::items::{self, ItemReport};
use super::learning::{self, PrePostResult, QuizRef};
use super::stats::{self, GAIN_BINS, GainCategory, ItemFlag, ReliabilityMethod};
use crate::Evaluation;
use crate::error::EvaluationError;

pub(super) fn evaluation<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Evaluation> {
    service::<Evaluation>(ctx)
}

pub(super) fn id_of(u: Uuid) -> ID {
    ID(u.to_string())
}

/// Each of `items` wrapped for the schema: `wrapped(&self.0.points, CourseTrendPoint)`.
pub(super) fn wrapped<T: Clone, W>(items: &[T], wrap: impl FnMut(T) -> W) -> Vec<W> {
    items.iter().cloned().map(wrap).collect()
}

/// A report of a course, of one of its cohorts or of all: UNAUTHENTICATED without an actor,
/// BAD_USER_INPUT on `courseId` or `cohortId` for an id that is not one, then `report`'s
/// answer, its error coded.
pub(super) async fn course_report<T>(
    ctx: &Context<'_>,
    course_id: ID,
    cohort_id: Option<ID>,
    report: impl AsyncFnOnce(&Evaluation, &Actor, Uuid, Option<Uuid>) -> Result<T, EvaluationError>,
) -> async_graphql::Result<T> {
    let actor = actor(ctx)?;
    let course_id = parse_id("courseId", &course_id)?;
    let cohort_id = cohort_id.map(|c| parse_id("cohortId", &c)).transpose()?;
    report(evaluation(ctx)?, actor, course_id, cohort_id)
        .await
        .gql()
}

/// A report about one thing whose id is the argument `field`: UNAUTHENTICATED without an
/// actor, BAD_USER_INPUT on `field` for an id that is not one, then `report`'s answer, its
/// error coded.
pub(super) async fn report_of<T>(
    ctx: &Context<'_>,
    field: &'static str,
    id: ID,
    report: impl AsyncFnOnce(&Evaluation, &Actor, Uuid) -> Result<T, EvaluationError>,
) -> async_graphql::Result<T> {
    let actor = actor(ctx)?;
    let id = parse_id(field, &id)?;
    report(evaluation(ctx)?, actor, id).await.gql()
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A quiz of a report, named by its lesson.
#[derive(SimpleObject, Debug, Clone)]
pub struct ReportQuiz {
    /// The quiz.
    pub quiz_id: ID,
    /// Its lesson.
    pub lesson_id: ID,
    /// The lesson's title.
    pub title: String,
}

impl From<QuizRef> for ReportQuiz {
    fn from(q: QuizRef) -> Self {
        ReportQuiz {
            quiz_id: id_of(q.quiz_id),
            lesson_id: id_of(q.lesson_id),
            title: q.title,
        }
    }
}

/// Learners whose individual gain falls in `[from, to)` (the last bin, `[0.9, 1.0]`, is
/// closed).
#[derive(SimpleObject, Debug, Clone)]
pub struct GainBin {
    /// Lower bound (included).
    pub from: f64,
    /// Upper bound (excluded, but for the last bin).
    pub to: f64,
    /// Learners.
    pub count: i64,
}

/// The individual normalised gains `g = (post - pre) / (100 - pre)` of a group.
pub struct GainDistribution(pub stats::GainDistribution);

#[Object]
impl GainDistribution {
    /// Learners whose gain is defined (pre-test below 100).
    async fn counted(&self) -> i64 {
        count(self.0.counted)
    }
    /// `g >= 0.7`.
    async fn high(&self) -> i64 {
        count(self.0.high)
    }
    /// `0.3 <= g < 0.7`.
    async fn medium(&self) -> i64 {
        count(self.0.medium)
    }
    /// `g < 0.3`, negative gains included.
    async fn low(&self) -> i64 {
        count(self.0.low)
    }
    /// Learners left out because their pre-test was already 100.
    async fn left_out(&self) -> i64 {
        count(self.0.left_out)
    }
    /// Gains below 0 (a worse post-test); also counted in `low`.
    async fn negative(&self) -> i64 {
        count(self.0.negative)
    }
    /// Non-negative gains in ten bins of 0.1 from 0 to 1.
    async fn histogram(&self) -> Vec<GainBin> {
        (0..GAIN_BINS)
            .map(|i| {
                let from = i as f64 / 10.0;
                GainBin {
                    from,
                    to: (i + 1) as f64 / 10.0,
                    count: count(self.0.bins[i]),
                }
            })
            .collect()
    }
    /// The mean of the defined individual gains (unlike `classGain`, the gain of the means).
    async fn mean_gain(&self) -> Option<f64> {
        self.0.mean_gain
    }
}

/// A post-test and its paired pre-test: scores in percent.
pub struct PrePostComparison(pub PrePostResult);

#[Object]
impl PrePostComparison {
    /// The pre-test.
    async fn pre_test(&self) -> ReportQuiz {
        self.0.pre_test.clone().into()
    }
    /// The post-test.
    async fn post_test(&self) -> ReportQuiz {
        self.0.post_test.clone().into()
    }
    /// Learners with a result in both (the means and gains are theirs).
    async fn paired(&self) -> i64 {
        self.0.paired
    }
    /// Their mean pre-test percent (the first attempt's).
    async fn pre_mean(&self) -> Option<f64> {
        self.0.pre_mean
    }
    /// Their mean post-test percent (by the post-test's grading method).
    async fn post_mean(&self) -> Option<f64> {
        self.0.post_mean
    }
    /// Hake's class gain `<g> = (mean post - mean pre) / (100 - mean pre)`; null without
    /// paired learners or when all of them had 100 in the pre-test.
    async fn class_gain(&self) -> Option<f64> {
        self.0.class_gain
    }
    /// The category of the class gain.
    async fn class_gain_category(&self) -> Option<GainCategory> {
        self.0.class_gain.map(GainCategory::of)
    }
    /// The individual gains.
    async fn gains(&self) -> GainDistribution {
        GainDistribution(self.0.gains)
    }
    /// Learners with a post-test result (paired or not).
    async fn post_test_taken(&self) -> i64 {
        self.0.post_taken
    }
    /// Of those, who passed the post-test.
    async fn post_test_passed(&self) -> i64 {
        self.0.post_passed
    }
    /// `postTestPassed / postTestTaken`, a share from 0 to 1; null when nobody took it.
    async fn pass_rate(&self) -> Option<f64> {
        self.0.pass_rate()
    }
}

/// Kirkpatrick level 2 of a course: how much the learners learned.
pub struct LearningReport(pub learning::LearningReport);

#[Object]
impl LearningReport {
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.course_id)
    }
    /// The cohort it covers; null: every cohort.
    async fn cohort_id(&self) -> Option<ID> {
        self.0.cohort_id.map(id_of)
    }
    /// Set for a unit admin: the report covers only people whose unit is in this unit's
    /// subtree.
    async fn unit_id(&self) -> Option<ID> {
        self.0.unit_id.map(id_of)
    }
    /// One entry per post-test that has a paired pre-test, in course order.
    async fn tests(&self) -> Vec<PrePostComparison> {
        wrapped(&self.0.tests, PrePostComparison)
    }
}

/// The statistics of one question version in a quiz.
pub struct ItemStatistics(pub ItemReport);

#[Object]
impl ItemStatistics {
    /// The question.
    async fn question_id(&self) -> ID {
        id_of(self.0.question_id)
    }
    /// The version analysed (each version is its own item).
    async fn question_version_id(&self) -> ID {
        id_of(self.0.question_version_id)
    }
    /// The version's number, from 1.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The question's kind.
    async fn kind(&self) -> Option<QuestionKind> {
        QuestionKind::from_stored(&self.0.kind)
    }
    /// The prompt.
    async fn prompt(&self) -> &str {
        &self.0.prompt
    }
    /// Attempts that were given it.
    async fn n(&self) -> i64 {
        i64::try_from(self.0.stats.n).unwrap_or(i64::MAX)
    }
    /// Facility (difficulty index) `p`: the mean item score from 0 to 1.
    async fn facility(&self) -> Option<f64> {
        self.0.stats.facility
    }
    /// Discrimination index `D`: facility in the top 27% of total scores minus facility in
    /// the bottom 27%.
    async fn discrimination(&self) -> Option<f64> {
        self.0.stats.discrimination
    }
    /// Correlation of the item score with the total of the other items; null without
    /// variance.
    async fn point_biserial(&self) -> Option<f64> {
        self.0.stats.point_biserial
    }
    /// Why the trainer should review it: `p < 0.2`, `p > 0.9`, `D < 0.2`.
    async fn flags(&self) -> Vec<ItemFlag> {
        self.0.stats.flags.clone()
    }
}

/// The quality of a quiz's questions (classical test theory), over each learner's first
/// graded attempt.
pub struct ItemAnalysis(pub items::ItemAnalysis);

#[Object]
impl ItemAnalysis {
    /// The quiz.
    async fn quiz_id(&self) -> ID {
        id_of(self.0.quiz_id)
    }
    /// What the quiz is for.
    async fn kind(&self) -> Option<QuizKind> {
        QuizKind::from_stored(&self.0.kind)
    }
    /// Attempts counted (`n`): each learner's first graded attempt.
    async fn attempts(&self) -> i64 {
        i64::try_from(self.0.attempts).unwrap_or(i64::MAX)
    }
    /// Items (`k`): question versions given in those attempts.
    async fn item_count(&self) -> i64 {
        i64::try_from(self.0.item_count).unwrap_or(i64::MAX)
    }
    /// KR-20 when every item score is 0 or 1, Cronbach's alpha otherwise.
    async fn reliability_method(&self) -> ReliabilityMethod {
        self.0.method
    }
    /// The reliability coefficient; null with fewer than 2 items, no variance in the totals,
    /// or attempts that were given different items (a random draw).
    async fn reliability(&self) -> Option<f64> {
        self.0.reliability
    }
    /// Mean total score (items answered right, partial credit counted) per attempt.
    async fn mean_total(&self) -> Option<f64> {
        self.0.mean_total
    }
    /// Per question version, in the quiz's order.
    async fn items(&self) -> Vec<ItemStatistics> {
        wrapped(&self.0.items, ItemStatistics)
    }
}

/// Report queries.
#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// Pre-test and post-test results of a course, of one cohort or of all: means, Hake's
    /// gain, the distribution of individual gains, the pass rate. Admins and the course's
    /// trainers; unit admins see the people of their unit subtree only.
    async fn learning_report(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        cohort_id: Option<ID>,
    ) -> async_graphql::Result<LearningReport> {
        course_report(ctx, course_id, cohort_id, Evaluation::learning_report)
            .await
            .map(LearningReport)
    }

    /// Item analysis of a quiz per question version, with its reliability. Admins and the
    /// course's trainers.
    async fn item_analysis(
        &self,
        ctx: &Context<'_>,
        quiz_id: ID,
    ) -> async_graphql::Result<ItemAnalysis> {
        report_of(ctx, "quizId", quiz_id, Evaluation::item_analysis)
            .await
            .map(ItemAnalysis)
    }
}

//! The overview reports of the GraphQL API, those that look across cohorts and units rather
//! than into one course: `courseTrend`, `trainerTrend`, `completionMatrix` and `jpCompliance`.
//! Resolvers parse ids, call an [`Evaluation`] method with the actor and wrap the result.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use identity::entity::unit;
use identity::graphql::parse_id;
use kernel::GqlResultExt;
use kernel::context::actor;
use kernel::pagination::Page;
use progress::graphql::JpShortfall;
use uuid::Uuid;

use super::compliance::{self, ComplianceCounts};
use super::graphql::{ReportQuiz, evaluation, id_of, report_of, wrapped};
use super::matrix::{self, MatrixCell};
use super::stats::GainCategory;
use super::trends::{self, CohortGain, TrendMeasure};
use crate::Evaluation;
use crate::error::EvaluationError;

/// The class gain of a post-test in one cohort.
pub struct CohortGainFigures(pub CohortGain);

#[Object]
impl CohortGainFigures {
    /// Learners with a pre-test and a post-test result (the means are theirs).
    async fn paired(&self) -> i64 {
        self.0.paired
    }
    /// Their mean pre-test percent (first attempt).
    async fn pre_mean(&self) -> Option<f64> {
        self.0.pre_mean
    }
    /// Their mean post-test percent.
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
}

/// One cohort of a course trend.
pub struct CourseTrendPoint(pub trends::CohortPoint);

#[Object]
impl CourseTrendPoint {
    /// The cohort.
    async fn cohort_id(&self) -> ID {
        id_of(self.0.cohort_id)
    }
    /// Its name.
    async fn cohort_name(&self) -> &str {
        &self.0.cohort_name
    }
    /// Its learning-window start (the order of the points; without one, its creation).
    async fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.0.starts_at
    }
    /// Reaction responses with course-wide Likert answers (`n`).
    async fn reaction_responses(&self) -> i64 {
        self.0.reaction_responses
    }
    /// Mean of those answers (1 to 5); null without any, or for a unit admin below
    /// `minimumResponses`.
    async fn reaction_mean(&self) -> Option<f64> {
        self.0.reaction_mean
    }
    /// The class gain of the trend's post-test in this cohort.
    async fn gain(&self) -> CohortGainFigures {
        CohortGainFigures(self.0.gain)
    }
    /// Whether something fell here (reaction down 0.5 or more, or `<g>` down 0.1 or more,
    /// from the previous cohort that has one).
    async fn falling(&self) -> bool {
        !self.0.falling.is_empty()
    }
    /// What fell here.
    async fn falling_measures(&self) -> &[TrendMeasure] {
        &self.0.falling
    }
}

/// A course across its cohorts over time.
pub struct CourseTrend(pub trends::CourseTrend);

#[Object]
impl CourseTrend {
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.course_id)
    }
    /// Set for a unit admin: only people of this unit's subtree count.
    async fn unit_id(&self) -> Option<ID> {
        self.0.unit_id.map(id_of)
    }
    /// The post-test whose gains are shown: the first with a paired pre-test; null without.
    async fn post_test(&self) -> Option<ReportQuiz> {
        self.0.post_test.clone().map(ReportQuiz::from)
    }
    /// Responses needed before a reaction mean is shown to you (0: always).
    async fn minimum_responses(&self) -> i64 {
        self.0.minimum_responses
    }
    /// One point per cohort, ordered by learning-window start.
    async fn points(&self) -> Vec<CourseTrendPoint> {
        wrapped(&self.0.points, CourseTrendPoint)
    }
}

/// One (course, cohort) of a trainer trend.
pub struct TrainerTrendPoint(pub trends::TrainerPoint);

#[Object]
impl TrainerTrendPoint {
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.course_id)
    }
    /// Its title.
    async fn course_title(&self) -> &str {
        &self.0.course_title
    }
    /// The cohort.
    async fn cohort_id(&self) -> ID {
        id_of(self.0.cohort_id)
    }
    /// Its name.
    async fn cohort_name(&self) -> &str {
        &self.0.cohort_name
    }
    /// Its learning-window start.
    async fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.0.starts_at
    }
    /// Reaction responses that answered about the trainer (`n`).
    async fn trainer_responses(&self) -> i64 {
        self.0.trainer_responses
    }
    /// Mean of the Likert answers about the trainer (1 to 5); null without any, or below
    /// `minimumResponses` when trainers read their own trend.
    async fn trainer_mean(&self) -> Option<f64> {
        self.0.trainer_mean
    }
    /// The cohort's class gain (the course's first paired post-test, every learner).
    async fn gain(&self) -> CohortGainFigures {
        CohortGainFigures(self.0.gain)
    }
    /// Whether something fell here: the trainer's mean down 0.5 or more from their previous
    /// point that has one, or `<g>` down 0.1 or more from the previous cohort of the course.
    async fn falling(&self) -> bool {
        !self.0.falling.is_empty()
    }
    /// What fell here.
    async fn falling_measures(&self) -> &[TrendMeasure] {
        &self.0.falling
    }
}

/// A trainer across the cohorts they trained.
pub struct TrainerTrend(pub trends::TrainerTrend);

#[Object]
impl TrainerTrend {
    /// The trainer.
    async fn person_id(&self) -> ID {
        id_of(self.0.person_id)
    }
    /// Their name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Responses needed before a per-trainer mean is shown to you (0: always).
    async fn minimum_responses(&self) -> i64 {
        self.0.minimum_responses
    }
    /// One point per (course, cohort), in time order.
    async fn points(&self) -> Vec<TrainerTrendPoint> {
        wrapped(&self.0.points, TrainerTrendPoint)
    }
}

/// A unit of a unit-tree report.
#[derive(SimpleObject, Debug, Clone)]
pub struct ReportUnit {
    /// The unit.
    pub unit_id: ID,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
}

impl From<&unit::Model> for ReportUnit {
    fn from(u: &unit::Model) -> Self {
        ReportUnit {
            unit_id: id_of(u.id),
            code: u.code.clone(),
            name: u.name.clone(),
        }
    }
}

/// A course column of the completion matrix.
#[derive(SimpleObject, Debug, Clone)]
pub struct MatrixCourse {
    /// The course.
    pub course_id: ID,
    /// Its code.
    pub code: String,
    /// Its title.
    pub title: String,
}

/// Completion of one course in one unit subtree.
pub struct CompletionCell(pub MatrixCell);

#[Object]
impl CompletionCell {
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.course_id)
    }
    /// People with an active or completed enrollment (once, whatever the cohorts).
    async fn enrolled(&self) -> i64 {
        self.0.enrolled
    }
    /// Of those, people with a completed enrollment.
    async fn completed(&self) -> i64 {
        self.0.completed
    }
    /// `completed / enrolled`, a share from 0 to 1; null when nobody is enrolled.
    async fn completion_rate(&self) -> Option<f64> {
        self.0.completion_rate()
    }
}

/// One unit's row of the completion matrix.
pub struct CompletionMatrixRow(pub matrix::MatrixRow);

#[Object]
impl CompletionMatrixRow {
    /// The unit; its whole subtree counts.
    async fn unit(&self) -> ReportUnit {
        ReportUnit::from(&self.0.unit)
    }
    /// One cell per course, in the order of `courses`.
    async fn cells(&self) -> Vec<CompletionCell> {
        wrapped(&self.0.cells, CompletionCell)
    }
}

/// Completion of courses by unit subtree.
pub struct CompletionMatrix(pub matrix::CompletionMatrix);

#[Object]
impl CompletionMatrix {
    /// The unit whose child units are the rows; null: the top-level units.
    async fn unit(&self) -> Option<ReportUnit> {
        self.0.unit.as_ref().map(ReportUnit::from)
    }
    /// The columns, in the order asked.
    async fn courses(&self) -> Vec<MatrixCourse> {
        self.0
            .courses
            .iter()
            .map(|c| MatrixCourse {
                course_id: id_of(c.course_id),
                code: c.code.clone(),
                title: c.title.clone(),
            })
            .collect()
    }
    /// One row per child unit, by name.
    async fn rows(&self) -> Vec<CompletionMatrixRow> {
        wrapped(&self.0.rows, CompletionMatrixRow)
    }
    /// The whole subtree of `unit` (people attached to it directly included), per course.
    async fn total(&self) -> Vec<CompletionCell> {
        wrapped(&self.0.total, CompletionCell)
    }
}

/// JP compliance figures of a unit subtree.
pub struct JpComplianceFigures(pub ComplianceCounts);

#[Object]
impl JpComplianceFigures {
    /// Enabled people with a unit in the subtree.
    async fn people(&self) -> i64 {
        self.0.people
    }
    /// Of those, people with at least 20 JP in the year.
    async fn compliant(&self) -> i64 {
        self.0.compliant
    }
    /// People below 20 JP.
    async fn below_target(&self) -> i64 {
        self.0.below()
    }
    /// `compliant / people`, a share from 0 to 1; null without people.
    async fn compliance_rate(&self) -> Option<f64> {
        self.0.rate()
    }
    /// Mean JP per person in the year; null without people.
    async fn mean_jp(&self) -> Option<f64> {
        self.0.mean_jp()
    }
}

/// One unit's row of the JP compliance report.
pub struct JpComplianceRow(pub compliance::ComplianceRow);

#[Object]
impl JpComplianceRow {
    /// The unit; its whole subtree counts.
    async fn unit(&self) -> ReportUnit {
        ReportUnit::from(&self.0.unit)
    }
    /// Its figures.
    async fn figures(&self) -> JpComplianceFigures {
        JpComplianceFigures(self.0.counts)
    }
}

/// Who earned the yearly 20 JP, by unit subtree.
pub struct JpCompliance {
    report: compliance::JpCompliance,
    has_previous: bool,
}

#[Object]
impl JpCompliance {
    /// The JP year (calendar year in WIB).
    async fn year(&self) -> i32 {
        self.report.year
    }
    /// The target (20 JP).
    async fn target(&self) -> i64 {
        progress::jp::JP_TARGET
    }
    /// The unit whose child units are the rows; null: the top-level units.
    async fn unit(&self) -> Option<ReportUnit> {
        self.report.unit.as_ref().map(ReportUnit::from)
    }
    /// One row per child unit, by name.
    async fn rows(&self) -> Vec<JpComplianceRow> {
        wrapped(&self.report.rows, JpComplianceRow)
    }
    /// The whole subtree of `unit` (people attached to it directly included).
    async fn total(&self) -> JpComplianceFigures {
        JpComplianceFigures(self.report.total)
    }
    /// The page of people below 20 JP in the subtree (`first`/`after` of the query), ordered
    /// by unit, with their JP.
    async fn people_below_target(&self) -> Connection<String, JpShortfall> {
        let page = &self.report.below_target;
        let mut conn = Connection::new(self.has_previous, page.has_next);
        conn.edges.extend(
            page.rows
                .iter()
                .cloned()
                .map(|r| Edge::new(r.cursor(), JpShortfall(r))),
        );
        conn
    }
}

/// The overview report queries.
#[derive(Default)]
pub struct OverviewReportQuery;

#[Object]
impl OverviewReportQuery {
    /// A course across its cohorts in time order: reaction mean and Hake's `<g>` per cohort,
    /// falling points marked. Admins and the course's trainers; unit admins see the people of
    /// their unit subtree.
    async fn course_trend(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
    ) -> async_graphql::Result<CourseTrend> {
        report_of(ctx, "courseId", course_id, Evaluation::course_trend)
            .await
            .map(CourseTrend)
    }

    /// A trainer across the cohorts they trained in time order: their own reaction mean and
    /// the cohort's `<g>`, falling points marked. Admins, and the trainer themself (means from
    /// 5 responses).
    async fn trainer_trend(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
    ) -> async_graphql::Result<TrainerTrend> {
        report_of(ctx, "personId", person_id, Evaluation::trainer_trend)
            .await
            .map(TrainerTrend)
    }

    /// Enrolled, completed and completion rate per child unit of `unitId` (default: your unit;
    /// admins: the top-level units) and course (1 to 50). Admins; unit admins in their subtree.
    async fn completion_matrix(
        &self,
        ctx: &Context<'_>,
        unit_id: Option<ID>,
        course_ids: Vec<ID>,
    ) -> async_graphql::Result<CompletionMatrix> {
        let actor = actor(ctx)?;
        let unit_id = unit_id.map(|u| parse_id("unitId", &u)).transpose()?;
        let course_ids = course_ids
            .iter()
            .map(|c| parse_id("courseIds", c))
            .collect::<async_graphql::Result<Vec<Uuid>>>()?;
        evaluation(ctx)?
            .completion_matrix(actor, unit_id, &course_ids)
            .await
            .map(CompletionMatrix)
            .gql()
    }

    /// People with and without 20 JP in `year` (default: this WIB year) per child unit of
    /// `unitId` (default: your unit; admins: the top-level units), and a page of those below.
    /// Admins; unit admins in their subtree.
    async fn jp_compliance(
        &self,
        ctx: &Context<'_>,
        unit_id: Option<ID>,
        year: Option<i32>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<JpCompliance> {
        let actor = actor(ctx)?;
        let unit_id = unit_id.map(|u| parse_id("unitId", &u)).transpose()?;
        let page = Page::new(first, after)
            .map_err(EvaluationError::from)
            .gql()?;
        let has_previous = page.after.is_some();
        evaluation(ctx)?
            .jp_compliance(actor, unit_id, year, page)
            .await
            .map(|report| JpCompliance {
                report,
                has_previous,
            })
            .gql()
    }
}

//! A course's choice of surveys: which template each level uses (default: the level's
//! default), whether the reaction survey must be answered before the certificate, and when the
//! follow-up is asked. Course editors (owners and admins) change it.

use kernel::Actor;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::SurveyLevel;
use super::templates::{self, TemplateView};
use crate::Evaluation;
use crate::entity::{course_survey_setting, survey_template};
use crate::error::EvaluationError;

/// Days after completion when the follow-up is asked, unless the course says otherwise.
pub const DEFAULT_FOLLOW_UP_DAYS: i32 = 90;

/// A course's survey settings with every default filled in.
#[derive(Debug, Clone)]
pub struct CourseSurveys {
    /// The course.
    pub course_id: Uuid,
    /// The reaction template in force.
    pub reaction: TemplateView,
    /// The learner's follow-up template in force.
    pub follow_up_learner: TemplateView,
    /// The supervisor's follow-up template in force.
    pub follow_up_supervisor: TemplateView,
    /// Which levels use the default (no choice stored).
    pub uses_default: [bool; 3],
    /// Whether the reaction survey must be answered before the certificate is issued.
    pub reaction_required_for_certificate: bool,
    /// Whether follow-ups are asked.
    pub follow_up_enabled: bool,
    /// Days after completion when they are asked.
    pub follow_up_days: i32,
}

/// A change to a course's survey settings; `None` keeps a value. For templates,
/// `Some(None)` goes back to the level's default.
#[derive(Debug, Clone, Default)]
pub struct SurveySettingsChanges {
    /// The reaction template.
    pub reaction_template: Option<Option<Uuid>>,
    /// The learner's follow-up template.
    pub follow_up_learner_template: Option<Option<Uuid>>,
    /// The supervisor's follow-up template.
    pub follow_up_supervisor_template: Option<Option<Uuid>>,
    /// Whether the reaction survey comes before the certificate.
    pub reaction_required_for_certificate: Option<bool>,
    /// Whether follow-ups are asked.
    pub follow_up_enabled: Option<bool>,
    /// Days after completion, 1 to 730.
    pub follow_up_days: Option<i32>,
}

/// The stored settings of a course, if any.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn stored(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
) -> Result<Option<course_survey_setting::Model>, EvaluationError> {
    Ok(course_survey_setting::Entity::find_by_id(course_id)
        .one(conn)
        .await?)
}

/// The settings of a course with defaults filled in.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn effective(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CourseSurveys, EvaluationError> {
    let row = stored(conn, course_id).await?;
    let r = row.as_ref();
    Ok(CourseSurveys {
        course_id,
        reaction: templates::resolve(conn, SurveyLevel::Reaction, r, now).await?,
        follow_up_learner: templates::resolve(conn, SurveyLevel::FollowUpLearner, r, now).await?,
        follow_up_supervisor: templates::resolve(conn, SurveyLevel::FollowUpSupervisor, r, now)
            .await?,
        uses_default: [
            r.is_none_or(|s| s.reaction_template_id.is_none()),
            r.is_none_or(|s| s.follow_up_learner_template_id.is_none()),
            r.is_none_or(|s| s.follow_up_supervisor_template_id.is_none()),
        ],
        reaction_required_for_certificate: r.is_some_and(|s| s.reaction_required_for_certificate),
        follow_up_enabled: r.is_none_or(|s| s.follow_up_enabled),
        follow_up_days: r.map_or(DEFAULT_FOLLOW_UP_DAYS, |s| s.follow_up_days),
    })
}

async fn check_template(
    conn: &impl ConnectionTrait,
    field: &'static str,
    level: SurveyLevel,
    id: Option<Uuid>,
) -> Result<(), EvaluationError> {
    let Some(id) = id else {
        return Ok(());
    };
    let t = survey_template::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| EvaluationError::invalid(field, "no such survey template"))?;
    if t.level != level.as_str() {
        return Err(EvaluationError::invalid(
            field,
            format!("the template is not a {} survey", level.as_str()),
        ));
    }
    if t.retired_at.is_some() {
        return Err(EvaluationError::invalid(
            field,
            "this version was replaced by a newer one; choose the newest version",
        ));
    }
    Ok(())
}

impl Evaluation {
    /// A course's survey settings. Its editors (owners, admins).
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course; FORBIDDEN for others; INTERNAL on database failure.
    pub async fn course_surveys(
        &self,
        actor: &Actor,
        course_id: Uuid,
    ) -> Result<CourseSurveys, EvaluationError> {
        let course = course::access::find_course(&self.db, course_id).await?;
        course::access::require_editor(&self.db, actor, &course).await?;
        effective(&self.db, course_id, self.clock.now()).await
    }

    /// Changes a course's survey settings. Its editors; audited.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course; FORBIDDEN for others; BAD_USER_INPUT for a template of
    /// another level, a retired version or days out of 1..=730; INTERNAL on database failure.
    pub async fn update_course_surveys(
        &self,
        actor: &Actor,
        course_id: Uuid,
        changes: SurveySettingsChanges,
    ) -> Result<CourseSurveys, EvaluationError> {
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let course = course::access::find_course(&txn, course_id).await?;
        course::access::require_editor(&txn, actor, &course).await?;
        if let Some(days) = changes.follow_up_days
            && !(1..=730).contains(&days)
        {
            return Err(EvaluationError::invalid(
                "followUpDays",
                "follow-up days are 1 to 730",
            ));
        }
        for (field, level, value) in [
            (
                "reactionTemplateId",
                SurveyLevel::Reaction,
                changes.reaction_template,
            ),
            (
                "followUpLearnerTemplateId",
                SurveyLevel::FollowUpLearner,
                changes.follow_up_learner_template,
            ),
            (
                "followUpSupervisorTemplateId",
                SurveyLevel::FollowUpSupervisor,
                changes.follow_up_supervisor_template,
            ),
        ] {
            check_template(&txn, field, level, value.flatten()).await?;
        }
        let old = stored(&txn, course_id).await?;
        let o = old.as_ref();
        let reaction = changes
            .reaction_template
            .unwrap_or_else(|| o.and_then(|s| s.reaction_template_id));
        let learner = changes
            .follow_up_learner_template
            .unwrap_or_else(|| o.and_then(|s| s.follow_up_learner_template_id));
        let supervisor = changes
            .follow_up_supervisor_template
            .unwrap_or_else(|| o.and_then(|s| s.follow_up_supervisor_template_id));
        let required = changes
            .reaction_required_for_certificate
            .unwrap_or_else(|| o.is_some_and(|s| s.reaction_required_for_certificate));
        let enabled = changes
            .follow_up_enabled
            .unwrap_or_else(|| o.is_none_or(|s| s.follow_up_enabled));
        let days = changes
            .follow_up_days
            .unwrap_or_else(|| o.map_or(DEFAULT_FOLLOW_UP_DAYS, |s| s.follow_up_days));
        let row = course_survey_setting::ActiveModel {
            course_id: Set(course_id),
            reaction_template_id: Set(reaction),
            follow_up_learner_template_id: Set(learner),
            follow_up_supervisor_template_id: Set(supervisor),
            reaction_required_for_certificate: Set(required),
            follow_up_enabled: Set(enabled),
            follow_up_days: Set(days),
            updated_by: Set(actor.person_id),
            updated_at: Set(now),
        };
        let detail = serde_json::json!({
            "reactionTemplateId": reaction.map(|u| u.to_string()),
            "followUpLearnerTemplateId": learner.map(|u| u.to_string()),
            "followUpSupervisorTemplateId": supervisor.map(|u| u.to_string()),
            "reactionRequiredForCertificate": required,
            "followUpEnabled": enabled,
            "followUpDays": days,
        });
        course_survey_setting::Entity::insert(row)
            .on_conflict(
                OnConflict::column(course_survey_setting::Column::CourseId)
                    .update_columns([
                        course_survey_setting::Column::ReactionTemplateId,
                        course_survey_setting::Column::FollowUpLearnerTemplateId,
                        course_survey_setting::Column::FollowUpSupervisorTemplateId,
                        course_survey_setting::Column::ReactionRequiredForCertificate,
                        course_survey_setting::Column::FollowUpEnabled,
                        course_survey_setting::Column::FollowUpDays,
                        course_survey_setting::Column::UpdatedBy,
                        course_survey_setting::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        identity::audit::record(
            &txn,
            actor,
            now,
            "evaluation.update_course_surveys",
            "course",
            course_id,
            detail,
        )
        .await?;
        let out = effective(&txn, course_id, now).await?;
        txn.commit().await?;
        Ok(out)
    }
}

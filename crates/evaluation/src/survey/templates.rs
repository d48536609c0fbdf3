//! Survey templates: listing, creating and editing them (admins), the default of each level,
//! and which template a course's survey uses.
//!
//! Versioning: editing a template that has no response changes it in place. Editing one that
//! has responses makes the next version of the same family and retires the old one: answers
//! keep pointing at the exact wording they answered, so results stay true, and nobody has to
//! copy a template by hand. Courses and defaults that chose the old version move to the new one
//! in the same transaction. A retired version cannot be edited.

use std::collections::HashMap;

use kernel::pagination::{Page, encode_cursor};
use kernel::{Actor, Role};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::{Dimension, QuestionKind, SurveyLevel, defaults};
use crate::Evaluation;
use crate::entity::{
    course_survey_setting, survey_default, survey_question, survey_response, survey_template,
};
use crate::error::EvaluationError;

/// Most questions in one template.
pub const MAX_QUESTIONS: usize = 100;

/// A template with its questions in order.
#[derive(Debug, Clone)]
pub struct TemplateView {
    /// The template row.
    pub template: survey_template::Model,
    /// Its questions by position.
    pub questions: Vec<survey_question::Model>,
    /// Whether it is the default of its level.
    pub is_default: bool,
}

impl TemplateView {
    /// The template's level.
    pub fn level(&self) -> SurveyLevel {
        SurveyLevel::from_stored(&self.template.level).unwrap_or(SurveyLevel::Reaction)
    }
}

/// A question as an admin writes it.
#[derive(Debug, Clone)]
pub struct QuestionSpec {
    /// Likert or text.
    pub kind: QuestionKind,
    /// Required for Likert questions.
    pub dimension: Option<Dimension>,
    /// Asked for each trainer (reaction templates only).
    pub per_trainer: bool,
    /// Whether an answer is required.
    pub required: bool,
    /// The question.
    pub text: String,
}

/// A page of templates.
#[derive(Debug, Clone)]
pub struct TemplatePage {
    /// (cursor, template) in id order.
    pub rows: Vec<(String, TemplateView)>,
    /// Whether more follow.
    pub has_next_page: bool,
}

fn validate(
    level: SurveyLevel,
    name: &str,
    questions: &[QuestionSpec],
) -> Result<(String, Vec<QuestionSpec>), EvaluationError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(EvaluationError::invalid(
            "name",
            "a name has 1 to 200 characters",
        ));
    }
    if questions.is_empty() || questions.len() > MAX_QUESTIONS {
        return Err(EvaluationError::invalid(
            "questions",
            format!("a template has 1 to {MAX_QUESTIONS} questions"),
        ));
    }
    let mut out = Vec::with_capacity(questions.len());
    for (i, q) in questions.iter().enumerate() {
        let text = q.text.trim();
        if text.is_empty() || text.chars().count() > 500 {
            return Err(EvaluationError::invalid(
                format!("questions[{i}].text"),
                "a question has 1 to 500 characters",
            ));
        }
        if q.kind == QuestionKind::Likert && q.dimension.is_none() {
            return Err(EvaluationError::invalid(
                format!("questions[{i}].dimension"),
                "a Likert question needs a dimension",
            ));
        }
        if q.per_trainer && level != SurveyLevel::Reaction {
            return Err(EvaluationError::invalid(
                format!("questions[{i}].perTrainer"),
                "only reaction surveys ask about each trainer",
            ));
        }
        out.push(QuestionSpec {
            text: text.to_owned(),
            ..q.clone()
        });
    }
    Ok((name.to_owned(), out))
}

fn question_rows(
    template_id: Uuid,
    questions: &[QuestionSpec],
) -> impl Iterator<Item = survey_question::ActiveModel> + '_ {
    questions
        .iter()
        .enumerate()
        .map(move |(i, q)| survey_question::ActiveModel {
            id: Set(kernel::new_id()),
            template_id: Set(template_id),
            position: Set(i32::try_from(i + 1).unwrap_or(i32::MAX)),
            kind: Set(q.kind.as_str().to_owned()),
            dimension: Set(q.dimension.map(|d| d.as_str().to_owned())),
            per_trainer: Set(q.per_trainer),
            required: Set(q.required),
            text: Set(q.text.clone()),
        })
}

/// The views of `templates`: two statements (questions, defaults) whatever their number.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn views_of(
    conn: &impl ConnectionTrait,
    templates: Vec<survey_template::Model>,
) -> Result<Vec<TemplateView>, EvaluationError> {
    if templates.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = templates.iter().map(|t| t.id).collect();
    let mut questions: HashMap<Uuid, Vec<survey_question::Model>> = HashMap::new();
    for q in survey_question::Entity::find()
        .filter(survey_question::Column::TemplateId.is_in(ids.clone()))
        .order_by_asc(survey_question::Column::Position)
        .all(conn)
        .await?
    {
        questions.entry(q.template_id).or_default().push(q);
    }
    let defaults: std::collections::HashSet<Uuid> = survey_default::Entity::find()
        .filter(survey_default::Column::TemplateId.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|d| d.template_id)
        .collect();
    Ok(templates
        .into_iter()
        .map(|t| TemplateView {
            questions: questions.remove(&t.id).unwrap_or_default(),
            is_default: defaults.contains(&t.id),
            template: t,
        })
        .collect())
}

/// One template with its questions.
///
/// # Errors
/// NOT_FOUND; INTERNAL on database failure.
pub async fn view(conn: &impl ConnectionTrait, id: Uuid) -> Result<TemplateView, EvaluationError> {
    let t = survey_template::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(EvaluationError::NotFound("survey template"))?;
    views_of(conn, vec![t])
        .await?
        .pop()
        .ok_or(EvaluationError::NotFound("survey template"))
}

/// The template a course's survey of `level` uses: the course's choice, or the level's
/// default (seeded when missing).
///
/// # Errors
/// INTERNAL on database failure.
pub async fn resolve(
    conn: &impl ConnectionTrait,
    level: SurveyLevel,
    settings: Option<&course_survey_setting::Model>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<TemplateView, EvaluationError> {
    let chosen = settings.and_then(|s| match level {
        SurveyLevel::Reaction => s.reaction_template_id,
        SurveyLevel::FollowUpLearner => s.follow_up_learner_template_id,
        SurveyLevel::FollowUpSupervisor => s.follow_up_supervisor_template_id,
    });
    if let Some(id) = chosen {
        return view(conn, id).await;
    }
    let mut default = survey_default::Entity::find_by_id(level.as_str())
        .one(conn)
        .await?;
    if default.is_none() {
        defaults::ensure(conn, now).await?;
        default = survey_default::Entity::find_by_id(level.as_str())
            .one(conn)
            .await?;
    }
    let default = default.ok_or(EvaluationError::Internal(format!(
        "no default {} template",
        level.as_str()
    )))?;
    view(conn, default.template_id).await
}

fn require_admin(actor: &Actor) -> Result<(), EvaluationError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(EvaluationError::Forbidden)
    }
}

/// Admins and trainers (who choose templates for their courses) may read templates.
fn require_reader(actor: &Actor) -> Result<(), EvaluationError> {
    if actor.is_admin() || actor.has(Role::Trainer) {
        Ok(())
    } else {
        Err(EvaluationError::Forbidden)
    }
}

impl Evaluation {
    /// Writes the default templates of levels that have none (see [`defaults`]); idempotent.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    pub async fn seed_default_templates(&self) -> Result<(), EvaluationError> {
        let txn = kernel::db::begin_write(&self.db).await?;
        defaults::ensure(&txn, self.clock.now()).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Templates in creation order, optionally of one level; retired versions only when asked.
    /// Admins and trainers.
    ///
    /// # Errors
    /// FORBIDDEN for others; BAD_USER_INPUT for a bad cursor; INTERNAL on database failure.
    pub async fn list_templates(
        &self,
        actor: &Actor,
        level: Option<SurveyLevel>,
        include_retired: bool,
        page: Page,
    ) -> Result<TemplatePage, EvaluationError> {
        require_reader(actor)?;
        if survey_default::Entity::find().count(&self.db).await? < SurveyLevel::ALL.len() as u64 {
            self.seed_default_templates().await?;
        }
        let mut q = survey_template::Entity::find();
        if let Some(level) = level {
            q = q.filter(survey_template::Column::Level.eq(level.as_str()));
        }
        if !include_retired {
            q = q.filter(survey_template::Column::RetiredAt.is_null());
        }
        if let Some(after) = &page.after {
            let after = Uuid::parse_str(after)
                .map_err(|_| EvaluationError::invalid("after", "invalid cursor"))?;
            q = q.filter(survey_template::Column::Id.gt(after));
        }
        let mut rows = q
            .order_by_asc(survey_template::Column::Id)
            .limit(page.fetch())
            .all(&self.db)
            .await?;
        let has_next_page = page.cut(&mut rows);
        let views = views_of(&self.db, rows).await?;
        Ok(TemplatePage {
            rows: views
                .into_iter()
                .map(|v| (encode_cursor(&v.template.id.to_string()), v))
                .collect(),
            has_next_page,
        })
    }

    /// One template. Admins and trainers.
    ///
    /// # Errors
    /// FORBIDDEN for others; NOT_FOUND; INTERNAL on database failure.
    pub async fn template(&self, actor: &Actor, id: Uuid) -> Result<TemplateView, EvaluationError> {
        require_reader(actor)?;
        view(&self.db, id).await
    }

    /// Creates a template (version 1 of a new family). Admins only; audited.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; BAD_USER_INPUT naming the field at fault; INTERNAL on
    /// database failure.
    pub async fn create_template(
        &self,
        actor: &Actor,
        level: SurveyLevel,
        name: &str,
        questions: &[QuestionSpec],
    ) -> Result<TemplateView, EvaluationError> {
        require_admin(actor)?;
        let (name, questions) = validate(level, name, questions)?;
        let now = self.clock.now();
        let id = kernel::new_id();
        let txn = kernel::db::begin_write(&self.db).await?;
        survey_template::Entity::insert(survey_template::ActiveModel {
            id: Set(id),
            family_id: Set(id),
            version: Set(1),
            level: Set(level.as_str().to_owned()),
            name: Set(name.clone()),
            created_by: Set(actor.person_id),
            created_at: Set(now),
            updated_at: Set(now),
            retired_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        survey_question::Entity::insert_many(question_rows(id, &questions))
            .exec_without_returning(&txn)
            .await?;
        identity::audit::record(
            &txn,
            actor,
            now,
            "evaluation.create_survey_template",
            "survey_template",
            id,
            serde_json::json!({"level": level.as_str(), "name": name, "questions": questions.len()}),
        )
        .await?;
        let out = view(&txn, id).await?;
        txn.commit().await?;
        Ok(out)
    }

    /// Replaces a template's name and questions. Without responses it changes in place; with
    /// responses the next version is made and takes the old one's place for courses and
    /// defaults (see the module doc). Admins only; audited.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND; CONFLICT for a retired version; BAD_USER_INPUT
    /// naming the field at fault; INTERNAL on database failure.
    pub async fn update_template(
        &self,
        actor: &Actor,
        id: Uuid,
        name: &str,
        questions: &[QuestionSpec],
    ) -> Result<TemplateView, EvaluationError> {
        require_admin(actor)?;
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let old = survey_template::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(EvaluationError::NotFound("survey template"))?;
        if old.retired_at.is_some() {
            return Err(EvaluationError::conflict(
                "this version was replaced by a newer one; edit the newest version",
            ));
        }
        let level = SurveyLevel::from_stored(&old.level)
            .ok_or_else(|| EvaluationError::Internal(format!("level of template {id}")))?;
        let (name, questions) = validate(level, name, questions)?;
        let answered = survey_response::Entity::find()
            .filter(survey_response::Column::TemplateId.eq(id))
            .count(&txn)
            .await?
            > 0;
        let target = if answered {
            let new_id = kernel::new_id();
            survey_template::Entity::insert(survey_template::ActiveModel {
                id: Set(new_id),
                family_id: Set(old.family_id),
                version: Set(old.version + 1),
                level: Set(old.level.clone()),
                name: Set(name.clone()),
                created_by: Set(actor.person_id),
                created_at: Set(now),
                updated_at: Set(now),
                retired_at: Set(None),
            })
            .exec_without_returning(&txn)
            .await?;
            survey_template::Entity::update_many()
                .col_expr(survey_template::Column::RetiredAt, Expr::value(now))
                .col_expr(survey_template::Column::UpdatedAt, Expr::value(now))
                .filter(survey_template::Column::Id.eq(id))
                .exec(&txn)
                .await?;
            for column in [
                course_survey_setting::Column::ReactionTemplateId,
                course_survey_setting::Column::FollowUpLearnerTemplateId,
                course_survey_setting::Column::FollowUpSupervisorTemplateId,
            ] {
                course_survey_setting::Entity::update_many()
                    .col_expr(column, Expr::value(new_id))
                    .filter(column.eq(id))
                    .exec(&txn)
                    .await?;
            }
            survey_default::Entity::update_many()
                .col_expr(survey_default::Column::TemplateId, Expr::value(new_id))
                .col_expr(
                    survey_default::Column::UpdatedBy,
                    Expr::value(actor.person_id),
                )
                .col_expr(survey_default::Column::UpdatedAt, Expr::value(now))
                .filter(survey_default::Column::TemplateId.eq(id))
                .exec(&txn)
                .await?;
            new_id
        } else {
            survey_question::Entity::delete_many()
                .filter(survey_question::Column::TemplateId.eq(id))
                .exec(&txn)
                .await?;
            survey_template::Entity::update_many()
                .col_expr(survey_template::Column::Name, Expr::value(name.clone()))
                .col_expr(survey_template::Column::UpdatedAt, Expr::value(now))
                .filter(survey_template::Column::Id.eq(id))
                .exec(&txn)
                .await?;
            id
        };
        survey_question::Entity::insert_many(question_rows(target, &questions))
            .exec_without_returning(&txn)
            .await?;
        identity::audit::record(
            &txn,
            actor,
            now,
            "evaluation.update_survey_template",
            "survey_template",
            id,
            serde_json::json!({
                "name": name,
                "questions": questions.len(),
                "newVersion": answered.then(|| target.to_string()),
            }),
        )
        .await?;
        let out = view(&txn, target).await?;
        txn.commit().await?;
        Ok(out)
    }

    /// Makes a template the default of its level. Admins only; audited.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND; CONFLICT for a retired version; INTERNAL on
    /// database failure.
    pub async fn set_default_template(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<TemplateView, EvaluationError> {
        require_admin(actor)?;
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        defaults::ensure(&txn, now).await?;
        let t = survey_template::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(EvaluationError::NotFound("survey template"))?;
        if t.retired_at.is_some() {
            return Err(EvaluationError::conflict(
                "this version was replaced by a newer one",
            ));
        }
        survey_default::Entity::update_many()
            .col_expr(survey_default::Column::TemplateId, Expr::value(id))
            .col_expr(
                survey_default::Column::UpdatedBy,
                Expr::value(actor.person_id),
            )
            .col_expr(survey_default::Column::UpdatedAt, Expr::value(now))
            .filter(survey_default::Column::Level.eq(t.level.clone()))
            .exec(&txn)
            .await?;
        identity::audit::record(
            &txn,
            actor,
            now,
            "evaluation.set_default_survey_template",
            "survey_template",
            id,
            serde_json::json!({"level": t.level}),
        )
        .await?;
        let out = view(&txn, id).await?;
        txn.commit().await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn likert(text: &str, dimension: Option<Dimension>) -> QuestionSpec {
        QuestionSpec {
            kind: QuestionKind::Likert,
            dimension,
            per_trainer: false,
            required: true,
            text: text.into(),
        }
    }

    #[test]
    fn a_likert_question_needs_a_dimension() {
        let err = validate(SurveyLevel::Reaction, "x", &[likert("q", None)]);
        assert!(
            matches!(err, Err(EvaluationError::Invalid { field, .. }) if field == "questions[0].dimension")
        );
    }

    #[test]
    fn only_reaction_templates_ask_per_trainer() {
        let mut q = likert("q", Some(Dimension::Trainer));
        q.per_trainer = true;
        assert!(validate(SurveyLevel::Reaction, "x", std::slice::from_ref(&q)).is_ok());
        assert!(validate(SurveyLevel::FollowUpLearner, "x", &[q]).is_err());
    }

    #[test]
    fn names_and_texts_are_trimmed_and_bounded() {
        let (name, qs) = validate(
            SurveyLevel::Reaction,
            "  Survei  ",
            &[likert("  Materi jelas. ", Some(Dimension::Material))],
        )
        .unwrap_or_default();
        assert_eq!(name, "Survei");
        assert_eq!(qs[0].text, "Materi jelas.");
        assert!(
            validate(
                SurveyLevel::Reaction,
                " ",
                &[likert("q", Some(Dimension::Material))]
            )
            .is_err()
        );
        assert!(validate(SurveyLevel::Reaction, "x", &[]).is_err());
    }
}

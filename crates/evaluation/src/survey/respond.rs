//! Answering surveys: what a person has to answer ([`Evaluation::pending_surveys`]), the form
//! of one survey with its per-trainer block expanded ([`Evaluation::survey_form`]), and the
//! submission ([`Evaluation::submit_response`]), which is checked whole and written in one
//! transaction, or not at all.
//!
//! Who answers what: the learner answers the reaction survey of an enrollment once it is
//! completed, and the learner's follow-up once it was asked; the supervisor named on the
//! follow-up request answers the supervisor's follow-up. One response per enrollment and level
//! (a unique index): a second one is CONFLICT, and the first stays as it was.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use enrollment::entity::enrollment as enrollment_entity;
use identity::entity::person;
use kernel::Actor;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::templates::TemplateView;
use super::{
    LIKERT_RANGE, MAX_TEXT_ANSWER, QuestionKind, SurveyLevel, follow_up, settings, templates,
};
use crate::Evaluation;
use crate::entity::{
    certificate, follow_up_request, survey_answer, survey_question, survey_response,
};
use crate::error::EvaluationError;

/// One answer as a client sends it.
#[derive(Debug, Clone, Default)]
pub struct AnswerInput {
    /// The question.
    pub question_id: Uuid,
    /// The trainer, for a per-trainer question.
    pub trainer_id: Option<Uuid>,
    /// 1 to 5, for a Likert question.
    pub likert: Option<i32>,
    /// For a text question.
    pub text: Option<String>,
}

/// An answer that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAnswer {
    /// The question.
    pub question_id: Uuid,
    /// The trainer, for a per-trainer question.
    pub trainer_id: Option<Uuid>,
    /// The Likert value.
    pub likert: Option<i32>,
    /// The text, trimmed.
    pub text: Option<String>,
}

/// A trainer (course owner) a per-trainer block is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trainer {
    /// The person.
    pub id: Uuid,
    /// Their name.
    pub name: String,
}

/// One item of a form: a question, for one trainer when it is asked per trainer.
#[derive(Debug, Clone)]
pub struct FormItem {
    /// The question.
    pub question: survey_question::Model,
    /// The trainer it is about.
    pub trainer: Option<Trainer>,
}

/// A survey as one respondent sees it.
#[derive(Debug, Clone)]
pub struct SurveyForm {
    /// The level.
    pub level: SurveyLevel,
    /// The enrollment it is about.
    pub enrollment: enrollment_entity::Model,
    /// The course's title.
    pub course_title: String,
    /// The learner's name (the supervisor answers about them).
    pub learner_name: String,
    /// The template in force.
    pub template: TemplateView,
    /// The questions in order, the per-trainer block repeated for each trainer.
    pub items: Vec<FormItem>,
    /// The response, once submitted.
    pub response: Option<survey_response::Model>,
    /// The follow-up request, for follow-ups.
    pub request: Option<follow_up_request::Model>,
}

/// A survey waiting for the signed-in person.
#[derive(Debug, Clone)]
pub struct PendingSurvey {
    /// The level.
    pub level: SurveyLevel,
    /// The enrollment it is about.
    pub enrollment_id: Uuid,
    /// The course.
    pub course_id: Uuid,
    /// Its title.
    pub course_title: String,
    /// The learner's name.
    pub learner_name: String,
    /// The follow-up request, for follow-ups.
    pub request: Option<follow_up_request::Model>,
}

/// What a submission wrote.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The response.
    pub response: survey_response::Model,
    /// The enrollment's certificate, when it has one now (a reaction may release it).
    pub certificate: Option<certificate::Model>,
}

/// The trainers of a course: its owners, in the order they were added.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn trainers_of(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
) -> Result<Vec<Trainer>, EvaluationError> {
    Ok(course::lifecycle::owners_of(conn, &[course_id])
        .await?
        .into_iter()
        .map(|(_, p)| Trainer {
            id: p.id,
            name: p.name,
        })
        .collect())
}

/// The items of a form: every question in order, a per-trainer question once per trainer.
pub fn expand(questions: &[survey_question::Model], trainers: &[Trainer]) -> Vec<FormItem> {
    let mut items = Vec::new();
    for q in questions {
        if q.per_trainer {
            items.extend(trainers.iter().map(|t| FormItem {
                question: q.clone(),
                trainer: Some(t.clone()),
            }));
        } else {
            items.push(FormItem {
                question: q.clone(),
                trainer: None,
            });
        }
    }
    items
}

/// Checks a whole submission against the questions and trainers. Nothing is written unless
/// every answer passes: an unknown question, a trainer who is not one of the course's, a Likert
/// value out of 1..=5, an answer of the wrong kind, a question answered twice or a required one
/// left out is BAD_USER_INPUT naming the field (`answers[2].likert`). Empty texts count as not
/// answered.
///
/// # Errors
/// As above.
pub fn check_answers(
    questions: &[survey_question::Model],
    trainers: &[Trainer],
    answers: &[AnswerInput],
) -> Result<Vec<ValidAnswer>, EvaluationError> {
    let by_id: HashMap<Uuid, &survey_question::Model> =
        questions.iter().map(|q| (q.id, q)).collect();
    let trainer_ids: HashSet<Uuid> = trainers.iter().map(|t| t.id).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(answers.len());
    for (i, a) in answers.iter().enumerate() {
        let field = |name: &str| format!("answers[{i}].{name}");
        let q = by_id.get(&a.question_id).ok_or_else(|| {
            EvaluationError::invalid(
                field("questionId"),
                "no question of this survey has this id",
            )
        })?;
        match (q.per_trainer, a.trainer_id) {
            (true, None) => {
                return Err(EvaluationError::invalid(
                    field("trainerId"),
                    "this question is asked for each trainer: name the trainer",
                ));
            }
            (true, Some(t)) if !trainer_ids.contains(&t) => {
                return Err(EvaluationError::invalid(
                    field("trainerId"),
                    "this person is not a trainer of the course",
                ));
            }
            (false, Some(_)) => {
                return Err(EvaluationError::invalid(
                    field("trainerId"),
                    "this question is not asked per trainer",
                ));
            }
            _ => {}
        }
        if !seen.insert((q.id, a.trainer_id)) {
            return Err(EvaluationError::invalid(
                field("questionId"),
                "this question is answered twice",
            ));
        }
        let text = a
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        match QuestionKind::from_stored(&q.kind) {
            QuestionKind::Likert => {
                if text.is_some() {
                    return Err(EvaluationError::invalid(
                        field("text"),
                        "a Likert question is answered with `likert`, not text",
                    ));
                }
                let Some(v) = a.likert else { continue };
                if !LIKERT_RANGE.contains(&v) {
                    return Err(EvaluationError::invalid(
                        field("likert"),
                        "a Likert answer is 1 (sangat tidak setuju) to 5 (sangat setuju)",
                    ));
                }
                out.push(ValidAnswer {
                    question_id: q.id,
                    trainer_id: a.trainer_id,
                    likert: Some(v),
                    text: None,
                });
            }
            QuestionKind::Text => {
                if a.likert.is_some() {
                    return Err(EvaluationError::invalid(
                        field("likert"),
                        "a text question is answered with `text`",
                    ));
                }
                let Some(text) = text else { continue };
                if text.chars().count() > MAX_TEXT_ANSWER {
                    return Err(EvaluationError::invalid(
                        field("text"),
                        format!("an answer has at most {MAX_TEXT_ANSWER} characters"),
                    ));
                }
                out.push(ValidAnswer {
                    question_id: q.id,
                    trainer_id: a.trainer_id,
                    likert: None,
                    text: Some(text),
                });
            }
        }
    }
    let answered: HashSet<(Uuid, Option<Uuid>)> =
        out.iter().map(|a| (a.question_id, a.trainer_id)).collect();
    for item in expand(questions, trainers) {
        let q = &item.question;
        let key = (q.id, item.trainer.as_ref().map(|t| t.id));
        if q.required && !answered.contains(&key) {
            let about = item
                .trainer
                .as_ref()
                .map(|t| format!(" for trainer {}", t.name))
                .unwrap_or_default();
            return Err(EvaluationError::invalid(
                "answers",
                format!("question {} needs an answer{about}", q.position),
            ));
        }
    }
    Ok(out)
}

/// The follow-up request of an enrollment for one audience, if asked.
async fn request_of(
    conn: &impl ConnectionTrait,
    enrollment_id: Uuid,
    audience: &str,
) -> Result<Option<follow_up_request::Model>, EvaluationError> {
    Ok(follow_up_request::Entity::find()
        .filter(follow_up_request::Column::EnrollmentId.eq(enrollment_id))
        .filter(follow_up_request::Column::Audience.eq(audience))
        .one(conn)
        .await?)
}

/// Checks that `person` may answer the `level` survey about `enrollment` now (apart from having
/// answered it already); returns the follow-up request for follow-ups.
async fn open_for(
    conn: &impl ConnectionTrait,
    person: Uuid,
    enrollment: &enrollment_entity::Model,
    level: SurveyLevel,
) -> Result<Option<follow_up_request::Model>, EvaluationError> {
    let request = match level {
        SurveyLevel::Reaction => {
            if enrollment.person_id != person {
                return Err(EvaluationError::Forbidden);
            }
            if enrollment.state != enrollment::state::COMPLETED {
                return Err(EvaluationError::conflict(
                    "the reaction survey opens once the course is completed",
                ));
            }
            return Ok(None);
        }
        SurveyLevel::FollowUpLearner => {
            if enrollment.person_id != person {
                return Err(EvaluationError::Forbidden);
            }
            request_of(conn, enrollment.id, follow_up::AUDIENCE_LEARNER)
                .await?
                .ok_or_else(|| {
                    EvaluationError::conflict(
                        "the follow-up survey of this course has not been asked yet",
                    )
                })?
        }
        SurveyLevel::FollowUpSupervisor => {
            match request_of(conn, enrollment.id, follow_up::AUDIENCE_SUPERVISOR).await? {
                Some(r) if r.person_id == person => r,
                Some(_) => return Err(EvaluationError::Forbidden),
                None => {
                    return if follow_up::supervisor_of(conn, enrollment.person_id).await?
                        == Some(person)
                    {
                        Err(EvaluationError::conflict(
                            "the follow-up survey of this course has not been asked yet",
                        ))
                    } else {
                        Err(EvaluationError::Forbidden)
                    };
                }
            }
        }
    };
    Ok(Some(request))
}

async fn response_of(
    conn: &impl ConnectionTrait,
    enrollment_id: Uuid,
    level: SurveyLevel,
) -> Result<Option<survey_response::Model>, EvaluationError> {
    Ok(survey_response::Entity::find()
        .filter(survey_response::Column::EnrollmentId.eq(enrollment_id))
        .filter(survey_response::Column::Level.eq(level.as_str()))
        .one(conn)
        .await?)
}

async fn form_parts(
    conn: &impl ConnectionTrait,
    enrollment: &enrollment_entity::Model,
    level: SurveyLevel,
    now: DateTime<Utc>,
) -> Result<(TemplateView, Vec<Trainer>), EvaluationError> {
    let stored = settings::stored(conn, enrollment.course_id).await?;
    let template = templates::resolve(conn, level, stored.as_ref(), now).await?;
    let trainers = if template.questions.iter().any(|q| q.per_trainer) {
        trainers_of(conn, enrollment.course_id).await?
    } else {
        Vec::new()
    };
    Ok((template, trainers))
}

async fn find_enrollment(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<enrollment_entity::Model, EvaluationError> {
    enrollment_entity::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(EvaluationError::NotFound("enrollment"))
}

impl Evaluation {
    /// The surveys waiting for the signed-in person: reactions of their completed enrollments
    /// not answered yet, and open follow-up requests addressed to them (as learner or as
    /// supervisor). Five statements whatever their number.
    ///
    /// # Errors
    /// UNAUTHENTICATED without a person; INTERNAL on database failure.
    pub async fn pending_surveys(
        &self,
        actor: &Actor,
    ) -> Result<Vec<PendingSurvey>, EvaluationError> {
        let person = actor.person_id.ok_or(EvaluationError::Unauthenticated)?;
        let completed = enrollment_entity::Entity::find()
            .filter(enrollment_entity::Column::PersonId.eq(person))
            .filter(enrollment_entity::Column::State.eq(enrollment::state::COMPLETED))
            .all(&self.db)
            .await?;
        let answered: HashSet<Uuid> = survey_response::Entity::find()
            .filter(survey_response::Column::Level.eq(SurveyLevel::Reaction.as_str()))
            .filter(survey_response::Column::EnrollmentId.is_in(completed.iter().map(|e| e.id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| r.enrollment_id)
            .collect();
        let requests = follow_up_request::Entity::find()
            .filter(follow_up_request::Column::PersonId.eq(person))
            .filter(follow_up_request::Column::State.eq(follow_up::STATE_OPEN))
            .all(&self.db)
            .await?;
        let course_ids: HashSet<Uuid> = completed
            .iter()
            .map(|e| e.course_id)
            .chain(requests.iter().map(|r| r.course_id))
            .collect();
        let titles: HashMap<Uuid, String> = course::entity::course::Entity::find()
            .filter(course::entity::course::Column::Id.is_in(course_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.title))
            .collect();
        let learner_ids: HashSet<Uuid> = requests.iter().map(|r| r.learner_id).collect();
        let names: HashMap<Uuid, String> = person::Entity::find()
            .filter(person::Column::Id.is_in(learner_ids.into_iter().chain([person])))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let title = |c: Uuid| titles.get(&c).cloned().unwrap_or_default();
        let name = |p: Uuid| names.get(&p).cloned().unwrap_or_default();
        let mut out: Vec<PendingSurvey> = completed
            .iter()
            .filter(|e| !answered.contains(&e.id))
            .map(|e| PendingSurvey {
                level: SurveyLevel::Reaction,
                enrollment_id: e.id,
                course_id: e.course_id,
                course_title: title(e.course_id),
                learner_name: name(person),
                request: None,
            })
            .collect();
        out.extend(requests.into_iter().map(|r| PendingSurvey {
            level: if r.audience == follow_up::AUDIENCE_SUPERVISOR {
                SurveyLevel::FollowUpSupervisor
            } else {
                SurveyLevel::FollowUpLearner
            },
            enrollment_id: r.enrollment_id,
            course_id: r.course_id,
            course_title: title(r.course_id),
            learner_name: name(r.learner_id),
            request: Some(r),
        }));
        Ok(out)
    }

    /// The form of the `level` survey about `enrollment_id`, for the person who answers it; it
    /// carries the response once submitted.
    ///
    /// # Errors
    /// UNAUTHENTICATED without a person; NOT_FOUND for an unknown enrollment; FORBIDDEN for
    /// someone who does not answer this survey; CONFLICT while it is not open (course not
    /// completed, follow-up not asked yet); INTERNAL on database failure.
    pub async fn survey_form(
        &self,
        actor: &Actor,
        enrollment_id: Uuid,
        level: SurveyLevel,
    ) -> Result<SurveyForm, EvaluationError> {
        let person = actor.person_id.ok_or(EvaluationError::Unauthenticated)?;
        let enrollment = find_enrollment(&self.db, enrollment_id).await?;
        let request = open_for(&self.db, person, &enrollment, level).await?;
        let response = response_of(&self.db, enrollment_id, level).await?;
        let (template, trainers) = match &response {
            // The form as it was answered.
            Some(r) => {
                let t = templates::view(&self.db, r.template_id).await?;
                let trainers = if t.questions.iter().any(|q| q.per_trainer) {
                    trainers_of(&self.db, enrollment.course_id).await?
                } else {
                    Vec::new()
                };
                (t, trainers)
            }
            None => form_parts(&self.db, &enrollment, level, self.clock.now()).await?,
        };
        let course_title = course::access::find_course(&self.db, enrollment.course_id)
            .await?
            .title;
        let learner_name = person::Entity::find_by_id(enrollment.person_id)
            .one(&self.db)
            .await?
            .map(|p| p.name)
            .unwrap_or_default();
        Ok(SurveyForm {
            level,
            items: expand(&template.questions, &trainers),
            template,
            enrollment,
            course_title,
            learner_name,
            response,
            request,
        })
    }

    /// Submits the `level` survey about `enrollment_id`. The whole submission is checked first
    /// ([`check_answers`]) and written in one transaction; a follow-up request becomes answered;
    /// a reaction may release the certificate, which is issued in the same transaction.
    ///
    /// # Errors
    /// As [`Evaluation::survey_form`]; CONFLICT when it was answered already or the follow-up
    /// was closed; BAD_USER_INPUT naming the answer at fault.
    pub async fn submit_response(
        &self,
        actor: &Actor,
        enrollment_id: Uuid,
        level: SurveyLevel,
        answers: &[AnswerInput],
    ) -> Result<Submitted, EvaluationError> {
        let person = actor.person_id.ok_or(EvaluationError::Unauthenticated)?;
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let enrollment = find_enrollment(&txn, enrollment_id).await?;
        let request = open_for(&txn, person, &enrollment, level).await?;
        if response_of(&txn, enrollment_id, level).await?.is_some() {
            return Err(EvaluationError::conflict(
                "this survey was already answered",
            ));
        }
        if let Some(r) = &request
            && r.state == follow_up::STATE_CLOSED
        {
            return Err(EvaluationError::conflict(
                "this follow-up survey was closed",
            ));
        }
        let (template, trainers) = form_parts(&txn, &enrollment, level, now).await?;
        let valid = check_answers(&template.questions, &trainers, answers)?;
        let response = survey_response::Model {
            id: kernel::new_id(),
            level: level.as_str().to_owned(),
            template_id: template.template.id,
            course_id: enrollment.course_id,
            cohort_id: enrollment.cohort_id,
            enrollment_id,
            respondent_id: person,
            submitted_at: now,
        };
        let inserted = survey_response::Entity::insert(survey_response::ActiveModel {
            id: Set(response.id),
            level: Set(response.level.clone()),
            template_id: Set(response.template_id),
            course_id: Set(response.course_id),
            cohort_id: Set(response.cohort_id),
            enrollment_id: Set(enrollment_id),
            respondent_id: Set(person),
            submitted_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if kernel::db::is_unique_violation(&e) => {
                return Err(EvaluationError::conflict(
                    "this survey was already answered",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        if !valid.is_empty() {
            survey_answer::Entity::insert_many(valid.into_iter().map(|a| {
                survey_answer::ActiveModel {
                    id: Set(kernel::new_id()),
                    response_id: Set(response.id),
                    question_id: Set(a.question_id),
                    trainer_id: Set(a.trainer_id),
                    likert: Set(a.likert),
                    answer_text: Set(a.text),
                }
            }))
            .exec_without_returning(&txn)
            .await?;
        }
        if let Some(r) = &request {
            follow_up_request::Entity::update_many()
                .col_expr(
                    follow_up_request::Column::State,
                    Expr::value(follow_up::STATE_ANSWERED),
                )
                .col_expr(follow_up_request::Column::AnsweredAt, Expr::value(now))
                .col_expr(
                    follow_up_request::Column::ResponseId,
                    Expr::value(response.id),
                )
                .col_expr(
                    follow_up_request::Column::NextReminderAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(follow_up_request::Column::Id.eq(r.id))
                .exec(&txn)
                .await?;
        }
        let certificate = if level == SurveyLevel::Reaction {
            crate::certificate::issue::for_enrollment(&txn, enrollment_id, now).await?
        } else {
            None
        };
        txn.commit().await?;
        Ok(Submitted {
            response,
            certificate,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(n: u128, kind: &str, per_trainer: bool, required: bool) -> survey_question::Model {
        survey_question::Model {
            id: Uuid::from_u128(n),
            template_id: Uuid::from_u128(100),
            position: n as i32,
            kind: kind.into(),
            dimension: (kind == "likert").then(|| "material".to_owned()),
            per_trainer,
            required,
            text: format!("q{n}"),
        }
    }

    fn likert(n: u128, v: i32) -> AnswerInput {
        AnswerInput {
            question_id: Uuid::from_u128(n),
            likert: Some(v),
            ..AnswerInput::default()
        }
    }

    fn field_of(r: Result<Vec<ValidAnswer>, EvaluationError>) -> String {
        match r {
            Err(EvaluationError::Invalid { field, .. }) => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn likert_answers_are_one_to_five() {
        let qs = [q(1, "likert", false, true), q(2, "likert", false, true)];
        assert_eq!(
            field_of(check_answers(&qs, &[], &[likert(1, 4), likert(2, 0)])),
            "answers[1].likert"
        );
        assert_eq!(
            field_of(check_answers(&qs, &[], &[likert(1, 6), likert(2, 3)])),
            "answers[0].likert"
        );
        assert_eq!(
            check_answers(&qs, &[], &[likert(1, 1), likert(2, 5)])
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn unknown_questions_missing_and_duplicate_answers_are_refused() {
        let qs = [q(1, "likert", false, true), q(2, "text", false, false)];
        assert_eq!(
            field_of(check_answers(&qs, &[], &[likert(9, 3)])),
            "answers[0].questionId"
        );
        assert_eq!(field_of(check_answers(&qs, &[], &[])), "answers");
        assert_eq!(
            field_of(check_answers(&qs, &[], &[likert(1, 3), likert(1, 4)])),
            "answers[1].questionId"
        );
        let blank = AnswerInput {
            question_id: Uuid::from_u128(2),
            text: Some("   ".into()),
            ..AnswerInput::default()
        };
        // An empty optional text counts as not answered.
        assert_eq!(
            check_answers(&qs, &[], &[likert(1, 3), blank])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn per_trainer_questions_are_answered_for_each_trainer() {
        let qs = [q(1, "likert", true, true)];
        let trainers = [
            Trainer {
                id: Uuid::from_u128(50),
                name: "A".into(),
            },
            Trainer {
                id: Uuid::from_u128(51),
                name: "B".into(),
            },
        ];
        let for_trainer = |t: u128, v| AnswerInput {
            trainer_id: Some(Uuid::from_u128(t)),
            ..likert(1, v)
        };
        assert_eq!(
            field_of(check_answers(&qs, &trainers, &[likert(1, 3)])),
            "answers[0].trainerId"
        );
        assert_eq!(
            field_of(check_answers(&qs, &trainers, &[for_trainer(52, 3)])),
            "answers[0].trainerId"
        );
        assert_eq!(
            field_of(check_answers(&qs, &trainers, &[for_trainer(50, 3)])),
            "answers"
        );
        let ok = check_answers(&qs, &trainers, &[for_trainer(50, 3), for_trainer(51, 4)]).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(expand(&qs, &trainers).len(), 2);
    }
}

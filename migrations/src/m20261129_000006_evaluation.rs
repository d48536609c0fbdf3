//! Evaluation: survey templates (versioned, one default per level), the surveys each course
//! chooses, responses and their answers, supervisors (atasan), follow-up requests with their
//! reminders, the notification outbox, and certificates.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum People {
    Table,
    Id,
}
#[derive(DeriveIden)]
enum Courses {
    Table,
    Id,
}
#[derive(DeriveIden)]
enum Cohorts {
    Table,
    Id,
}
#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SurveyTemplates {
    Table,
    Id,
    FamilyId,
    Version,
    Level,
    Name,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    RetiredAt,
}

#[derive(DeriveIden)]
enum SurveyQuestions {
    Table,
    Id,
    TemplateId,
    Position,
    Kind,
    Dimension,
    PerTrainer,
    Required,
    Text,
}

#[derive(DeriveIden)]
enum SurveyDefaults {
    Table,
    Level,
    TemplateId,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CourseSurveySettings {
    Table,
    CourseId,
    ReactionTemplateId,
    FollowUpLearnerTemplateId,
    FollowUpSupervisorTemplateId,
    ReactionRequiredForCertificate,
    FollowUpEnabled,
    FollowUpDays,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    Id,
    Level,
    TemplateId,
    CourseId,
    CohortId,
    EnrollmentId,
    RespondentId,
    SubmittedAt,
}

#[derive(DeriveIden)]
enum SurveyAnswers {
    Table,
    Id,
    ResponseId,
    QuestionId,
    TrainerId,
    Likert,
    AnswerText,
}

#[derive(DeriveIden)]
enum Supervisors {
    Table,
    PersonId,
    SupervisorId,
    SetBy,
    SetAt,
}

#[derive(DeriveIden)]
enum FollowUpRequests {
    Table,
    Id,
    EnrollmentId,
    CourseId,
    LearnerId,
    Audience,
    PersonId,
    State,
    DueAt,
    CreatedAt,
    ReminderCount,
    RemindedAt,
    NextReminderAt,
    AnsweredAt,
    ResponseId,
    ClosedAt,
    ClosedBy,
    CloseReason,
}

#[derive(DeriveIden)]
enum EvaluationNotifications {
    Table,
    Id,
    PersonId,
    Kind,
    FollowUpRequestId,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Id,
    Code,
    EnrollmentId,
    PersonId,
    CourseId,
    HolderName,
    HolderNip,
    CourseCode,
    CourseTitle,
    Jp,
    CompletedAt,
    IssuedAt,
}

const LEVELS: &str = "('reaction', 'follow_up_learner', 'follow_up_supervisor')";

fn index(name: &str, table: impl IntoIden, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A template is a version of a family: editing one that has responses makes the next
        // version, so answers always point at the wording they answered.
        manager
            .create_table(
                Table::create()
                    .table(SurveyTemplates::Table)
                    .col(pk_uuid(SurveyTemplates::Id))
                    .col(uuid(SurveyTemplates::FamilyId))
                    .col(integer(SurveyTemplates::Version))
                    .col(string_len(SurveyTemplates::Level, 32))
                    .col(string_len(SurveyTemplates::Name, 200))
                    .col(uuid_null(SurveyTemplates::CreatedBy))
                    .col(timestamp_with_time_zone(SurveyTemplates::CreatedAt))
                    .col(timestamp_with_time_zone(SurveyTemplates::UpdatedAt))
                    // Set when a newer version replaced it.
                    .col(timestamp_with_time_zone_null(SurveyTemplates::RetiredAt))
                    .check(Expr::cust(format!("level IN {LEVELS}")))
                    .check(Expr::cust("version >= 1"))
                    .foreign_key(&mut fk(
                        "fk_survey_templates_created_by",
                        (SurveyTemplates::Table, SurveyTemplates::CreatedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_survey_templates_family_version",
                SurveyTemplates::Table,
                &["family_id", "version"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyQuestions::Table)
                    .col(pk_uuid(SurveyQuestions::Id))
                    .col(uuid(SurveyQuestions::TemplateId))
                    .col(integer(SurveyQuestions::Position))
                    .col(string_len(SurveyQuestions::Kind, 8))
                    .col(string_len_null(SurveyQuestions::Dimension, 16))
                    // Asked once for each trainer (course owner) of the course.
                    .col(boolean(SurveyQuestions::PerTrainer))
                    .col(boolean(SurveyQuestions::Required))
                    .col(string_len(SurveyQuestions::Text, 500))
                    .check(Expr::cust("kind IN ('likert', 'text')"))
                    .check(Expr::cust(
                        "dimension IS NULL OR dimension IN ('material', 'trainer', 'organisation', 'usefulness')",
                    ))
                    .check(Expr::cust("kind = 'text' OR dimension IS NOT NULL"))
                    .check(Expr::cust("position >= 1"))
                    .foreign_key(&mut fk(
                        "fk_survey_questions_template",
                        (SurveyQuestions::Table, SurveyQuestions::TemplateId),
                        (SurveyTemplates::Table, SurveyTemplates::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_survey_questions_position",
                SurveyQuestions::Table,
                &["template_id", "position"],
                true,
            ))
            .await?;

        // One default template per level: the primary key is the level.
        manager
            .create_table(
                Table::create()
                    .table(SurveyDefaults::Table)
                    .col(string_len(SurveyDefaults::Level, 32).primary_key())
                    .col(uuid(SurveyDefaults::TemplateId))
                    .col(uuid_null(SurveyDefaults::UpdatedBy))
                    .col(timestamp_with_time_zone(SurveyDefaults::UpdatedAt))
                    .check(Expr::cust(format!("level IN {LEVELS}")))
                    .foreign_key(&mut fk(
                        "fk_survey_defaults_template",
                        (SurveyDefaults::Table, SurveyDefaults::TemplateId),
                        (SurveyTemplates::Table, SurveyTemplates::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_defaults_updated_by",
                        (SurveyDefaults::Table, SurveyDefaults::UpdatedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        // A course without a row uses the defaults: default templates, no survey required before
        // the certificate, follow-up after 90 days.
        manager
            .create_table(
                Table::create()
                    .table(CourseSurveySettings::Table)
                    .col(uuid(CourseSurveySettings::CourseId).primary_key())
                    .col(uuid_null(CourseSurveySettings::ReactionTemplateId))
                    .col(uuid_null(CourseSurveySettings::FollowUpLearnerTemplateId))
                    .col(uuid_null(
                        CourseSurveySettings::FollowUpSupervisorTemplateId,
                    ))
                    .col(boolean(
                        CourseSurveySettings::ReactionRequiredForCertificate,
                    ))
                    .col(boolean(CourseSurveySettings::FollowUpEnabled))
                    .col(integer(CourseSurveySettings::FollowUpDays))
                    .col(uuid_null(CourseSurveySettings::UpdatedBy))
                    .col(timestamp_with_time_zone(CourseSurveySettings::UpdatedAt))
                    .check(Expr::cust("follow_up_days BETWEEN 1 AND 730"))
                    .foreign_key(&mut fk(
                        "fk_course_survey_settings_course",
                        (CourseSurveySettings::Table, CourseSurveySettings::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_course_survey_settings_reaction",
                        (
                            CourseSurveySettings::Table,
                            CourseSurveySettings::ReactionTemplateId,
                        ),
                        (SurveyTemplates::Table, SurveyTemplates::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_course_survey_settings_follow_up_learner",
                        (
                            CourseSurveySettings::Table,
                            CourseSurveySettings::FollowUpLearnerTemplateId,
                        ),
                        (SurveyTemplates::Table, SurveyTemplates::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_course_survey_settings_follow_up_supervisor",
                        (
                            CourseSurveySettings::Table,
                            CourseSurveySettings::FollowUpSupervisorTemplateId,
                        ),
                        (SurveyTemplates::Table, SurveyTemplates::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_course_survey_settings_updated_by",
                        (CourseSurveySettings::Table, CourseSurveySettings::UpdatedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyResponses::Table)
                    .col(pk_uuid(SurveyResponses::Id))
                    .col(string_len(SurveyResponses::Level, 32))
                    .col(uuid(SurveyResponses::TemplateId))
                    .col(uuid(SurveyResponses::CourseId))
                    .col(uuid(SurveyResponses::CohortId))
                    .col(uuid(SurveyResponses::EnrollmentId))
                    .col(uuid(SurveyResponses::RespondentId))
                    .col(timestamp_with_time_zone(SurveyResponses::SubmittedAt))
                    .check(Expr::cust(format!("level IN {LEVELS}")))
                    .foreign_key(&mut fk(
                        "fk_survey_responses_template",
                        (SurveyResponses::Table, SurveyResponses::TemplateId),
                        (SurveyTemplates::Table, SurveyTemplates::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_responses_course",
                        (SurveyResponses::Table, SurveyResponses::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_responses_cohort",
                        (SurveyResponses::Table, SurveyResponses::CohortId),
                        (Cohorts::Table, Cohorts::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_responses_enrollment",
                        (SurveyResponses::Table, SurveyResponses::EnrollmentId),
                        (Enrollments::Table, Enrollments::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_responses_respondent",
                        (SurveyResponses::Table, SurveyResponses::RespondentId),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One response per survey level and enrollment (the enrollment names the learner and
        // the cohort): a second submission is refused by the database, whatever the race.
        manager
            .create_index(index(
                "uq_survey_responses_enrollment_level",
                SurveyResponses::Table,
                &["enrollment_id", "level"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_survey_responses_course",
                SurveyResponses::Table,
                &["course_id", "level"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyAnswers::Table)
                    .col(pk_uuid(SurveyAnswers::Id))
                    .col(uuid(SurveyAnswers::ResponseId))
                    .col(uuid(SurveyAnswers::QuestionId))
                    // The trainer a per-trainer question was answered about.
                    .col(uuid_null(SurveyAnswers::TrainerId))
                    .col(integer_null(SurveyAnswers::Likert))
                    .col(text_null(SurveyAnswers::AnswerText))
                    .check(Expr::cust("likert IS NULL OR likert BETWEEN 1 AND 5"))
                    .check(Expr::cust("likert IS NOT NULL OR answer_text IS NOT NULL"))
                    .foreign_key(&mut fk(
                        "fk_survey_answers_response",
                        (SurveyAnswers::Table, SurveyAnswers::ResponseId),
                        (SurveyResponses::Table, SurveyResponses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_answers_question",
                        (SurveyAnswers::Table, SurveyAnswers::QuestionId),
                        (SurveyQuestions::Table, SurveyQuestions::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_survey_answers_trainer",
                        (SurveyAnswers::Table, SurveyAnswers::TrainerId),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_survey_answers_response",
                SurveyAnswers::Table,
                &["response_id"],
                false,
            ))
            .await?;

        // A person's supervisor (atasan), kept beside `people` rather than in it: identity owns
        // that table and its entity, and only evaluation reads this relation.
        manager
            .create_table(
                Table::create()
                    .table(Supervisors::Table)
                    .col(uuid(Supervisors::PersonId).primary_key())
                    .col(uuid(Supervisors::SupervisorId))
                    .col(uuid_null(Supervisors::SetBy))
                    .col(timestamp_with_time_zone(Supervisors::SetAt))
                    .check(Expr::cust("person_id <> supervisor_id"))
                    .foreign_key(&mut fk(
                        "fk_supervisors_person",
                        (Supervisors::Table, Supervisors::PersonId),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_supervisors_supervisor",
                        (Supervisors::Table, Supervisors::SupervisorId),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_supervisors_set_by",
                        (Supervisors::Table, Supervisors::SetBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_supervisors_supervisor",
                Supervisors::Table,
                &["supervisor_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FollowUpRequests::Table)
                    .col(pk_uuid(FollowUpRequests::Id))
                    .col(uuid(FollowUpRequests::EnrollmentId))
                    .col(uuid(FollowUpRequests::CourseId))
                    .col(uuid(FollowUpRequests::LearnerId))
                    .col(string_len(FollowUpRequests::Audience, 16))
                    // Who is asked: the learner, or their supervisor.
                    .col(uuid(FollowUpRequests::PersonId))
                    .col(string_len(FollowUpRequests::State, 16))
                    .col(timestamp_with_time_zone(FollowUpRequests::DueAt))
                    .col(timestamp_with_time_zone(FollowUpRequests::CreatedAt))
                    .col(integer(FollowUpRequests::ReminderCount).default(0))
                    .col(timestamp_with_time_zone_null(FollowUpRequests::RemindedAt))
                    .col(timestamp_with_time_zone_null(
                        FollowUpRequests::NextReminderAt,
                    ))
                    .col(timestamp_with_time_zone_null(FollowUpRequests::AnsweredAt))
                    .col(uuid_null(FollowUpRequests::ResponseId))
                    .col(timestamp_with_time_zone_null(FollowUpRequests::ClosedAt))
                    .col(uuid_null(FollowUpRequests::ClosedBy))
                    .col(string_len_null(FollowUpRequests::CloseReason, 32))
                    .check(Expr::cust("audience IN ('learner', 'supervisor')"))
                    .check(Expr::cust("state IN ('open', 'answered', 'closed')"))
                    .check(Expr::cust("reminder_count >= 0"))
                    .check(Expr::cust(
                        "close_reason IS NULL OR close_reason IN ('no_response', 'admin')",
                    ))
                    .foreign_key(&mut fk(
                        "fk_follow_up_requests_enrollment",
                        (FollowUpRequests::Table, FollowUpRequests::EnrollmentId),
                        (Enrollments::Table, Enrollments::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_follow_up_requests_course",
                        (FollowUpRequests::Table, FollowUpRequests::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_follow_up_requests_learner",
                        (FollowUpRequests::Table, FollowUpRequests::LearnerId),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_follow_up_requests_person",
                        (FollowUpRequests::Table, FollowUpRequests::PersonId),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_follow_up_requests_response",
                        (FollowUpRequests::Table, FollowUpRequests::ResponseId),
                        (SurveyResponses::Table, SurveyResponses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_follow_up_requests_closed_by",
                        (FollowUpRequests::Table, FollowUpRequests::ClosedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // The sweep that creates requests is idempotent: one request per enrollment and audience.
        manager
            .create_index(index(
                "uq_follow_up_requests_enrollment_audience",
                FollowUpRequests::Table,
                &["enrollment_id", "audience"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_follow_up_requests_person",
                FollowUpRequests::Table,
                &["person_id", "state"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_follow_up_requests_reminder",
                FollowUpRequests::Table,
                &["state", "next_reminder_at"],
                false,
            ))
            .await?;

        // The outbox: what a mailer or a push service would deliver (none exists yet).
        manager
            .create_table(
                Table::create()
                    .table(EvaluationNotifications::Table)
                    .col(pk_uuid(EvaluationNotifications::Id))
                    .col(uuid(EvaluationNotifications::PersonId))
                    .col(string_len(EvaluationNotifications::Kind, 32))
                    .col(uuid_null(EvaluationNotifications::FollowUpRequestId))
                    .col(timestamp_with_time_zone(EvaluationNotifications::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        EvaluationNotifications::DeliveredAt,
                    ))
                    .check(Expr::cust(
                        "kind IN ('follow_up_requested', 'follow_up_reminder')",
                    ))
                    .foreign_key(&mut fk(
                        "fk_evaluation_notifications_person",
                        (
                            EvaluationNotifications::Table,
                            EvaluationNotifications::PersonId,
                        ),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_evaluation_notifications_request",
                        (
                            EvaluationNotifications::Table,
                            EvaluationNotifications::FollowUpRequestId,
                        ),
                        (FollowUpRequests::Table, FollowUpRequests::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_evaluation_notifications_person",
                EvaluationNotifications::Table,
                &["person_id", "created_at"],
                false,
            ))
            .await?;

        // A certificate is a snapshot: the holder's name and NIP, the course and its JP as they
        // were when it was issued.
        manager
            .create_table(
                Table::create()
                    .table(Certificates::Table)
                    .col(pk_uuid(Certificates::Id))
                    // Ten characters of an alphabet without 0, O, 1, I and L; shown grouped.
                    .col(string_len(Certificates::Code, 10))
                    .col(uuid(Certificates::EnrollmentId))
                    .col(uuid(Certificates::PersonId))
                    .col(uuid(Certificates::CourseId))
                    .col(string_len(Certificates::HolderName, 200))
                    .col(string_len_null(Certificates::HolderNip, 18))
                    .col(string_len(Certificates::CourseCode, 32))
                    .col(string_len(Certificates::CourseTitle, 200))
                    .col(integer(Certificates::Jp))
                    .col(timestamp_with_time_zone(Certificates::CompletedAt))
                    .col(timestamp_with_time_zone(Certificates::IssuedAt))
                    .check(Expr::cust("jp >= 0"))
                    .check(Expr::cust("length(code) = 10"))
                    .foreign_key(&mut fk(
                        "fk_certificates_enrollment",
                        (Certificates::Table, Certificates::EnrollmentId),
                        (Enrollments::Table, Enrollments::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_certificates_person",
                        (Certificates::Table, Certificates::PersonId),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_certificates_course",
                        (Certificates::Table, Certificates::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One certificate per enrollment; one certificate per code.
        manager
            .create_index(index(
                "uq_certificates_enrollment",
                Certificates::Table,
                &["enrollment_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "uq_certificates_code",
                Certificates::Table,
                &["code"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_certificates_person",
                Certificates::Table,
                &["person_id"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_certificates_course",
                Certificates::Table,
                &["course_id"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Certificates::Table.into_iden(),
            EvaluationNotifications::Table.into_iden(),
            FollowUpRequests::Table.into_iden(),
            Supervisors::Table.into_iden(),
            SurveyAnswers::Table.into_iden(),
            SurveyResponses::Table.into_iden(),
            CourseSurveySettings::Table.into_iden(),
            SurveyDefaults::Table.into_iden(),
            SurveyQuestions::Table.into_iden(),
            SurveyTemplates::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

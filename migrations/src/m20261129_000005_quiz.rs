//! Question banks (per course, or shared and lent to courses), versioned questions, quizzes as
//! lessons, attempts with their items, per-learner results, and admin grants.

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
enum Lessons {
    Table,
    Id,
}
#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum QuestionBanks {
    Table,
    Id,
    CourseId,
    Title,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ArchivedAt,
}

#[derive(DeriveIden)]
enum QuestionBankLoans {
    Table,
    BankId,
    CourseId,
    LentBy,
    LentAt,
}

#[derive(DeriveIden)]
enum Questions {
    Table,
    Id,
    BankId,
    CurrentVersion,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ArchivedAt,
}

#[derive(DeriveIden)]
enum QuestionTags {
    Table,
    QuestionId,
    Tag,
}

#[derive(DeriveIden)]
enum QuestionVersions {
    Table,
    Id,
    QuestionId,
    Version,
    Kind,
    Prompt,
    Points,
    Body,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Quizzes {
    Table,
    Id,
    LessonId,
    CourseId,
    Kind,
    Selection,
    DrawBankId,
    DrawTag,
    DrawCount,
    ShuffleQuestions,
    ShuffleOptions,
    TimeLimitSeconds,
    OpensAt,
    ClosesAt,
    MaxAttempts,
    GradingMethod,
    PassingPercent,
    ReviewPolicy,
    PairedQuizId,
    FormPolicy,
    GatesMaterial,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum QuizQuestions {
    Table,
    QuizId,
    QuestionId,
    Position,
}

#[derive(DeriveIden)]
enum QuizAttempts {
    Table,
    Id,
    QuizId,
    PersonId,
    EnrollmentId,
    Number,
    State,
    StartedAt,
    DeadlineAt,
    SubmittedAt,
    ClosedBy,
    Score,
    MaxScore,
    Percent,
    Passed,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AttemptItems {
    Table,
    Id,
    AttemptId,
    Position,
    QuestionId,
    QuestionVersionId,
    Layout,
    Answer,
    AnswerSeq,
    AnsweredAt,
    SavedAt,
    Score,
    MaxScore,
}

#[derive(DeriveIden)]
enum QuizResults {
    Table,
    QuizId,
    PersonId,
    EnrollmentId,
    Attempts,
    FirstPercent,
    FinalPercent,
    Passed,
    FirstPassedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum QuizGrants {
    Table,
    Id,
    QuizId,
    PersonId,
    ExtraAttempts,
    ExtraSeconds,
    Reason,
    GrantedBy,
    CreatedAt,
}

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
        manager
            .create_table(
                Table::create()
                    .table(QuestionBanks::Table)
                    .col(pk_uuid(QuestionBanks::Id))
                    // Null: a shared bank, owned by admins and lent to courses.
                    .col(uuid_null(QuestionBanks::CourseId))
                    .col(string_len(QuestionBanks::Title, 200))
                    .col(uuid(QuestionBanks::CreatedBy))
                    .col(timestamp_with_time_zone(QuestionBanks::CreatedAt))
                    .col(timestamp_with_time_zone(QuestionBanks::UpdatedAt))
                    .col(timestamp_with_time_zone_null(QuestionBanks::ArchivedAt))
                    .foreign_key(&mut fk(
                        "fk_question_banks_course",
                        (QuestionBanks::Table, QuestionBanks::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_question_banks_created_by",
                        (QuestionBanks::Table, QuestionBanks::CreatedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_question_banks_course",
                QuestionBanks::Table,
                &["course_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QuestionBankLoans::Table)
                    .col(uuid(QuestionBankLoans::BankId))
                    .col(uuid(QuestionBankLoans::CourseId))
                    .col(uuid(QuestionBankLoans::LentBy))
                    .col(timestamp_with_time_zone(QuestionBankLoans::LentAt))
                    .primary_key(
                        Index::create()
                            .col(QuestionBankLoans::BankId)
                            .col(QuestionBankLoans::CourseId),
                    )
                    .foreign_key(&mut fk(
                        "fk_question_bank_loans_bank",
                        (QuestionBankLoans::Table, QuestionBankLoans::BankId),
                        (QuestionBanks::Table, QuestionBanks::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_question_bank_loans_course",
                        (QuestionBankLoans::Table, QuestionBankLoans::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_question_bank_loans_lent_by",
                        (QuestionBankLoans::Table, QuestionBankLoans::LentBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_question_bank_loans_course",
                QuestionBankLoans::Table,
                &["course_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Questions::Table)
                    .col(pk_uuid(Questions::Id))
                    .col(uuid(Questions::BankId))
                    // The version new attempts get; older versions stay for the attempts that
                    // were given them.
                    .col(integer(Questions::CurrentVersion))
                    .col(uuid(Questions::CreatedBy))
                    .col(timestamp_with_time_zone(Questions::CreatedAt))
                    .col(timestamp_with_time_zone(Questions::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Questions::ArchivedAt))
                    .check(Expr::cust("current_version >= 1"))
                    .foreign_key(&mut fk(
                        "fk_questions_bank",
                        (Questions::Table, Questions::BankId),
                        (QuestionBanks::Table, QuestionBanks::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_questions_created_by",
                        (Questions::Table, Questions::CreatedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_questions_bank",
                Questions::Table,
                &["bank_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QuestionTags::Table)
                    .col(uuid(QuestionTags::QuestionId))
                    .col(string_len(QuestionTags::Tag, 50))
                    .primary_key(
                        Index::create()
                            .col(QuestionTags::QuestionId)
                            .col(QuestionTags::Tag),
                    )
                    .foreign_key(&mut fk(
                        "fk_question_tags_question",
                        (QuestionTags::Table, QuestionTags::QuestionId),
                        (Questions::Table, Questions::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_question_tags_tag",
                QuestionTags::Table,
                &["tag"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QuestionVersions::Table)
                    .col(pk_uuid(QuestionVersions::Id))
                    .col(uuid(QuestionVersions::QuestionId))
                    .col(integer(QuestionVersions::Version))
                    .col(string_len(QuestionVersions::Kind, 24))
                    .col(text(QuestionVersions::Prompt))
                    .col(double(QuestionVersions::Points))
                    // JSON: options and their correctness, accepted answers, tolerance, pairs.
                    // Never sent to a learner as such.
                    .col(text(QuestionVersions::Body))
                    .col(uuid(QuestionVersions::CreatedBy))
                    .col(timestamp_with_time_zone(QuestionVersions::CreatedAt))
                    .check(Expr::cust(
                        "kind IN ('single_choice', 'multiple_choice', 'true_false', 'short_text', 'numeric', 'matching')",
                    ))
                    .check(Expr::cust("points > 0"))
                    .check(Expr::cust("version >= 1"))
                    .foreign_key(&mut fk(
                        "fk_question_versions_question",
                        (QuestionVersions::Table, QuestionVersions::QuestionId),
                        (Questions::Table, Questions::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_question_versions_created_by",
                        (QuestionVersions::Table, QuestionVersions::CreatedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_question_versions_question_version",
                QuestionVersions::Table,
                &["question_id", "version"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Quizzes::Table)
                    .col(pk_uuid(Quizzes::Id))
                    .col(uuid_uniq(Quizzes::LessonId))
                    .col(uuid(Quizzes::CourseId))
                    .col(string_len(Quizzes::Kind, 16))
                    .col(string_len(Quizzes::Selection, 16))
                    .col(uuid_null(Quizzes::DrawBankId))
                    .col(string_len_null(Quizzes::DrawTag, 50))
                    .col(integer_null(Quizzes::DrawCount))
                    .col(boolean(Quizzes::ShuffleQuestions))
                    .col(boolean(Quizzes::ShuffleOptions))
                    // Null: no time limit (the close of the window still ends an attempt).
                    .col(integer_null(Quizzes::TimeLimitSeconds))
                    .col(timestamp_with_time_zone_null(Quizzes::OpensAt))
                    .col(timestamp_with_time_zone_null(Quizzes::ClosesAt))
                    // Null: unlimited attempts.
                    .col(integer_null(Quizzes::MaxAttempts))
                    .col(string_len(Quizzes::GradingMethod, 16))
                    .col(double(Quizzes::PassingPercent))
                    .col(string_len(Quizzes::ReviewPolicy, 24))
                    // A post-test's pre-test (the pair whose scores make the learning gain).
                    .col(uuid_null(Quizzes::PairedQuizId))
                    .col(string_len_null(Quizzes::FormPolicy, 16))
                    .col(boolean(Quizzes::GatesMaterial))
                    .col(timestamp_with_time_zone(Quizzes::CreatedAt))
                    .col(timestamp_with_time_zone(Quizzes::UpdatedAt))
                    .check(Expr::cust(
                        "kind IN ('pre_test', 'post_test', 'practice', 'graded')",
                    ))
                    .check(Expr::cust("selection IN ('fixed', 'random')"))
                    .check(Expr::cust(
                        "grading_method IN ('highest', 'last', 'average')",
                    ))
                    .check(Expr::cust(
                        "review_policy IN ('score_only', 'after_submit', 'after_close')",
                    ))
                    .check(Expr::cust(
                        "form_policy IS NULL OR form_policy IN ('same', 'parallel')",
                    ))
                    .check(Expr::cust(
                        "passing_percent >= 0 AND passing_percent <= 100",
                    ))
                    .check(Expr::cust(
                        "time_limit_seconds IS NULL OR time_limit_seconds > 0",
                    ))
                    .check(Expr::cust("max_attempts IS NULL OR max_attempts > 0"))
                    .check(Expr::cust("draw_count IS NULL OR draw_count > 0"))
                    .foreign_key(&mut fk(
                        "fk_quizzes_lesson",
                        (Quizzes::Table, Quizzes::LessonId),
                        (Lessons::Table, Lessons::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_quizzes_course",
                        (Quizzes::Table, Quizzes::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_quizzes_draw_bank",
                        (Quizzes::Table, Quizzes::DrawBankId),
                        (QuestionBanks::Table, QuestionBanks::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_quizzes_paired",
                        (Quizzes::Table, Quizzes::PairedQuizId),
                        (Quizzes::Table, Quizzes::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_quizzes_course",
                Quizzes::Table,
                &["course_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QuizQuestions::Table)
                    .col(uuid(QuizQuestions::QuizId))
                    .col(uuid(QuizQuestions::QuestionId))
                    .col(integer(QuizQuestions::Position))
                    .primary_key(
                        Index::create()
                            .col(QuizQuestions::QuizId)
                            .col(QuizQuestions::QuestionId),
                    )
                    .foreign_key(&mut fk(
                        "fk_quiz_questions_quiz",
                        (QuizQuestions::Table, QuizQuestions::QuizId),
                        (Quizzes::Table, Quizzes::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_quiz_questions_question",
                        (QuizQuestions::Table, QuizQuestions::QuestionId),
                        (Questions::Table, Questions::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QuizAttempts::Table)
                    .col(pk_uuid(QuizAttempts::Id))
                    .col(uuid(QuizAttempts::QuizId))
                    .col(uuid(QuizAttempts::PersonId))
                    .col(uuid(QuizAttempts::EnrollmentId))
                    .col(integer(QuizAttempts::Number))
                    .col(string_len(QuizAttempts::State, 16))
                    .col(timestamp_with_time_zone(QuizAttempts::StartedAt))
                    // Null: neither a time limit nor a closing time.
                    .col(timestamp_with_time_zone_null(QuizAttempts::DeadlineAt))
                    .col(timestamp_with_time_zone_null(QuizAttempts::SubmittedAt))
                    .col(string_len_null(QuizAttempts::ClosedBy, 16))
                    .col(double_null(QuizAttempts::Score))
                    .col(double(QuizAttempts::MaxScore))
                    .col(double_null(QuizAttempts::Percent))
                    .col(boolean_null(QuizAttempts::Passed))
                    .col(timestamp_with_time_zone(QuizAttempts::CreatedAt))
                    .col(timestamp_with_time_zone(QuizAttempts::UpdatedAt))
                    .check(Expr::cust("state IN ('open', 'graded')"))
                    .check(Expr::cust(
                        "closed_by IS NULL OR closed_by IN ('learner', 'deadline')",
                    ))
                    .check(Expr::cust("number >= 1"))
                    .foreign_key(&mut fk(
                        "fk_quiz_attempts_quiz",
                        (QuizAttempts::Table, QuizAttempts::QuizId),
                        (Quizzes::Table, Quizzes::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_quiz_attempts_person",
                        (QuizAttempts::Table, QuizAttempts::PersonId),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_quiz_attempts_enrollment",
                        (QuizAttempts::Table, QuizAttempts::EnrollmentId),
                        (Enrollments::Table, Enrollments::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // Two concurrent starts cannot both take attempt number n.
        manager
            .create_index(index(
                "idx_quiz_attempts_number",
                QuizAttempts::Table,
                &["quiz_id", "person_id", "number"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AttemptItems::Table)
                    .col(pk_uuid(AttemptItems::Id))
                    .col(uuid(AttemptItems::AttemptId))
                    .col(integer(AttemptItems::Position))
                    .col(uuid(AttemptItems::QuestionId))
                    .col(uuid(AttemptItems::QuestionVersionId))
                    // JSON: the order the options (or matching choices) were shown in.
                    .col(text(AttemptItems::Layout))
                    // JSON: the learner's last saved answer.
                    .col(text_null(AttemptItems::Answer))
                    .col(big_integer_null(AttemptItems::AnswerSeq))
                    .col(timestamp_with_time_zone_null(AttemptItems::AnsweredAt))
                    .col(timestamp_with_time_zone_null(AttemptItems::SavedAt))
                    .col(double_null(AttemptItems::Score))
                    .col(double(AttemptItems::MaxScore))
                    .foreign_key(&mut fk(
                        "fk_attempt_items_attempt",
                        (AttemptItems::Table, AttemptItems::AttemptId),
                        (QuizAttempts::Table, QuizAttempts::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_attempt_items_question",
                        (AttemptItems::Table, AttemptItems::QuestionId),
                        (Questions::Table, Questions::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_attempt_items_version",
                        (AttemptItems::Table, AttemptItems::QuestionVersionId),
                        (QuestionVersions::Table, QuestionVersions::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_attempt_items_attempt_question",
                AttemptItems::Table,
                &["attempt_id", "question_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_attempt_items_version",
                AttemptItems::Table,
                &["question_version_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QuizResults::Table)
                    .col(uuid(QuizResults::QuizId))
                    .col(uuid(QuizResults::PersonId))
                    .col(uuid(QuizResults::EnrollmentId))
                    .col(integer(QuizResults::Attempts))
                    // The first graded attempt (a pre-test's baseline).
                    .col(double(QuizResults::FirstPercent))
                    // By the quiz's grading method.
                    .col(double(QuizResults::FinalPercent))
                    .col(boolean(QuizResults::Passed))
                    .col(timestamp_with_time_zone_null(QuizResults::FirstPassedAt))
                    .col(timestamp_with_time_zone(QuizResults::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(QuizResults::QuizId)
                            .col(QuizResults::PersonId),
                    )
                    .foreign_key(&mut fk(
                        "fk_quiz_results_quiz",
                        (QuizResults::Table, QuizResults::QuizId),
                        (Quizzes::Table, Quizzes::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_quiz_results_person",
                        (QuizResults::Table, QuizResults::PersonId),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_quiz_results_enrollment",
                        (QuizResults::Table, QuizResults::EnrollmentId),
                        (Enrollments::Table, Enrollments::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QuizGrants::Table)
                    .col(pk_uuid(QuizGrants::Id))
                    .col(uuid(QuizGrants::QuizId))
                    .col(uuid(QuizGrants::PersonId))
                    .col(integer(QuizGrants::ExtraAttempts))
                    .col(integer(QuizGrants::ExtraSeconds))
                    .col(string_len(QuizGrants::Reason, 500))
                    .col(uuid(QuizGrants::GrantedBy))
                    .col(timestamp_with_time_zone(QuizGrants::CreatedAt))
                    .check(Expr::cust("extra_attempts >= 0 AND extra_seconds >= 0"))
                    .foreign_key(&mut fk(
                        "fk_quiz_grants_quiz",
                        (QuizGrants::Table, QuizGrants::QuizId),
                        (Quizzes::Table, Quizzes::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_quiz_grants_person",
                        (QuizGrants::Table, QuizGrants::PersonId),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_quiz_grants_granted_by",
                        (QuizGrants::Table, QuizGrants::GrantedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_quiz_grants_quiz_person",
                QuizGrants::Table,
                &["quiz_id", "person_id"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            QuizGrants::Table.into_iden(),
            QuizResults::Table.into_iden(),
            AttemptItems::Table.into_iden(),
            QuizAttempts::Table.into_iden(),
            QuizQuestions::Table.into_iden(),
            Quizzes::Table.into_iden(),
            QuestionVersions::Table.into_iden(),
            QuestionTags::Table.into_iden(),
            Questions::Table.into_iden(),
            QuestionBankLoans::Table.into_iden(),
            QuestionBanks::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

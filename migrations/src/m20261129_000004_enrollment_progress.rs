//! Cohorts, enrollments and assignment rules; lesson progress, progress events and the JP ledger.

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
enum Units {
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
enum Cohorts {
    Table,
    Id,
    CourseId,
    Name,
    EnrollOpensAt,
    EnrollClosesAt,
    StartsAt,
    DueAt,
    Capacity,
    SelfEnrollment,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ArchivedAt,
}

#[derive(DeriveIden)]
enum AssignmentRules {
    Table,
    Id,
    CohortId,
    Kind,
    UnitId,
    Value,
    DueAt,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
    CohortId,
    CourseId,
    PersonId,
    State,
    Source,
    RuleId,
    RequestedAt,
    ActivatedAt,
    CompletedAt,
    EndedAt,
    DueAt,
    ProgressPercent,
    RequiredDone,
    RequiredTotal,
    NextLessonId,
    LastActivityAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LessonProgress {
    Table,
    Id,
    EnrollmentId,
    LessonId,
    PersonId,
    WatchedIntervals,
    WatchedSeconds,
    PagesViewed,
    Opened,
    PositionSeconds,
    PositionAt,
    CompletedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProgressEvents {
    Table,
    Id,
    ClientEventId,
    PersonId,
    EnrollmentId,
    LessonId,
    Kind,
    FromSeconds,
    ToSeconds,
    PositionSeconds,
    Page,
    OccurredAt,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum JpLedger {
    Table,
    Id,
    PersonId,
    Year,
    CourseId,
    EnrollmentId,
    Jp,
    Source,
    Description,
    EarnedAt,
    RecordedBy,
    CreatedAt,
}

fn index(name: &str, table: impl IntoIden, cols: Vec<Alias>) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c);
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Cohorts::Table)
                    .col(pk_uuid(Cohorts::Id))
                    .col(uuid(Cohorts::CourseId))
                    .col(string_len(Cohorts::Name, 200))
                    .col(timestamp_with_time_zone_null(Cohorts::EnrollOpensAt))
                    .col(timestamp_with_time_zone_null(Cohorts::EnrollClosesAt))
                    .col(timestamp_with_time_zone_null(Cohorts::StartsAt))
                    .col(timestamp_with_time_zone_null(Cohorts::DueAt))
                    // Null: unlimited seats.
                    .col(integer_null(Cohorts::Capacity))
                    .col(string_len(Cohorts::SelfEnrollment, 16))
                    .col(uuid(Cohorts::CreatedBy))
                    .col(timestamp_with_time_zone(Cohorts::CreatedAt))
                    .col(timestamp_with_time_zone(Cohorts::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Cohorts::ArchivedAt))
                    .check(Expr::cust(
                        "self_enrollment IN ('open', 'approval', 'closed')",
                    ))
                    .check(Expr::cust("capacity IS NULL OR capacity > 0"))
                    .foreign_key(&mut fk(
                        "fk_cohorts_course",
                        (Cohorts::Table, Cohorts::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_cohorts_created_by",
                        (Cohorts::Table, Cohorts::CreatedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_cohorts_course",
                Cohorts::Table,
                vec![Alias::new("course_id")],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AssignmentRules::Table)
                    .col(pk_uuid(AssignmentRules::Id))
                    .col(uuid(AssignmentRules::CohortId))
                    // unit_subtree (unit_id), position or grade (value); a NIP list is a one-off
                    // assignment, not a standing rule.
                    .col(string_len(AssignmentRules::Kind, 16))
                    .col(uuid_null(AssignmentRules::UnitId))
                    .col(string_len_null(AssignmentRules::Value, 200))
                    .col(timestamp_with_time_zone_null(AssignmentRules::DueAt))
                    .col(uuid(AssignmentRules::CreatedBy))
                    .col(timestamp_with_time_zone(AssignmentRules::CreatedAt))
                    .col(timestamp_with_time_zone_null(AssignmentRules::RevokedAt))
                    .check(Expr::cust("kind IN ('unit_subtree', 'position', 'grade')"))
                    .foreign_key(&mut fk(
                        "fk_assignment_rules_cohort",
                        (AssignmentRules::Table, AssignmentRules::CohortId),
                        (Cohorts::Table, Cohorts::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_assignment_rules_unit",
                        (AssignmentRules::Table, AssignmentRules::UnitId),
                        (Units::Table, Units::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_assignment_rules_created_by",
                        (AssignmentRules::Table, AssignmentRules::CreatedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Enrollments::Table)
                    .col(pk_uuid(Enrollments::Id))
                    .col(uuid(Enrollments::CohortId))
                    .col(uuid(Enrollments::CourseId))
                    .col(uuid(Enrollments::PersonId))
                    .col(string_len(Enrollments::State, 16))
                    .col(string_len(Enrollments::Source, 16))
                    .col(uuid_null(Enrollments::RuleId))
                    .col(timestamp_with_time_zone(Enrollments::RequestedAt))
                    .col(timestamp_with_time_zone_null(Enrollments::ActivatedAt))
                    .col(timestamp_with_time_zone_null(Enrollments::CompletedAt))
                    .col(timestamp_with_time_zone_null(Enrollments::EndedAt))
                    .col(timestamp_with_time_zone_null(Enrollments::DueAt))
                    // Kept up to date as progress arrives, so rosters sort by it without
                    // computing anything per request.
                    .col(double(Enrollments::ProgressPercent).default(0.0))
                    .col(integer(Enrollments::RequiredDone).default(0))
                    .col(integer(Enrollments::RequiredTotal).default(0))
                    .col(uuid_null(Enrollments::NextLessonId))
                    .col(timestamp_with_time_zone_null(Enrollments::LastActivityAt))
                    .col(timestamp_with_time_zone(Enrollments::CreatedAt))
                    .col(timestamp_with_time_zone(Enrollments::UpdatedAt))
                    .check(Expr::cust("state IN ('pending', 'waitlisted', 'active', 'completed', 'withdrawn', 'expired', 'rejected')"))
                    .check(Expr::cust("source IN ('self', 'assigned', 'rule')"))
                    .foreign_key(&mut fk("fk_enrollments_cohort", (Enrollments::Table, Enrollments::CohortId), (Cohorts::Table, Cohorts::Id)))
                    .foreign_key(&mut fk("fk_enrollments_course", (Enrollments::Table, Enrollments::CourseId), (Courses::Table, Courses::Id)))
                    .foreign_key(&mut fk("fk_enrollments_person", (Enrollments::Table, Enrollments::PersonId), (People::Table, People::Id)))
                    .foreign_key(&mut fk("fk_enrollments_rule", (Enrollments::Table, Enrollments::RuleId), (AssignmentRules::Table, AssignmentRules::Id)))
                    .to_owned(),
            )
            .await?;
        // One enrollment per person and cohort: enrolling twice returns the existing one.
        manager
            .create_index(
                index(
                    "uq_enrollments_cohort_person",
                    Enrollments::Table,
                    vec![Alias::new("cohort_id"), Alias::new("person_id")],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_enrollments_person",
                Enrollments::Table,
                vec![Alias::new("person_id"), Alias::new("state")],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_enrollments_roster",
                Enrollments::Table,
                vec![Alias::new("cohort_id"), Alias::new("progress_percent")],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_enrollments_course",
                Enrollments::Table,
                vec![Alias::new("course_id"), Alias::new("state")],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LessonProgress::Table)
                    .col(pk_uuid(LessonProgress::Id))
                    .col(uuid(LessonProgress::EnrollmentId))
                    .col(uuid(LessonProgress::LessonId))
                    .col(uuid(LessonProgress::PersonId))
                    // JSON [[from, to], …] in seconds, merged and sorted: the union of what was
                    // actually played.
                    .col(text(LessonProgress::WatchedIntervals))
                    .col(double(LessonProgress::WatchedSeconds))
                    // JSON sorted list of distinct page numbers viewed.
                    .col(text(LessonProgress::PagesViewed))
                    .col(boolean(LessonProgress::Opened))
                    .col(double_null(LessonProgress::PositionSeconds))
                    .col(timestamp_with_time_zone_null(LessonProgress::PositionAt))
                    .col(timestamp_with_time_zone_null(LessonProgress::CompletedAt))
                    .col(timestamp_with_time_zone(LessonProgress::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_lesson_progress_enrollment",
                        (LessonProgress::Table, LessonProgress::EnrollmentId),
                        (Enrollments::Table, Enrollments::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_lesson_progress_lesson",
                        (LessonProgress::Table, LessonProgress::LessonId),
                        (Lessons::Table, Lessons::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_lesson_progress_person",
                        (LessonProgress::Table, LessonProgress::PersonId),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "uq_lesson_progress",
                    LessonProgress::Table,
                    vec![Alias::new("enrollment_id"), Alias::new("lesson_id")],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProgressEvents::Table)
                    .col(pk_uuid(ProgressEvents::Id))
                    .col(uuid(ProgressEvents::ClientEventId))
                    .col(uuid(ProgressEvents::PersonId))
                    .col(uuid(ProgressEvents::EnrollmentId))
                    .col(uuid(ProgressEvents::LessonId))
                    .col(string_len(ProgressEvents::Kind, 16))
                    .col(double_null(ProgressEvents::FromSeconds))
                    .col(double_null(ProgressEvents::ToSeconds))
                    .col(double_null(ProgressEvents::PositionSeconds))
                    .col(integer_null(ProgressEvents::Page))
                    .col(timestamp_with_time_zone(ProgressEvents::OccurredAt))
                    .col(timestamp_with_time_zone(ProgressEvents::ReceivedAt))
                    .check(Expr::cust(
                        "kind IN ('played', 'position', 'page_viewed', 'opened', 'marked_done')",
                    ))
                    .foreign_key(&mut fk(
                        "fk_progress_events_person",
                        (ProgressEvents::Table, ProgressEvents::PersonId),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_progress_events_enrollment",
                        (ProgressEvents::Table, ProgressEvents::EnrollmentId),
                        (Enrollments::Table, Enrollments::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_progress_events_lesson",
                        (ProgressEvents::Table, ProgressEvents::LessonId),
                        (Lessons::Table, Lessons::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // A replayed event (same person, same client id) is recognised and changes nothing.
        manager
            .create_index(
                index(
                    "uq_progress_events_client",
                    ProgressEvents::Table,
                    vec![Alias::new("person_id"), Alias::new("client_event_id")],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(JpLedger::Table)
                    .col(pk_uuid(JpLedger::Id))
                    .col(uuid(JpLedger::PersonId))
                    // Calendar year in WIB of `earned_at`.
                    .col(integer(JpLedger::Year))
                    .col(uuid_null(JpLedger::CourseId))
                    .col(uuid_null(JpLedger::EnrollmentId))
                    .col(integer(JpLedger::Jp))
                    .col(string_len(JpLedger::Source, 16))
                    .col(string_len(JpLedger::Description, 500))
                    .col(timestamp_with_time_zone(JpLedger::EarnedAt))
                    .col(uuid_null(JpLedger::RecordedBy))
                    .col(timestamp_with_time_zone(JpLedger::CreatedAt))
                    .check(Expr::cust("source IN ('course', 'external')"))
                    .check(Expr::cust("jp > 0"))
                    .foreign_key(&mut fk(
                        "fk_jp_ledger_person",
                        (JpLedger::Table, JpLedger::PersonId),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_jp_ledger_course",
                        (JpLedger::Table, JpLedger::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_jp_ledger_enrollment",
                        (JpLedger::Table, JpLedger::EnrollmentId),
                        (Enrollments::Table, Enrollments::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_jp_ledger_recorded_by",
                        (JpLedger::Table, JpLedger::RecordedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // A completion is credited once: the database refuses a second row for it.
        manager
            .create_index(
                index(
                    "uq_jp_ledger_enrollment",
                    JpLedger::Table,
                    vec![Alias::new("enrollment_id")],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_jp_ledger_person_year",
                JpLedger::Table,
                vec![Alias::new("person_id"), Alias::new("year")],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            JpLedger::Table.into_iden(),
            ProgressEvents::Table.into_iden(),
            LessonProgress::Table.into_iden(),
            Enrollments::Table.into_iden(),
            AssignmentRules::Table.into_iden(),
            Cohorts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

//! Courses, their owners and tags, modules, lessons, recorded materials and resumable uploads.

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
    Code,
    Title,
    Description,
    CompetencyType,
    JpCredit,
    JpApprovedAt,
    JpApprovedBy,
    CoverMaterialId,
    State,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
    ReviewNote,
}

#[derive(DeriveIden)]
enum CourseOwners {
    Table,
    CourseId,
    PersonId,
    AddedAt,
}

#[derive(DeriveIden)]
enum CourseTags {
    Table,
    CourseId,
    Tag,
}

#[derive(DeriveIden)]
enum CourseModules {
    Table,
    Id,
    CourseId,
    Position,
    Title,
    Description,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Lessons {
    Table,
    Id,
    CourseId,
    ModuleId,
    Position,
    Title,
    Kind,
    Required,
    CompletionThreshold,
    Body,
    MaterialId,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Materials {
    Table,
    Id,
    CourseId,
    LessonId,
    Kind,
    ObjectKey,
    FileName,
    ContentType,
    SizeBytes,
    Sha256,
    State,
    FailureReason,
    DurationMs,
    Width,
    Height,
    PageCount,
    Renditions,
    PosterKey,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Id,
    CourseId,
    LessonId,
    Purpose,
    ObjectKey,
    StorageUploadId,
    FileName,
    DeclaredContentType,
    SizeBytes,
    Sha256,
    PartSize,
    PartCount,
    State,
    MaterialId,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    CompletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Courses::Table)
                    .col(pk_uuid(Courses::Id))
                    .col(string_len_uniq(Courses::Code, 32))
                    .col(string_len(Courses::Title, 200))
                    .col(text(Courses::Description))
                    .col(string_len(Courses::CompetencyType, 16))
                    .col(integer(Courses::JpCredit))
                    .col(timestamp_with_time_zone_null(Courses::JpApprovedAt))
                    .col(uuid_null(Courses::JpApprovedBy))
                    .col(uuid_null(Courses::CoverMaterialId))
                    .col(string_len(Courses::State, 16))
                    .col(uuid(Courses::CreatedBy))
                    .col(timestamp_with_time_zone(Courses::CreatedAt))
                    .col(timestamp_with_time_zone(Courses::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Courses::PublishedAt))
                    // Why an admin sent the course back to draft; cleared when it is resubmitted.
                    .col(text_null(Courses::ReviewNote))
                    .check(Expr::cust(
                        "competency_type IN ('technical', 'managerial', 'socio_cultural')",
                    ))
                    .check(Expr::cust(
                        "state IN ('draft', 'in_review', 'published', 'archived')",
                    ))
                    .check(Expr::cust("jp_credit >= 0 AND jp_credit <= 1000"))
                    .foreign_key(&mut fk(
                        "fk_courses_created_by",
                        (Courses::Table, Courses::CreatedBy),
                        (People::Table, People::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_courses_jp_approved_by",
                        (Courses::Table, Courses::JpApprovedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_courses_state")
                    .table(Courses::Table)
                    .col(Courses::State)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CourseOwners::Table)
                    .col(uuid(CourseOwners::CourseId))
                    .col(uuid(CourseOwners::PersonId))
                    .col(timestamp_with_time_zone(CourseOwners::AddedAt))
                    .primary_key(
                        Index::create()
                            .col(CourseOwners::CourseId)
                            .col(CourseOwners::PersonId),
                    )
                    .foreign_key(
                        &mut fk(
                            "fk_course_owners_course",
                            (CourseOwners::Table, CourseOwners::CourseId),
                            (Courses::Table, Courses::Id),
                        )
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                    )
                    .foreign_key(&mut fk(
                        "fk_course_owners_person",
                        (CourseOwners::Table, CourseOwners::PersonId),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_course_owners_person")
                    .table(CourseOwners::Table)
                    .col(CourseOwners::PersonId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CourseTags::Table)
                    .col(uuid(CourseTags::CourseId))
                    .col(string_len(CourseTags::Tag, 50))
                    .primary_key(
                        Index::create()
                            .col(CourseTags::CourseId)
                            .col(CourseTags::Tag),
                    )
                    .foreign_key(
                        &mut fk(
                            "fk_course_tags_course",
                            (CourseTags::Table, CourseTags::CourseId),
                            (Courses::Table, Courses::Id),
                        )
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_course_tags_tag")
                    .table(CourseTags::Table)
                    .col(CourseTags::Tag)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CourseModules::Table)
                    .col(pk_uuid(CourseModules::Id))
                    .col(uuid(CourseModules::CourseId))
                    .col(integer(CourseModules::Position))
                    .col(string_len(CourseModules::Title, 200))
                    .col(text_null(CourseModules::Description))
                    .col(timestamp_with_time_zone_null(CourseModules::ArchivedAt))
                    .col(timestamp_with_time_zone(CourseModules::CreatedAt))
                    .col(timestamp_with_time_zone(CourseModules::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_course_modules_course",
                        (CourseModules::Table, CourseModules::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_course_modules_course")
                    .table(CourseModules::Table)
                    .col(CourseModules::CourseId)
                    .col(CourseModules::Position)
                    .to_owned(),
            )
            .await?;

        // Materials before lessons: a lesson points at its current material.
        manager
            .create_table(
                Table::create()
                    .table(Materials::Table)
                    .col(pk_uuid(Materials::Id))
                    .col(uuid(Materials::CourseId))
                    .col(uuid_null(Materials::LessonId))
                    .col(string_len(Materials::Kind, 16))
                    .col(string_len(Materials::ObjectKey, 512))
                    .col(string_len(Materials::FileName, 255))
                    .col(string_len(Materials::ContentType, 100))
                    .col(big_integer(Materials::SizeBytes))
                    .col(string_len(Materials::Sha256, 64))
                    .col(string_len(Materials::State, 16))
                    .col(text_null(Materials::FailureReason))
                    .col(big_integer_null(Materials::DurationMs))
                    .col(integer_null(Materials::Width))
                    .col(integer_null(Materials::Height))
                    .col(integer_null(Materials::PageCount))
                    // JSON list of renditions (name, bitrate, playlist key, bytes); null until processed.
                    .col(text_null(Materials::Renditions))
                    .col(string_len_null(Materials::PosterKey, 512))
                    .col(uuid(Materials::CreatedBy))
                    .col(timestamp_with_time_zone(Materials::CreatedAt))
                    .col(timestamp_with_time_zone(Materials::UpdatedAt))
                    .check(Expr::cust(
                        "kind IN ('video', 'audio', 'document', 'image')",
                    ))
                    .check(Expr::cust(
                        "state IN ('uploaded', 'processing', 'ready', 'failed')",
                    ))
                    .foreign_key(&mut fk(
                        "fk_materials_course",
                        (Materials::Table, Materials::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_materials_created_by",
                        (Materials::Table, Materials::CreatedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Lessons::Table)
                    .col(pk_uuid(Lessons::Id))
                    .col(uuid(Lessons::CourseId))
                    .col(uuid(Lessons::ModuleId))
                    .col(integer(Lessons::Position))
                    .col(string_len(Lessons::Title, 200))
                    .col(string_len(Lessons::Kind, 16))
                    .col(boolean(Lessons::Required))
                    // Share (0 < x <= 1) of the video watched or the pages viewed that completes
                    // the lesson; text lessons complete when opened.
                    .col(double(Lessons::CompletionThreshold))
                    .col(text_null(Lessons::Body))
                    .col(uuid_null(Lessons::MaterialId))
                    .col(timestamp_with_time_zone_null(Lessons::ArchivedAt))
                    .col(timestamp_with_time_zone(Lessons::CreatedAt))
                    .col(timestamp_with_time_zone(Lessons::UpdatedAt))
                    .check(Expr::cust(
                        "kind IN ('video', 'document', 'text', 'quiz', 'survey')",
                    ))
                    .check(Expr::cust(
                        "completion_threshold > 0 AND completion_threshold <= 1",
                    ))
                    .foreign_key(&mut fk(
                        "fk_lessons_course",
                        (Lessons::Table, Lessons::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_lessons_module",
                        (Lessons::Table, Lessons::ModuleId),
                        (CourseModules::Table, CourseModules::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_lessons_material",
                        (Lessons::Table, Lessons::MaterialId),
                        (Materials::Table, Materials::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_lessons_module")
                    .table(Lessons::Table)
                    .col(Lessons::ModuleId)
                    .col(Lessons::Position)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_lessons_course")
                    .table(Lessons::Table)
                    .col(Lessons::CourseId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Uploads::Table)
                    .col(pk_uuid(Uploads::Id))
                    .col(uuid(Uploads::CourseId))
                    .col(uuid_null(Uploads::LessonId))
                    .col(string_len(Uploads::Purpose, 16))
                    .col(string_len(Uploads::ObjectKey, 512))
                    .col(string_len(Uploads::StorageUploadId, 256))
                    .col(string_len(Uploads::FileName, 255))
                    .col(string_len(Uploads::DeclaredContentType, 100))
                    .col(big_integer(Uploads::SizeBytes))
                    .col(string_len(Uploads::Sha256, 64))
                    .col(big_integer(Uploads::PartSize))
                    .col(integer(Uploads::PartCount))
                    .col(string_len(Uploads::State, 16))
                    .col(uuid_null(Uploads::MaterialId))
                    .col(uuid(Uploads::CreatedBy))
                    .col(timestamp_with_time_zone(Uploads::CreatedAt))
                    .col(timestamp_with_time_zone(Uploads::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Uploads::CompletedAt))
                    .check(Expr::cust("purpose IN ('lesson', 'cover')"))
                    .check(Expr::cust(
                        "state IN ('open', 'completed', 'rejected', 'aborted')",
                    ))
                    .check(Expr::cust("size_bytes > 0"))
                    .foreign_key(&mut fk(
                        "fk_uploads_course",
                        (Uploads::Table, Uploads::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_uploads_lesson",
                        (Uploads::Table, Uploads::LessonId),
                        (Lessons::Table, Lessons::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_uploads_material",
                        (Uploads::Table, Uploads::MaterialId),
                        (Materials::Table, Materials::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_uploads_created_by",
                        (Uploads::Table, Uploads::CreatedBy),
                        (People::Table, People::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_uploads_state_expires")
                    .table(Uploads::Table)
                    .col(Uploads::State)
                    .col(Uploads::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Uploads::Table.into_iden(),
            Lessons::Table.into_iden(),
            Materials::Table.into_iden(),
            CourseModules::Table.into_iden(),
            CourseTags::Table.into_iden(),
            CourseOwners::Table.into_iden(),
            Courses::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

//! An index on `quiz_attempts (quiz_id, id)` for `quizAttempts`, a quiz's attempts newest first
//! in cursor pages: a post-test of a 10,000-learner course holds 20,000 attempts or more, and
//! each page is then a short range scan instead of a sort of all of them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum QuizAttempts {
    Table,
    QuizId,
    Id,
}

const NAME: &str = "idx_quiz_attempts_quiz_id_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = vec![QuizAttempts::QuizId, QuizAttempts::Id];
        crate::one_index::create(manager, NAME, QuizAttempts::Table, columns).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::one_index::drop(manager, NAME, QuizAttempts::Table).await
    }
}

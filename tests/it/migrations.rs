//! Every migration runs up, down and up again, on the database of this run.

use lms_tests::{TestApp, on_postgres};
use migration::MigratorTrait;
use sea_orm::ConnectionTrait;

#[tokio::test]
async fn migrations_run_up_down_and_up_again() {
    let app = TestApp::spawn().await;
    let db = app.server.state.db.clone();
    let applied = migration::Migrator::get_applied_migrations(&db)
        .await
        .unwrap();
    assert_eq!(applied.len(), migration::Migrator::migrations().len());
    migration::Migrator::down(&db, None).await.unwrap();
    assert!(
        migration::Migrator::get_applied_migrations(&db)
            .await
            .unwrap()
            .is_empty()
    );
    let people_table = if on_postgres() {
        "SELECT 1 FROM information_schema.tables WHERE table_name = 'people'"
    } else {
        "SELECT 1 FROM sqlite_master WHERE name = 'people'"
    };
    assert!(
        db.query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            people_table
        ))
        .await
        .unwrap()
        .is_none()
    );
    migration::Migrator::up(&db, None).await.unwrap();
    assert_eq!(
        migration::Migrator::get_applied_migrations(&db)
            .await
            .unwrap()
            .len(),
        migration::Migrator::migrations().len()
    );
}

//! The notification outbox: what the in-app inbox shows ([`crate::survey::inbox`]) and a
//! mailer or push service would deliver.

use sea_orm::entity::prelude::*;

/// A row of `evaluation_notifications`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evaluation_notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub person_id: Uuid,
    /// `follow_up_requested` or `follow_up_reminder`.
    pub kind: String,
    pub follow_up_request_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// When it reached the person: marked read in the app (`markNotificationsRead`); a mailer
    /// or push service would set it when it sends.
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

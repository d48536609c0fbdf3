//! The in-app inbox: the notifications the follow-up sweep writes (a follow-up asked, a
//! reminder), read by the person they are for. A phone shows the unread count as a badge and
//! the list newest first, and marks what was opened as read. The mark is `delivered_at`, where a
//! mailer or push service would also record its delivery.

use std::collections::HashMap;

use kernel::Actor;
use kernel::pagination::{Page, encode_cursor};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::Evaluation;
use crate::entity::{follow_up_request, notification};
use crate::error::EvaluationError;

/// Most notifications one call marks read.
pub const MAX_MARK: usize = 100;

/// A page of the inbox, newest first, each notification with its cursor and its request.
#[derive(Debug)]
pub struct InboxPage {
    /// The notifications.
    pub rows: Vec<(
        String,
        notification::Model,
        Option<follow_up_request::Model>,
    )>,
    /// Whether more follow.
    pub has_next_page: bool,
}

impl Evaluation {
    /// The signed-in person's notifications, newest first; only the unread ones when asked.
    ///
    /// # Errors
    /// UNAUTHENTICATED without a person; BAD_USER_INPUT for a cursor not issued here; INTERNAL
    /// on database failure.
    pub async fn my_notifications(
        &self,
        actor: &Actor,
        unread_only: bool,
        page: Page,
    ) -> Result<InboxPage, EvaluationError> {
        let person = actor.person_id.ok_or(EvaluationError::Unauthenticated)?;
        let mut q = notification::Entity::find().filter(notification::Column::PersonId.eq(person));
        if unread_only {
            q = q.filter(notification::Column::DeliveredAt.is_null());
        }
        if let Some(after) = &page.after {
            // Ids are UUID v7: descending id is newest first.
            let after = Uuid::parse_str(after)
                .map_err(|_| EvaluationError::invalid("after", "invalid cursor"))?;
            q = q.filter(notification::Column::Id.lt(after));
        }
        let mut rows = q
            .order_by_desc(notification::Column::Id)
            .limit(page.fetch())
            .all(&self.db)
            .await?;
        let has_next_page = page.cut(&mut rows);
        let mut requests: HashMap<Uuid, follow_up_request::Model> =
            follow_up_request::Entity::find()
                .filter(
                    follow_up_request::Column::Id
                        .is_in(rows.iter().filter_map(|n| n.follow_up_request_id)),
                )
                .all(&self.db)
                .await?
                .into_iter()
                .map(|r| (r.id, r))
                .collect();
        Ok(InboxPage {
            rows: rows
                .into_iter()
                .map(|n| {
                    let request = n.follow_up_request_id.and_then(|id| requests.remove(&id));
                    (encode_cursor(&n.id.to_string()), n, request)
                })
                .collect(),
            has_next_page,
        })
    }

    /// How many of the signed-in person's notifications are unread.
    ///
    /// # Errors
    /// UNAUTHENTICATED without a person; INTERNAL on database failure.
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<u64, EvaluationError> {
        let person = actor.person_id.ok_or(EvaluationError::Unauthenticated)?;
        Ok(notification::Entity::find()
            .filter(notification::Column::PersonId.eq(person))
            .filter(notification::Column::DeliveredAt.is_null())
            .count(&self.db)
            .await?)
    }

    /// Marks the signed-in person's notifications `ids` read; returns how many were unread.
    /// Ids that are not theirs, or already read, change nothing, so a phone can send the same
    /// marks again after a lost answer.
    ///
    /// # Errors
    /// UNAUTHENTICATED without a person; BAD_USER_INPUT for more than [`MAX_MARK`] ids;
    /// INTERNAL on database failure.
    pub async fn mark_notifications_read(
        &self,
        actor: &Actor,
        ids: &[Uuid],
    ) -> Result<u64, EvaluationError> {
        let person = actor.person_id.ok_or(EvaluationError::Unauthenticated)?;
        if ids.len() > MAX_MARK {
            return Err(EvaluationError::invalid(
                "ids",
                format!("mark at most {MAX_MARK} notifications at a time"),
            ));
        }
        if ids.is_empty() {
            return Ok(0);
        }
        let marked = notification::Entity::update_many()
            .col_expr(
                notification::Column::DeliveredAt,
                Expr::value(self.clock.now()),
            )
            .filter(notification::Column::PersonId.eq(person))
            .filter(notification::Column::Id.is_in(ids.iter().copied()))
            .filter(notification::Column::DeliveredAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(marked.rows_affected)
    }
}

//! The roster of a cohort: its learners with their progress, a page at a time, sorted by
//! progress or name. Keyset pagination on (`progress_percent`, id) or (name, id) keeps every page
//! one indexed query, however many thousand learners a cohort has.

use identity::entity::{person, unit};
use identity::scope::{self, Scope};
use kernel::Actor;
use kernel::pagination::{Page, encode_cursor};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    RelationTrait,
};
use uuid::Uuid;

use crate::entity::enrollment;
use crate::error::EnrollmentError;
use crate::{Enrollments, cohorts};

/// How a roster is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum RosterSort {
    /// Furthest along first.
    ProgressDesc,
    /// Least progress first: who needs a nudge.
    ProgressAsc,
    /// By the learner's name.
    Name,
}

/// One page of a roster: (cursor, enrollment, person) rows.
#[derive(Debug, Default)]
pub struct RosterPage {
    /// The rows with their cursors and people.
    pub rows: Vec<(String, enrollment::Model, Option<person::Model>)>,
    /// Whether more rows follow.
    pub has_next_page: bool,
}

fn bad_cursor() -> EnrollmentError {
    EnrollmentError::invalid("after", "invalid cursor")
}

impl Enrollments {
    /// A page of a cohort's roster. The course's owners and admins see everyone; unit admins
    /// only the people in their unit subtree.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown cohort; FORBIDDEN for anyone else; BAD_USER_INPUT for a cursor
    /// from another sort.
    pub async fn roster(
        &self,
        actor: &Actor,
        cohort_id: Uuid,
        sort: RosterSort,
        states: &[&str],
        page: Page,
    ) -> Result<RosterPage, EnrollmentError> {
        let c = cohorts::find_cohort(&self.db, cohort_id).await?;
        let subtree = if self
            .require_manager(&self.db, actor, c.course_id)
            .await
            .is_ok()
        {
            None
        } else {
            match scope::of(&self.db, actor).await? {
                Scope::Subtree(p) => Some(p),
                Scope::All => None,
                Scope::None => return Err(EnrollmentError::Forbidden),
            }
        };
        let mut q = enrollment::Entity::find().filter(enrollment::Column::CohortId.eq(cohort_id));
        if !states.is_empty() {
            q = q.filter(enrollment::Column::State.is_in(states.iter().copied()));
        }
        if let Some(root) = &subtree {
            let units = unit::Entity::find()
                .select_only()
                .column(unit::Column::Id)
                .filter(unit::Column::Path.starts_with(root.as_str()))
                .into_query();
            let people = person::Entity::find()
                .select_only()
                .column(person::Column::Id)
                .filter(person::Column::UnitId.in_subquery(units))
                .into_query();
            q = q.filter(enrollment::Column::PersonId.in_subquery(people));
        }
        let after = page
            .after
            .as_deref()
            .map(|a| {
                let (tag, rest) = a.split_once('|').ok_or_else(bad_cursor)?;
                let (key, id) = rest.rsplit_once('|').ok_or_else(bad_cursor)?;
                let id = Uuid::parse_str(id).map_err(|_| bad_cursor())?;
                if tag != sort_tag(sort) {
                    return Err(bad_cursor());
                }
                Ok((key.to_owned(), id))
            })
            .transpose()?;
        let rows: Vec<(enrollment::Model, Option<person::Model>)> = match sort {
            RosterSort::ProgressDesc | RosterSort::ProgressAsc => {
                let desc = sort == RosterSort::ProgressDesc;
                if let Some((key, id)) = after {
                    let p: f64 = key.parse().map_err(|_| bad_cursor())?;
                    let beyond = if desc {
                        enrollment::Column::ProgressPercent.lt(p)
                    } else {
                        enrollment::Column::ProgressPercent.gt(p)
                    };
                    q = q.filter(
                        Condition::any().add(beyond).add(
                            Condition::all()
                                .add(enrollment::Column::ProgressPercent.eq(p))
                                .add(enrollment::Column::Id.gt(id)),
                        ),
                    );
                }
                q = if desc {
                    q.order_by_desc(enrollment::Column::ProgressPercent)
                } else {
                    q.order_by_asc(enrollment::Column::ProgressPercent)
                };
                let rows = q
                    .order_by_asc(enrollment::Column::Id)
                    .limit(page.fetch())
                    .all(&self.db)
                    .await?;
                // The page's people in one query.
                let ids: Vec<Uuid> = rows.iter().map(|e| e.person_id).collect();
                let mut people: std::collections::HashMap<Uuid, person::Model> =
                    person::Entity::find()
                        .filter(person::Column::Id.is_in(ids))
                        .all(&self.db)
                        .await?
                        .into_iter()
                        .map(|p| (p.id, p))
                        .collect();
                rows.into_iter()
                    .map(|e| {
                        let p = people.remove(&e.person_id);
                        (e, p)
                    })
                    .collect()
            }
            RosterSort::Name => {
                let name = Expr::col((person::Entity, person::Column::Name));
                q = q.join(JoinType::InnerJoin, enrollment::Relation::Person.def());
                if let Some((key, id)) = after {
                    q = q.filter(
                        Condition::any().add(name.clone().gt(key.clone())).add(
                            Condition::all()
                                .add(name.clone().eq(key))
                                .add(enrollment::Column::Id.gt(id)),
                        ),
                    );
                }
                q.order_by_asc(Expr::col((person::Entity, person::Column::Name)))
                    .order_by_asc(enrollment::Column::Id)
                    .limit(page.fetch())
                    .select_also(person::Entity)
                    .all(&self.db)
                    .await?
            }
        };
        let mut rows = rows;
        let has_next_page = page.cut(&mut rows);
        let rows = rows
            .into_iter()
            .map(|(e, p)| {
                let key = match sort {
                    RosterSort::Name => p.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                    // `{:?}` prints the shortest text that parses back to the same f64, so the
                    // next page starts exactly after this row.
                    _ => format!("{:?}", e.progress_percent),
                };
                let cursor = encode_cursor(&format!("{}|{key}|{}", sort_tag(sort), e.id));
                (cursor, e, p)
            })
            .collect();
        Ok(RosterPage {
            rows,
            has_next_page,
        })
    }
}

fn sort_tag(sort: RosterSort) -> &'static str {
    match sort {
        RosterSort::ProgressDesc => "pd",
        RosterSort::ProgressAsc => "pa",
        RosterSort::Name => "n",
    }
}

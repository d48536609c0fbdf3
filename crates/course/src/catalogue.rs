//! The catalogue: courses the caller may see, searched and filtered, a cursor page at a time.
//!
//! What a caller sees: published courses for everyone signed in; trainers also the courses they
//! own; admins everything. Without `mine` or `state` the catalogue lists published courses only;
//! `mine` narrows it to the caller's own courses in every state; `state` narrows it to one state
//! (within what the caller may see, so a learner asking for drafts gets none).
//!
//! Text search is a case-insensitive substring match over title, description and tags:
//! `lower(column) LIKE '%term%' ESCAPE '\'`, the same SQL on SQLite and PostgreSQL. SQLite's
//! `lower` folds ASCII letters only, which covers Indonesian text; no index serves a leading
//! `%`, which is fine for a catalogue of hundreds of courses.

use kernel::pagination::{Page, encode_cursor};
use kernel::{Actor, Role};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use crate::Courses;
use crate::entity::{course, course_owner, course_tag};
use crate::error::CourseError;
use crate::lifecycle::{CompetencyType, CourseState, MAX_JP, check_jp, normalise_tag};

/// Longest search text.
pub const MAX_SEARCH: usize = 100;

/// What to look for in the catalogue.
#[derive(Debug, Clone, Default)]
pub struct CatalogueFilter {
    /// Text in the title, description or a tag (case-insensitive).
    pub search: Option<String>,
    /// Only courses of this competency type.
    pub competency_type: Option<CompetencyType>,
    /// Only courses with this tag.
    pub tag: Option<String>,
    /// Only courses worth at least this many JP.
    pub min_jp: Option<i32>,
    /// Only courses worth at most this many JP.
    pub max_jp: Option<i32>,
    /// Only the caller's own courses, in every state.
    pub mine: bool,
    /// Only courses in this state.
    pub state: Option<CourseState>,
}

/// One page of the catalogue.
#[derive(Debug, Clone)]
pub struct CataloguePage {
    /// (cursor, course), by title then id.
    pub courses: Vec<(String, course::Model)>,
    /// Whether more follow.
    pub has_next_page: bool,
}

/// Escapes `\`, `%` and `_` so that a user's text matches literally in a LIKE pattern with
/// `ESCAPE '\'`.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `lower(column) LIKE pattern ESCAPE '\'`.
fn lower_like(col: course::Column, pattern: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col((course::Entity, col))))
        .like(LikeExpr::new(pattern).escape('\\'))
}

/// Course ids owned by `person`, as a subquery.
fn owned_by(person: Uuid) -> sea_orm::sea_query::SelectStatement {
    course_owner::Entity::find()
        .select_only()
        .column(course_owner::Column::CourseId)
        .filter(course_owner::Column::PersonId.eq(person))
        .into_query()
}

fn cursor_of(c: &course::Model) -> String {
    encode_cursor(&format!("{}|{}", c.title, c.id))
}

impl Courses {
    /// A page of the catalogue for `actor`, by title then id.
    ///
    /// # Errors
    /// BAD_USER_INPUT for a too long search, a malformed tag, a JP bound out of range or a
    /// minimum above the maximum, or a cursor we did not issue.
    pub async fn catalogue(
        &self,
        actor: &Actor,
        filter: CatalogueFilter,
        page: Page,
    ) -> Result<CataloguePage, CourseError> {
        let search = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        if search
            .as_deref()
            .is_some_and(|s| s.chars().count() > MAX_SEARCH)
        {
            return Err(CourseError::invalid(
                "search",
                format!("search text must be at most {MAX_SEARCH} characters"),
            ));
        }
        let tag = filter
            .tag
            .as_deref()
            .map(|t| normalise_tag("tag", t))
            .transpose()?;
        let min_jp = filter.min_jp.map(|j| check_jp("minJp", j)).transpose()?;
        let max_jp = filter.max_jp.map(|j| check_jp("maxJp", j)).transpose()?;
        if let (Some(lo), Some(hi)) = (min_jp, max_jp)
            && lo > hi
        {
            return Err(CourseError::invalid(
                "minJp",
                format!("minJp ({lo}) must not exceed maxJp ({hi})"),
            ));
        }
        let mut q = course::Entity::find();

        // What the caller may see at all.
        if !actor.is_admin() {
            let mut visible =
                Condition::any().add(course::Column::State.eq(CourseState::Published.as_str()));
            if actor.has(Role::Trainer)
                && let Some(me) = actor.person_id
            {
                visible = visible.add(course::Column::Id.in_subquery(owned_by(me)));
            }
            q = q.filter(visible);
        }
        // What they asked for.
        if filter.mine {
            let Some(me) = actor.person_id else {
                return Ok(CataloguePage {
                    courses: Vec::new(),
                    has_next_page: false,
                });
            };
            q = q.filter(course::Column::Id.in_subquery(owned_by(me)));
        }
        match filter.state {
            Some(state) => q = q.filter(course::Column::State.eq(state.as_str())),
            None if !filter.mine => {
                q = q.filter(course::Column::State.eq(CourseState::Published.as_str()));
            }
            None => {}
        }
        if let Some(kind) = filter.competency_type {
            q = q.filter(course::Column::CompetencyType.eq(kind.as_str()));
        }
        if let Some(tag) = tag {
            let tagged = course_tag::Entity::find()
                .select_only()
                .column(course_tag::Column::CourseId)
                .filter(course_tag::Column::Tag.eq(tag))
                .into_query();
            q = q.filter(course::Column::Id.in_subquery(tagged));
        }
        if let Some(lo) = min_jp.filter(|lo| *lo > 0) {
            q = q.filter(course::Column::JpCredit.gte(lo));
        }
        if let Some(hi) = max_jp.filter(|hi| *hi < MAX_JP) {
            q = q.filter(course::Column::JpCredit.lte(hi));
        }
        if let Some(s) = search {
            let pattern = format!("%{}%", escape_like(&s));
            let tagged = course_tag::Entity::find()
                .select_only()
                .column(course_tag::Column::CourseId)
                .filter(
                    Expr::col((course_tag::Entity, course_tag::Column::Tag))
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .into_query();
            q = q.filter(
                Condition::any()
                    .add(lower_like(course::Column::Title, &pattern))
                    .add(lower_like(course::Column::Description, &pattern))
                    .add(course::Column::Id.in_subquery(tagged)),
            );
        }
        if let Some(after) = &page.after {
            let (title, id) = after
                .rsplit_once('|')
                .and_then(|(t, i)| Some((t.to_owned(), Uuid::parse_str(i).ok()?)))
                .ok_or_else(|| CourseError::invalid("after", "invalid cursor"))?;
            q = q.filter(
                Condition::any()
                    .add(course::Column::Title.gt(title.clone()))
                    .add(
                        Condition::all()
                            .add(course::Column::Title.eq(title))
                            .add(course::Column::Id.gt(id)),
                    ),
            );
        }
        let mut rows = q
            .order_by_asc(course::Column::Title)
            .order_by_asc(course::Column::Id)
            .limit(page.fetch())
            .all(&self.db)
            .await?;
        let has_next_page = page.cut(&mut rows);
        Ok(CataloguePage {
            courses: rows.into_iter().map(|c| (cursor_of(&c), c)).collect(),
            has_next_page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(escape_like("k3"), "k3");
    }
}

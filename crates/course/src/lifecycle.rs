//! A course's life: a trainer creates it (and owns it), its owners edit it and add co-owners, an
//! admin reviews it (approving publishes it and approves its JP credit; rejecting sends it back
//! to draft with a reason), archives it and republishes it.
//!
//! States: `draft` → `in_review` → `published` → `archived` → `published` again.
//! - Trainers who own a course change it while it is a draft or published; while it is in
//!   review or archived only admins change it, so a reviewer never judges a moving target.
//! - The JP credit of a course that has been approved is what learners earn: a trainer cannot
//!   change it. An admin can, and their change is itself the new approval (it sets
//!   `jp_approved_at`/`jp_approved_by` and is audited with the old and new value).
//! - The code cannot change once the course has been published: certificates refer to it.
//! - Every change an admin makes to a course they do not own, and every review decision, is
//!   written to the audit log in the same transaction as the change.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use identity::entity::person;
use kernel::{Actor, Role, Roles};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Courses;
use crate::access;
use crate::entity::{course, course_owner, course_tag, lesson};
use crate::error::CourseError;

/// Longest course code.
pub const MAX_CODE: usize = 32;
/// Longest course, module or lesson title.
pub const MAX_TITLE: usize = 200;
/// Longest course description.
pub const MAX_DESCRIPTION: usize = 20_000;
/// Largest JP credit.
pub const MAX_JP: i32 = 1000;
/// Most tags on a course.
pub const MAX_TAGS: usize = 20;
/// Longest tag.
pub const MAX_TAG: usize = 50;
/// Longest reason for sending a course back to draft.
pub const MAX_REVIEW_NOTE: usize = 2000;

/// The kind of competency a course develops (the three used in ASN competency development).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum CompetencyType {
    /// Technical (teknis).
    Technical,
    /// Managerial (manajerial).
    Managerial,
    /// Socio-cultural (sosial kultural).
    SocioCultural,
}

impl CompetencyType {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            CompetencyType::Technical => "technical",
            CompetencyType::Managerial => "managerial",
            CompetencyType::SocioCultural => "socio_cultural",
        }
    }

    /// Reads the stored form.
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "technical" => Some(CompetencyType::Technical),
            "managerial" => Some(CompetencyType::Managerial),
            "socio_cultural" => Some(CompetencyType::SocioCultural),
            _ => None,
        }
    }
}

/// Where a course is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum CourseState {
    /// Being written by its owners; only they and admins see it.
    Draft,
    /// Submitted; waiting for an admin's decision.
    InReview,
    /// In the catalogue for everyone signed in.
    Published,
    /// Withdrawn from the catalogue; kept for history and learners' records.
    Archived,
}

impl CourseState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            CourseState::Draft => "draft",
            CourseState::InReview => "in_review",
            CourseState::Published => "published",
            CourseState::Archived => "archived",
        }
    }

    /// Reads the stored form.
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(CourseState::Draft),
            "in_review" => Some(CourseState::InReview),
            "published" => Some(CourseState::Published),
            "archived" => Some(CourseState::Archived),
            _ => None,
        }
    }

    /// How a message names a course in this state ("a course that is ...").
    fn phrase(self) -> &'static str {
        match self {
            CourseState::Draft => "a draft",
            CourseState::InReview => "in review",
            CourseState::Published => "published",
            CourseState::Archived => "archived",
        }
    }
}

/// The phrase for a stored state, tolerating values this version does not know.
fn state_phrase(stored: &str) -> &str {
    match CourseState::from_stored(stored) {
        Some(state) => state.phrase(),
        None => stored,
    }
}

/// A course code such as `MR-DINKES-2026`: upper-cased, 1-32 of `A-Z 0-9 - _ .`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CourseCode(String);

impl CourseCode {
    /// Trims, upper-cases and checks a code.
    ///
    /// # Errors
    /// BAD_USER_INPUT on field `code`.
    pub fn parse(raw: &str) -> Result<Self, CourseError> {
        let s = raw.trim().to_ascii_uppercase();
        let ok = !s.is_empty()
            && s.len() <= MAX_CODE
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if ok {
            Ok(CourseCode(s))
        } else {
            Err(CourseError::invalid(
                "code",
                format!(
                    "invalid course code `{raw}`: use 1-{MAX_CODE} letters, digits, `-`, `_` or `.`"
                ),
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Normalises one tag: trimmed, lower-cased, inner white space collapsed, 1-50 characters.
///
/// # Errors
/// BAD_USER_INPUT on `field`.
pub fn normalise_tag(field: &'static str, raw: &str) -> Result<String, CourseError> {
    let tag = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if tag.is_empty() || tag.chars().count() > MAX_TAG {
        return Err(CourseError::invalid(
            field,
            format!("a tag needs 1 to {MAX_TAG} characters, `{raw}` does not fit"),
        ));
    }
    if tag.chars().any(char::is_control) {
        return Err(CourseError::invalid(
            field,
            "a tag must not contain control characters",
        ));
    }
    Ok(tag)
}

/// Normalises a set of tags: each with [`normalise_tag`], duplicates dropped, sorted, at most 20.
///
/// # Errors
/// BAD_USER_INPUT on field `tags`.
pub fn normalise_tags(raw: &[String]) -> Result<Vec<String>, CourseError> {
    let tags = raw
        .iter()
        .map(|t| normalise_tag("tags", t))
        .collect::<Result<BTreeSet<_>, _>>()?;
    if tags.len() > MAX_TAGS {
        return Err(CourseError::invalid(
            "tags",
            format!("a course has at most {MAX_TAGS} tags, not {}", tags.len()),
        ));
    }
    Ok(tags.into_iter().collect())
}

/// Checks a JP credit (0 to 1000 training hours).
///
/// # Errors
/// BAD_USER_INPUT on `field`.
pub fn check_jp(field: &'static str, jp: i32) -> Result<i32, CourseError> {
    if (0..=MAX_JP).contains(&jp) {
        Ok(jp)
    } else {
        Err(CourseError::invalid(
            field,
            format!("the JP credit must be between 0 and {MAX_JP}, not {jp}"),
        ))
    }
}

/// Trims a one-line text; it must not be empty, longer than `max` characters or hold control
/// characters.
///
/// # Errors
/// BAD_USER_INPUT on `field`.
pub fn required_line(field: &'static str, raw: &str, max: usize) -> Result<String, CourseError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(CourseError::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if s.chars().count() > max {
        return Err(CourseError::invalid(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(CourseError::invalid(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(s.to_owned())
}

/// Trims a multi-line text (line breaks and tabs allowed) of at most `max` characters; blank
/// gives an empty string.
///
/// # Errors
/// BAD_USER_INPUT on `field`.
pub fn multiline_text(field: &'static str, raw: &str, max: usize) -> Result<String, CourseError> {
    let s = raw.trim();
    if s.chars().count() > max {
        return Err(CourseError::invalid(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    // PostgreSQL refuses NUL in text, and other control characters are never meant.
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(CourseError::invalid(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(s.to_owned())
}

/// How an editor stands to the course they change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editor {
    /// One of its owners: their changes are their own business.
    Owner,
    /// An admin who does not own it: every change is audited.
    OtherAdmin,
}

/// Checks that `actor` may edit `course` (the rule of [`access::require_editor`]) and says how
/// they stand to it.
///
/// # Errors
/// FORBIDDEN when they may not.
pub async fn editor(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    course: &course::Model,
) -> Result<Editor, CourseError> {
    let owns = access::is_owner(conn, course.id, actor.person_id).await?;
    if actor.is_admin() {
        return Ok(if owns {
            Editor::Owner
        } else {
            Editor::OtherAdmin
        });
    }
    if owns && actor.has(Role::Trainer) {
        return Ok(Editor::Owner);
    }
    Err(CourseError::Forbidden)
}

/// Checks that the course is open to changes by `actor`: admins always; trainers while it is a
/// draft or published.
///
/// # Errors
/// CONFLICT while it is in review or archived.
pub fn require_open(actor: &Actor, course: &course::Model) -> Result<(), CourseError> {
    if actor.is_admin() {
        return Ok(());
    }
    match CourseState::from_stored(&course.state) {
        Some(CourseState::Draft | CourseState::Published) => Ok(()),
        Some(CourseState::InReview) => Err(CourseError::Conflict(
            "the course is in review; it can change again once an admin has decided".into(),
        )),
        _ => Err(CourseError::Conflict(format!(
            "the course is {}; only an admin can change it",
            state_phrase(&course.state)
        ))),
    }
}

/// Takes the course's row lock for the rest of the transaction (by touching `updated_at`) and
/// returns the row. Every change to a course, its owners, tags or structure starts here, so two
/// editors' changes to one course run one after the other on both databases: PostgreSQL locks
/// the row, SQLite takes its write lock at the first write instead of failing to upgrade a read.
///
/// # Errors
/// NOT_FOUND for an unknown course.
pub async fn lock_course(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<course::Model, CourseError> {
    let touched = course::Entity::update_many()
        .col_expr(course::Column::UpdatedAt, Expr::value(now))
        .filter(course::Column::Id.eq(id))
        .exec(conn)
        .await?;
    if touched.rows_affected == 0 {
        return Err(CourseError::NotFound("course"));
    }
    access::find_course(conn, id).await
}

/// Writes an audit entry about the course domain.
///
/// # Errors
/// INTERNAL when the insert fails.
pub async fn audit(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    at: DateTime<Utc>,
    action: &str,
    target_type: &str,
    target_id: Uuid,
    detail: Value,
) -> Result<(), CourseError> {
    identity::audit::record(conn, actor, at, action, target_type, target_id, detail)
        .await
        .map_err(|e| match e {
            identity::IdentityError::Database(db) => CourseError::Database(db),
            other => CourseError::Internal(other.to_string()),
        })
}

/// An admin's review decision: the state it starts from, its verb for messages, and its
/// audit action.
struct Decision {
    from: CourseState,
    verb: &'static str,
    action: &'static str,
}

/// An open change to one course: its transaction (holding the course's lock), the course, and
/// how the editor stands to it.
pub struct Edit {
    /// The transaction; dropped without commit, it rolls back.
    pub tx: DatabaseTransaction,
    /// The course, read under its lock.
    pub course: course::Model,
    /// How the actor stands to it.
    pub editor: Editor,
    /// The time of the change.
    pub now: DateTime<Utc>,
}

impl Edit {
    /// Audits the change when the editor is an admin who does not own the course, then commits.
    ///
    /// # Errors
    /// INTERNAL when the audit entry or the commit fails.
    pub async fn finish(
        self,
        actor: &Actor,
        action: &str,
        target_type: &str,
        target_id: Uuid,
        detail: Value,
    ) -> Result<(), CourseError> {
        if self.editor == Editor::OtherAdmin {
            audit(
                &self.tx,
                actor,
                self.now,
                action,
                target_type,
                target_id,
                detail,
            )
            .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// Input for a new course.
#[derive(Debug, Clone)]
pub struct NewCourse {
    /// Unique code.
    pub code: String,
    /// Title.
    pub title: String,
    /// Description (Markdown); may be empty while drafting.
    pub description: String,
    /// Competency type.
    pub competency_type: CompetencyType,
    /// Proposed JP credit.
    pub jp_credit: i32,
    /// Tags.
    pub tags: Vec<String>,
}

/// Changes to a course; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CourseChanges {
    /// A new code (only before the course is first published).
    pub code: Option<String>,
    /// A new title.
    pub title: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new competency type.
    pub competency_type: Option<CompetencyType>,
    /// A new JP credit (trainers: only before it is approved).
    pub jp_credit: Option<i32>,
}

async fn replace_tags(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    tags: &[String],
) -> Result<(), CourseError> {
    course_tag::Entity::delete_many()
        .filter(course_tag::Column::CourseId.eq(course_id))
        .exec(conn)
        .await?;
    if !tags.is_empty() {
        course_tag::Entity::insert_many(tags.iter().map(|t| course_tag::ActiveModel {
            course_id: Set(course_id),
            tag: Set(t.clone()),
        }))
        .exec(conn)
        .await?;
    }
    Ok(())
}

fn code_taken(code: &CourseCode) -> impl FnOnce(sea_orm::DbErr) -> CourseError + '_ {
    move |e| CourseError::conflict_on_unique(e, format!("course code {} is taken", code.as_str()))
}

impl Courses {
    /// Opens a change to a course: locks it, checks that `actor` may edit it and that it is
    /// open to them.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; CONFLICT when the course is closed to the actor.
    pub async fn begin_edit(&self, actor: &Actor, course_id: Uuid) -> Result<Edit, CourseError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let course = lock_course(&tx, course_id, now).await?;
        let editor = editor(&tx, actor, &course).await?;
        require_open(actor, &course)?;
        Ok(Edit {
            tx,
            course,
            editor,
            now,
        })
    }

    /// Creates a draft course; its creator becomes its first owner.
    ///
    /// # Errors
    /// FORBIDDEN unless the actor is a person holding the trainer or admin role;
    /// BAD_USER_INPUT for an invalid field; CONFLICT for a taken code.
    pub async fn create_course(
        &self,
        actor: &Actor,
        input: NewCourse,
    ) -> Result<course::Model, CourseError> {
        if !actor.is_admin() && !actor.has(Role::Trainer) {
            return Err(CourseError::Forbidden);
        }
        // A course always has a person as owner; the system actor has none to give.
        let owner = actor.person_id.ok_or(CourseError::Forbidden)?;
        let code = CourseCode::parse(&input.code)?;
        let title = required_line("title", &input.title, MAX_TITLE)?;
        let description = multiline_text("description", &input.description, MAX_DESCRIPTION)?;
        let jp_credit = check_jp("jpCredit", input.jp_credit)?;
        let tags = normalise_tags(&input.tags)?;
        let now = self.clock.now();
        let id = kernel::new_id();
        let tx = kernel::db::begin_write(&self.db).await?;
        let model = course::ActiveModel {
            id: Set(id),
            code: Set(code.as_str().to_owned()),
            title: Set(title),
            description: Set(description),
            competency_type: Set(input.competency_type.as_str().to_owned()),
            jp_credit: Set(jp_credit),
            jp_approved_at: Set(None),
            jp_approved_by: Set(None),
            cover_material_id: Set(None),
            state: Set(CourseState::Draft.as_str().to_owned()),
            created_by: Set(owner),
            created_at: Set(now),
            updated_at: Set(now),
            published_at: Set(None),
            review_note: Set(None),
        }
        .insert(&tx)
        .await
        .map_err(code_taken(&code))?;
        course_owner::ActiveModel {
            course_id: Set(id),
            person_id: Set(owner),
            added_at: Set(now),
        }
        .insert(&tx)
        .await?;
        replace_tags(&tx, id, &tags).await?;
        tx.commit().await?;
        Ok(model)
    }

    /// Changes a course's code, title, description, competency type or JP credit.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; BAD_USER_INPUT for an invalid field; CONFLICT for a
    /// taken code, a code change after publication, a trainer's JP change after approval, or
    /// a trainer's change while the course is in review or archived.
    pub async fn update_course(
        &self,
        actor: &Actor,
        id: Uuid,
        changes: CourseChanges,
    ) -> Result<course::Model, CourseError> {
        let code = changes.code.as_deref().map(CourseCode::parse).transpose()?;
        let title = changes
            .title
            .as_deref()
            .map(|t| required_line("title", t, MAX_TITLE))
            .transpose()?;
        let description = changes
            .description
            .as_deref()
            .map(|d| multiline_text("description", d, MAX_DESCRIPTION))
            .transpose()?;
        let jp_credit = changes
            .jp_credit
            .map(|j| check_jp("jpCredit", j))
            .transpose()?;
        let edit = self.begin_edit(actor, id).await?;
        let current = edit.course.clone();
        let mut am: course::ActiveModel = current.clone().into();
        let mut changed = serde_json::Map::new();
        let mut approval_changed = false;
        if let Some(code) = &code
            && code.as_str() != current.code
        {
            if current.published_at.is_some() {
                return Err(CourseError::Conflict(
                    "the code of a course that has been published cannot change: certificates refer to it"
                        .into(),
                ));
            }
            am.code = Set(code.as_str().to_owned());
            changed.insert(
                "code".into(),
                json!({"from": current.code, "to": code.as_str()}),
            );
        }
        if let Some(title) = title {
            changed.insert("title".into(), json!(true));
            am.title = Set(title);
        }
        if let Some(description) = description {
            changed.insert("description".into(), json!(true));
            am.description = Set(description);
        }
        if let Some(kind) = changes.competency_type {
            changed.insert("competencyType".into(), json!(kind.as_str()));
            am.competency_type = Set(kind.as_str().to_owned());
        }
        if let Some(jp) = jp_credit
            && jp != current.jp_credit
        {
            if current.jp_approved_at.is_some() {
                // Learners earn the approved credit, so it changes only through an admin, whose
                // change is the new approval.
                if !actor.is_admin() {
                    return Err(CourseError::Conflict(
                        "the JP credit of this course is approved; ask an admin to change it (their change is the new approval)"
                            .into(),
                    ));
                }
                am.jp_approved_at = Set(Some(edit.now));
                am.jp_approved_by = Set(actor.person_id);
                approval_changed = true;
            }
            am.jp_credit = Set(jp);
            changed.insert(
                "jpCredit".into(),
                json!({"from": current.jp_credit, "to": jp}),
            );
        }
        am.updated_at = Set(edit.now);
        let model = match &code {
            Some(code) => am.update(&edit.tx).await.map_err(code_taken(code))?,
            None => am.update(&edit.tx).await?,
        };
        if approval_changed && edit.editor == Editor::Owner {
            // An approval is always on record, even by an admin who owns the course.
            audit(
                &edit.tx,
                actor,
                edit.now,
                "course.update",
                "course",
                id,
                Value::Object(changed.clone()),
            )
            .await?;
        }
        edit.finish(actor, "course.update", "course", id, Value::Object(changed))
            .await?;
        Ok(model)
    }

    /// Replaces a course's tags.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; BAD_USER_INPUT for invalid tags; CONFLICT while
    /// the course is closed to the actor.
    pub async fn set_course_tags(
        &self,
        actor: &Actor,
        id: Uuid,
        tags: &[String],
    ) -> Result<course::Model, CourseError> {
        let tags = normalise_tags(tags)?;
        let edit = self.begin_edit(actor, id).await?;
        replace_tags(&edit.tx, id, &tags).await?;
        let model = edit.course.clone();
        edit.finish(
            actor,
            "course.set_tags",
            "course",
            id,
            json!({"tags": tags}),
        )
        .await?;
        Ok(model)
    }

    /// Adds a co-owner, who must be an active person holding the trainer role. Adding an owner
    /// again changes nothing.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course or person; FORBIDDEN for non-editors; BAD_USER_INPUT when
    /// the person is not an active trainer.
    pub async fn add_course_owner(
        &self,
        actor: &Actor,
        course_id: Uuid,
        person_id: Uuid,
    ) -> Result<course::Model, CourseError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let course = lock_course(&tx, course_id, now).await?;
        let editor = editor(&tx, actor, &course).await?;
        let person = person::Entity::find_by_id(person_id)
            .one(&tx)
            .await?
            .ok_or(CourseError::NotFound("person"))?;
        if person.disabled_at.is_some() {
            return Err(CourseError::invalid(
                "personId",
                format!("{} is disabled and cannot own a course", person.name),
            ));
        }
        if !Roles::parse_list(&person.roles)
            .unwrap_or_default()
            .contains(Role::Trainer)
        {
            return Err(CourseError::invalid(
                "personId",
                format!(
                    "{} does not hold the trainer role; only trainers own courses",
                    person.name
                ),
            ));
        }
        if access::is_owner(&tx, course_id, Some(person_id)).await? {
            return Ok(course);
        }
        course_owner::ActiveModel {
            course_id: Set(course_id),
            person_id: Set(person_id),
            added_at: Set(now),
        }
        .insert(&tx)
        .await?;
        let edit = Edit {
            tx,
            course,
            editor,
            now,
        };
        let model = edit.course.clone();
        edit.finish(
            actor,
            "course.add_owner",
            "course",
            course_id,
            json!({"personId": person_id}),
        )
        .await?;
        Ok(model)
    }

    /// Removes an owner; a course keeps at least one. Owners may remove themselves.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course or a person who is not an owner; FORBIDDEN for
    /// non-editors; CONFLICT for the last owner.
    pub async fn remove_course_owner(
        &self,
        actor: &Actor,
        course_id: Uuid,
        person_id: Uuid,
    ) -> Result<course::Model, CourseError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let course = lock_course(&tx, course_id, now).await?;
        let editor = editor(&tx, actor, &course).await?;
        if !access::is_owner(&tx, course_id, Some(person_id)).await? {
            return Err(CourseError::NotFound("course owner"));
        }
        // Counted under the course's lock, so two removals cannot both pass this check.
        let owners = course_owner::Entity::find()
            .filter(course_owner::Column::CourseId.eq(course_id))
            .count(&tx)
            .await?;
        if owners <= 1 {
            return Err(CourseError::Conflict(
                "a course keeps at least one owner; add another owner first".into(),
            ));
        }
        course_owner::Entity::delete_many()
            .filter(course_owner::Column::CourseId.eq(course_id))
            .filter(course_owner::Column::PersonId.eq(person_id))
            .exec(&tx)
            .await?;
        let edit = Edit {
            tx,
            course,
            editor,
            now,
        };
        let model = edit.course.clone();
        edit.finish(
            actor,
            "course.remove_owner",
            "course",
            course_id,
            json!({"personId": person_id}),
        )
        .await?;
        Ok(model)
    }

    /// Submits a draft for review. It needs at least one lesson, and every lesson ready for
    /// learners ([`crate::readiness`]).
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; CONFLICT unless it is a draft with a lesson, or
    /// naming the lessons that are not ready.
    pub async fn submit_for_review(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<course::Model, CourseError> {
        let edit = self.begin_edit(actor, id).await?;
        let current = edit.course.clone();
        if current.state != CourseState::Draft.as_str() {
            return Err(CourseError::Conflict(format!(
                "cannot submit a course that is {}; only a draft goes to review",
                state_phrase(&current.state)
            )));
        }
        let lessons = lesson::Entity::find()
            .filter(lesson::Column::CourseId.eq(id))
            .filter(lesson::Column::ArchivedAt.is_null())
            .count(&edit.tx)
            .await?;
        if lessons == 0 {
            return Err(CourseError::Conflict(
                "add at least one lesson before submitting the course for review".into(),
            ));
        }
        // A course whose videos, documents or quizzes are not ready cannot go to review.
        let all = crate::readiness::Scope::All;
        crate::readiness::require_ready(&edit.tx, id, all, self.readiness.as_deref()).await?;
        let mut am: course::ActiveModel = current.into();
        am.state = Set(CourseState::InReview.as_str().to_owned());
        am.review_note = Set(None);
        am.updated_at = Set(edit.now);
        let model = am.update(&edit.tx).await?;
        edit.finish(actor, "course.submit", "course", id, json!({}))
            .await?;
        Ok(model)
    }

    /// An admin's decision on a course: checks its state, applies `apply`, audits.
    async fn decide(
        &self,
        actor: &Actor,
        id: Uuid,
        decision: Decision,
        detail: Value,
        apply: impl FnOnce(&mut course::ActiveModel, &course::Model, DateTime<Utc>),
    ) -> Result<course::Model, CourseError> {
        let Decision { from, verb, action } = decision;
        if !actor.is_admin() {
            return Err(CourseError::Forbidden);
        }
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let current = lock_course(&tx, id, now).await?;
        if current.state != from.as_str() {
            return Err(CourseError::Conflict(format!(
                "cannot {verb} a course that is {}; it must be {}",
                state_phrase(&current.state),
                from.phrase()
            )));
        }
        // Learners may only ever see lessons that can be played, read or taken. Approval
        // publishes every active lesson; republication brings back the published ones.
        let scope = match action {
            "course.approve" => Some(crate::readiness::Scope::All),
            "course.republish" => Some(crate::readiness::Scope::Published),
            _ => None,
        };
        if let Some(scope) = scope {
            crate::readiness::require_ready(&tx, id, scope, self.readiness.as_deref()).await?;
        }
        if action == "course.approve" {
            lesson::Entity::update_many()
                .col_expr(lesson::Column::PublishedAt, Expr::value(now))
                .filter(lesson::Column::CourseId.eq(id))
                .filter(lesson::Column::ArchivedAt.is_null())
                .filter(lesson::Column::PublishedAt.is_null())
                .exec(&tx)
                .await?;
        }
        let mut am: course::ActiveModel = current.clone().into();
        apply(&mut am, &current, now);
        am.updated_at = Set(now);
        let model = am.update(&tx).await?;
        audit(&tx, actor, now, action, "course", id, detail).await?;
        tx.commit().await?;
        Ok(model)
    }

    /// Approves a course in review: it is published and its JP credit approved. Its lessons are
    /// checked again, since a quiz can change while the course is in review.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND; CONFLICT unless it is in review, or naming the
    /// lessons that are not ready.
    pub async fn approve_course(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<course::Model, CourseError> {
        let approver = actor.person_id;
        self.decide(
            actor,
            id,
            Decision {
                from: CourseState::InReview,
                verb: "approve",
                action: "course.approve",
            },
            json!({}),
            |am, current, now| {
                am.state = Set(CourseState::Published.as_str().to_owned());
                am.jp_approved_at = Set(Some(now));
                am.jp_approved_by = Set(approver);
                am.published_at = Set(Some(current.published_at.unwrap_or(now)));
                am.review_note = Set(None);
            },
        )
        .await
    }

    /// Sends a course in review back to draft with the reason, which its owners then see.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; BAD_USER_INPUT for an empty or too long reason; NOT_FOUND;
    /// CONFLICT unless it is in review.
    pub async fn reject_course(
        &self,
        actor: &Actor,
        id: Uuid,
        reason: &str,
    ) -> Result<course::Model, CourseError> {
        if !actor.is_admin() {
            return Err(CourseError::Forbidden);
        }
        let reason = multiline_text("reason", reason, MAX_REVIEW_NOTE)?;
        if reason.is_empty() {
            return Err(CourseError::invalid(
                "reason",
                "say why the course goes back to draft",
            ));
        }
        let note = reason.clone();
        self.decide(
            actor,
            id,
            Decision {
                from: CourseState::InReview,
                verb: "reject",
                action: "course.reject",
            },
            json!({"reason": reason}),
            move |am, _, _| {
                am.state = Set(CourseState::Draft.as_str().to_owned());
                am.review_note = Set(Some(note));
            },
        )
        .await
    }

    /// Archives a published course: it leaves the catalogue; records and ids stay.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND; CONFLICT unless it is published.
    pub async fn archive_course(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<course::Model, CourseError> {
        self.decide(
            actor,
            id,
            Decision {
                from: CourseState::Published,
                verb: "archive",
                action: "course.archive",
            },
            json!({}),
            |am, _, _| am.state = Set(CourseState::Archived.as_str().to_owned()),
        )
        .await
    }

    /// Publishes an archived course again, with its approved JP credit, once its lessons are
    /// ready for learners.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND; CONFLICT unless it is archived, or naming the
    /// lessons that are not ready.
    pub async fn republish_course(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<course::Model, CourseError> {
        self.decide(
            actor,
            id,
            Decision {
                from: CourseState::Archived,
                verb: "republish",
                action: "course.republish",
            },
            json!({}),
            |am, _, _| am.state = Set(CourseState::Published.as_str().to_owned()),
        )
        .await
    }

    /// A course the actor may see.
    ///
    /// # Errors
    /// NOT_FOUND when absent or invisible to them (so its existence is not revealed).
    pub async fn course(&self, actor: &Actor, id: Uuid) -> Result<course::Model, CourseError> {
        let course = access::find_course(&self.db, id).await?;
        if access::can_see(&self.db, actor, &course).await? {
            Ok(course)
        } else {
            Err(CourseError::NotFound("course"))
        }
    }

    /// A course the actor may see, by its code.
    ///
    /// # Errors
    /// BAD_USER_INPUT for a malformed code; NOT_FOUND when absent or invisible.
    pub async fn course_by_code(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<course::Model, CourseError> {
        let code = CourseCode::parse(code)?;
        let course = course::Entity::find()
            .filter(course::Column::Code.eq(code.as_str()))
            .one(&self.db)
            .await?
            .ok_or(CourseError::NotFound("course"))?;
        if access::can_see(&self.db, actor, &course).await? {
            Ok(course)
        } else {
            Err(CourseError::NotFound("course"))
        }
    }
}

/// The owners of each course in `course_ids` (by when they were added), for DataLoaders.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn owners_of(
    conn: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> Result<Vec<(Uuid, person::Model)>, CourseError> {
    let rows = course_owner::Entity::find()
        .filter(course_owner::Column::CourseId.is_in(course_ids.iter().copied()))
        .order_by_asc(course_owner::Column::AddedAt)
        .order_by_asc(course_owner::Column::PersonId)
        .all(conn)
        .await?;
    let ids: BTreeSet<Uuid> = rows.iter().map(|r| r.person_id).collect();
    let people = person::Entity::find()
        .filter(person::Column::Id.is_in(ids))
        .all(conn)
        .await?;
    let people: std::collections::HashMap<Uuid, person::Model> =
        people.into_iter().map(|p| (p.id, p)).collect();
    Ok(rows
        .into_iter()
        .filter_map(|r| people.get(&r.person_id).map(|p| (r.course_id, p.clone())))
        .collect())
}

/// The tags of each course in `course_ids`, alphabetically, for DataLoaders.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn tags_of(
    conn: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> Result<Vec<course_tag::Model>, CourseError> {
    Ok(course_tag::Entity::find()
        .filter(course_tag::Column::CourseId.is_in(course_ids.iter().copied()))
        .order_by_asc(course_tag::Column::Tag)
        .all(conn)
        .await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_upper_cased_and_bounded() {
        assert_eq!(
            CourseCode::parse(" mr-dinkes.2026 ").unwrap().as_str(),
            "MR-DINKES.2026"
        );
        for bad in ["", "manajemen risiko", "A/B", &"X".repeat(33)] {
            assert!(CourseCode::parse(bad).is_err(), "{bad}");
        }
        assert!(CourseCode::parse(&"X".repeat(32)).is_ok());
    }

    #[test]
    fn tags_are_normalised_deduplicated_and_limited() {
        let tags = normalise_tags(&[
            "  Manajemen   Risiko ".into(),
            "manajemen risiko".into(),
            "K3".into(),
        ])
        .unwrap();
        assert_eq!(tags, vec!["k3".to_owned(), "manajemen risiko".to_owned()]);
        assert!(normalise_tags(&["  ".into()]).is_err());
        assert!(normalise_tags(&["x".repeat(51)]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(normalise_tags(&many).is_err());
        assert!(normalise_tags(&many[..20]).is_ok());
    }

    #[test]
    fn jp_credit_is_bounded() {
        assert!(check_jp("jpCredit", 0).is_ok());
        assert!(check_jp("jpCredit", 1000).is_ok());
        assert!(check_jp("jpCredit", -1).is_err());
        assert!(check_jp("jpCredit", 1001).is_err());
    }

    #[test]
    fn texts_are_trimmed_and_checked() {
        assert_eq!(required_line("title", "  Judul ", 10).unwrap(), "Judul");
        assert!(required_line("title", "   ", 10).is_err());
        assert!(required_line("title", "a\nb", 10).is_err());
        assert_eq!(
            multiline_text("body", "# H\n\n* a\tb\n", 100).unwrap(),
            "# H\n\n* a\tb"
        );
        assert!(multiline_text("body", "nul\0", 100).is_err());
    }

    #[test]
    fn stored_forms_round_trip() {
        for t in [
            CompetencyType::Technical,
            CompetencyType::Managerial,
            CompetencyType::SocioCultural,
        ] {
            assert_eq!(CompetencyType::from_stored(t.as_str()), Some(t));
        }
        for s in [
            CourseState::Draft,
            CourseState::InReview,
            CourseState::Published,
            CourseState::Archived,
        ] {
            assert_eq!(CourseState::from_stored(s.as_str()), Some(s));
        }
    }
}

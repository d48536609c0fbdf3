//! Question banks and the questions in them.
//!
//! - A course bank belongs to one course: the course's editors (its trainer owners, and admins)
//!   create, rename and archive it and write its questions. An admin changing a bank of a
//!   course they do not own is audited, as for the course itself.
//! - A shared bank has no course: only admins create and edit it. An admin lends it to courses
//!   (audited); the editors of a borrowing course read its questions, answer keys included
//!   (they build quizzes from it), but do not edit them. Learners see no bank.
//! - A question's content lives in versions. Editing a question whose current version has been
//!   given in an attempt writes version n+1 and makes it current; otherwise the current version
//!   changes in place. Attempts keep the version they were given, and statistics are per
//!   version. The edit locks the current version row first (`FOR UPDATE` on PostgreSQL, which
//!   waits for, and then blocks, the foreign-key lock an attempt item inserting that version
//!   takes; SQLite's write transactions are serial), so an attempt never gets a version that
//!   then changes under it.
//! - Archiving a question takes it out of future random draws; attempts keep it.
//! - Option and pair ids are made by the server (UUID v4). An edit keeps an option (or pair)
//!   by naming its id from the current version, so statistics per option stay comparable.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use kernel::pagination::{Page, encode_cursor};
use kernel::{Actor, Role};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::Quizzes;
use crate::entity::{
    attempt_item, question, question_bank, question_bank_loan, question_tag, question_version,
    quiz, quiz_question,
};
use crate::error::QuizError;
use crate::question::{
    ChoiceOption, MatchPair, MultiScoring, QuestionBody, QuestionKind, check_points, check_prompt,
};

/// Longest bank title, in characters.
pub const MAX_BANK_TITLE: usize = 200;
/// Most tags on a question.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters.
pub const MAX_TAG: usize = 50;

/// How an actor may use a bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankAccess {
    /// Write questions, rename, archive (a course bank's editors; admins for shared banks).
    Edit,
    /// Read questions with their answer keys (editors of a course that borrows a shared bank).
    Read,
}

/// A bank the actor may read, and how. Only the access checks of this module make one, so a
/// function taking a `&BankView` knows the caller has been allowed.
#[derive(Debug, Clone)]
pub struct BankView {
    bank: question_bank::Model,
    access: BankAccess,
}

impl BankView {
    /// The bank row.
    pub fn bank(&self) -> &question_bank::Model {
        &self.bank
    }

    /// How the actor may use it.
    pub fn access(&self) -> BankAccess {
        self.access
    }

    /// Whether the actor may edit it.
    pub fn can_edit(&self) -> bool {
        self.access == BankAccess::Edit
    }
}

/// A question with its current version (body parsed) and tags.
#[derive(Debug, Clone)]
pub struct AuthoredQuestion {
    /// The question row.
    pub question: question::Model,
    /// Its current version.
    pub version: question_version::Model,
    /// The current version's content and answer key.
    pub body: QuestionBody,
    /// Its tags, alphabetically.
    pub tags: Vec<String>,
}

/// An option as a trainer writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionInput {
    /// The id of an option of the current version, to keep it; `None` for a new option.
    pub id: Option<Uuid>,
    /// What the learner reads.
    pub text: String,
    /// Whether it is a correct option.
    pub correct: bool,
}

/// A matching pair as a trainer writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct PairInput {
    /// The id (the left item's) of a pair of the current version, to keep it; `None` for a new
    /// pair.
    pub id: Option<Uuid>,
    /// The item on the left.
    pub left: String,
    /// Its right-hand choice.
    pub right: String,
}

/// The answer key as a trainer writes it: the fields of every kind, each optional. A field that
/// does not fit the question's kind is refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyInput {
    /// Options (single and multiple choice).
    pub options: Option<Vec<OptionInput>>,
    /// Scoring (multiple choice; default all-or-nothing).
    pub scoring: Option<MultiScoring>,
    /// The right answer (true/false).
    pub truth: Option<bool>,
    /// Accepted answers (short text).
    pub accepted: Option<Vec<String>>,
    /// Whether case matters (short text; default false).
    pub case_sensitive: Option<bool>,
    /// The right value (numeric).
    pub value: Option<f64>,
    /// How far from it still counts (numeric; default 0).
    pub tolerance: Option<f64>,
    /// Pairs (matching).
    pub pairs: Option<Vec<PairInput>>,
}

/// A new question.
#[derive(Debug, Clone)]
pub struct NewQuestion {
    /// Its type.
    pub kind: QuestionKind,
    /// The prompt.
    pub prompt: String,
    /// Points (default 1).
    pub points: Option<f64>,
    /// Tags (0 to 20; normalised).
    pub tags: Vec<String>,
    /// The answer key.
    pub key: KeyInput,
}

/// Changes to a question; `None` leaves a field as it is. A key field given alone (say
/// `tolerance`) keeps the rest of the current key; a new kind needs the key of that kind.
#[derive(Debug, Clone, Default)]
pub struct QuestionChanges {
    /// A new type.
    pub kind: Option<QuestionKind>,
    /// A new prompt.
    pub prompt: Option<String>,
    /// New points.
    pub points: Option<f64>,
    /// New tags (replacing all of them; tags are not versioned).
    pub tags: Option<Vec<String>>,
    /// Changes to the answer key.
    pub key: KeyInput,
}

/// A page of questions.
#[derive(Debug, Clone)]
pub struct QuestionPage {
    /// (cursor, question), in creation order.
    pub questions: Vec<(String, AuthoredQuestion)>,
    /// Whether more follow.
    pub has_next_page: bool,
}

/// Which questions of a bank to list.
#[derive(Debug, Clone, Default)]
pub struct QuestionFilter {
    /// Only questions with this tag (normalised like tags).
    pub tag: Option<String>,
    /// Include archived questions.
    pub include_archived: bool,
}

/// What a change to a bank or its questions needs: the bank, and whether the change is audited
/// (an admin changing a bank of a course they do not own).
struct Editing {
    bank: question_bank::Model,
    audited: bool,
}

// ---------------------------------------------------------------------------------------------
// Input checks (pure).

/// Normalises one tag: inner white space collapsed, trimmed, lower-cased, 1 to 50 characters.
///
/// # Errors
/// BAD_USER_INPUT on `field`.
pub fn normalise_tag(field: &'static str, raw: &str) -> Result<String, QuizError> {
    let tag = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if tag.is_empty() || tag.chars().count() > MAX_TAG {
        return Err(QuizError::invalid(
            field,
            format!("a tag needs 1 to {MAX_TAG} characters, `{raw}` does not fit"),
        ));
    }
    if tag.chars().any(char::is_control) {
        return Err(QuizError::invalid(
            field,
            "a tag must not contain control characters",
        ));
    }
    Ok(tag)
}

/// Normalises a question's tags: each with [`normalise_tag`], duplicates dropped, sorted, at
/// most 20.
///
/// # Errors
/// BAD_USER_INPUT on `tags`.
pub fn normalise_tags(raw: &[String]) -> Result<Vec<String>, QuizError> {
    let tags = raw
        .iter()
        .map(|t| normalise_tag("tags", t))
        .collect::<Result<BTreeSet<_>, _>>()?;
    if tags.len() > MAX_TAGS {
        return Err(QuizError::invalid(
            "tags",
            format!("a question has at most {MAX_TAGS} tags, not {}", tags.len()),
        ));
    }
    Ok(tags.into_iter().collect())
}

/// Checks a bank title: trimmed, 1 to 200 characters, no control characters.
///
/// # Errors
/// BAD_USER_INPUT on `title`.
pub fn check_title(raw: &str) -> Result<String, QuizError> {
    Ok(course::lifecycle::required_line(
        "title",
        raw,
        MAX_BANK_TITLE,
    )?)
}

fn kind_phrase(kind: QuestionKind) -> &'static str {
    match kind {
        QuestionKind::SingleChoice => "a single-choice question",
        QuestionKind::MultipleChoice => "a multiple-choice question",
        QuestionKind::TrueFalse => "a true/false question",
        QuestionKind::ShortText => "a short-text question",
        QuestionKind::Numeric => "a numeric question",
        QuestionKind::Matching => "a matching question",
    }
}

/// The key fields that `key` gives, by their GraphQL names.
fn given_fields(key: &KeyInput) -> Vec<&'static str> {
    let mut given = Vec::new();
    let mut add = |present: bool, name: &'static str| {
        if present {
            given.push(name);
        }
    };
    add(key.options.is_some(), "options");
    add(key.scoring.is_some(), "scoring");
    add(key.truth.is_some(), "truth");
    add(key.accepted.is_some(), "accepted");
    add(key.case_sensitive.is_some(), "caseSensitive");
    add(key.value.is_some(), "value");
    add(key.tolerance.is_some(), "tolerance");
    add(key.pairs.is_some(), "pairs");
    given
}

/// The key fields a kind takes.
fn fields_of(kind: QuestionKind) -> &'static [&'static str] {
    match kind {
        QuestionKind::SingleChoice => &["options"],
        QuestionKind::MultipleChoice => &["options", "scoring"],
        QuestionKind::TrueFalse => &["truth"],
        QuestionKind::ShortText => &["accepted", "caseSensitive"],
        QuestionKind::Numeric => &["value", "tolerance"],
        QuestionKind::Matching => &["pairs"],
    }
}

fn missing(field: &'static str, kind: QuestionKind) -> QuizError {
    QuizError::invalid(field, format!("{} needs `{field}`", kind_phrase(kind)))
}

/// Gives input options their ids: the kept ones must be options of the current version.
fn options_with_ids(
    input: Vec<OptionInput>,
    current: Option<&QuestionBody>,
) -> Result<Vec<ChoiceOption>, QuizError> {
    let known: HashSet<Uuid> = current
        .map(|b| b.options().iter().map(|o| o.id).collect())
        .unwrap_or_default();
    input
        .into_iter()
        .map(|o| {
            let id = match o.id {
                None => Uuid::new_v4(),
                Some(id) if known.contains(&id) => id,
                Some(id) => {
                    return Err(QuizError::invalid(
                        "options",
                        format!("{id} is not an option of the question's current version"),
                    ));
                }
            };
            Ok(ChoiceOption {
                id,
                text: o.text,
                correct: o.correct,
            })
        })
        .collect()
}

/// Gives input pairs their ids: a kept pair (named by its left item's id) keeps both of its ids.
fn pairs_with_ids(
    input: Vec<PairInput>,
    current: Option<&QuestionBody>,
) -> Result<Vec<MatchPair>, QuizError> {
    let known: HashMap<Uuid, Uuid> = match current {
        Some(QuestionBody::Matching { pairs }) => {
            pairs.iter().map(|p| (p.left_id, p.right_id)).collect()
        }
        _ => HashMap::new(),
    };
    input
        .into_iter()
        .map(|p| {
            let (left_id, right_id) = match p.id {
                None => (Uuid::new_v4(), Uuid::new_v4()),
                Some(id) => match known.get(&id) {
                    Some(right) => (id, *right),
                    None => {
                        return Err(QuizError::invalid(
                            "pairs",
                            format!("{id} is not a pair of the question's current version"),
                        ));
                    }
                },
            };
            Ok(MatchPair {
                left_id,
                left: p.left,
                right_id,
                right: p.right,
            })
        })
        .collect()
}

/// Builds and checks the body of a question of `kind` from `key`, keeping what `key` leaves out
/// from `current` when it is of the same kind.
///
/// # Errors
/// BAD_USER_INPUT naming the field: one that does not fit `kind`, a missing one, an unknown
/// option or pair id, or what [`QuestionBody::validated`] refuses.
pub fn build_body(
    kind: QuestionKind,
    key: KeyInput,
    current: Option<&QuestionBody>,
) -> Result<QuestionBody, QuizError> {
    let fits = fields_of(kind);
    if let Some(field) = given_fields(&key).into_iter().find(|f| !fits.contains(f)) {
        return Err(QuizError::invalid(
            field,
            format!("`{field}` does not apply to {}", kind_phrase(kind)),
        ));
    }
    // What the key leaves out stays as it is, when the kind stays.
    let base = current.filter(|b| b.kind() == kind);
    let body = match kind {
        QuestionKind::SingleChoice => {
            let options = match (key.options, base) {
                (Some(o), _) => options_with_ids(o, current)?,
                (None, Some(b)) => b.options().to_vec(),
                (None, None) => return Err(missing("options", kind)),
            };
            QuestionBody::SingleChoice { options }
        }
        QuestionKind::MultipleChoice => {
            let options = match (key.options, base) {
                (Some(o), _) => options_with_ids(o, current)?,
                (None, Some(b)) => b.options().to_vec(),
                (None, None) => return Err(missing("options", kind)),
            };
            let scoring = key
                .scoring
                .or(match base {
                    Some(QuestionBody::MultipleChoice { scoring, .. }) => Some(*scoring),
                    _ => None,
                })
                .unwrap_or(MultiScoring::AllOrNothing);
            QuestionBody::MultipleChoice { options, scoring }
        }
        QuestionKind::TrueFalse => {
            let answer = key
                .truth
                .or(match base {
                    Some(QuestionBody::TrueFalse { answer }) => Some(*answer),
                    _ => None,
                })
                .ok_or_else(|| missing("truth", kind))?;
            QuestionBody::TrueFalse { answer }
        }
        QuestionKind::ShortText => {
            let (old_accepted, old_case) = match base {
                Some(QuestionBody::ShortText {
                    accepted,
                    case_sensitive,
                }) => (Some(accepted.clone()), Some(*case_sensitive)),
                _ => (None, None),
            };
            let accepted = key
                .accepted
                .or(old_accepted)
                .ok_or_else(|| missing("accepted", kind))?;
            let case_sensitive = key.case_sensitive.or(old_case).unwrap_or(false);
            QuestionBody::ShortText {
                accepted,
                case_sensitive,
            }
        }
        QuestionKind::Numeric => {
            let (old_value, old_tolerance) = match base {
                Some(QuestionBody::Numeric { value, tolerance }) => {
                    (Some(*value), Some(*tolerance))
                }
                _ => (None, None),
            };
            let value = key
                .value
                .or(old_value)
                .ok_or_else(|| missing("value", kind))?;
            let tolerance = key.tolerance.or(old_tolerance).unwrap_or(0.0);
            QuestionBody::Numeric { value, tolerance }
        }
        QuestionKind::Matching => {
            let pairs = match (key.pairs, base) {
                (Some(p), _) => pairs_with_ids(p, current)?,
                (None, Some(QuestionBody::Matching { pairs })) => pairs.clone(),
                (None, _) => return Err(missing("pairs", kind)),
            };
            QuestionBody::Matching { pairs }
        }
    };
    body.validated()
}

/// A question version's content, checked: (kind, prompt, points, body).
type Content = (QuestionKind, String, f64, QuestionBody);

fn new_content(input: NewQuestion) -> Result<(Content, Vec<String>), QuizError> {
    let prompt = check_prompt(&input.prompt)?;
    let points = check_points(input.points.unwrap_or(1.0))?;
    let tags = normalise_tags(&input.tags)?;
    let body = build_body(input.kind, input.key, None)?;
    Ok(((input.kind, prompt, points, body), tags))
}

/// The content after `changes`, from the current version's.
fn changed_content(
    current: &question_version::Model,
    current_body: &QuestionBody,
    changes: QuestionChanges,
) -> Result<(Content, Option<Vec<String>>), QuizError> {
    let prompt = match &changes.prompt {
        Some(p) => check_prompt(p)?,
        None => current.prompt.clone(),
    };
    let points = match changes.points {
        Some(p) => check_points(p)?,
        None => current.points,
    };
    let tags = changes.tags.as_deref().map(normalise_tags).transpose()?;
    let kind = changes.kind.unwrap_or(current_body.kind());
    let body = if changes.kind.is_none_or(|k| k == current_body.kind())
        && changes.key == KeyInput::default()
    {
        current_body.clone()
    } else {
        build_body(kind, changes.key, Some(current_body))?
    };
    Ok(((kind, prompt, points, body), tags))
}

// ---------------------------------------------------------------------------------------------
// Access.

async fn find_bank(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<question_bank::Model, QuizError> {
    question_bank::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(QuizError::NotFound("question bank"))
}

/// Whether `person` owns a course that borrows shared bank `bank_id`.
async fn owns_a_borrower(
    conn: &impl ConnectionTrait,
    bank_id: Uuid,
    person: Uuid,
) -> Result<bool, QuizError> {
    use course::entity::course_owner;
    let borrowers = Query::select()
        .column(question_bank_loan::Column::CourseId)
        .from(question_bank_loan::Entity)
        .and_where(question_bank_loan::Column::BankId.eq(bank_id))
        .to_owned();
    Ok(course_owner::Entity::find()
        .filter(course_owner::Column::PersonId.eq(person))
        .filter(course_owner::Column::CourseId.in_subquery(borrowers))
        .count(conn)
        .await?
        > 0)
}

/// How `actor` may use `bank`, with whether their edits are audited; `None`: not at all.
async fn access_to(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    bank: &question_bank::Model,
) -> Result<Option<(BankAccess, bool)>, QuizError> {
    let trainer = actor.has(Role::Trainer);
    match bank.course_id {
        Some(course_id) => {
            if !actor.is_admin() && !trainer {
                return Ok(None);
            }
            let owns = course::access::is_owner(conn, course_id, actor.person_id).await?;
            Ok(if actor.is_admin() {
                Some((BankAccess::Edit, !owns))
            } else if owns {
                Some((BankAccess::Edit, false))
            } else {
                None
            })
        }
        None => {
            if actor.is_admin() {
                return Ok(Some((BankAccess::Edit, false)));
            }
            match actor.person_id {
                Some(me) if trainer && owns_a_borrower(conn, bank.id, me).await? => {
                    Ok(Some((BankAccess::Read, false)))
                }
                _ => Ok(None),
            }
        }
    }
}

/// The bank `bank_id` if `actor` may edit it (its course's editors; admins for a shared bank).
/// It does not look at whether the bank is archived.
///
/// # Errors
/// NOT_FOUND for an unknown bank; FORBIDDEN when the actor may not edit it.
pub async fn editable_bank(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    bank_id: Uuid,
) -> Result<question_bank::Model, QuizError> {
    Ok(editing(conn, actor, bank_id).await?.bank)
}

async fn editing(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    bank_id: Uuid,
) -> Result<Editing, QuizError> {
    let bank = find_bank(conn, bank_id).await?;
    match access_to(conn, actor, &bank).await? {
        Some((BankAccess::Edit, audited)) => Ok(Editing { bank, audited }),
        _ => Err(QuizError::Forbidden),
    }
}

/// The bank `bank_id` as `actor` may read it.
///
/// # Errors
/// NOT_FOUND for an unknown bank; FORBIDDEN when the actor may not read it.
pub async fn readable_bank(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    bank_id: Uuid,
) -> Result<BankView, QuizError> {
    let bank = find_bank(conn, bank_id).await?;
    match access_to(conn, actor, &bank).await? {
        Some((access, _)) => Ok(BankView { bank, access }),
        None => Err(QuizError::Forbidden),
    }
}

/// Whether course `course_id` may draw from bank `bank_id`: its own bank, or a shared bank lent
/// to it. Archived banks count (archiving a bank does not break the quizzes that use it).
///
/// # Errors
/// NOT_FOUND for an unknown bank.
pub async fn readable_by_course(
    conn: &impl ConnectionTrait,
    bank_id: Uuid,
    course_id: Uuid,
) -> Result<bool, QuizError> {
    let bank = find_bank(conn, bank_id).await?;
    match bank.course_id {
        Some(own) => Ok(own == course_id),
        None => Ok(question_bank_loan::Entity::find_by_id((bank_id, course_id))
            .one(conn)
            .await?
            .is_some()),
    }
}

fn require_not_archived(bank: &question_bank::Model) -> Result<(), QuizError> {
    if bank.archived_at.is_some() {
        return Err(QuizError::Conflict(
            "the question bank is archived; restore it first".into(),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Batch reads.

/// The current version of each of `question_ids`, in one query. Unknown ids are left out.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn current_versions(
    conn: &impl ConnectionTrait,
    question_ids: &[Uuid],
) -> Result<HashMap<Uuid, question_version::Model>, QuizError> {
    if question_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = question_version::Entity::find()
        .filter(question_version::Column::QuestionId.is_in(question_ids.iter().copied()))
        .filter(Expr::cust(
            "question_versions.version = (SELECT questions.current_version FROM questions \
             WHERE questions.id = question_versions.question_id)",
        ))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|v| (v.question_id, v)).collect())
}

/// Every version of each of `question_ids`, newest first, in one query.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn versions_of(
    conn: &impl ConnectionTrait,
    question_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<question_version::Model>>, QuizError> {
    let mut map: HashMap<Uuid, Vec<question_version::Model>> = HashMap::new();
    if question_ids.is_empty() {
        return Ok(map);
    }
    let rows = question_version::Entity::find()
        .filter(question_version::Column::QuestionId.is_in(question_ids.iter().copied()))
        .order_by_asc(question_version::Column::QuestionId)
        .order_by_desc(question_version::Column::Version)
        .all(conn)
        .await?;
    for v in rows {
        map.entry(v.question_id).or_default().push(v);
    }
    Ok(map)
}

/// The tags of each of `question_ids`, alphabetically, in one query.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn tags_of(
    conn: &impl ConnectionTrait,
    question_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, QuizError> {
    let mut map: HashMap<Uuid, Vec<String>> = HashMap::new();
    if question_ids.is_empty() {
        return Ok(map);
    }
    let rows = question_tag::Entity::find()
        .filter(question_tag::Column::QuestionId.is_in(question_ids.iter().copied()))
        .order_by_asc(question_tag::Column::QuestionId)
        .order_by_asc(question_tag::Column::Tag)
        .all(conn)
        .await?;
    for t in rows {
        map.entry(t.question_id).or_default().push(t.tag);
    }
    Ok(map)
}

/// The number of questions (not archived) in each of `bank_ids`, in one query.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn question_counts(
    conn: &impl ConnectionTrait,
    bank_ids: &[Uuid],
) -> Result<HashMap<Uuid, u64>, QuizError> {
    if bank_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, i64)> = question::Entity::find()
        .select_only()
        .column(question::Column::BankId)
        .column_as(question::Column::Id.count(), "n")
        .filter(question::Column::BankId.is_in(bank_ids.iter().copied()))
        .filter(question::Column::ArchivedAt.is_null())
        .group_by(question::Column::BankId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(b, n)| (b, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// The loans of each of `bank_ids`, oldest first, in one query.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn loans_of(
    conn: &impl ConnectionTrait,
    bank_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<question_bank_loan::Model>>, QuizError> {
    let mut map: HashMap<Uuid, Vec<question_bank_loan::Model>> = HashMap::new();
    if bank_ids.is_empty() {
        return Ok(map);
    }
    let rows = question_bank_loan::Entity::find()
        .filter(question_bank_loan::Column::BankId.is_in(bank_ids.iter().copied()))
        .order_by_asc(question_bank_loan::Column::LentAt)
        .order_by_asc(question_bank_loan::Column::CourseId)
        .all(conn)
        .await?;
    for l in rows {
        map.entry(l.bank_id).or_default().push(l);
    }
    Ok(map)
}

/// The ids of the questions of `bank_id` that a random draw may pick: not archived, with `tag`
/// when one is given (normalised like tags), in creation order, in one query.
///
/// # Errors
/// BAD_USER_INPUT on `tag` for an invalid tag; INTERNAL on database failure.
pub async fn candidates(
    conn: &impl ConnectionTrait,
    bank_id: Uuid,
    tag: Option<&str>,
) -> Result<Vec<Uuid>, QuizError> {
    let mut q = question::Entity::find()
        .select_only()
        .column(question::Column::Id)
        .filter(question::Column::BankId.eq(bank_id))
        .filter(question::Column::ArchivedAt.is_null());
    if let Some(tag) = tag {
        q = q.filter(question::Column::Id.in_subquery(tagged(&normalise_tag("tag", tag)?)));
    }
    Ok(q.order_by_asc(question::Column::Id)
        .into_tuple()
        .all(conn)
        .await?)
}

fn tagged(tag: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(question_tag::Column::QuestionId)
        .from(question_tag::Entity)
        .and_where(question_tag::Column::Tag.eq(tag))
        .to_owned()
}

/// Assembles questions with their current versions and tags (two queries).
async fn authored(
    conn: &impl ConnectionTrait,
    questions: Vec<question::Model>,
) -> Result<Vec<AuthoredQuestion>, QuizError> {
    let ids: Vec<Uuid> = questions.iter().map(|q| q.id).collect();
    let mut versions = current_versions(conn, &ids).await?;
    let mut tags = tags_of(conn, &ids).await?;
    questions
        .into_iter()
        .map(|q| {
            let version = versions.remove(&q.id).ok_or_else(|| {
                QuizError::Internal(format!("question {} has no current version", q.id))
            })?;
            let body = QuestionBody::from_stored(&version.body)?;
            let tags = tags.remove(&q.id).unwrap_or_default();
            Ok(AuthoredQuestion {
                question: q,
                version,
                body,
                tags,
            })
        })
        .collect()
}

async fn authored_one(
    conn: &impl ConnectionTrait,
    question: question::Model,
) -> Result<AuthoredQuestion, QuizError> {
    authored(conn, vec![question])
        .await?
        .pop()
        .ok_or_else(|| QuizError::Internal("a question vanished while read".into()))
}

// ---------------------------------------------------------------------------------------------
// Writes' helpers.

async fn replace_tags(
    conn: &impl ConnectionTrait,
    question_id: Uuid,
    tags: &[String],
) -> Result<(), QuizError> {
    question_tag::Entity::delete_many()
        .filter(question_tag::Column::QuestionId.eq(question_id))
        .exec(conn)
        .await?;
    if !tags.is_empty() {
        question_tag::Entity::insert_many(tags.iter().map(|t| question_tag::ActiveModel {
            question_id: Set(question_id),
            tag: Set(t.clone()),
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

async fn audit(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    at: DateTime<Utc>,
    action: &str,
    target_type: &str,
    target_id: Uuid,
    detail: serde_json::Value,
) -> Result<(), QuizError> {
    identity::audit::record(conn, actor, at, action, target_type, target_id, detail).await?;
    Ok(())
}

/// Takes the question's row lock for the rest of the transaction (by touching `updated_at`)
/// and returns the row, so two edits of one question run one after the other.
async fn lock_question(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<question::Model, QuizError> {
    let touched = question::Entity::update_many()
        .col_expr(question::Column::UpdatedAt, Expr::value(now))
        .filter(question::Column::Id.eq(id))
        .exec(conn)
        .await?;
    if touched.rows_affected == 0 {
        return Err(QuizError::NotFound("question"));
    }
    question::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(QuizError::NotFound("question"))
}

/// Whether a version has been given in any attempt.
async fn was_given(conn: &impl ConnectionTrait, version_id: Uuid) -> Result<bool, QuizError> {
    Ok(attempt_item::Entity::find()
        .select_only()
        .column(attempt_item::Column::Id)
        .filter(attempt_item::Column::QuestionVersionId.eq(version_id))
        .limit(1)
        .into_tuple::<Uuid>()
        .one(conn)
        .await?
        .is_some())
}

/// How an edit stored its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionWrite {
    /// Nothing in the version changed.
    Unchanged,
    /// The current version, never given in an attempt, changed in place.
    InPlace,
    /// The current version had been given: a new version was written and made current.
    NewVersion,
}

/// Stores `content` as the question's current content: in place when the current version was
/// never given in an attempt, as version n+1 otherwise. The caller holds the question's lock.
async fn write_version(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    question: &question::Model,
    content: Content,
    now: DateTime<Utc>,
) -> Result<(VersionWrite, question_version::Model), QuizError> {
    // Locked so that no attempt takes this version between the check and the change (PostgreSQL;
    // an attempt item's foreign key takes a share lock on the version it references).
    let current = question_version::Entity::find()
        .filter(question_version::Column::QuestionId.eq(question.id))
        .filter(question_version::Column::Version.eq(question.current_version))
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| {
            QuizError::Internal(format!("question {} has no current version", question.id))
        })?;
    let (kind, prompt, points, body) = content;
    let stored = body.to_stored();
    let same = current.kind == kind.as_str()
        && current.prompt == prompt
        && current.points == points
        && QuestionBody::from_stored(&current.body).ok().as_ref() == Some(&body);
    if same {
        return Ok((VersionWrite::Unchanged, current));
    }
    if !was_given(conn, current.id).await? {
        let mut am = current.into_active_model();
        am.kind = Set(kind.as_str().to_owned());
        am.prompt = Set(prompt);
        am.points = Set(points);
        am.body = Set(stored);
        return Ok((VersionWrite::InPlace, am.update(conn).await?));
    }
    let next = current.version + 1;
    let version = question_version::ActiveModel {
        id: Set(kernel::new_id()),
        question_id: Set(question.id),
        version: Set(next),
        kind: Set(kind.as_str().to_owned()),
        prompt: Set(prompt),
        points: Set(points),
        body: Set(stored),
        created_by: Set(actor.person_id.unwrap_or(current.created_by)),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    question::Entity::update_many()
        .col_expr(question::Column::CurrentVersion, Expr::value(next))
        .filter(question::Column::Id.eq(question.id))
        .exec(conn)
        .await?;
    Ok((VersionWrite::NewVersion, version))
}

// ---------------------------------------------------------------------------------------------
// The service.

impl Quizzes {
    /// Creates a bank: a course bank (the course's editors) or, without a course, a shared bank
    /// (admins).
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course; FORBIDDEN for others, and for an actor who is not a
    /// person; BAD_USER_INPUT on `title`.
    pub async fn create_bank(
        &self,
        actor: &Actor,
        course_id: Option<Uuid>,
        title: &str,
    ) -> Result<BankView, QuizError> {
        let me = actor.person_id.ok_or(QuizError::Forbidden)?;
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let audited = match course_id {
            Some(course_id) => {
                let course = course::access::find_course(&tx, course_id).await?;
                course::access::require_editor(&tx, actor, &course).await?;
                actor.is_admin() && !course::access::is_owner(&tx, course_id, Some(me)).await?
            }
            None if actor.is_admin() => false,
            None => return Err(QuizError::Forbidden),
        };
        let title = check_title(title)?;
        let bank = question_bank::ActiveModel {
            id: Set(kernel::new_id()),
            course_id: Set(course_id),
            title: Set(title),
            created_by: Set(me),
            created_at: Set(now),
            updated_at: Set(now),
            archived_at: Set(None),
        }
        .insert(&tx)
        .await?;
        if audited {
            audit(
                &tx,
                actor,
                now,
                "question_bank.create",
                "question_bank",
                bank.id,
                json!({ "courseId": course_id, "title": bank.title }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(BankView {
            bank,
            access: BankAccess::Edit,
        })
    }

    /// Renames a bank.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for those who may not edit it; BAD_USER_INPUT on `title`;
    /// CONFLICT when it is archived.
    pub async fn rename_bank(
        &self,
        actor: &Actor,
        id: Uuid,
        title: &str,
    ) -> Result<BankView, QuizError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let Editing { bank, audited } = editing(&tx, actor, id).await?;
        require_not_archived(&bank)?;
        let title = check_title(title)?;
        let old = bank.title.clone();
        let mut am = bank.into_active_model();
        am.title = Set(title.clone());
        am.updated_at = Set(now);
        let bank = am.update(&tx).await?;
        if audited {
            audit(
                &tx,
                actor,
                now,
                "question_bank.rename",
                "question_bank",
                id,
                json!({ "from": old, "to": title }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(BankView {
            bank,
            access: BankAccess::Edit,
        })
    }

    /// Archives a bank (`archived`) or restores it. An archived bank is hidden from lists
    /// unless asked for and takes no new questions; quizzes that use it keep working.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for those who may not edit it.
    pub async fn set_bank_archived(
        &self,
        actor: &Actor,
        id: Uuid,
        archived: bool,
    ) -> Result<BankView, QuizError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let Editing { bank, audited } = editing(&tx, actor, id).await?;
        if bank.archived_at.is_some() == archived {
            return Ok(BankView {
                bank,
                access: BankAccess::Edit,
            });
        }
        let mut am = bank.into_active_model();
        am.archived_at = Set(archived.then_some(now));
        am.updated_at = Set(now);
        let bank = am.update(&tx).await?;
        if audited {
            let action = if archived {
                "question_bank.archive"
            } else {
                "question_bank.restore"
            };
            audit(&tx, actor, now, action, "question_bank", id, json!({})).await?;
        }
        tx.commit().await?;
        Ok(BankView {
            bank,
            access: BankAccess::Edit,
        })
    }

    /// Lends a shared bank to a course: its editors may then read its questions and draw from
    /// it (admins; audited). Lending it again changes nothing.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins and an actor who is not a person; NOT_FOUND for an unknown bank
    /// or course; BAD_USER_INPUT on `bankId` for a course bank; CONFLICT for an archived bank.
    pub async fn lend_bank(
        &self,
        actor: &Actor,
        bank_id: Uuid,
        course_id: Uuid,
    ) -> Result<BankView, QuizError> {
        if !actor.is_admin() {
            return Err(QuizError::Forbidden);
        }
        let me = actor.person_id.ok_or(QuizError::Forbidden)?;
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let bank = find_bank(&tx, bank_id).await?;
        if bank.course_id.is_some() {
            return Err(QuizError::invalid(
                "bankId",
                "only a shared bank can be lent; this one belongs to a course",
            ));
        }
        require_not_archived(&bank)?;
        course::access::find_course(&tx, course_id).await?;
        let inserted = question_bank_loan::Entity::insert(question_bank_loan::ActiveModel {
            bank_id: Set(bank_id),
            course_id: Set(course_id),
            lent_by: Set(me),
            lent_at: Set(now),
        })
        .on_conflict_do_nothing_on([
            question_bank_loan::Column::BankId,
            question_bank_loan::Column::CourseId,
        ])
        .exec_without_returning(&tx)
        .await?;
        let lent = matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0);
        if lent {
            audit(
                &tx,
                actor,
                now,
                "question_bank.lend",
                "question_bank",
                bank_id,
                json!({ "courseId": course_id }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(BankView {
            bank,
            access: BankAccess::Edit,
        })
    }

    /// Ends the loan of a shared bank to a course (admins; audited).
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND for an unknown bank or loan; CONFLICT while a quiz
    /// of the course draws from the bank or lists one of its questions.
    pub async fn return_bank(
        &self,
        actor: &Actor,
        bank_id: Uuid,
        course_id: Uuid,
    ) -> Result<BankView, QuizError> {
        if !actor.is_admin() {
            return Err(QuizError::Forbidden);
        }
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let bank = find_bank(&tx, bank_id).await?;
        let course_quizzes = Query::select()
            .column(quiz::Column::Id)
            .from(quiz::Entity)
            .and_where(quiz::Column::CourseId.eq(course_id))
            .to_owned();
        let bank_questions = Query::select()
            .column(question::Column::Id)
            .from(question::Entity)
            .and_where(question::Column::BankId.eq(bank_id))
            .to_owned();
        let draws = quiz::Entity::find()
            .filter(quiz::Column::CourseId.eq(course_id))
            .filter(quiz::Column::DrawBankId.eq(bank_id))
            .count(&tx)
            .await?;
        let listed = quiz_question::Entity::find()
            .filter(quiz_question::Column::QuizId.in_subquery(course_quizzes))
            .filter(quiz_question::Column::QuestionId.in_subquery(bank_questions))
            .count(&tx)
            .await?;
        if draws + listed > 0 {
            return Err(QuizError::Conflict(
                "quizzes of this course use questions of this bank; change them first".into(),
            ));
        }
        let deleted = question_bank_loan::Entity::delete_many()
            .filter(question_bank_loan::Column::BankId.eq(bank_id))
            .filter(question_bank_loan::Column::CourseId.eq(course_id))
            .exec(&tx)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(QuizError::NotFound("loan"));
        }
        audit(
            &tx,
            actor,
            now,
            "question_bank.return",
            "question_bank",
            bank_id,
            json!({ "courseId": course_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(BankView {
            bank,
            access: BankAccess::Edit,
        })
    }

    /// A course's banks: its own and the shared banks lent to it, by title (the course's
    /// editors).
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course; FORBIDDEN for anyone but its editors.
    pub async fn course_banks(
        &self,
        actor: &Actor,
        course_id: Uuid,
        include_archived: bool,
    ) -> Result<Vec<BankView>, QuizError> {
        let course = course::access::find_course(&self.db, course_id).await?;
        course::access::require_editor(&self.db, actor, &course).await?;
        let lent = Query::select()
            .column(question_bank_loan::Column::BankId)
            .from(question_bank_loan::Entity)
            .and_where(question_bank_loan::Column::CourseId.eq(course_id))
            .to_owned();
        let mut q = question_bank::Entity::find().filter(
            Condition::any()
                .add(question_bank::Column::CourseId.eq(course_id))
                .add(question_bank::Column::Id.in_subquery(lent)),
        );
        if !include_archived {
            q = q.filter(question_bank::Column::ArchivedAt.is_null());
        }
        let banks = q
            .order_by_asc(question_bank::Column::Title)
            .order_by_asc(question_bank::Column::Id)
            .all(&self.db)
            .await?;
        Ok(banks
            .into_iter()
            .map(|bank| {
                let access = if bank.course_id.is_some() || actor.is_admin() {
                    BankAccess::Edit
                } else {
                    BankAccess::Read
                };
                BankView { bank, access }
            })
            .collect())
    }

    /// Every shared bank, by title (admins).
    ///
    /// # Errors
    /// FORBIDDEN for non-admins.
    pub async fn shared_banks(
        &self,
        actor: &Actor,
        include_archived: bool,
    ) -> Result<Vec<BankView>, QuizError> {
        if !actor.is_admin() {
            return Err(QuizError::Forbidden);
        }
        let mut q = question_bank::Entity::find().filter(question_bank::Column::CourseId.is_null());
        if !include_archived {
            q = q.filter(question_bank::Column::ArchivedAt.is_null());
        }
        Ok(q.order_by_asc(question_bank::Column::Title)
            .order_by_asc(question_bank::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|bank| BankView {
                bank,
                access: BankAccess::Edit,
            })
            .collect())
    }

    /// A bank the actor may read.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for those who may not read it (learners among them).
    pub async fn bank(&self, actor: &Actor, id: Uuid) -> Result<BankView, QuizError> {
        readable_bank(&self.db, actor, id).await
    }

    /// A page of a readable bank's questions, in creation order, with their current versions
    /// and tags (three queries).
    ///
    /// # Errors
    /// BAD_USER_INPUT on `tag` or `after`.
    pub async fn questions(
        &self,
        view: &BankView,
        filter: QuestionFilter,
        page: Page,
    ) -> Result<QuestionPage, QuizError> {
        let mut q = question::Entity::find().filter(question::Column::BankId.eq(view.bank.id));
        if !filter.include_archived {
            q = q.filter(question::Column::ArchivedAt.is_null());
        }
        if let Some(tag) = &filter.tag {
            q = q.filter(question::Column::Id.in_subquery(tagged(&normalise_tag("tag", tag)?)));
        }
        if let Some(after) = &page.after {
            let after = Uuid::parse_str(after)
                .map_err(|_| QuizError::invalid("after", "invalid cursor"))?;
            q = q.filter(question::Column::Id.gt(after));
        }
        let mut rows = q
            .order_by_asc(question::Column::Id)
            .limit(page.fetch())
            .all(&self.db)
            .await?;
        let has_next_page = page.cut(&mut rows);
        let questions = authored(&self.db, rows)
            .await?
            .into_iter()
            .map(|a| (encode_cursor(&a.question.id.to_string()), a))
            .collect();
        Ok(QuestionPage {
            questions,
            has_next_page,
        })
    }

    /// A question of a bank the actor may read, with its bank.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for those who may not read its bank.
    pub async fn question(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(BankView, AuthoredQuestion), QuizError> {
        let question = question::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(QuizError::NotFound("question"))?;
        let view = readable_bank(&self.db, actor, question.bank_id).await?;
        Ok((view, authored_one(&self.db, question).await?))
    }

    /// Writes a question into a bank the actor edits, as version 1.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for those who may not edit the bank, and for an actor who is not a
    /// person; CONFLICT for an archived bank; BAD_USER_INPUT naming the field at fault.
    pub async fn create_question(
        &self,
        actor: &Actor,
        bank_id: Uuid,
        input: NewQuestion,
    ) -> Result<(BankView, AuthoredQuestion), QuizError> {
        let me = actor.person_id.ok_or(QuizError::Forbidden)?;
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let Editing { bank, audited } = editing(&tx, actor, bank_id).await?;
        require_not_archived(&bank)?;
        let ((kind, prompt, points, body), tags) = new_content(input)?;
        let question = question::ActiveModel {
            id: Set(kernel::new_id()),
            bank_id: Set(bank_id),
            current_version: Set(1),
            created_by: Set(me),
            created_at: Set(now),
            updated_at: Set(now),
            archived_at: Set(None),
        }
        .insert(&tx)
        .await?;
        let version = question_version::ActiveModel {
            id: Set(kernel::new_id()),
            question_id: Set(question.id),
            version: Set(1),
            kind: Set(kind.as_str().to_owned()),
            prompt: Set(prompt),
            points: Set(points),
            body: Set(body.to_stored()),
            created_by: Set(me),
            created_at: Set(now),
        }
        .insert(&tx)
        .await?;
        replace_tags(&tx, question.id, &tags).await?;
        if audited {
            audit(
                &tx,
                actor,
                now,
                "question.create",
                "question",
                question.id,
                json!({ "bankId": bank_id }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok((
            BankView {
                bank,
                access: BankAccess::Edit,
            },
            AuthoredQuestion {
                question,
                version,
                body,
                tags,
            },
        ))
    }

    /// Changes a question. Its content changes in place while its current version has never
    /// been given in an attempt, and goes to a new version otherwise; tags are not versioned.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for those who may not edit its bank; CONFLICT when the question or
    /// its bank is archived; BAD_USER_INPUT naming the field at fault (an option or pair id
    /// that is not one of the current version's among them).
    pub async fn update_question(
        &self,
        actor: &Actor,
        id: Uuid,
        changes: QuestionChanges,
    ) -> Result<(BankView, AuthoredQuestion, VersionWrite), QuizError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let question = lock_question(&tx, id, now).await?;
        let Editing { bank, audited } = editing(&tx, actor, question.bank_id).await?;
        require_not_archived(&bank)?;
        if question.archived_at.is_some() {
            return Err(QuizError::Conflict(
                "the question is archived; restore it first".into(),
            ));
        }
        let current = authored_one(&tx, question.clone()).await?;
        let (content, tags) = changed_content(&current.version, &current.body, changes)?;
        let (write, _) = write_version(&tx, actor, &question, content, now).await?;
        if let Some(tags) = &tags {
            replace_tags(&tx, id, tags).await?;
        }
        if audited {
            audit(
                &tx,
                actor,
                now,
                "question.update",
                "question",
                id,
                json!({ "newVersion": write == VersionWrite::NewVersion }),
            )
            .await?;
        }
        let question = question::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(QuizError::NotFound("question"))?;
        let updated = authored_one(&tx, question).await?;
        tx.commit().await?;
        Ok((
            BankView {
                bank,
                access: BankAccess::Edit,
            },
            updated,
            write,
        ))
    }

    /// Archives a question (`archived`: no longer drawn; attempts keep it) or restores it.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for those who may not edit its bank.
    pub async fn set_question_archived(
        &self,
        actor: &Actor,
        id: Uuid,
        archived: bool,
    ) -> Result<(BankView, AuthoredQuestion), QuizError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let question = lock_question(&tx, id, now).await?;
        let Editing { bank, audited } = editing(&tx, actor, question.bank_id).await?;
        let question = if question.archived_at.is_some() == archived {
            question
        } else {
            let mut am = question.into_active_model();
            am.archived_at = Set(archived.then_some(now));
            let question = am.update(&tx).await?;
            if audited {
                let action = if archived {
                    "question.archive"
                } else {
                    "question.restore"
                };
                audit(&tx, actor, now, action, "question", id, json!({})).await?;
            }
            question
        };
        let authored = authored_one(&tx, question).await?;
        tx.commit().await?;
        Ok((
            BankView {
                bank,
                access: BankAccess::Edit,
            },
            authored,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(text: &str, correct: bool) -> OptionInput {
        OptionInput {
            id: None,
            text: text.into(),
            correct,
        }
    }

    fn field(e: &QuizError) -> Option<&'static str> {
        match e {
            QuizError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    #[test]
    fn tags_are_normalised_bounded_and_deduplicated() {
        let tags = normalise_tags(&[" Etika  Publik ".into(), "K3".into(), "k3".into()]);
        assert_eq!(tags.ok(), Some(vec!["etika publik".into(), "k3".into()]));
        let long = "x".repeat(51);
        assert_eq!(
            normalise_tags(&[long]).err().as_ref().and_then(field),
            Some("tags")
        );
        assert!(normalise_tags(&["   ".into()]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(normalise_tags(&many).is_err());
    }

    #[test]
    fn a_field_of_another_kind_is_refused_by_name() {
        let key = KeyInput {
            options: Some(vec![opt("a", true), opt("b", false)]),
            truth: Some(true),
            ..KeyInput::default()
        };
        let e = build_body(QuestionKind::SingleChoice, key, None).err();
        assert_eq!(e.as_ref().and_then(field), Some("truth"));
        let e = build_body(
            QuestionKind::Numeric,
            KeyInput {
                value: Some(1.0),
                case_sensitive: Some(true),
                ..KeyInput::default()
            },
            None,
        )
        .err();
        assert_eq!(e.as_ref().and_then(field), Some("caseSensitive"));
    }

    #[test]
    fn a_missing_key_is_named() {
        for (kind, name) in [
            (QuestionKind::SingleChoice, "options"),
            (QuestionKind::MultipleChoice, "options"),
            (QuestionKind::TrueFalse, "truth"),
            (QuestionKind::ShortText, "accepted"),
            (QuestionKind::Numeric, "value"),
            (QuestionKind::Matching, "pairs"),
        ] {
            let e = build_body(kind, KeyInput::default(), None).err();
            assert_eq!(e.as_ref().and_then(field), Some(name), "{kind:?}");
        }
    }

    #[test]
    fn new_options_get_fresh_ids_and_kept_ones_keep_theirs() {
        let body = build_body(
            QuestionKind::SingleChoice,
            KeyInput {
                options: Some(vec![opt("a", true), opt("b", false)]),
                ..KeyInput::default()
            },
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let kept = body.options()[0].id;
        let edited = build_body(
            QuestionKind::SingleChoice,
            KeyInput {
                options: Some(vec![
                    OptionInput {
                        id: Some(kept),
                        text: "a, reworded".into(),
                        correct: true,
                    },
                    opt("c", false),
                ]),
                ..KeyInput::default()
            },
            Some(&body),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(edited.options()[0].id, kept);
        assert_ne!(edited.options()[1].id, body.options()[1].id);

        // An id the current version does not have, or any id on create, is refused.
        let stranger = OptionInput {
            id: Some(Uuid::new_v4()),
            text: "x".into(),
            correct: false,
        };
        let key = KeyInput {
            options: Some(vec![opt("a", true), stranger]),
            ..KeyInput::default()
        };
        let e = build_body(QuestionKind::SingleChoice, key.clone(), Some(&body)).err();
        assert_eq!(e.as_ref().and_then(field), Some("options"));
        let e = build_body(QuestionKind::SingleChoice, key, None).err();
        assert_eq!(e.as_ref().and_then(field), Some("options"));
    }

    #[test]
    fn a_partial_key_keeps_the_rest_of_the_current_one() {
        let body = QuestionBody::Numeric {
            value: 12.5,
            tolerance: 0.5,
        };
        let edited = build_body(
            QuestionKind::Numeric,
            KeyInput {
                tolerance: Some(0.1),
                ..KeyInput::default()
            },
            Some(&body),
        )
        .ok();
        assert_eq!(
            edited,
            Some(QuestionBody::Numeric {
                value: 12.5,
                tolerance: 0.1
            })
        );
        // A new kind starts from nothing: its key must be given.
        let e = build_body(QuestionKind::TrueFalse, KeyInput::default(), Some(&body)).err();
        assert_eq!(e.as_ref().and_then(field), Some("truth"));
    }

    #[test]
    fn matching_pairs_keep_both_ids() {
        let body = build_body(
            QuestionKind::Matching,
            KeyInput {
                pairs: Some(vec![
                    PairInput {
                        id: None,
                        left: "BKPSDM".into(),
                        right: "kepegawaian".into(),
                    },
                    PairInput {
                        id: None,
                        left: "Dinkes".into(),
                        right: "kesehatan".into(),
                    },
                ]),
                ..KeyInput::default()
            },
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let QuestionBody::Matching { pairs } = &body else {
            panic!("not matching: {body:?}")
        };
        let first = pairs[0].clone();
        let edited = build_body(
            QuestionKind::Matching,
            KeyInput {
                pairs: Some(vec![
                    PairInput {
                        id: Some(first.left_id),
                        left: "BKPSDM".into(),
                        right: "SDM aparatur".into(),
                    },
                    PairInput {
                        id: None,
                        left: "Bapenda".into(),
                        right: "pajak".into(),
                    },
                ]),
                ..KeyInput::default()
            },
            Some(&body),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let QuestionBody::Matching { pairs: after } = &edited else {
            panic!("not matching: {edited:?}")
        };
        assert_eq!(
            (after[0].left_id, after[0].right_id),
            (first.left_id, first.right_id)
        );
    }
}

/// The version decision and the batch reads over a real (in-memory SQLite) database. Foreign
/// keys are off, so an attempt item can stand for an attempt without the whole course around it.
#[cfg(test)]
mod db_tests {
    use std::fmt::Display;
    use std::sync::Arc;

    use jobs::JobQueue;
    use kernel::{Roles, SharedClock, SystemClock};
    use migration::MigratorTrait;
    use sea_orm::{ConnectOptions, Database, DatabaseConnection};

    use super::*;
    use crate::QuizSettings;

    fn ok<T, E: Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    async fn service() -> (Quizzes, DatabaseConnection) {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        // One connection: every connection to `:memory:` is a database of its own.
        opts.max_connections(1)
            .min_connections(1)
            .sqlx_logging(false);
        let db = ok(Database::connect(opts).await);
        ok(migration::Migrator::up(&db, None).await);
        ok(db.execute_unprepared("PRAGMA foreign_keys = OFF").await);
        let clock: SharedClock = Arc::new(SystemClock);
        let jobs = JobQueue::new(db.clone(), clock.clone());
        (
            Quizzes::new(db.clone(), clock, jobs, QuizSettings::default()),
            db,
        )
    }

    fn admin() -> Actor {
        Actor {
            person_id: Some(Uuid::new_v4()),
            roles: Roles::empty().with(Role::Admin),
            unit_id: None,
        }
    }

    fn numeric(value: f64, tags: &[&str]) -> NewQuestion {
        NewQuestion {
            kind: QuestionKind::Numeric,
            prompt: "Berapa JP pelatihan minimal setahun?".into(),
            points: None,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            key: KeyInput {
                value: Some(value),
                ..KeyInput::default()
            },
        }
    }

    async fn give(db: &DatabaseConnection, q: &AuthoredQuestion, version_id: Uuid) {
        ok(attempt_item::ActiveModel {
            id: Set(kernel::new_id()),
            attempt_id: Set(Uuid::new_v4()),
            position: Set(0),
            question_id: Set(q.question.id),
            question_version_id: Set(version_id),
            layout: Set("{}".into()),
            answer: Set(None),
            answer_seq: Set(None),
            answered_at: Set(None),
            saved_at: Set(None),
            score: Set(None),
            max_score: Set(q.version.points),
        }
        .insert(db)
        .await);
    }

    #[tokio::test]
    async fn an_edit_changes_an_unanswered_version_in_place_and_versions_an_answered_one() {
        let (quizzes, db) = service().await;
        let admin = admin();
        let bank = ok(quizzes.create_bank(&admin, None, "Bank bersama").await);
        let (_, q) = ok(quizzes
            .create_question(&admin, bank.bank().id, numeric(20.0, &[]))
            .await);
        assert_eq!(q.version.version, 1);
        let v1 = q.version.id;

        // Never given: the edit changes version 1 itself.
        let (_, edited, write) = ok(quizzes
            .update_question(
                &admin,
                q.question.id,
                QuestionChanges {
                    prompt: Some("Berapa JP minimal per tahun?".into()),
                    ..QuestionChanges::default()
                },
            )
            .await);
        assert_eq!(write, VersionWrite::InPlace);
        assert_eq!((edited.version.id, edited.version.version), (v1, 1));
        assert_eq!(edited.version.prompt, "Berapa JP minimal per tahun?");

        // The same content again changes nothing.
        let (_, _, write) = ok(quizzes
            .update_question(
                &admin,
                q.question.id,
                QuestionChanges {
                    prompt: Some("  Berapa JP minimal per tahun? ".into()),
                    ..QuestionChanges::default()
                },
            )
            .await);
        assert_eq!(write, VersionWrite::Unchanged);

        // Once version 1 was given in an attempt, an edit writes version 2 and keeps 1 as it was.
        give(&db, &q, v1).await;
        let (_, edited, write) = ok(quizzes
            .update_question(
                &admin,
                q.question.id,
                QuestionChanges {
                    key: KeyInput {
                        tolerance: Some(0.5),
                        ..KeyInput::default()
                    },
                    tags: Some(vec!["JP".into()]),
                    ..QuestionChanges::default()
                },
            )
            .await);
        assert_eq!(write, VersionWrite::NewVersion);
        assert_eq!(edited.version.version, 2);
        assert_eq!(edited.question.current_version, 2);
        assert_ne!(edited.version.id, v1);
        assert_eq!(
            edited.body,
            QuestionBody::Numeric {
                value: 20.0,
                tolerance: 0.5
            }
        );
        assert_eq!(edited.tags, vec!["jp".to_owned()]);
        let all = ok(versions_of(&db, &[q.question.id]).await);
        let numbers: Vec<i32> = all[&q.question.id].iter().map(|v| v.version).collect();
        assert_eq!(numbers, vec![2, 1]);
        let old = &all[&q.question.id][1];
        assert_eq!(old.id, v1);
        assert_eq!(
            ok(QuestionBody::from_stored(&old.body)),
            QuestionBody::Numeric {
                value: 20.0,
                tolerance: 0.0
            }
        );
        let current = ok(current_versions(&db, &[q.question.id]).await);
        assert_eq!(current[&q.question.id].version, 2);

        // Version 2 has not been given: the next edit changes it in place.
        let (_, edited, write) = ok(quizzes
            .update_question(
                &admin,
                q.question.id,
                QuestionChanges {
                    points: Some(2.0),
                    ..QuestionChanges::default()
                },
            )
            .await);
        assert_eq!(write, VersionWrite::InPlace);
        assert_eq!((edited.version.version, edited.version.points), (2, 2.0));
    }

    #[tokio::test]
    async fn draws_skip_archived_questions_and_filter_by_tag() {
        let (quizzes, _db) = service().await;
        let admin = admin();
        let bank = ok(quizzes.create_bank(&admin, None, "Bank bersama").await);
        let bank_id = bank.bank().id;
        let mut ids = Vec::new();
        for (v, tags) in [
            (1.0, vec!["etika"]),
            (2.0, vec!["etika", "k3"]),
            (3.0, vec![]),
        ] {
            let (_, q) = ok(quizzes
                .create_question(&admin, bank_id, numeric(v, &tags))
                .await);
            ids.push(q.question.id);
        }
        assert_eq!(ok(candidates(&quizzes.db, bank_id, None).await), ids);
        assert_eq!(
            ok(candidates(&quizzes.db, bank_id, Some(" Etika ")).await),
            ids[..2].to_vec()
        );
        ok(quizzes.set_question_archived(&admin, ids[0], true).await);
        assert_eq!(
            ok(candidates(&quizzes.db, bank_id, Some("etika")).await),
            vec![ids[1]]
        );
        assert_eq!(
            ok(question_counts(&quizzes.db, &[bank_id]).await).get(&bank_id),
            Some(&2)
        );
    }

    #[tokio::test]
    async fn a_course_reads_its_own_banks_and_the_shared_banks_lent_to_it() {
        let (quizzes, db) = service().await;
        let admin = admin();
        let (course, other) = (Uuid::new_v4(), Uuid::new_v4());
        let shared = ok(quizzes.create_bank(&admin, None, "Bank bersama").await);
        let shared = shared.bank().id;
        let own = ok(question_bank::ActiveModel {
            id: Set(kernel::new_id()),
            course_id: Set(Some(course)),
            title: Set("Bank kursus".into()),
            created_by: Set(Uuid::new_v4()),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
            archived_at: Set(None),
        }
        .insert(&db)
        .await);
        assert!(ok(readable_by_course(&db, own.id, course).await));
        assert!(!ok(readable_by_course(&db, own.id, other).await));
        assert!(!ok(readable_by_course(&db, shared, course).await));
        ok(question_bank_loan::ActiveModel {
            bank_id: Set(shared),
            course_id: Set(course),
            lent_by: Set(Uuid::new_v4()),
            lent_at: Set(Utc::now()),
        }
        .insert(&db)
        .await);
        assert!(ok(readable_by_course(&db, shared, course).await));
        assert!(!ok(readable_by_course(&db, shared, other).await));
        assert!(matches!(
            readable_by_course(&db, Uuid::new_v4(), course).await,
            Err(QuizError::NotFound(_))
        ));
    }
}

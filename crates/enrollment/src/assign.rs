//! Mandatory assignment: admins and unit admins enroll people directly (active, with a due
//! date). A unit subtree, a position or a grade becomes a standing rule that also enrolls
//! whoever matches it later, through identity's [`identity::PeopleObserver`] hook.
//!
//! Capacity never refuses a mandatory assignment: the people are enrolled and the report says
//! how many seats the cohort is over, so the coordinator can open another cohort.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use identity::entity::{person, unit};
use identity::scope::{self, Scope};
use kernel::Actor;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::enroll::new_row;
use crate::entity::{assignment_rule, cohort, enrollment};
use crate::error::EnrollmentError;
use crate::{Enrollments, seats, state};

/// Most NIPs in one assignment.
pub const MAX_NIPS: usize = 5000;
/// Rows per INSERT or `IN (...)` list: well under both databases' parameter limits.
const CHUNK: usize = 500;

/// Whom to assign: exactly one of these.
#[derive(Debug, Clone)]
pub enum AssignTarget {
    /// Everyone in this unit and its sub-units (a standing rule).
    UnitSubtree(Uuid),
    /// These people, once (no rule).
    Nips(Vec<String>),
    /// Everyone with this position (a standing rule; a unit admin's stays in their subtree).
    Position(String),
    /// Everyone with this grade (a standing rule; a unit admin's stays in their subtree).
    Grade(String),
}

/// A NIP that could not be assigned, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NipError {
    /// The NIP as given.
    pub nip: String,
    /// Why.
    pub message: String,
}

/// The outcome of an assignment.
#[derive(Debug, Clone, Default)]
pub struct AssignReport {
    /// People newly enrolled (or brought back to active) by this assignment.
    pub enrolled: u64,
    /// People who were already active or completed in the cohort.
    pub already_enrolled: u64,
    /// Seats taken beyond the cohort's capacity after the assignment (0 when within it).
    pub over_capacity: u64,
    /// The standing rule created (unit, position and grade assignments).
    pub rule: Option<assignment_rule::Model>,
    /// NIPs that were not assigned.
    pub errors: Vec<NipError>,
}

fn lower_eq(
    col: impl sea_orm::sea_query::IntoColumnRef,
    value: &str,
) -> sea_orm::sea_query::SimpleExpr {
    Expr::expr(Func::lower(Expr::col(col))).eq(value.trim().to_lowercase())
}

fn text_value(field: &'static str, v: &str) -> Result<String, EnrollmentError> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > 200 {
        return Err(EnrollmentError::invalid(field, "give 1 to 200 characters"));
    }
    Ok(v.to_owned())
}

/// The subtree path a unit admin's rule is confined to, or `None` for an admin's.
async fn scope_unit(
    conn: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<(Scope, Option<Uuid>), EnrollmentError> {
    let s = scope::of(conn, actor).await?;
    match s {
        Scope::All => Ok((s, None)),
        Scope::Subtree(_) => Ok((s, actor.unit_id)),
        Scope::None => Err(EnrollmentError::Forbidden),
    }
}

/// Ids of people in the unit subtree at `path` (not disabled) matching `extra`.
fn in_subtree(path: &str) -> sea_orm::sea_query::SelectStatement {
    unit::Entity::find()
        .select_only()
        .column(unit::Column::Id)
        .filter(unit::Column::Path.starts_with(path))
        .into_query()
}

impl Enrollments {
    /// Assigns a cohort as mandatory training. Admins assign anyone; unit admins only people in
    /// their unit subtree (a unit outside it is FORBIDDEN, a NIP outside it a per-NIP error).
    /// Audited once per assignment.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown cohort or unit; FORBIDDEN; CONFLICT for a cohort that takes no
    /// learners; BAD_USER_INPUT for a due date before the start or an invalid target.
    pub async fn assign(
        &self,
        actor: &Actor,
        cohort_id: Uuid,
        target: AssignTarget,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<AssignReport, EnrollmentError> {
        let now = self.clock.now();
        let created_by = actor.person_id;
        let tx = kernel::db::begin_write(&self.db).await?;
        let (scope, scope_unit_id) = scope_unit(&tx, actor).await?;
        let c = seats::lock_cohort(&tx, cohort_id, now).await?;
        crate::enroll::require_open_course(&tx, &c).await?;
        if let Some(d) = due_at {
            if let Some(s) = c.starts_at
                && d <= s
            {
                return Err(EnrollmentError::invalid(
                    "dueAt",
                    "the due date must be after the cohort's start",
                ));
            }
            if d <= now {
                return Err(EnrollmentError::invalid(
                    "dueAt",
                    "the due date must be in the future",
                ));
            }
        }
        let mut report = AssignReport::default();
        let scope_path = match &scope {
            Scope::Subtree(p) => Some(p.clone()),
            _ => None,
        };
        let (people, rule_kind, rule_unit, rule_value): (
            Vec<Uuid>,
            Option<&str>,
            Option<Uuid>,
            Option<String>,
        ) = match &target {
            AssignTarget::UnitSubtree(unit_id) => {
                let u = unit::Entity::find_by_id(*unit_id)
                    .one(&tx)
                    .await?
                    .ok_or(EnrollmentError::NotFound("unit"))?;
                if !scope.covers_path(&u.path) {
                    return Err(EnrollmentError::Forbidden);
                }
                let ids = person::Entity::find()
                    .select_only()
                    .column(person::Column::Id)
                    .filter(person::Column::UnitId.in_subquery(in_subtree(&u.path)))
                    .filter(person::Column::DisabledAt.is_null())
                    .into_tuple()
                    .all(&tx)
                    .await?;
                (ids, Some("unit_subtree"), Some(u.id), None)
            }
            AssignTarget::Position(v) | AssignTarget::Grade(v) => {
                let (kind, field, col) = match &target {
                    AssignTarget::Position(_) => ("position", "position", person::Column::Position),
                    _ => ("grade", "grade", person::Column::Grade),
                };
                let v = text_value(field, v)?;
                let mut q = person::Entity::find()
                    .select_only()
                    .column(person::Column::Id)
                    .filter(lower_eq((person::Entity, col), &v))
                    .filter(person::Column::DisabledAt.is_null());
                if let Some(p) = &scope_path {
                    q = q.filter(person::Column::UnitId.in_subquery(in_subtree(p)));
                }
                let ids = q.into_tuple().all(&tx).await?;
                (ids, Some(kind), scope_unit_id, Some(v))
            }
            AssignTarget::Nips(nips) => {
                let ids = self
                    .resolve_nips(&tx, &scope, nips, &mut report.errors)
                    .await?;
                (ids, None, None, None)
            }
        };
        let rule = match rule_kind {
            Some(kind) => {
                let created_by = created_by.ok_or(EnrollmentError::Forbidden)?;
                let r = assignment_rule::ActiveModel {
                    id: Set(kernel::new_id()),
                    cohort_id: Set(cohort_id),
                    kind: Set(kind.to_owned()),
                    unit_id: Set(rule_unit),
                    value: Set(rule_value),
                    due_at: Set(due_at),
                    created_by: Set(created_by),
                    created_at: Set(now),
                    revoked_at: Set(None),
                }
                .insert(&tx)
                .await?;
                Some(r)
            }
            None => None,
        };
        let source = if rule.is_some() { "rule" } else { "assigned" };
        let (enrolled, already) = enroll_directly(
            &tx,
            &c,
            &people,
            source,
            rule.as_ref().map(|r| r.id),
            due_at,
            now,
        )
        .await?;
        report.enrolled = enrolled;
        report.already_enrolled = already;
        if let Some(cap) = c.capacity {
            report.over_capacity = seats::taken(&tx, c.id)
                .await?
                .saturating_sub(u64::try_from(cap).unwrap_or(0));
        }
        let target_detail = match &target {
            AssignTarget::UnitSubtree(u) => json!({"unitId": u}),
            AssignTarget::Nips(n) => json!({"nips": n.len()}),
            AssignTarget::Position(p) => json!({"position": p}),
            AssignTarget::Grade(g) => json!({"grade": g}),
        };
        identity::audit::record(
            &tx,
            actor,
            now,
            "enrollment.assign",
            "cohort",
            cohort_id,
            json!({"target": target_detail, "dueAt": due_at, "enrolled": enrolled, "alreadyEnrolled": already, "overCapacity": report.over_capacity, "ruleId": rule.as_ref().map(|r| r.id), "errors": report.errors.len()}),
        )
        .await?;
        tx.commit().await?;
        report.rule = rule;
        Ok(report)
    }

    async fn resolve_nips(
        &self,
        conn: &impl ConnectionTrait,
        scope: &Scope,
        nips: &[String],
        errors: &mut Vec<NipError>,
    ) -> Result<Vec<Uuid>, EnrollmentError> {
        if nips.is_empty() {
            return Err(EnrollmentError::invalid("nips", "give at least one NIP"));
        }
        if nips.len() > MAX_NIPS {
            return Err(EnrollmentError::invalid(
                "nips",
                format!("at most {MAX_NIPS} NIPs at once"),
            ));
        }
        let mut wanted: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for raw in nips {
            let n: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
            if n.len() != 18 || !n.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(NipError {
                    nip: raw.clone(),
                    message: "a NIP has 18 digits".into(),
                });
            } else if seen.insert(n.clone()) {
                wanted.push(n);
            }
        }
        let mut found: HashMap<String, person::Model> = HashMap::new();
        for chunk in wanted.chunks(CHUNK) {
            for p in person::Entity::find()
                .filter(person::Column::Nip.is_in(chunk.iter().cloned()))
                .all(conn)
                .await?
            {
                if let Some(n) = p.nip.clone() {
                    found.insert(n, p);
                }
            }
        }
        let unit_ids: HashSet<Uuid> = found.values().filter_map(|p| p.unit_id).collect();
        let paths: HashMap<Uuid, String> = if matches!(scope, Scope::All) || unit_ids.is_empty() {
            HashMap::new()
        } else {
            unit::Entity::find()
                .filter(unit::Column::Id.is_in(unit_ids))
                .all(conn)
                .await?
                .into_iter()
                .map(|u| (u.id, u.path))
                .collect()
        };
        let mut ids = Vec::new();
        for n in wanted {
            let Some(p) = found.get(&n) else {
                errors.push(NipError {
                    nip: n,
                    message: "no person has this NIP".into(),
                });
                continue;
            };
            let in_scope = matches!(scope, Scope::All)
                || p.unit_id
                    .and_then(|u| paths.get(&u))
                    .is_some_and(|path| scope.covers_path(path));
            if !in_scope {
                errors.push(NipError {
                    nip: n,
                    message: "this person is outside your unit".into(),
                });
            } else if p.disabled_at.is_some() {
                errors.push(NipError {
                    nip: n,
                    message: "this person's account is disabled".into(),
                });
            } else {
                ids.push(p.id);
            }
        }
        Ok(ids)
    }

    /// Stops a standing rule from enrolling anyone else; enrollments it made stay. Admins, or
    /// the unit admin whose subtree holds the rule's unit. Revoking twice is harmless.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN.
    pub async fn revoke_rule(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<assignment_rule::Model, EnrollmentError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let r = assignment_rule::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(EnrollmentError::NotFound("assignment rule"))?;
        if !actor.is_admin() {
            // A rule without a unit is city-wide: an admin's.
            let unit_id = r.unit_id.ok_or(EnrollmentError::Forbidden)?;
            scope::require_unit(&tx, actor, Some(unit_id)).await?;
        }
        if r.revoked_at.is_some() {
            return Ok(r);
        }
        let mut am: assignment_rule::ActiveModel = r.into();
        am.revoked_at = Set(Some(now));
        let r = am.update(&tx).await?;
        identity::audit::record(
            &tx,
            actor,
            now,
            "assignment_rule.revoke",
            "assignment_rule",
            id,
            json!({"cohortId": r.cohort_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// The standing rules of a cohort (admins, unit admins and the course's owners).
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN.
    pub async fn rules(
        &self,
        actor: &Actor,
        cohort_id: Uuid,
    ) -> Result<Vec<assignment_rule::Model>, EnrollmentError> {
        let c = crate::cohorts::find_cohort(&self.db, cohort_id).await?;
        if self
            .require_manager(&self.db, actor, c.course_id)
            .await
            .is_err()
        {
            scope_unit(&self.db, actor).await?;
        }
        use sea_orm::QueryOrder;
        Ok(assignment_rule::Entity::find()
            .filter(assignment_rule::Column::CohortId.eq(cohort_id))
            .order_by_asc(assignment_rule::Column::CreatedAt)
            .all(&self.db)
            .await?)
    }

    /// Applies every standing rule to `ids` (people just created or changed): a bounded number
    /// of queries whatever the number of people or rules.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    pub async fn apply_rules(&self, ids: &[Uuid]) -> Result<u64, EnrollmentError> {
        let now = self.clock.now();
        let rules = assignment_rule::Entity::find()
            .filter(assignment_rule::Column::RevokedAt.is_null())
            .all(&self.db)
            .await?;
        if rules.is_empty() || ids.is_empty() {
            return Ok(0);
        }
        let cohort_ids: HashSet<Uuid> = rules.iter().map(|r| r.cohort_id).collect();
        let cohorts: HashMap<Uuid, cohort::Model> = cohort::Entity::find()
            .filter(cohort::Column::Id.is_in(cohort_ids))
            .filter(cohort::Column::ArchivedAt.is_null())
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let course_ids: HashSet<Uuid> = cohorts.values().map(|c| c.course_id).collect();
        let published: HashSet<Uuid> = course::entity::course::Entity::find()
            .select_only()
            .column(course::entity::course::Column::Id)
            .filter(course::entity::course::Column::Id.is_in(course_ids))
            .filter(course::entity::course::Column::State.eq("published"))
            .into_tuple()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let rules: Vec<_> = rules
            .into_iter()
            .filter(|r| {
                cohorts
                    .get(&r.cohort_id)
                    .is_some_and(|c| published.contains(&c.course_id))
            })
            .collect();
        let rule_units: HashSet<Uuid> = rules.iter().filter_map(|r| r.unit_id).collect();
        let mut total = 0;
        for chunk in ids.chunks(CHUNK) {
            let people = person::Entity::find()
                .filter(person::Column::Id.is_in(chunk.iter().copied()))
                .filter(person::Column::DisabledAt.is_null())
                .all(&self.db)
                .await?;
            let mut unit_ids: HashSet<Uuid> = people.iter().filter_map(|p| p.unit_id).collect();
            unit_ids.extend(rule_units.iter().copied());
            let paths: HashMap<Uuid, String> = unit::Entity::find()
                .filter(unit::Column::Id.is_in(unit_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|u| (u.id, u.path))
                .collect();
            // Per cohort, the first matching rule (oldest) enrolls the person.
            let mut wanted: Vec<(Uuid, Uuid, &assignment_rule::Model)> = Vec::new();
            let mut seen = HashSet::new();
            for p in &people {
                let path = p.unit_id.and_then(|u| paths.get(&u));
                for r in &rules {
                    let within = |root: Option<Uuid>| match root {
                        None => true,
                        Some(root) => match (paths.get(&root), path) {
                            (Some(rp), Some(pp)) => pp.starts_with(rp.as_str()),
                            _ => false,
                        },
                    };
                    let same = |v: &Option<String>| match (v, &r.value) {
                        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
                        _ => false,
                    };
                    let hit = match r.kind.as_str() {
                        "unit_subtree" => r.unit_id.is_some() && within(r.unit_id),
                        "position" => same(&p.position) && within(r.unit_id),
                        "grade" => same(&p.grade) && within(r.unit_id),
                        _ => false,
                    };
                    if hit && seen.insert((r.cohort_id, p.id)) {
                        wanted.push((r.cohort_id, p.id, r));
                    }
                }
            }
            if wanted.is_empty() {
                continue;
            }
            let rows: Vec<enrollment::ActiveModel> = wanted
                .iter()
                .filter_map(|(cid, pid, r)| {
                    cohorts
                        .get(cid)
                        .map(|c| new_row(c, *pid, state::ACTIVE, "rule", Some(r.id), r.due_at, now))
                })
                .collect();
            // Existing enrollments (whatever their state) are left as they are: a learner who
            // withdrew or completed is not enrolled again by a change to their record.
            let res = enrollment::Entity::insert_many(rows)
                .on_conflict_do_nothing_on([
                    enrollment::Column::CohortId,
                    enrollment::Column::PersonId,
                ])
                .exec_without_returning(&self.db)
                .await?;
            if let sea_orm::TryInsertResult::Inserted(n) = res {
                total += n;
            }
        }
        Ok(total)
    }
}

/// Enrolls `people` in a locked cohort as active (mandatory). New rows are inserted in chunks;
/// people already pending, waitlisted, withdrawn, rejected or expired are brought back to active.
/// Returns (enrolled, already active or completed).
async fn enroll_directly(
    conn: &impl ConnectionTrait,
    c: &cohort::Model,
    people: &[Uuid],
    source: &str,
    rule_id: Option<Uuid>,
    due_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(u64, u64), EnrollmentError> {
    let (mut enrolled, mut already) = (0u64, 0u64);
    for chunk in people.chunks(CHUNK) {
        let existing: HashMap<Uuid, enrollment::Model> = enrollment::Entity::find()
            .filter(enrollment::Column::CohortId.eq(c.id))
            .filter(enrollment::Column::PersonId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
            .into_iter()
            .map(|e| (e.person_id, e))
            .collect();
        let mut revive = Vec::new();
        let mut rows = Vec::new();
        for pid in chunk {
            match existing.get(pid) {
                Some(e) if e.state == state::ACTIVE || e.state == state::COMPLETED => already += 1,
                Some(e) => revive.push(e.id),
                None => rows.push(new_row(
                    c,
                    *pid,
                    state::ACTIVE,
                    source,
                    rule_id,
                    due_at,
                    now,
                )),
            }
        }
        if !revive.is_empty() {
            enrolled += revive.len() as u64;
            enrollment::Entity::update_many()
                .col_expr(enrollment::Column::State, Expr::value(state::ACTIVE))
                .col_expr(enrollment::Column::Source, Expr::value(source))
                .col_expr(enrollment::Column::RuleId, Expr::value(rule_id))
                .col_expr(enrollment::Column::ActivatedAt, Expr::value(now))
                .col_expr(
                    enrollment::Column::EndedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(enrollment::Column::DueAt, Expr::value(due_at.or(c.due_at)))
                .col_expr(enrollment::Column::UpdatedAt, Expr::value(now))
                .filter(enrollment::Column::Id.is_in(revive))
                .exec(conn)
                .await?;
        }
        if !rows.is_empty() {
            enrolled += rows.len() as u64;
            enrollment::Entity::insert_many(rows)
                .exec_without_returning(conn)
                .await?;
        }
    }
    Ok((enrolled, already))
}

#[async_trait::async_trait]
impl identity::PeopleObserver for Enrollments {
    async fn people_changed(&self, ids: &[Uuid]) {
        match self.apply_rules(ids).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(enrollments = n, "standing assignment rules enrolled people"),
            Err(e) => {
                tracing::error!(error = %e, people = ids.len(), "applying assignment rules failed")
            }
        }
    }
}

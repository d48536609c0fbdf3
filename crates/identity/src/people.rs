//! People: creation, updates, roles, disabling, passwords, and listing within a scope.

use kernel::pagination::{Page, encode_cursor};
use kernel::{Actor, Role, Roles};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::entity::{person, refresh_token, unit};
use crate::error::IdentityError;
use crate::scope::{self, Scope};
use crate::values::{Email, EmploymentType, Nip, check_new_password, optional_text, required_text};
use crate::{Identity, audit, password, units};

/// Longest name, position.
pub const MAX_NAME: usize = 200;
/// Longest grade (`IV/e`).
pub const MAX_GRADE: usize = 16;

/// Roles a unit admin may give or take: never their own kind of power or more.
fn unit_admin_may_grant(roles: Roles) -> bool {
    !roles.contains(Role::Admin) && !roles.contains(Role::UnitAdmin)
}

/// Input for a new person.
#[derive(Debug, Clone, Default)]
pub struct NewPerson {
    /// Full name.
    pub name: String,
    /// E-mail (a login).
    pub email: Option<String>,
    /// NIP or NI PPPK (a login).
    pub nip: Option<String>,
    /// PNS or PPPK.
    pub employment_type: Option<EmploymentType>,
    /// Unit.
    pub unit_id: Option<Uuid>,
    /// Position (jabatan).
    pub position: Option<String>,
    /// Grade (golongan/ruang).
    pub grade: Option<String>,
    /// Roles; empty means learner.
    pub roles: Roles,
    /// An initial password; without one the person cannot sign in until it is reset.
    pub password: Option<String>,
}

/// Changes to a person; `None` leaves a field as it is, `Some("")` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct PersonChanges {
    /// Full name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// NIP/NI.
    pub nip: Option<String>,
    /// PNS or PPPK.
    pub employment_type: Option<EmploymentType>,
    /// Unit.
    pub unit_id: Option<Uuid>,
    /// Position.
    pub position: Option<String>,
    /// Grade.
    pub grade: Option<String>,
}

/// A filter for listing people.
#[derive(Debug, Clone, Default)]
pub struct PeopleFilter {
    /// Only people in this unit's subtree.
    pub unit_id: Option<Uuid>,
    /// Text in the name, e-mail or NIP.
    pub search: Option<String>,
}

/// One page of people.
#[derive(Debug, Clone)]
pub struct PeoplePage {
    /// The people, by name then id.
    pub people: Vec<(String, person::Model)>,
    /// Whether more follow.
    pub has_next_page: bool,
}

fn stored_email(raw: Option<&str>) -> Result<Option<String>, IdentityError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Ok(Some(Email::parse(s)?.as_str().to_owned())),
    }
}

fn duplicate_message(nip: Option<&str>, email: Option<&str>) -> String {
    match (nip, email) {
        (Some(n), Some(e)) => format!("a person with NIP {n} or e-mail {e} already exists"),
        (Some(n), None) => format!("a person with NIP {n} already exists"),
        (None, Some(e)) => format!("a person with e-mail {e} already exists"),
        (None, None) => "this person already exists".to_owned(),
    }
}

impl Identity {
    fn this_year(&self) -> i32 {
        kernel::time::wib_year(self.clock.now())
    }

    /// Creates a person.
    ///
    /// # Errors
    /// FORBIDDEN unless admin, or unit admin for a unit in their subtree granting neither
    /// admin nor unit-admin roles; BAD_USER_INPUT for invalid fields; NOT_FOUND for an unknown
    /// unit; CONFLICT for a taken NIP or e-mail or a retired unit.
    pub async fn create_person(
        &self,
        actor: &Actor,
        input: NewPerson,
    ) -> Result<person::Model, IdentityError> {
        let name = required_text("name", &input.name, MAX_NAME)?;
        let email = stored_email(input.email.as_deref())?;
        let nip = match input.nip.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                Nip::parse(s, input.employment_type, self.this_year())?
                    .as_str()
                    .to_owned(),
            ),
        };
        if nip.is_none() && email.is_none() {
            return Err(IdentityError::invalid(
                "email",
                "a person needs a NIP or an e-mail address to sign in with",
            ));
        }
        let position = optional_text(
            "position",
            input.position.as_deref().unwrap_or(""),
            MAX_NAME,
        )?;
        let grade = optional_text("grade", input.grade.as_deref().unwrap_or(""), MAX_GRADE)?;
        let roles = if input.roles.is_empty() {
            Roles::empty().with(Role::Learner)
        } else {
            input.roles
        };
        if !actor.is_admin() && !unit_admin_may_grant(roles) {
            return Err(IdentityError::Forbidden);
        }
        let password_hash = match input.password {
            Some(p) => {
                check_new_password(&p)?;
                Some(password::hash(p, self.settings.password_cost).await?)
            }
            None => None,
        };
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        scope::require_unit(&tx, actor, input.unit_id).await?;
        if let Some(uid) = input.unit_id {
            units::active_unit(&tx, uid, "unit").await?;
        }
        let id = kernel::new_id();
        let model = person::ActiveModel {
            id: Set(id),
            nip: Set(nip.clone()),
            name: Set(name),
            email: Set(email.clone()),
            unit_id: Set(input.unit_id),
            position: Set(position),
            grade: Set(grade),
            employment_type: Set(input.employment_type.map(|t| t.as_str().to_owned())),
            roles: Set(roles.to_string()),
            password_changed_at: Set(password_hash.as_ref().map(|_| now)),
            password_hash: Set(password_hash),
            disabled_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            IdentityError::conflict_on_unique(
                e,
                duplicate_message(nip.as_deref(), email.as_deref()),
            )
        })?;
        audit::record(
            &tx,
            actor,
            now,
            "person.create",
            "person",
            id,
            json!({"roles": model.roles, "unitId": model.unit_id}),
        )
        .await?;
        tx.commit().await?;
        self.notify_people_changed(&[model.id]).await;
        Ok(model)
    }

    /// Updates a person's record.
    ///
    /// # Errors
    /// FORBIDDEN outside the actor's scope (for a move: both the old and the new unit);
    /// BAD_USER_INPUT; NOT_FOUND; CONFLICT for a taken NIP or e-mail.
    pub async fn update_person(
        &self,
        actor: &Actor,
        id: Uuid,
        changes: PersonChanges,
    ) -> Result<person::Model, IdentityError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let current = self.managed_person_in(&tx, actor, id).await?;
        let mut am: person::ActiveModel = current.clone().into();
        let mut changed = serde_json::Map::new();
        if let Some(name) = &changes.name {
            am.name = Set(required_text("name", name, MAX_NAME)?);
            changed.insert("name".into(), json!(true));
        }
        if let Some(email) = &changes.email {
            am.email = Set(stored_email(Some(email))?);
            changed.insert("email".into(), json!(true));
        }
        let kind = changes.employment_type.or_else(|| {
            current
                .employment_type
                .as_deref()
                .and_then(|t| EmploymentType::parse(t).ok())
        });
        if let Some(t) = changes.employment_type {
            am.employment_type = Set(Some(t.as_str().to_owned()));
            changed.insert("employmentType".into(), json!(t.as_str()));
        }
        if let Some(nip) = &changes.nip {
            let parsed = match nip.trim() {
                "" => None,
                s => Some(Nip::parse(s, kind, self.this_year())?.as_str().to_owned()),
            };
            am.nip = Set(parsed);
            changed.insert("nip".into(), json!(true));
        }
        if let Some(position) = &changes.position {
            am.position = Set(optional_text("position", position, MAX_NAME)?);
            changed.insert("position".into(), json!(true));
        }
        if let Some(grade) = &changes.grade {
            am.grade = Set(optional_text("grade", grade, MAX_GRADE)?);
            changed.insert("grade".into(), json!(true));
        }
        if let Some(unit_id) = changes.unit_id
            && current.unit_id != Some(unit_id)
        {
            scope::require_unit(&tx, actor, Some(unit_id)).await?;
            units::active_unit(&tx, unit_id, "unit").await?;
            am.unit_id = Set(Some(unit_id));
            changed.insert("fromUnitId".into(), json!(current.unit_id));
            changed.insert("toUnitId".into(), json!(unit_id));
        }
        let (nip_now, email_now) = (am.nip.clone().unwrap(), am.email.clone().unwrap());
        if nip_now.is_none() && email_now.is_none() {
            return Err(IdentityError::invalid(
                "email",
                "a person needs a NIP or an e-mail address to sign in with",
            ));
        }
        am.updated_at = Set(now);
        let model = am.update(&tx).await.map_err(|e| {
            IdentityError::conflict_on_unique(
                e,
                duplicate_message(nip_now.as_deref(), email_now.as_deref()),
            )
        })?;
        if !actor.is_person(id) {
            audit::record(
                &tx,
                actor,
                now,
                "person.update",
                "person",
                id,
                serde_json::Value::Object(changed),
            )
            .await?;
        }
        tx.commit().await?;
        self.notify_people_changed(&[model.id]).await;
        Ok(model)
    }

    /// Replaces a person's roles.
    ///
    /// # Errors
    /// FORBIDDEN unless admin, or unit admin in scope changing only learner and trainer roles
    /// of someone who holds no admin role; NOT_FOUND; BAD_USER_INPUT for an empty set.
    pub async fn set_roles(
        &self,
        actor: &Actor,
        id: Uuid,
        roles: Roles,
    ) -> Result<person::Model, IdentityError> {
        if roles.is_empty() {
            return Err(IdentityError::invalid(
                "roles",
                "a person needs at least one role",
            ));
        }
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let current = self.managed_person_in(&tx, actor, id).await?;
        let old = Roles::parse_list(&current.roles).unwrap_or_default();
        let unit_admin_may = unit_admin_may_grant(roles) && unit_admin_may_grant(old);
        if !actor.is_admin() && !unit_admin_may {
            return Err(IdentityError::Forbidden);
        }
        if actor.is_person(id) && old.contains(Role::Admin) && !roles.contains(Role::Admin) {
            return Err(IdentityError::Conflict(
                "you cannot remove your own admin role; ask another admin".into(),
            ));
        }
        let mut am: person::ActiveModel = current.into();
        am.roles = Set(roles.to_string());
        am.updated_at = Set(now);
        let model = am.update(&tx).await?;
        // Roles travel in access tokens; ending the refresh tokens makes the change take hold
        // within one access-token lifetime.
        revoke_all_refresh_tokens(&tx, id, now).await?;
        audit::record(
            &tx,
            actor,
            now,
            "person.set_roles",
            "person",
            id,
            json!({"from": old.to_string(), "to": roles.to_string()}),
        )
        .await?;
        tx.commit().await?;
        Ok(model)
    }

    /// Disables or re-enables a person. Disabling ends their sessions.
    ///
    /// # Errors
    /// FORBIDDEN outside scope or for one's own account; NOT_FOUND.
    pub async fn set_disabled(
        &self,
        actor: &Actor,
        id: Uuid,
        disabled: bool,
    ) -> Result<person::Model, IdentityError> {
        if actor.is_person(id) {
            return Err(IdentityError::Conflict(
                "you cannot disable or enable yourself".into(),
            ));
        }
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let current = self.managed_person_in(&tx, actor, id).await?;
        let old = Roles::parse_list(&current.roles).unwrap_or_default();
        if !actor.is_admin() && !unit_admin_may_grant(old) {
            return Err(IdentityError::Forbidden);
        }
        if current.disabled_at.is_some() == disabled {
            return Ok(current);
        }
        let mut am: person::ActiveModel = current.into();
        am.disabled_at = Set(disabled.then_some(now));
        am.updated_at = Set(now);
        let model = am.update(&tx).await?;
        if disabled {
            revoke_all_refresh_tokens(&tx, id, now).await?;
        }
        let action = if disabled {
            "person.disable"
        } else {
            "person.enable"
        };
        audit::record(&tx, actor, now, action, "person", id, json!({})).await?;
        tx.commit().await?;
        self.notify_people_changed(&[model.id]).await;
        Ok(model)
    }

    /// Sets a new password for someone else (an administrator's reset). Ends their sessions.
    ///
    /// # Errors
    /// FORBIDDEN outside scope; NOT_FOUND; BAD_USER_INPUT for a weak password.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        id: Uuid,
        new_password: String,
    ) -> Result<(), IdentityError> {
        check_new_password(&new_password)?;
        let target = self.managed_person_in(&self.db, actor, id).await?;
        let old = Roles::parse_list(&target.roles).unwrap_or_default();
        if !actor.is_admin() && !unit_admin_may_grant(old) {
            return Err(IdentityError::Forbidden);
        }
        let hash = password::hash(new_password, self.settings.password_cost).await?;
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        store_password(&tx, id, hash, now).await?;
        audit::record(
            &tx,
            actor,
            now,
            "person.reset_password",
            "person",
            id,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the actor's own password after checking the current one. Ends all their sessions
    /// (the caller signs in again).
    ///
    /// # Errors
    /// UNAUTHENTICATED when the current password is wrong; BAD_USER_INPUT for a weak password.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current_password: String,
        new_password: String,
    ) -> Result<(), IdentityError> {
        let id = actor.person_id.ok_or(IdentityError::Forbidden)?;
        check_new_password(&new_password)?;
        let me = person::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(IdentityError::NotFound("person"))?;
        let cost = self.settings.password_cost;
        if !password::verify(current_password, me.password_hash, cost).await? {
            return Err(IdentityError::InvalidCredentials);
        }
        let hash = password::hash(new_password, cost).await?;
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        store_password(&tx, id, hash, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A person the actor may see: themselves, or anyone in their management scope.
    ///
    /// # Errors
    /// NOT_FOUND when absent or invisible (so outsiders learn nothing).
    pub async fn person(&self, actor: &Actor, id: Uuid) -> Result<person::Model, IdentityError> {
        self.visible_person_in(&self.db, actor, id).await
    }

    /// A person the actor manages (to change their record).
    async fn managed_person_in(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        actor: &Actor,
        id: Uuid,
    ) -> Result<person::Model, IdentityError> {
        if scope::of(conn, actor).await? == Scope::None {
            return Err(IdentityError::Forbidden);
        }
        let p = person::Entity::find_by_id(id)
            .one(conn)
            .await?
            .ok_or(IdentityError::NotFound("person"))?;
        scope::require_unit(conn, actor, p.unit_id).await?;
        Ok(p)
    }

    async fn visible_person_in(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        actor: &Actor,
        id: Uuid,
    ) -> Result<person::Model, IdentityError> {
        let p = person::Entity::find_by_id(id)
            .one(conn)
            .await?
            .ok_or(IdentityError::NotFound("person"))?;
        if actor.is_person(id) {
            return Ok(p);
        }
        match scope::of(conn, actor).await? {
            Scope::All => Ok(p),
            Scope::None => Err(IdentityError::NotFound("person")),
            Scope::Subtree(root) => {
                let inside = match p.unit_id {
                    Some(uid) => unit::Entity::find_by_id(uid)
                        .one(conn)
                        .await?
                        .is_some_and(|u| u.path.starts_with(&root)),
                    None => false,
                };
                if inside {
                    Ok(p)
                } else {
                    Err(IdentityError::NotFound("person"))
                }
            }
        }
    }

    /// People in the actor's scope, by name, a page at a time.
    ///
    /// # Errors
    /// FORBIDDEN for actors who manage nobody; FORBIDDEN for a unit outside the scope.
    pub async fn people(
        &self,
        actor: &Actor,
        filter: PeopleFilter,
        page: Page,
    ) -> Result<PeoplePage, IdentityError> {
        let scope = scope::of(&self.db, actor).await?;
        let root = match (&scope, filter.unit_id) {
            (Scope::None, _) => return Err(IdentityError::Forbidden),
            (_, Some(uid)) => {
                let u = units::find_unit(&self.db, uid).await?;
                if !scope.covers_path(&u.path) {
                    return Err(IdentityError::Forbidden);
                }
                Some(u.path)
            }
            (Scope::Subtree(p), None) => Some(p.clone()),
            (Scope::All, None) => None,
        };
        let mut q = person::Entity::find();
        if let Some(root) = root {
            let in_subtree = unit::Entity::find()
                .select_only()
                .column(unit::Column::Id)
                .filter(unit::Column::Path.starts_with(&root))
                .into_query();
            q = q.filter(person::Column::UnitId.in_subquery(in_subtree));
        }
        if let Some(s) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let like = s.to_lowercase();
            q = q.filter(
                Condition::any()
                    .add(
                        sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(
                            sea_orm::sea_query::Expr::col(person::Column::Name),
                        ))
                        .like(format!("%{}%", escape_like(&like))),
                    )
                    .add(person::Column::Email.contains(&like))
                    .add(person::Column::Nip.contains(s)),
            );
        }
        if let Some(after) = &page.after {
            let (name, id) = after
                .rsplit_once('|')
                .and_then(|(n, i)| Some((n.to_owned(), Uuid::parse_str(i).ok()?)))
                .ok_or_else(|| IdentityError::invalid("after", "invalid cursor"))?;
            q = q.filter(
                Condition::any()
                    .add(person::Column::Name.gt(name.clone()))
                    .add(
                        Condition::all()
                            .add(person::Column::Name.eq(name))
                            .add(person::Column::Id.gt(id)),
                    ),
            );
        }
        let mut rows = q
            .order_by_asc(person::Column::Name)
            .order_by_asc(person::Column::Id)
            .limit(page.fetch())
            .all(&self.db)
            .await?;
        let has_next_page = page.cut(&mut rows);
        Ok(PeoplePage {
            people: rows
                .into_iter()
                .map(|p| (encode_cursor(&format!("{}|{}", p.name, p.id)), p))
                .collect(),
            has_next_page,
        })
    }

    /// Creates the first admin when no active admin exists. Returns the e-mail and, when it had
    /// to make one up, the generated password (to be shown once).
    ///
    /// # Errors
    /// BAD_USER_INPUT for an invalid e-mail or password; INTERNAL on database failure.
    pub async fn ensure_first_admin(
        &self,
        email: &str,
        password: Option<String>,
    ) -> Result<Option<(String, Option<String>)>, IdentityError> {
        let admins = person::Entity::find()
            .filter(person::Column::DisabledAt.is_null())
            .filter(
                Condition::any()
                    .add(person::Column::Roles.eq("admin"))
                    .add(person::Column::Roles.like("%,admin")),
            )
            .one(&self.db)
            .await?;
        if admins.is_some() {
            return Ok(None);
        }
        let generated = password.is_none().then(random_password);
        let pw = password.or_else(|| generated.clone()).unwrap_or_default();
        let model = self
            .create_person(
                &Actor::system(),
                NewPerson {
                    name: "Administrator".into(),
                    email: Some(email.to_owned()),
                    roles: Roles::empty().with(Role::Learner).with(Role::Admin),
                    password: Some(pw),
                    ..NewPerson::default()
                },
            )
            .await?;
        Ok(Some((model.email.unwrap_or_default(), generated)))
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A random 20-character password from an unambiguous alphabet.
pub fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn store_password(
    conn: &impl sea_orm::ConnectionTrait,
    id: Uuid,
    hash: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), IdentityError> {
    person::Entity::update_many()
        .col_expr(
            person::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(hash),
        )
        .col_expr(
            person::Column::PasswordChangedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            person::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(person::Column::Id.eq(id))
        .exec(conn)
        .await?;
    revoke_all_refresh_tokens(conn, id, now).await
}

/// Revokes every live refresh token of a person.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn revoke_all_refresh_tokens(
    conn: &impl sea_orm::ConnectionTrait,
    person_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), IdentityError> {
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(refresh_token::Column::PersonId.eq(person_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

//! The identity part of the GraphQL API. Types here are written for clients; they wrap the
//! entities but never expose columns such as password hashes.

use std::collections::HashMap;
use std::io::Read;

use async_graphql::connection::Connection;
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use kernel::context::{actor, service};
use kernel::pagination::{Page, connection};
use kernel::{ClientInfo, GqlResultExt, Role, Roles};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::Identity;
use crate::entity::{person, unit};
use crate::error::IdentityError;
use crate::people::{NewPerson, PeopleFilter, PersonChanges};
use crate::roster::{MAX_ROSTER_BYTES, RosterReport};
use crate::session::Session;
use crate::units::NewUnit;
use crate::values::EmploymentType;

/// Parses a GraphQL ID as a UUID.
///
/// # Errors
/// BAD_USER_INPUT naming the field.
pub fn parse_id(field: &'static str, id: &ID) -> async_graphql::Result<Uuid> {
    Uuid::parse_str(id.as_str())
        .map_err(|_| IdentityError::invalid(field, format!("`{}` is not a valid id", id.as_str())))
        .gql()
}

fn identity<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Identity> {
    service::<Identity>(ctx)
}

/// Loads units by id, batched per request (one query for all persons on a page).
pub struct UnitLoader {
    db: DatabaseConnection,
}

impl UnitLoader {
    /// A loader over `db`; create one per request.
    pub fn new(db: DatabaseConnection) -> Self {
        UnitLoader { db }
    }
}

impl Loader<Uuid> for UnitLoader {
    type Value = unit::Model;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, unit::Model>, Self::Error> {
        Ok(unit::Entity::find()
            .filter(unit::Column::Id.is_in(keys.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect())
    }
}

async fn load_unit(ctx: &Context<'_>, id: Option<Uuid>) -> async_graphql::Result<Option<Unit>> {
    let Some(id) = id else { return Ok(None) };
    let found = match ctx.data_opt::<DataLoader<UnitLoader>>() {
        Some(loader) => loader
            .load_one(id)
            .await
            .map_err(|e| IdentityError::Internal(e.to_string()))
            .gql()?,
        None => identity(ctx)?.unit(id).await.ok(),
    };
    Ok(found.map(Unit))
}

/// A unit (OPD / unit kerja) of the city government.
pub struct Unit(pub unit::Model);

#[Object]
impl Unit {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Unique code, e.g. `DINKES`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The parent unit; null for the top.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Unit>> {
        load_unit(ctx, self.0.parent_id).await
    }
    /// Sub-units, by code.
    async fn children(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_retired: bool,
    ) -> async_graphql::Result<Vec<Unit>> {
        Ok(identity(ctx)?
            .units(Some(self.0.id), include_retired)
            .await
            .gql()?
            .into_iter()
            .map(Unit)
            .collect())
    }
    /// Whether the unit is retired (kept for history, closed to new people).
    async fn retired(&self) -> bool {
        self.0.retired_at.is_some()
    }
    async fn retired_at(&self) -> Option<DateTime<Utc>> {
        self.0.retired_at
    }
}

/// A person: civil servant, trainer or administrator.
pub struct Person(pub person::Model);

#[Object]
impl Person {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// NIP (PNS) or NI (PPPK), 18 digits.
    async fn nip(&self) -> Option<&str> {
        self.0.nip.as_deref()
    }
    async fn employment_type(&self) -> Option<EmploymentType> {
        self.0
            .employment_type
            .as_deref()
            .and_then(|t| EmploymentType::parse(t).ok())
    }
    /// Position (jabatan).
    async fn position(&self) -> Option<&str> {
        self.0.position.as_deref()
    }
    /// Grade (golongan/ruang), e.g. `III/a`.
    async fn grade(&self) -> Option<&str> {
        self.0.grade.as_deref()
    }
    async fn roles(&self) -> Vec<Role> {
        Roles::parse_list(&self.0.roles)
            .unwrap_or_default()
            .iter()
            .collect()
    }
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Unit>> {
        load_unit(ctx, self.0.unit_id).await
    }
    /// Whether the account is disabled (cannot sign in).
    async fn disabled(&self) -> bool {
        self.0.disabled_at.is_some()
    }
    /// Whether a password is set (imported people have none until it is reset).
    async fn has_password(&self) -> bool {
        self.0.password_hash.is_some()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A signed-in session.
#[derive(SimpleObject)]
#[graphql(name = "Session")]
pub struct SessionObject {
    /// Send as `Authorization: Bearer <token>`; valid for about 15 minutes.
    access_token: String,
    access_token_expires_at: DateTime<Utc>,
    /// Single use: exchange it with `refreshSession` for a new pair.
    refresh_token: String,
    refresh_token_expires_at: DateTime<Utc>,
    person: Person,
}

impl From<Session> for SessionObject {
    fn from(s: Session) -> Self {
        SessionObject {
            access_token: s.access_token,
            access_token_expires_at: s.access_expires_at,
            refresh_token: s.refresh_token,
            refresh_token_expires_at: s.refresh_expires_at,
            person: Person(s.person),
        }
    }
}

/// A roster row that was not imported.
#[derive(SimpleObject)]
pub struct RejectedRosterRow {
    /// Line in the file (the header is line 1).
    line: u64,
    nip: Option<String>,
    reason: String,
}

/// The outcome of a roster import.
#[derive(SimpleObject)]
pub struct RosterImportReport {
    total_rows: u64,
    created: u64,
    updated: u64,
    unchanged: u64,
    rejected: Vec<RejectedRosterRow>,
    /// False when rows were rejected and `allowPartial` was not set: nothing was written, and
    /// the counts say what would have happened.
    applied: bool,
}

impl From<RosterReport> for RosterImportReport {
    fn from(r: RosterReport) -> Self {
        RosterImportReport {
            total_rows: r.total_rows,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            rejected: r
                .rejected
                .into_iter()
                .map(|x| RejectedRosterRow {
                    line: x.line,
                    nip: x.nip,
                    reason: x.reason,
                })
                .collect(),
            applied: r.applied,
        }
    }
}

/// A new unit.
#[derive(InputObject)]
pub struct CreateUnitInput {
    code: String,
    name: String,
    parent_id: Option<ID>,
}

/// A new person.
#[derive(InputObject)]
pub struct CreatePersonInput {
    name: String,
    email: Option<String>,
    nip: Option<String>,
    employment_type: Option<EmploymentType>,
    unit_id: Option<ID>,
    position: Option<String>,
    grade: Option<String>,
    /// Defaults to learner.
    #[graphql(default)]
    roles: Vec<Role>,
    /// Optional initial password (10 to 128 characters).
    password: Option<String>,
}

/// Changes to a person; omitted fields stay as they are, an empty string clears.
#[derive(InputObject)]
pub struct UpdatePersonInput {
    name: Option<String>,
    email: Option<String>,
    nip: Option<String>,
    employment_type: Option<EmploymentType>,
    unit_id: Option<ID>,
    position: Option<String>,
    grade: Option<String>,
}

/// Identity queries.
#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in person.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Person> {
        let actor = actor(ctx)?;
        let id = actor
            .person_id
            .ok_or_else(|| kernel::error::to_graphql(IdentityError::NotFound("person")))?;
        identity(ctx)?.person(actor, id).await.map(Person).gql()
    }

    /// A person visible to the caller (themselves, or within their management scope).
    async fn person(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Person> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        identity(ctx)?.person(actor, id).await.map(Person).gql()
    }

    /// People in the caller's scope (admins: everyone; unit admins: their unit subtree), by name.
    async fn people(
        &self,
        ctx: &Context<'_>,
        unit_id: Option<ID>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Person>> {
        let actor = actor(ctx)?;
        let page = Page::new(first, after.clone()).gql()?;
        let unit_id = unit_id
            .as_ref()
            .map(|u| parse_id("unitId", u))
            .transpose()?;
        let result = identity(ctx)?
            .people(actor, PeopleFilter { unit_id, search }, page)
            .await
            .gql()?;
        Ok(connection(
            after.is_some(),
            result.has_next_page,
            result
                .people
                .into_iter()
                .map(|(cursor, p)| (cursor, Person(p))),
        ))
    }

    /// One unit.
    async fn unit(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Unit> {
        actor(ctx)?;
        let id = parse_id("id", &id)?;
        identity(ctx)?.unit(id).await.map(Unit).gql()
    }

    /// Units under `parentId`, or the top units when it is omitted, by code.
    async fn units(
        &self,
        ctx: &Context<'_>,
        parent_id: Option<ID>,
        #[graphql(default = false)] include_retired: bool,
    ) -> async_graphql::Result<Vec<Unit>> {
        actor(ctx)?;
        let parent = parent_id
            .as_ref()
            .map(|p| parse_id("parentId", p))
            .transpose()?;
        Ok(identity(ctx)?
            .units(parent, include_retired)
            .await
            .gql()?
            .into_iter()
            .map(Unit)
            .collect())
    }
}

/// Identity mutations.
#[derive(Default)]
pub struct IdentityMutation;

fn id_opt(field: &'static str, id: Option<&ID>) -> async_graphql::Result<Option<Uuid>> {
    id.map(|i| parse_id(field, i)).transpose()
}

#[Object]
impl IdentityMutation {
    /// Signs in with an e-mail address or NIP.
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        login: String,
        password: String,
    ) -> async_graphql::Result<SessionObject> {
        let ip = ctx.data_opt::<ClientInfo>().and_then(|c| c.ip);
        identity(ctx)?
            .sign_in(&login, password, ip)
            .await
            .map(SessionObject::from)
            .gql()
    }

    /// Exchanges a refresh token for a new session; the old refresh token stops working.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<SessionObject> {
        identity(ctx)?
            .refresh_session(&refresh_token)
            .await
            .map(SessionObject::from)
            .gql()
    }

    /// Ends the session of `refreshToken`; with `everywhere`, all sessions of the caller.
    async fn sign_out(
        &self,
        ctx: &Context<'_>,
        refresh_token: Option<String>,
        #[graphql(default = false)] everywhere: bool,
    ) -> async_graphql::Result<bool> {
        let actor = ctx.data_opt::<kernel::Actor>();
        if everywhere && actor.is_none() {
            actor_required(ctx)?;
        }
        identity(ctx)?
            .sign_out(actor, refresh_token.as_deref(), everywhere)
            .await
            .gql()?;
        Ok(true)
    }

    /// Changes the caller's password; every session of theirs ends.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let actor = actor(ctx)?;
        identity(ctx)?
            .change_password(actor, current_password, new_password)
            .await
            .gql()?;
        Ok(true)
    }

    /// Creates a unit (admins).
    async fn create_unit(
        &self,
        ctx: &Context<'_>,
        input: CreateUnitInput,
    ) -> async_graphql::Result<Unit> {
        let actor = actor(ctx)?;
        let parent_id = id_opt("parentId", input.parent_id.as_ref())?;
        identity(ctx)?
            .create_unit(
                actor,
                NewUnit {
                    code: input.code,
                    name: input.name,
                    parent_id,
                },
            )
            .await
            .map(Unit)
            .gql()
    }

    /// Renames a unit (admins).
    async fn rename_unit(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: String,
    ) -> async_graphql::Result<Unit> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        identity(ctx)?
            .rename_unit(actor, id, &name)
            .await
            .map(Unit)
            .gql()
    }

    /// Moves a unit with its sub-units under another parent, or to the top (admins).
    async fn move_unit(
        &self,
        ctx: &Context<'_>,
        id: ID,
        parent_id: Option<ID>,
    ) -> async_graphql::Result<Unit> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let parent = id_opt("parentId", parent_id.as_ref())?;
        identity(ctx)?
            .move_unit(actor, id, parent)
            .await
            .map(Unit)
            .gql()
    }

    /// Retires an empty unit (admins).
    async fn retire_unit(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Unit> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        identity(ctx)?.retire_unit(actor, id).await.map(Unit).gql()
    }

    /// Creates a person (admins; unit admins within their subtree, learner and trainer roles only).
    async fn create_person(
        &self,
        ctx: &Context<'_>,
        input: CreatePersonInput,
    ) -> async_graphql::Result<Person> {
        let actor = actor(ctx)?;
        let unit_id = id_opt("unitId", input.unit_id.as_ref())?;
        identity(ctx)?
            .create_person(
                actor,
                NewPerson {
                    name: input.name,
                    email: input.email,
                    nip: input.nip,
                    employment_type: input.employment_type,
                    unit_id,
                    position: input.position,
                    grade: input.grade,
                    roles: input.roles.into_iter().collect(),
                    password: input.password,
                },
            )
            .await
            .map(Person)
            .gql()
    }

    /// Updates a person's record (admins; unit admins within their subtree).
    async fn update_person(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePersonInput,
    ) -> async_graphql::Result<Person> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let unit_id = id_opt("unitId", input.unit_id.as_ref())?;
        identity(ctx)?
            .update_person(
                actor,
                id,
                PersonChanges {
                    name: input.name,
                    email: input.email,
                    nip: input.nip,
                    employment_type: input.employment_type,
                    unit_id,
                    position: input.position,
                    grade: input.grade,
                },
            )
            .await
            .map(Person)
            .gql()
    }

    /// Replaces a person's roles; their sessions end so the change takes hold.
    async fn set_person_roles(
        &self,
        ctx: &Context<'_>,
        id: ID,
        roles: Vec<Role>,
    ) -> async_graphql::Result<Person> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        identity(ctx)?
            .set_roles(actor, id, roles.into_iter().collect())
            .await
            .map(Person)
            .gql()
    }

    /// Disables a person: they cannot sign in, and their sessions end.
    async fn disable_person(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Person> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        identity(ctx)?
            .set_disabled(actor, id, true)
            .await
            .map(Person)
            .gql()
    }

    /// Re-enables a disabled person.
    async fn enable_person(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Person> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        identity(ctx)?
            .set_disabled(actor, id, false)
            .await
            .map(Person)
            .gql()
    }

    /// Sets a new password for someone (admins; unit admins within their subtree).
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        id: ID,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        identity(ctx)?
            .reset_password(actor, id, new_password)
            .await
            .gql()?;
        Ok(true)
    }

    /// Imports a roster CSV (admins). With rejected rows nothing is written unless
    /// `allowPartial` is true.
    async fn import_roster(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        #[graphql(default = false)] allow_partial: bool,
    ) -> async_graphql::Result<RosterImportReport> {
        let actor = actor(ctx)?;
        crate::scope::require_admin(actor).gql()?;
        let upload = file
            .value(ctx)
            .map_err(|e| IdentityError::Internal(format!("upload: {e}")))
            .gql()?;
        let bytes = tokio::task::spawn_blocking(move || {
            let mut buf = Vec::new();
            upload
                .into_read()
                .take(MAX_ROSTER_BYTES as u64 + 1)
                .read_to_end(&mut buf)
                .map(|_| buf)
        })
        .await
        .map_err(|e| IdentityError::Internal(format!("upload task: {e}")))
        .gql()?
        .map_err(|e| IdentityError::Internal(format!("upload read: {e}")))
        .gql()?;
        identity(ctx)?
            .import_roster(actor, &bytes, allow_partial)
            .await
            .map(RosterImportReport::from)
            .gql()
    }
}

fn actor_required(ctx: &Context<'_>) -> async_graphql::Result<()> {
    actor(ctx).map(|_| ())
}

/// People by id for other crates' DataLoaders.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn people_by_ids(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, person::Model>, IdentityError> {
    Ok(person::Entity::find()
        .filter(person::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect())
}

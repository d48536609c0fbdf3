//! The unit tree: create, rename, move, retire. Admins only; everyone signed in may read it.

use kernel::Actor;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::entity::{person, unit};
use crate::error::IdentityError;
use crate::values::{UnitCode, required_text};
use crate::{Identity, audit, scope};

/// Longest unit name.
pub const MAX_UNIT_NAME: usize = 200;

/// Input for a new unit.
#[derive(Debug, Clone)]
pub struct NewUnit {
    /// Unique code, e.g. `DINKES`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// The parent unit; `None` for a root (the city government).
    pub parent_id: Option<Uuid>,
}

impl Identity {
    /// Creates a unit under `parent_id`.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; BAD_USER_INPUT for a bad code or name; NOT_FOUND for an unknown
    /// parent; CONFLICT for a duplicate code or a retired parent.
    pub async fn create_unit(
        &self,
        actor: &Actor,
        input: NewUnit,
    ) -> Result<unit::Model, IdentityError> {
        scope::require_admin(actor)?;
        let code = UnitCode::parse(&input.code)?;
        let name = required_text("name", &input.name, MAX_UNIT_NAME)?;
        let now = self.clock.now();
        let id = kernel::new_id();
        let tx = kernel::db::begin_write(&self.db).await?;
        let parent_path = match input.parent_id {
            Some(pid) => {
                let parent = active_unit(&tx, pid, "parent unit").await?;
                parent.path
            }
            None => "/".to_owned(),
        };
        let model = unit::ActiveModel {
            id: Set(id),
            code: Set(code.as_str().to_owned()),
            name: Set(name),
            parent_id: Set(input.parent_id),
            path: Set(format!("{parent_path}{id}/")),
            retired_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            IdentityError::conflict_on_unique(e, format!("unit code {} is taken", code.as_str()))
        })?;
        audit::record(
            &tx,
            actor,
            now,
            "unit.create",
            "unit",
            id,
            json!({"code": model.code, "name": model.name, "parentId": input.parent_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(model)
    }

    /// Renames a unit.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND; BAD_USER_INPUT for a bad name.
    pub async fn rename_unit(
        &self,
        actor: &Actor,
        id: Uuid,
        name: &str,
    ) -> Result<unit::Model, IdentityError> {
        scope::require_admin(actor)?;
        let name = required_text("name", name, MAX_UNIT_NAME)?;
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let current = find_unit(&tx, id).await?;
        let old = current.name.clone();
        let mut am: unit::ActiveModel = current.into();
        am.name = Set(name.clone());
        am.updated_at = Set(now);
        let model = am.update(&tx).await?;
        audit::record(
            &tx,
            actor,
            now,
            "unit.rename",
            "unit",
            id,
            json!({"from": old, "to": name}),
        )
        .await?;
        tx.commit().await?;
        Ok(model)
    }

    /// Moves a unit (with its subtree) under another parent, or to the top with `None`.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND; BAD_USER_INPUT when the new parent is the unit
    /// itself or inside its subtree; CONFLICT when the new parent is retired.
    pub async fn move_unit(
        &self,
        actor: &Actor,
        id: Uuid,
        new_parent_id: Option<Uuid>,
    ) -> Result<unit::Model, IdentityError> {
        scope::require_admin(actor)?;
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let current = find_unit(&tx, id).await?;
        let new_prefix = match new_parent_id {
            Some(pid) => {
                let parent = active_unit(&tx, pid, "parent unit").await?;
                if parent.path.starts_with(&current.path) {
                    return Err(IdentityError::invalid(
                        "parentId",
                        "a unit cannot move under itself or one of its sub-units",
                    ));
                }
                parent.path
            }
            None => "/".to_owned(),
        };
        let old_path = current.path.clone();
        let new_path = format!("{new_prefix}{id}/");
        // The subtree is rewritten inside the transaction, so no reader sees it half-moved.
        // A city has hundreds of units, not millions: one UPDATE per unit is fine.
        let subtree = unit::Entity::find()
            .filter(unit::Column::Path.starts_with(&old_path))
            .all(&tx)
            .await?;
        for u in subtree {
            let rest = u.path.strip_prefix(&old_path).unwrap_or("");
            unit::Entity::update_many()
                .col_expr(unit::Column::Path, Expr::value(format!("{new_path}{rest}")))
                .col_expr(unit::Column::UpdatedAt, Expr::value(now))
                .filter(unit::Column::Id.eq(u.id))
                .exec(&tx)
                .await?;
        }
        let mut am: unit::ActiveModel = find_unit(&tx, id).await?.into();
        am.parent_id = Set(new_parent_id);
        let model = am.update(&tx).await?;
        audit::record(
            &tx,
            actor,
            now,
            "unit.move",
            "unit",
            id,
            json!({"fromParentId": current.parent_id, "toParentId": new_parent_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(model)
    }

    /// Retires a unit: it stays for history but takes no new people or sub-units.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND; CONFLICT while active sub-units or active people
    /// remain in it.
    pub async fn retire_unit(&self, actor: &Actor, id: Uuid) -> Result<unit::Model, IdentityError> {
        scope::require_admin(actor)?;
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let current = find_unit(&tx, id).await?;
        if current.retired_at.is_some() {
            return Ok(current);
        }
        let active_children = unit::Entity::find()
            .filter(unit::Column::ParentId.eq(id))
            .filter(unit::Column::RetiredAt.is_null())
            .count(&tx)
            .await?;
        if active_children > 0 {
            return Err(IdentityError::Conflict(format!(
                "unit {} still has {active_children} active sub-unit(s); retire or move them first",
                current.code
            )));
        }
        let active_people = person::Entity::find()
            .filter(person::Column::UnitId.eq(id))
            .filter(person::Column::DisabledAt.is_null())
            .count(&tx)
            .await?;
        if active_people > 0 {
            return Err(IdentityError::Conflict(format!(
                "unit {} still has {active_people} active people; move them first",
                current.code
            )));
        }
        let mut am: unit::ActiveModel = current.into();
        am.retired_at = Set(Some(now));
        am.updated_at = Set(now);
        let model = am.update(&tx).await?;
        audit::record(&tx, actor, now, "unit.retire", "unit", id, json!({})).await?;
        tx.commit().await?;
        Ok(model)
    }

    /// One unit by id.
    ///
    /// # Errors
    /// NOT_FOUND.
    pub async fn unit(&self, id: Uuid) -> Result<unit::Model, IdentityError> {
        find_unit(&self.db, id).await
    }

    /// The children of `parent_id` (roots with `None`), by code.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    pub async fn units(
        &self,
        parent_id: Option<Uuid>,
        include_retired: bool,
    ) -> Result<Vec<unit::Model>, IdentityError> {
        let mut q = unit::Entity::find();
        q = match parent_id {
            Some(p) => q.filter(unit::Column::ParentId.eq(p)),
            None => q.filter(unit::Column::ParentId.is_null()),
        };
        if !include_retired {
            q = q.filter(unit::Column::RetiredAt.is_null());
        }
        Ok(q.order_by_asc(unit::Column::Code).all(&self.db).await?)
    }
}

/// A unit by id, or NOT_FOUND.
///
/// # Errors
/// NOT_FOUND; INTERNAL.
pub async fn find_unit(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<unit::Model, IdentityError> {
    unit::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(IdentityError::NotFound("unit"))
}

/// A unit that is not retired, or NOT_FOUND / CONFLICT.
///
/// # Errors
/// NOT_FOUND (naming `what`); CONFLICT when retired.
pub async fn active_unit(
    conn: &impl ConnectionTrait,
    id: Uuid,
    what: &'static str,
) -> Result<unit::Model, IdentityError> {
    let u = unit::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(IdentityError::NotFound(what))?;
    if u.retired_at.is_some() {
        return Err(IdentityError::Conflict(format!(
            "unit {} is retired",
            u.code
        )));
    }
    Ok(u)
}

impl Identity {
    /// A unit by its code.
    ///
    /// # Errors
    /// BAD_USER_INPUT for a malformed code; NOT_FOUND.
    pub async fn unit_by_code(&self, code: &str) -> Result<unit::Model, IdentityError> {
        let code = UnitCode::parse(code)?;
        unit::Entity::find()
            .filter(unit::Column::Code.eq(code.as_str()))
            .one(&self.db)
            .await?
            .ok_or(IdentityError::NotFound("unit"))
    }
}

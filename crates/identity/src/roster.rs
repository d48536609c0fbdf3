//! Roster import: the personnel list of the city as a CSV file (NIP, name, e-mail, unit code,
//! position, grade, employment type, roles). Keyed by NIP, so importing the same file twice
//! changes nothing. Every rejected row is reported with its line and reason; a file with
//! rejected rows changes nothing unless the caller asks for the valid rows to be imported.

use std::collections::{HashMap, HashSet};

use kernel::{Actor, Role, Roles};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use crate::entity::{person, unit};
use crate::error::IdentityError;
use crate::people::{MAX_GRADE, MAX_NAME};
use crate::values::{Email, EmploymentType, Nip, UnitCode, optional_text, required_text};
use crate::{Identity, audit, scope};

/// Largest roster file accepted (a city's whole roster is well under this).
pub const MAX_ROSTER_BYTES: usize = 20 * 1024 * 1024;
/// Rows per INSERT statement: 500 × 14 columns stays below both databases' parameter limits.
const INSERT_CHUNK: usize = 500;

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// The NIP on that row, if readable.
    pub nip: Option<String>,
    /// Why it was rejected.
    pub reason: String,
}

/// What an import did (or, when not applied, would have done).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterReport {
    /// Data rows in the file.
    pub total_rows: u64,
    /// New people.
    pub created: u64,
    /// People whose record changed.
    pub updated: u64,
    /// People already exactly as in the file.
    pub unchanged: u64,
    /// Rows not imported, with reasons.
    pub rejected: Vec<RejectedRow>,
    /// Whether anything was written.
    pub applied: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Nip,
    Name,
    Email,
    UnitCode,
    Position,
    Grade,
    EmploymentType,
    Roles,
}

impl Column {
    fn from_header(h: &str) -> Option<Self> {
        let h = h.trim().to_lowercase().replace([' ', '-'], "_");
        Some(match h.as_str() {
            "nip" | "ni" | "nip_ni" => Column::Nip,
            "name" | "nama" => Column::Name,
            "email" | "e_mail" => Column::Email,
            "unit_code" | "unit" | "kode_unit" => Column::UnitCode,
            "position" | "jabatan" => Column::Position,
            "grade" | "golongan" => Column::Grade,
            "employment_type" | "jenis_pegawai" | "status_pegawai" => Column::EmploymentType,
            "roles" | "role" | "peran" => Column::Roles,
            _ => return None,
        })
    }
}

const REQUIRED: [(Column, &str); 4] = [
    (Column::Nip, "nip"),
    (Column::Name, "name"),
    (Column::UnitCode, "unit_code"),
    (Column::EmploymentType, "employment_type"),
];

#[derive(Debug, Clone)]
struct Row {
    line: u64,
    nip: String,
    name: String,
    email: Option<String>,
    unit_id: Uuid,
    position: Option<String>,
    grade: Option<String>,
    employment_type: EmploymentType,
    roles: Option<Roles>,
}

fn bad_file(message: impl Into<String>) -> IdentityError {
    IdentityError::invalid("file", message)
}

/// Decodes the file as UTF-8 (a BOM is allowed) or says on which line it is not.
fn decode(bytes: &[u8]) -> Result<&str, IdentityError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        bad_file(format!(
            "the file is not UTF-8 text (line {line}); save it from the spreadsheet as \"CSV UTF-8\""
        ))
    })
}

impl Identity {
    /// Imports a roster CSV. Comma- and semicolon-separated files are both accepted.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; BAD_USER_INPUT for an empty, oversized or non-UTF-8 file, or
    /// missing or unknown columns (the rows themselves are reported, not raised).
    pub async fn import_roster(
        &self,
        actor: &Actor,
        bytes: &[u8],
        allow_partial: bool,
    ) -> Result<RosterReport, IdentityError> {
        scope::require_admin(actor)?;
        if bytes.len() > MAX_ROSTER_BYTES {
            return Err(bad_file(format!(
                "the file is larger than {} MiB",
                MAX_ROSTER_BYTES >> 20
            )));
        }
        let text = decode(bytes)?;
        if text.trim().is_empty() {
            return Err(bad_file("the file is empty"));
        }
        let header_line = text.lines().next().unwrap_or("");
        let delimiter = if header_line.contains(';') && !header_line.contains(',') {
            b';'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| bad_file(format!("the header line cannot be read: {e}")))?
            .clone();
        let mut columns: HashMap<Column, usize> = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            let col = Column::from_header(h).ok_or_else(|| {
                bad_file(format!(
                    "unknown column `{h}`; expected nip, name, email, unit_code, position, grade, employment_type, roles"
                ))
            })?;
            if columns.insert(col, i).is_some() {
                return Err(bad_file(format!("column `{h}` appears twice")));
            }
        }
        let missing: Vec<&str> = REQUIRED
            .iter()
            .filter(|(c, _)| !columns.contains_key(c))
            .map(|(_, n)| *n)
            .collect();
        if !missing.is_empty() {
            return Err(bad_file(format!(
                "missing column(s): {}",
                missing.join(", ")
            )));
        }

        let units: HashMap<String, unit::Model> = unit::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.code.clone(), u))
            .collect();
        let this_year = kernel::time::wib_year(self.clock.now());
        let mut report = RosterReport::default();
        let mut rows: Vec<Row> = Vec::new();
        let mut seen_nip: HashSet<String> = HashSet::new();
        let mut seen_email: HashSet<String> = HashSet::new();
        for record in reader.records() {
            report.total_rows += 1;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    report.rejected.push(RejectedRow {
                        line,
                        nip: None,
                        reason: format!("unreadable row: {e}"),
                    });
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            let get = |c: Column| columns.get(&c).and_then(|i| record.get(*i)).unwrap_or("");
            if record.iter().all(str::is_empty) {
                report.total_rows -= 1;
                continue;
            }
            let raw_nip = get(Column::Nip).to_owned();
            let parsed = parse_row(line, &get, &units, this_year);
            match parsed {
                Err(reason) => report.rejected.push(RejectedRow {
                    line,
                    nip: (!raw_nip.is_empty()).then_some(raw_nip),
                    reason,
                }),
                Ok(row) => {
                    if !seen_nip.insert(row.nip.clone()) {
                        report.rejected.push(RejectedRow {
                            line,
                            nip: Some(row.nip),
                            reason: "the NIP appears on an earlier row of this file".into(),
                        });
                    } else if let Some(e) = row
                        .email
                        .as_ref()
                        .filter(|e| !seen_email.insert((*e).clone()))
                    {
                        report.rejected.push(RejectedRow {
                            line,
                            nip: Some(row.nip.clone()),
                            reason: format!(
                                "the e-mail {e} appears on an earlier row of this file"
                            ),
                        });
                    } else {
                        rows.push(row);
                    }
                }
            }
        }
        if report.total_rows == 0 {
            return Err(bad_file("the file has a header but no rows"));
        }

        // Who exists already, by NIP and by e-mail: a bounded number of IN queries.
        let nips: Vec<String> = rows.iter().map(|r| r.nip.clone()).collect();
        let emails: Vec<String> = rows.iter().filter_map(|r| r.email.clone()).collect();
        let mut by_nip: HashMap<String, person::Model> = HashMap::new();
        let mut email_owner: HashMap<String, Uuid> = HashMap::new();
        for chunk in nips.chunks(INSERT_CHUNK) {
            for p in person::Entity::find()
                .filter(person::Column::Nip.is_in(chunk.to_vec()))
                .all(&self.db)
                .await?
            {
                if let Some(e) = &p.email {
                    email_owner.insert(e.clone(), p.id);
                }
                if let Some(n) = p.nip.clone() {
                    by_nip.insert(n, p);
                }
            }
        }
        for chunk in emails.chunks(INSERT_CHUNK) {
            for p in person::Entity::find()
                .filter(person::Column::Email.is_in(chunk.to_vec()))
                .all(&self.db)
                .await?
            {
                if let Some(e) = p.email.clone() {
                    email_owner.insert(e, p.id);
                }
            }
        }

        let now = self.clock.now();
        let mut inserts: Vec<person::ActiveModel> = Vec::new();
        let mut touched: Vec<Uuid> = Vec::new();
        let mut updates: Vec<person::ActiveModel> = Vec::new();
        for row in rows {
            let existing = by_nip.get(&row.nip);
            let owner = row.email.as_ref().and_then(|e| email_owner.get(e));
            if let (Some(owner), Some(email)) = (owner, &row.email)
                && existing.map(|p| p.id) != Some(*owner)
            {
                report.rejected.push(RejectedRow {
                    line: row.line,
                    nip: Some(row.nip.clone()),
                    reason: format!("the e-mail {email} belongs to another person"),
                });
                continue;
            }
            match existing {
                None => {
                    report.created += 1;
                    inserts.push(person::ActiveModel {
                        id: Set(kernel::new_id()),
                        nip: Set(Some(row.nip)),
                        name: Set(row.name),
                        email: Set(row.email),
                        unit_id: Set(Some(row.unit_id)),
                        position: Set(row.position),
                        grade: Set(row.grade),
                        employment_type: Set(Some(row.employment_type.as_str().to_owned())),
                        roles: Set(row
                            .roles
                            .unwrap_or_else(|| Roles::empty().with(Role::Learner))
                            .to_string()),
                        password_hash: Set(None),
                        password_changed_at: Set(None),
                        disabled_at: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                    });
                }
                Some(p) => {
                    let roles = row.roles.map_or_else(|| p.roles.clone(), |r| r.to_string());
                    let employment = Some(row.employment_type.as_str().to_owned());
                    // An e-mail left blank in the file keeps the one on record.
                    let email = row.email.clone().or_else(|| p.email.clone());
                    let same = p.name == row.name
                        && p.email == email
                        && p.unit_id == Some(row.unit_id)
                        && p.position == row.position
                        && p.grade == row.grade
                        && p.employment_type == employment
                        && p.roles == roles;
                    if same {
                        report.unchanged += 1;
                        continue;
                    }
                    report.updated += 1;
                    let mut am: person::ActiveModel = p.clone().into();
                    am.name = Set(row.name);
                    am.email = Set(email);
                    am.unit_id = Set(Some(row.unit_id));
                    am.position = Set(row.position);
                    am.grade = Set(row.grade);
                    am.employment_type = Set(employment);
                    am.roles = Set(roles);
                    am.updated_at = Set(now);
                    touched.push(p.id);
                    updates.push(am);
                }
            }
        }
        report.rejected.sort_by_key(|r| r.line);
        if !report.rejected.is_empty() && !allow_partial {
            return Ok(report);
        }

        let tx = kernel::db::begin_write(&self.db).await?;
        let inserts_ids: Vec<Uuid> = inserts
            .iter()
            .filter_map(|am| am.id.clone().into_value())
            .filter_map(|v| match v {
                sea_orm::Value::Uuid(Some(id)) => Some(id),
                _ => None,
            })
            .collect();
        for chunk in inserts.chunks(INSERT_CHUNK) {
            person::Entity::insert_many(chunk.to_vec())
                .exec(&tx)
                .await
                .map_err(|e| {
                    IdentityError::conflict_on_unique(
                        e,
                        "the roster changed while importing; import again",
                    )
                })?;
        }
        for am in updates {
            am.update(&tx).await.map_err(|e| {
                IdentityError::conflict_on_unique(
                    e,
                    "the roster changed while importing; import again",
                )
            })?;
        }
        audit::record(
            &tx,
            actor,
            now,
            "roster.import",
            "roster",
            now.to_rfc3339(),
            json!({
                "rows": report.total_rows, "created": report.created, "updated": report.updated,
                "unchanged": report.unchanged, "rejected": report.rejected.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        report.applied = true;
        touched.extend(inserts_ids);
        self.notify_people_changed(&touched).await;
        tracing::info!(
            roster.rows = report.total_rows,
            roster.created = report.created,
            roster.updated = report.updated,
            roster.rejected = report.rejected.len(),
            "roster imported"
        );
        Ok(report)
    }
}

fn parse_row<'a>(
    _line: u64,
    get: &dyn Fn(Column) -> &'a str,
    units: &HashMap<String, unit::Model>,
    this_year: i32,
) -> Result<Row, String> {
    let msg = |e: IdentityError| e.to_string();
    let employment_type = EmploymentType::parse(get(Column::EmploymentType)).map_err(msg)?;
    let nip = Nip::parse(get(Column::Nip), Some(employment_type), this_year).map_err(msg)?;
    let name = required_text("name", get(Column::Name), MAX_NAME).map_err(msg)?;
    let email = match get(Column::Email) {
        "" => None,
        e => Some(Email::parse(e).map_err(msg)?.as_str().to_owned()),
    };
    let code = UnitCode::parse(get(Column::UnitCode)).map_err(msg)?;
    let unit = units
        .get(code.as_str())
        .ok_or_else(|| format!("unknown unit code {}", code.as_str()))?;
    if unit.retired_at.is_some() {
        return Err(format!("unit {} is retired", code.as_str()));
    }
    let position = optional_text("position", get(Column::Position), MAX_NAME).map_err(msg)?;
    let grade = optional_text("grade", get(Column::Grade), MAX_GRADE).map_err(msg)?;
    let roles = match get(Column::Roles) {
        "" => None,
        r => Some(Roles::parse_list(r).map_err(|e| e.to_string())?),
    };
    Ok(Row {
        line: _line,
        nip: nip.as_str().to_owned(),
        name,
        email,
        unit_id: unit.id,
        position,
        grade,
        employment_type,
        roles,
    })
}

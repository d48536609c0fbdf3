//! Roster import: a generated file of valid rows imported twice through
//! `Identity::import_roster`, first creating everyone, then finding everyone unchanged.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use identity::roster::RosterReport;
use identity::units::NewUnit;
use kernel::Actor;

use crate::app::App;

/// Units the generated people are spread over.
const UNITS: usize = 8;
/// The most rows [`roster_csv`] can make: later birth years would give appointments in the
/// future.
pub const MAX_ROWS: usize = 30_000;

/// Time of each import.
pub struct RosterFigures {
    /// Rows in the file.
    pub rows: usize,
    /// The first import (everyone created).
    pub first: Duration,
    /// The same file again (everyone unchanged).
    pub second: Duration,
}

/// Creates the units, generates `rows` people and imports them twice, checking each report.
///
/// # Errors
/// When the units cannot be created, an import fails or a report is not the expected one.
pub async fn run(app: &App, rows: usize) -> anyhow::Result<RosterFigures> {
    let identity = &app.state().identity;
    let system = Actor::system();
    let mut codes = Vec::with_capacity(UNITS);
    for u in 1..=UNITS {
        let code = format!("BENCH-{u:02}");
        identity
            .create_unit(
                &system,
                NewUnit {
                    code: code.clone(),
                    name: format!("Unit kerja {u}"),
                    parent_id: None,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("cannot create the unit {code}"))?;
        codes.push(code);
    }
    let file = roster_csv(rows, &codes)?;

    let started = Instant::now();
    let first = identity
        .import_roster(&system, file.as_bytes(), false)
        .await
        .map_err(|e| anyhow::anyhow!("the first import failed: {e}"))?;
    let first_time = started.elapsed();
    expect(&first, rows, |r| r.created, "created")?;

    let started = Instant::now();
    let second = identity
        .import_roster(&system, file.as_bytes(), false)
        .await
        .map_err(|e| anyhow::anyhow!("the second import failed: {e}"))?;
    let second_time = started.elapsed();
    expect(&second, rows, |r| r.unchanged, "unchanged")?;

    Ok(RosterFigures {
        rows,
        first: first_time,
        second: second_time,
    })
}

/// Checks that a report applied every row, all counted by `count`.
fn expect(
    report: &RosterReport,
    rows: usize,
    count: impl Fn(&RosterReport) -> u64,
    what: &str,
) -> anyhow::Result<()> {
    if let Some(r) = report.rejected.first() {
        anyhow::bail!(
            "{} rows rejected, the first on line {}: {}",
            report.rejected.len(),
            r.line,
            r.reason
        );
    }
    anyhow::ensure!(
        report.applied && report.total_rows == rows as u64 && count(report) == rows as u64,
        "expected all {rows} rows {what}, got {report:?}"
    );
    Ok(())
}

/// A roster of `rows` distinct PNS with valid NIPs and unique e-mails over the units `codes`.
///
/// NIP `i` is birth date, appointment month, sex and serial; the birth year is `1965 + i / 1000`
/// and the serial `i % 1000`, so no two rows share a NIP. Appointments come 18 to 27 years after
/// birth, hence [`MAX_ROWS`].
///
/// # Errors
/// When `rows` is out of range.
pub fn roster_csv(rows: usize, codes: &[String]) -> anyhow::Result<String> {
    anyhow::ensure!(
        (1..=MAX_ROWS).contains(&rows),
        "the roster holds 1 to {MAX_ROWS} rows"
    );
    anyhow::ensure!(!codes.is_empty(), "the roster needs a unit");
    const GRADES: [&str; 4] = ["III/a", "III/b", "III/c", "IV/a"];
    let mut csv = String::with_capacity(rows * 128);
    csv.push_str("nip,name,email,unit_code,position,grade,employment_type,roles\n");
    for i in 0..rows {
        let birth_year = 1965 + i / 1000;
        let (month, day) = (1 + i % 12, 1 + i % 28);
        let appointed = birth_year + 18 + i % 10;
        let appointed_month = 1 + (i / 12) % 12;
        let sex = 1 + (i / 7) % 2;
        let serial = i % 1000;
        writeln!(
            csv,
            "{birth_year}{month:02}{day:02}{appointed}{appointed_month:02}{sex}{serial:03},\
             Pegawai Bench {i},pegawai{i:05}@bench.tangerangselatankota.go.id,{unit},\
             Analis Kepegawaian,{grade},PNS,learner",
            unit = codes[i % codes.len()],
            grade = GRADES[i % GRADES.len()],
        )?;
    }
    Ok(csv)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use identity::values::{EmploymentType, Nip};

    use super::*;

    #[test]
    fn every_generated_nip_is_valid_and_unique() {
        let csv = roster_csv(MAX_ROWS, &["A".to_owned()]).unwrap();
        let mut seen = HashSet::new();
        for line in csv.lines().skip(1) {
            let nip = line.split(',').next().unwrap();
            Nip::parse(nip, Some(EmploymentType::Pns), 2026).unwrap();
            assert!(seen.insert(nip.to_owned()), "{nip} twice");
        }
        assert_eq!(seen.len(), MAX_ROWS);
    }
}

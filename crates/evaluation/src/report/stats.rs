//! The statistics of the learning report and the item analysis, as pure functions over numbers
//! (no database, no I/O). The formulas are those of `DOMAIN.md`; each function says which.
//!
//! Conventions:
//! - **Variance is the population variance** (divide by `n`), for items and totals alike. That
//!   is what makes `p_j * q_j` the variance of a dichotomous item, so KR-20 and Cronbach's alpha
//!   agree on 0/1 items.
//! - **Thresholds are compared with a tolerance of [`EPSILON`] (1e-9).** Percentages and item
//!   scores come out of floating-point arithmetic (`1/3 * 100`, `0.6 - 0.4`), so a value that is
//!   exactly a threshold in decimals (g = 0.7, D = 0.2) must not fall on the wrong side of it
//!   because of binary rounding. A gain of 0.6999999999995 counts as high; 0.69999 does not.

use async_graphql::Enum;

/// Tolerance of threshold comparisons (see the module documentation).
pub const EPSILON: f64 = 1e-9;

/// Lower bound of a high gain: `g >= 0.7`.
pub const HIGH_GAIN: f64 = 0.7;
/// Lower bound of a medium gain: `0.3 <= g < 0.7`.
pub const MEDIUM_GAIN: f64 = 0.3;
/// Items with a facility below this are flagged too hard.
pub const TOO_HARD: f64 = 0.2;
/// Items with a facility above this are flagged too easy.
pub const TOO_EASY: f64 = 0.9;
/// Items with a discrimination index below this are flagged weak.
pub const WEAK_DISCRIMINATION: f64 = 0.2;
/// Share of the ranked attempts in each of the upper and lower groups of the discrimination
/// index.
pub const GROUP_SHARE: f64 = 0.27;

// ---------------------------------------------------------------------------------------------
// Hake's normalised gain
// ---------------------------------------------------------------------------------------------

/// Hake's individual normalised gain `g = (post - pre) / (max - pre)`.
///
/// `None` when `pre = max` (within [`EPSILON`]): a learner with a perfect pre-test has no room
/// to gain, and is left out (and counted) by [`gain_distribution`]. Negative when the post-test
/// is worse than the pre-test.
pub fn hake_gain(pre: f64, post: f64, max: f64) -> Option<f64> {
    let room = max - pre;
    if room <= EPSILON {
        None
    } else {
        Some((post - pre) / room)
    }
}

/// Hake's class gain `<g> = (mean post - mean pre) / (max - mean pre)`: the gain of the means,
/// not the mean of the gains. `None` when the mean pre-test is `max` (everyone was perfect).
pub fn class_gain(mean_pre: f64, mean_post: f64, max: f64) -> Option<f64> {
    hake_gain(mean_pre, mean_post, max)
}

/// The category of a normalised gain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum GainCategory {
    /// `g >= 0.7`.
    High,
    /// `0.3 <= g < 0.7`.
    Medium,
    /// `g < 0.3`, negative gains included.
    Low,
}

impl GainCategory {
    /// The category of `g` (boundaries within [`EPSILON`] count as reached).
    pub fn of(g: f64) -> GainCategory {
        if g >= HIGH_GAIN - EPSILON {
            GainCategory::High
        } else if g >= MEDIUM_GAIN - EPSILON {
            GainCategory::Medium
        } else {
            GainCategory::Low
        }
    }
}

/// Number of histogram bins of width 0.1 over `[0, 1]`.
pub const GAIN_BINS: usize = 10;

/// The distribution of individual gains of a group.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GainDistribution {
    /// Learners whose gain is defined (pre-test below the maximum).
    pub counted: u64,
    /// `g >= 0.7`.
    pub high: u64,
    /// `0.3 <= g < 0.7`.
    pub medium: u64,
    /// `g < 0.3` (negative gains included).
    pub low: u64,
    /// Learners left out because their pre-test was already the maximum.
    pub left_out: u64,
    /// Gains below 0 (a worse post-test); they are also counted in `low`.
    pub negative: u64,
    /// Gains in `[i/10, (i+1)/10)`, the last bin `[0.9, 1.0]` closed.
    pub bins: [u64; GAIN_BINS],
    /// The mean of the defined individual gains (not `<g>`), `None` when there are none.
    pub mean_gain: Option<f64>,
}

/// The bin of a non-negative gain: `floor(10 g)` (with [`EPSILON`]), 1.0 in the last bin.
fn gain_bin(g: f64) -> usize {
    let i = ((g + EPSILON) * 10.0).floor();
    if i <= 0.0 {
        0
    } else {
        // In 0..=9 after the clamp; the cast cannot truncate.
        (i as usize).min(GAIN_BINS - 1)
    }
}

/// Distribution of individual gains over `(pre, post, count)` groups: `count` learners had this
/// pre-test and post-test score. Scores are on a scale of `0..=max` (percent: `max = 100`).
/// Learners with `pre = max` are left out and counted in `left_out`.
pub fn gain_distribution(
    groups: impl IntoIterator<Item = (f64, f64, u64)>,
    max: f64,
) -> GainDistribution {
    let mut d = GainDistribution::default();
    let mut sum = 0.0;
    for (pre, post, count) in groups {
        if count == 0 {
            continue;
        }
        let Some(g) = hake_gain(pre, post, max) else {
            d.left_out += count;
            continue;
        };
        d.counted += count;
        sum += g * count as f64;
        match GainCategory::of(g) {
            GainCategory::High => d.high += count,
            GainCategory::Medium => d.medium += count,
            GainCategory::Low => d.low += count,
        }
        if g < -EPSILON {
            d.negative += count;
        } else {
            d.bins[gain_bin(g)] += count;
        }
    }
    if d.counted > 0 {
        d.mean_gain = Some(sum / d.counted as f64);
    }
    d
}

// ---------------------------------------------------------------------------------------------
// Classical test theory
// ---------------------------------------------------------------------------------------------

/// The arithmetic mean; `None` for no values.
pub fn mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        None
    } else {
        Some(xs.iter().sum::<f64>() / xs.len() as f64)
    }
}

/// The population variance `sum((x - mean)^2) / n`; `None` for no values.
pub fn variance(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    Some(xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64)
}

/// Pearson's correlation of two equally long series; `None` when they are shorter than 2,
/// differ in length, or either has no variance.
pub fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() != ys.len() || xs.len() < 2 {
        return None;
    }
    let (mx, my) = (mean(xs)?, mean(ys)?);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx <= EPSILON * EPSILON || syy <= EPSILON * EPSILON {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// Facility (difficulty index) `p_j`: the mean item score `x_ij` in `[0, 1]` over attempts;
/// `None` with no attempts.
pub fn facility(item: &[f64]) -> Option<f64> {
    mean(item)
}

/// Size of each of the upper and lower groups for `n` ranked attempts: `round(0.27 n)`
/// (halves round up), at least 1; 0 when `n = 0`.
pub fn group_size(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    // Rounded and at least 1: a small positive integer, never above n.
    ((GROUP_SHARE * n as f64).round() as usize).clamp(1, n)
}

/// Discrimination index `D_j = p_j(upper) - p_j(lower)`: the item's facility among the
/// attempts with the highest total scores minus that among the lowest, each group
/// [`group_size`] attempts.
///
/// Ranking: by total, descending; **equal totals keep their input order**, earlier attempts
/// ranking higher (a stable sort). The upper group is the first `g` attempts of that ranking and
/// the lower group the last `g`. So at a tie on the cut, the earlier attempt goes to the upper
/// group and the later one to the lower group, and the result depends only on the input order,
/// which callers make deterministic (attempt ids ascending). With `n < 2 g` the groups overlap
/// (n = 1: D = 0).
///
/// `None` when there are no attempts or the slices differ in length.
pub fn discrimination(item: &[f64], totals: &[f64]) -> Option<f64> {
    let n = item.len();
    if n == 0 || totals.len() != n {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    // Stable: ties keep input order.
    order.sort_by(|a, b| totals[*b].total_cmp(&totals[*a]));
    let g = group_size(n);
    let upper: Vec<f64> = order[..g].iter().map(|i| item[*i]).collect();
    let lower: Vec<f64> = order[n - g..].iter().map(|i| item[*i]).collect();
    Some(mean(&upper)? - mean(&lower)?)
}

/// Point-biserial correlation (corrected): Pearson's correlation of the item score with the
/// total score of the *other* items (`total_i - x_ij`), so the item does not correlate with
/// itself. `None` when either has no variance (everyone scored the same, or a one-item quiz)
/// or with fewer than 2 attempts.
pub fn point_biserial(item: &[f64], totals: &[f64]) -> Option<f64> {
    if item.len() != totals.len() {
        return None;
    }
    let rest: Vec<f64> = item.iter().zip(totals).map(|(x, t)| t - x).collect();
    pearson(item, &rest)
}

/// Whether every score is 0 or 1 (within [`EPSILON`]).
pub fn is_dichotomous(scores: impl IntoIterator<Item = f64>) -> bool {
    scores
        .into_iter()
        .all(|x| x.abs() <= EPSILON || (x - 1.0).abs() <= EPSILON)
}

/// Cronbach's alpha `k/(k-1) * (1 - sum(var(item_j)) / var(total))` of a complete matrix
/// (`rows[i][j]` = score of attempt `i` on item `j`), population variances. `None` when
/// `k < 2`, the rows differ in length, or `var(total) = 0`.
pub fn cronbach_alpha(rows: &[Vec<f64>]) -> Option<f64> {
    let k = rows.first()?.len();
    if k < 2 || rows.iter().any(|r| r.len() != k) {
        return None;
    }
    let totals: Vec<f64> = rows.iter().map(|r| r.iter().sum()).collect();
    let var_total = variance(&totals)?;
    if var_total <= EPSILON {
        return None;
    }
    let mut sum_var = 0.0;
    for j in 0..k {
        let column: Vec<f64> = rows.iter().map(|r| r[j]).collect();
        sum_var += variance(&column)?;
    }
    let k = k as f64;
    Some(k / (k - 1.0) * (1.0 - sum_var / var_total))
}

/// KR-20 `k/(k-1) * (1 - sum(p_j q_j) / var(total))` of a complete matrix of 0/1 scores,
/// `q_j = 1 - p_j`, population variance of the totals. Equal to [`cronbach_alpha`] on such a
/// matrix (`p_j q_j` is the population variance of a 0/1 item). `None` like
/// [`cronbach_alpha`].
pub fn kr20(rows: &[Vec<f64>]) -> Option<f64> {
    let k = rows.first()?.len();
    if k < 2 || rows.iter().any(|r| r.len() != k) {
        return None;
    }
    let totals: Vec<f64> = rows.iter().map(|r| r.iter().sum()).collect();
    let var_total = variance(&totals)?;
    if var_total <= EPSILON {
        return None;
    }
    let mut sum_pq = 0.0;
    for j in 0..k {
        let column: Vec<f64> = rows.iter().map(|r| r[j]).collect();
        let p = facility(&column)?;
        sum_pq += p * (1.0 - p);
    }
    let k = k as f64;
    Some(k / (k - 1.0) * (1.0 - sum_pq / var_total))
}

/// Why an item is shown to the trainer for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum ItemFlag {
    /// Facility below 0.2.
    TooHard,
    /// Facility above 0.9.
    TooEasy,
    /// Discrimination index below 0.2.
    WeakDiscrimination,
}

/// The flags of an item: `p < 0.2` too hard, `p > 0.9` too easy, `D < 0.2` weak
/// discrimination (each with [`EPSILON`]: p = 0.2 exactly is not too hard). Unknown values
/// raise no flag.
pub fn flags(facility: Option<f64>, discrimination: Option<f64>) -> Vec<ItemFlag> {
    let mut out = Vec::new();
    if let Some(p) = facility {
        if p < TOO_HARD - EPSILON {
            out.push(ItemFlag::TooHard);
        }
        if p > TOO_EASY + EPSILON {
            out.push(ItemFlag::TooEasy);
        }
    }
    if discrimination.is_some_and(|d| d < WEAK_DISCRIMINATION - EPSILON) {
        out.push(ItemFlag::WeakDiscrimination);
    }
    out
}

/// Which reliability coefficient applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum ReliabilityMethod {
    /// Kuder-Richardson 20: every item score is 0 or 1.
    #[graphql(name = "KR20")]
    Kr20,
    /// Cronbach's alpha: some item has partial credit.
    CronbachAlpha,
}

/// The statistics of one item (one column).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemStats {
    /// Attempts that were given the item.
    pub n: usize,
    /// `p_j`.
    pub facility: Option<f64>,
    /// `D_j`.
    pub discrimination: Option<f64>,
    /// Item-rest correlation.
    pub point_biserial: Option<f64>,
    /// Review flags.
    pub flags: Vec<ItemFlag>,
}

/// The item analysis of a quiz.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemAnalysisStats {
    /// Per item, in column order.
    pub items: Vec<ItemStats>,
    /// Attempts (rows).
    pub n: usize,
    /// Items (columns).
    pub k: usize,
    /// KR-20 when every observed score is 0 or 1, else Cronbach's alpha.
    pub method: ReliabilityMethod,
    /// The coefficient; `None` when `k < 2`, `var(total) = 0`, or the matrix has gaps
    /// (attempts given different items, as with a random draw: both coefficients need every
    /// attempt to answer every item).
    pub reliability: Option<f64>,
    /// Mean total score (sum of item scores) per attempt.
    pub mean_total: Option<f64>,
}

/// Analyses a matrix `rows[i][j]`: the score in `[0, 1]` of attempt `i` on item `j`, `None`
/// when the attempt was not given the item. Every row has `k` entries.
///
/// An attempt's total is the sum of its item scores. An item's facility, discrimination and
/// point-biserial use the attempts that were given it, in row order (which breaks ties of the
/// discrimination ranking, see [`discrimination`]).
pub fn analyse(rows: &[Vec<Option<f64>>], k: usize) -> ItemAnalysisStats {
    let n = rows.len();
    let totals: Vec<f64> = rows.iter().map(|r| r.iter().flatten().sum()).collect();
    let items = (0..k)
        .map(|j| {
            let (scores, item_totals): (Vec<f64>, Vec<f64>) = rows
                .iter()
                .zip(&totals)
                .filter_map(|(r, t)| r.get(j).copied().flatten().map(|x| (x, *t)))
                .unzip();
            let facility = facility(&scores);
            let discrimination = discrimination(&scores, &item_totals);
            ItemStats {
                n: scores.len(),
                facility,
                discrimination,
                point_biserial: point_biserial(&scores, &item_totals),
                flags: flags(facility, discrimination),
            }
        })
        .collect();
    let observed = rows.iter().flatten().flatten().copied();
    let method = if is_dichotomous(observed) {
        ReliabilityMethod::Kr20
    } else {
        ReliabilityMethod::CronbachAlpha
    };
    let complete: Option<Vec<Vec<f64>>> = rows
        .iter()
        .map(|r| {
            if r.len() == k {
                r.iter().copied().collect::<Option<Vec<f64>>>()
            } else {
                None
            }
        })
        .collect();
    let reliability = complete.and_then(|m| match method {
        ReliabilityMethod::Kr20 => kr20(&m),
        ReliabilityMethod::CronbachAlpha => cronbach_alpha(&m),
    });
    ItemAnalysisStats {
        items,
        n,
        k,
        method,
        reliability,
        mean_total: mean(&totals),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[track_caller]
    fn assert_close(got: Option<f64>, want: f64) {
        let got = got.unwrap_or_else(|| panic!("expected {want}, got None"));
        assert!(close(got, want), "expected {want}, got {got}");
    }

    #[test]
    fn individual_gain_is_the_share_of_the_possible_improvement() {
        // pre 40, post 70: (70 - 40) / (100 - 40) = 30 / 60 = 0.5
        assert_close(hake_gain(40.0, 70.0, 100.0), 0.5);
        // pre 80, post 60: (60 - 80) / (100 - 80) = -20 / 20 = -1 (a worse post-test)
        assert_close(hake_gain(80.0, 60.0, 100.0), -1.0);
        // pre 60, post 100: 40 / 40 = 1
        assert_close(hake_gain(60.0, 100.0, 100.0), 1.0);
        // On another scale: pre 2 of 4, post 3 of 4: (3 - 2) / (4 - 2) = 0.5
        assert_close(hake_gain(2.0, 3.0, 4.0), 0.5);
        // A perfect pre-test leaves no room: undefined.
        assert_eq!(hake_gain(100.0, 100.0, 100.0), None);
        assert_eq!(hake_gain(100.0, 80.0, 100.0), None);
    }

    #[test]
    fn class_gain_is_the_gain_of_the_means() {
        // Means pre 50, post 80: (80 - 50) / (100 - 50) = 30 / 50 = 0.6
        assert_close(class_gain(50.0, 80.0, 100.0), 0.6);
        // Not the mean of the individual gains: learners (0 -> 50) and (90 -> 95) have gains
        // 0.5 and 0.5, mean 0.5; the means are pre 45, post 72.5:
        // (72.5 - 45) / (100 - 45) = 27.5 / 55 = 0.5 here too, but with (0 -> 100) and
        // (90 -> 90): gains 1 and 0 (mean 0.5), means pre 45, post 95:
        // (95 - 45) / 55 = 50 / 55 = 0.909090...
        assert_close(class_gain(45.0, 95.0, 100.0), 50.0 / 55.0);
        // Everyone perfect in the pre-test: undefined.
        assert_eq!(class_gain(100.0, 100.0, 100.0), None);
    }

    #[test]
    fn gains_fall_into_categories_at_the_boundaries() {
        assert_eq!(GainCategory::of(0.7), GainCategory::High);
        assert_eq!(GainCategory::of(1.0), GainCategory::High);
        assert_eq!(GainCategory::of(0.69), GainCategory::Medium);
        assert_eq!(GainCategory::of(0.3), GainCategory::Medium);
        assert_eq!(GainCategory::of(0.2999), GainCategory::Low);
        assert_eq!(GainCategory::of(0.0), GainCategory::Low);
        assert_eq!(GainCategory::of(-0.5), GainCategory::Low);
        // Computed boundaries: pre 10, post 73: 63 / 90 = 0.7 -> high; pre 0, post 30:
        // 30 / 100 = 0.3 -> medium; pre 100/3 (one of three right), post 80:
        // (80 - 33.33..) / (66.66..) = 0.7 up to rounding -> high.
        let g = |pre, post| hake_gain(pre, post, 100.0).map(GainCategory::of);
        assert_eq!(g(10.0, 73.0), Some(GainCategory::High));
        assert_eq!(g(0.0, 30.0), Some(GainCategory::Medium));
        assert_eq!(g(100.0 / 3.0, 80.0), Some(GainCategory::High));
    }

    #[test]
    fn the_distribution_counts_categories_bins_and_the_left_out() {
        // (pre, post, learners):
        //   (40, 70) x1: 30/60  = 0.5   medium, bin 5
        //   (50, 85) x2: 35/50  = 0.7   high,   bin 7 (two learners)
        //   (20, 30) x1: 10/80  = 0.125 low,    bin 1
        //   (80, 60) x1: -20/20 = -1    low,    negative
        //   (100, 100) x3: left out (perfect pre-test)
        //   (60, 100) x1: 40/40 = 1     high,   bin 9 (the last bin is closed)
        //   (30, 30) x0: ignored
        let d = gain_distribution(
            [
                (40.0, 70.0, 1),
                (50.0, 85.0, 2),
                (20.0, 30.0, 1),
                (80.0, 60.0, 1),
                (100.0, 100.0, 3),
                (60.0, 100.0, 1),
                (30.0, 30.0, 0),
            ],
            100.0,
        );
        assert_eq!(d.counted, 6);
        assert_eq!((d.high, d.medium, d.low), (3, 1, 2));
        assert_eq!(d.left_out, 3);
        assert_eq!(d.negative, 1);
        assert_eq!(d.bins, [0, 1, 0, 0, 0, 1, 0, 2, 0, 1]);
        // Mean of the six defined gains: (0.5 + 0.7 + 0.7 + 0.125 - 1 + 1) / 6 = 2.025 / 6
        assert_close(d.mean_gain, 2.025 / 6.0);
    }

    #[test]
    fn a_group_of_perfect_pre_tests_has_no_gains() {
        let d = gain_distribution([(100.0, 90.0, 2)], 100.0);
        assert_eq!(d.counted, 0);
        assert_eq!(d.left_out, 2);
        assert_eq!(d.mean_gain, None);
        let empty = gain_distribution([], 100.0);
        assert_eq!(empty, GainDistribution::default());
    }

    #[test]
    fn variance_and_correlation() {
        // [4, 3, 2, 2, 1]: mean 12/5 = 2.4; squared deviations 2.56 + 0.36 + 0.16 + 0.16
        // + 1.96 = 5.2; population variance 5.2 / 5 = 1.04
        assert_close(variance(&[4.0, 3.0, 2.0, 2.0, 1.0]), 1.04);
        assert_eq!(variance(&[]), None);
        // A perfect line correlates 1, its mirror -1.
        assert_close(pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]), 1.0);
        assert_close(pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        // No variance: undefined.
        assert_eq!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(pearson(&[1.0], &[1.0]), None);
    }

    #[test]
    fn group_sizes_are_27_percent_rounded_and_at_least_one() {
        // 0.27 * 1 = 0.27 -> 0 -> at least 1; 0.27 * 5 = 1.35 -> 1; 0.27 * 6 = 1.62 -> 2;
        // 0.27 * 10 = 2.7 -> 3; 0.27 * 50 = 13.5 -> 14 (halves up); 0.27 * 100 = 27.
        assert_eq!(group_size(0), 0);
        assert_eq!(group_size(1), 1);
        assert_eq!(group_size(5), 1);
        assert_eq!(group_size(6), 2);
        assert_eq!(group_size(10), 3);
        assert_eq!(group_size(50), 14);
        assert_eq!(group_size(100), 27);
    }

    #[test]
    fn discrimination_compares_the_top_and_bottom_groups() {
        // 10 attempts, g = round(2.7) = 3. Totals 9..0 in order, so the upper group is rows
        // 0, 1, 2 and the lower group rows 7, 8, 9.
        let totals: Vec<f64> = (0..10).rev().map(f64::from).collect();
        // Item right in rows 0, 1, 3, 8: upper 2/3, lower 1/3: D = 1/3
        let item = [1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        assert_close(discrimination(&item, &totals), 1.0 / 3.0);
        // Right only at the bottom: upper 0, lower 3/3: D = -1
        let item = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        assert_close(discrimination(&item, &totals), -1.0);
        assert_eq!(discrimination(&[], &[]), None);
        // One attempt: it is both groups: D = 0
        assert_close(discrimination(&[1.0], &[1.0]), 0.0);
    }

    #[test]
    fn ties_at_the_cut_follow_input_order() {
        // 4 attempts, g = round(1.08) = 1; totals [3, 3, 1, 1]. Ranking (stable, descending):
        // rows 0, 1, 2, 3. Upper = row 0 (the earlier of the tied 3s), lower = row 3 (the
        // later of the tied 1s). Item [0, 1, 0, 1]: upper 0, lower 1: D = -1. (Breaking ties
        // the other way would pick rows 1 and 2: D = +1.)
        assert_close(
            discrimination(&[0.0, 1.0, 0.0, 1.0], &[3.0, 3.0, 1.0, 1.0]),
            -1.0,
        );
    }

    /// Five attempts at four 0/1 items:
    ///
    /// ```text
    ///        I1 I2 I3 I4 | total
    ///   A     1  1  1  1 |  4
    ///   B     1  1  1  0 |  3
    ///   C     1  1  0  0 |  2
    ///   D     1  0  0  1 |  2
    ///   E     0  0  1  0 |  1
    /// ```
    fn five_by_four() -> Vec<Vec<Option<f64>>> {
        [
            [1, 1, 1, 1],
            [1, 1, 1, 0],
            [1, 1, 0, 0],
            [1, 0, 0, 1],
            [0, 0, 1, 0],
        ]
        .iter()
        .map(|r| r.iter().map(|x| Some(f64::from(*x))).collect())
        .collect()
    }

    #[test]
    fn item_analysis_of_a_hand_worked_matrix() {
        let a = analyse(&five_by_four(), 4);
        assert_eq!((a.n, a.k), (5, 4));
        assert_eq!(a.method, ReliabilityMethod::Kr20);
        // Facility: I1 4/5 = 0.8, I2 3/5 = 0.6, I3 3/5 = 0.6, I4 2/5 = 0.4
        let p: Vec<f64> = a
            .items
            .iter()
            .map(|i| i.facility.unwrap_or(f64::NAN))
            .collect();
        for (got, want) in p.iter().zip([0.8, 0.6, 0.6, 0.4]) {
            assert!(close(*got, want), "{p:?}");
        }
        // Discrimination: n = 5, g = round(1.35) = 1; upper = A (total 4), lower = E
        // (total 1). D = A's score - E's score: I1 1-0 = 1, I2 1-0 = 1, I3 1-1 = 0,
        // I4 1-0 = 1.
        let d: Vec<f64> = a
            .items
            .iter()
            .map(|i| i.discrimination.unwrap_or(f64::NAN))
            .collect();
        assert_eq!(d, vec![1.0, 1.0, 0.0, 1.0]);
        // Point-biserial of I1 with the rest (total - I1):
        //   x    = [1, 1, 1, 1, 0], mean 0.8, deviations [.2, .2, .2, .2, -.8]
        //   rest = [3, 2, 1, 1, 1], mean 1.6, deviations [1.4, .4, -.6, -.6, -.6]
        //   Sxy = .28 + .08 - .12 - .12 + .48 = 0.6
        //   Sxx = 4 * .04 + .64 = 0.8
        //   Syy = 1.96 + .16 + .36 + .36 + .36 = 3.2
        //   r = 0.6 / sqrt(0.8 * 3.2) = 0.6 / 1.6 = 0.375
        assert_close(a.items[0].point_biserial, 0.375);
        // I3 with the rest:
        //   x    = [1, 1, 0, 0, 1], mean 0.6, deviations [.4, .4, -.6, -.6, .4]
        //   rest = [3, 2, 2, 2, 0], mean 1.8, deviations [1.2, .2, .2, .2, -1.8]
        //   Sxy = .48 + .08 - .12 - .12 - .72 = -0.4
        //   Sxx = 3 * .16 + 2 * .36 = 1.2
        //   Syy = 1.44 + 3 * .04 + 3.24 = 4.8
        //   r = -0.4 / sqrt(1.2 * 4.8) = -0.4 / 2.4 = -1/6
        assert_close(a.items[2].point_biserial, -1.0 / 6.0);
        // Flags: I3 discriminates weakly (D = 0 < 0.2); I4's p = 0.4 is fine; nothing too
        // easy (0.8 <= 0.9).
        assert_eq!(a.items[2].flags, vec![ItemFlag::WeakDiscrimination]);
        assert!(a.items[0].flags.is_empty());
        assert!(a.items[3].flags.is_empty());
        // KR-20: totals [4, 3, 2, 2, 1], var = 1.04 (see variance_and_correlation).
        //   sum p q = .8*.2 + .6*.4 + .6*.4 + .4*.6 = .16 + .24 + .24 + .24 = 0.88
        //   KR-20 = 4/3 * (1 - 0.88 / 1.04) = 4/3 * (0.16 / 1.04) = 4/3 * 2/13 = 8/39
        assert_close(a.reliability, 8.0 / 39.0);
        // Mean total 12 / 5 = 2.4
        assert_close(a.mean_total, 2.4);
    }

    #[test]
    fn kr20_and_alpha_agree_on_dichotomous_items() {
        let rows: Vec<Vec<f64>> = five_by_four()
            .into_iter()
            .map(|r| r.into_iter().map(Option::unwrap_or_default).collect())
            .collect();
        assert_close(kr20(&rows), 8.0 / 39.0);
        assert_close(cronbach_alpha(&rows), 8.0 / 39.0);
    }

    #[test]
    fn cronbach_alpha_with_partial_credit() {
        // Three attempts at two items with partial credit:
        //   [1.0, 0.5], [0.5, 0.5], [0.0, 0.0]
        //   var(I1): mean 0.5, deviations .5, 0, -.5 -> (.25 + 0 + .25) / 3 = 1/6
        //   var(I2): mean 1/3, deviations 1/6, 1/6, -1/3 -> (1/36 + 1/36 + 4/36) / 3 = 1/18
        //   totals [1.5, 1.0, 0.0]: mean 5/6, deviations 2/3, 1/6, -5/6
        //     -> (16/36 + 1/36 + 25/36) / 3 = 42/108 = 7/18
        //   alpha = 2/1 * (1 - (1/6 + 1/18) / (7/18)) = 2 * (1 - 4/7) = 6/7
        let rows = vec![
            vec![Some(1.0), Some(0.5)],
            vec![Some(0.5), Some(0.5)],
            vec![Some(0.0), Some(0.0)],
        ];
        let a = analyse(&rows, 2);
        assert_eq!(a.method, ReliabilityMethod::CronbachAlpha);
        assert_close(a.reliability, 6.0 / 7.0);
    }

    #[test]
    fn everyone_scoring_the_same_has_no_variance() {
        // Three attempts, three items, all right: p = 1 (too easy), upper and lower groups
        // alike (D = 0, weak), no variance anywhere (point-biserial and reliability None).
        let rows = vec![vec![Some(1.0); 3]; 3];
        let a = analyse(&rows, 3);
        for item in &a.items {
            assert_eq!(item.n, 3);
            assert_close(item.facility, 1.0);
            assert_close(item.discrimination, 0.0);
            assert_eq!(item.point_biserial, None);
            assert_eq!(
                item.flags,
                vec![ItemFlag::TooEasy, ItemFlag::WeakDiscrimination]
            );
        }
        assert_eq!(a.reliability, None);
        // All wrong: too hard.
        let a = analyse(&vec![vec![Some(0.0); 2]; 4], 2);
        assert_eq!(
            a.items[0].flags,
            vec![ItemFlag::TooHard, ItemFlag::WeakDiscrimination]
        );
        assert_eq!(a.reliability, None);
    }

    #[test]
    fn fewer_than_two_items_have_no_reliability() {
        // One item: the rest score is always 0, so no point-biserial either; D still works:
        // n = 3, g = round(0.81) = 1: upper = first 1 (row 0), lower = last 0 (row 2): D = 1.
        let rows = vec![vec![Some(1.0)], vec![Some(1.0)], vec![Some(0.0)]];
        let a = analyse(&rows, 1);
        assert_eq!(a.k, 1);
        assert_eq!(a.reliability, None);
        assert_eq!(a.items[0].point_biserial, None);
        assert_close(a.items[0].discrimination, 1.0);
        assert_close(a.items[0].facility, 2.0 / 3.0);
        assert_eq!(kr20(&[vec![1.0], vec![0.0]]), None);
        assert_eq!(cronbach_alpha(&[vec![1.0], vec![0.0]]), None);
    }

    #[test]
    fn empty_input() {
        let a = analyse(&[], 0);
        assert_eq!((a.n, a.k), (0, 0));
        assert!(a.items.is_empty());
        assert_eq!(a.reliability, None);
        assert_eq!(a.mean_total, None);
        // Items without attempts: no statistics, no flags.
        let a = analyse(&[], 2);
        assert_eq!(a.items.len(), 2);
        assert_eq!(a.items[0].n, 0);
        assert_eq!(a.items[0].facility, None);
        assert_eq!(a.items[0].discrimination, None);
        assert!(a.items[0].flags.is_empty());
        assert_eq!(kr20(&[]), None);
        assert_eq!(facility(&[]), None);
    }

    #[test]
    fn gaps_from_a_random_draw_leave_reliability_out() {
        // Two items, each given to two of three attempts:
        //   A: [1, -], B: [0, 1], C: [-, 0]; totals 1, 1, 0.
        //   I1 over A, B: p = 1/2; I2 over B, C: p = 1/2.
        let rows = vec![
            vec![Some(1.0), None],
            vec![Some(0.0), Some(1.0)],
            vec![None, Some(0.0)],
        ];
        let a = analyse(&rows, 2);
        assert_eq!(a.items[0].n, 2);
        assert_close(a.items[0].facility, 0.5);
        assert_close(a.items[1].facility, 0.5);
        // I1: n = 2, g = round(0.54) = 1; totals A 1, B 1 (tie: A ranks first): upper A (1),
        // lower B (0): D = 1.
        assert_close(a.items[0].discrimination, 1.0);
        assert_eq!(a.reliability, None);
    }

    #[test]
    fn flags_at_their_thresholds() {
        // Exactly at a threshold raises nothing; D computed as 0.6 - 0.4 (0.19999999999999996
        // in binary) is still 0.2.
        assert!(flags(Some(0.2), Some(0.6 - 0.4)).is_empty());
        assert!(flags(Some(0.9), Some(0.2)).is_empty());
        assert_eq!(flags(Some(0.19), None), vec![ItemFlag::TooHard]);
        assert_eq!(flags(Some(0.91), None), vec![ItemFlag::TooEasy]);
        assert_eq!(flags(None, Some(0.19)), vec![ItemFlag::WeakDiscrimination]);
        assert!(flags(None, None).is_empty());
    }

    #[test]
    fn dichotomous_detection() {
        assert!(is_dichotomous([0.0, 1.0, 1.0]));
        assert!(is_dichotomous([]));
        assert!(!is_dichotomous([0.0, 0.5]));
    }
}

//! Answers and their grading, on the server only. Pure functions: no database, no clock.
//!
//! - An answer is checked against its question when it is saved ([`parse`]): an option id the
//!   question lacks, a number that is not one, or a shape that does not fit the question is
//!   refused with a stable reason, and what was saved before stays.
//! - [`grade`] gives the points an answer earns; a missing answer earns nothing.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Refusal;
use crate::question::{MultiScoring, QuestionBody, normalise};

/// Longest typed answer, in characters.
pub const MAX_TEXT_ANSWER: usize = 1_000;

/// A learner's answer to one question, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Answer {
    /// The options picked (choice questions); empty clears the answer.
    Choices(Vec<Uuid>),
    /// True or false.
    Truth(bool),
    /// A typed answer.
    Text(String),
    /// A number.
    Number(f64),
    /// (left item, right-hand choice) pairs.
    Matches(Vec<(Uuid, Uuid)>),
}

impl Answer {
    /// The stored form.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "null".into())
    }

    /// Reads a stored answer; `None` for one this version cannot read (it then earns nothing).
    pub fn from_stored(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }
}

/// An answer as a client sends it: the field that fits the question's type, and no other.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawAnswer {
    /// Options picked (single or multiple choice).
    pub option_ids: Option<Vec<Uuid>>,
    /// True or false.
    pub truth: Option<bool>,
    /// A typed answer (short text).
    pub text: Option<String>,
    /// A number as typed: `3.5`, `3,5` (the Indonesian decimal comma) or `-2`.
    pub number: Option<String>,
    /// (item, choice) pairs (matching).
    pub matches: Option<Vec<(Uuid, Uuid)>>,
}

/// Reads a number as a learner types it: surrounding spaces ignored, a decimal comma accepted
/// when there is no point (`3,5`), thousands separators refused as ambiguous.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || t.len() > 64 {
        return None;
    }
    let normalised = if t.contains(',') {
        if t.contains('.') || t.matches(',').count() > 1 {
            return None;
        }
        t.replace(',', ".")
    } else {
        t.to_owned()
    };
    // Only plain decimal notation: no "inf", "NaN", hex or exponents typed by accident.
    let ok = normalised
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')));
    if !ok {
        return None;
    }
    normalised.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Checks `raw` against `body`; gives the answer to store.
///
/// # Errors
/// WRONG_ANSWER_TYPE when the given field does not fit the question (or several are given);
/// UNKNOWN_OPTION for an option, item or choice id the question lacks; NOT_A_NUMBER.
pub fn parse(body: &QuestionBody, raw: &RawAnswer) -> Result<Answer, Refusal> {
    let given = [
        raw.option_ids.is_some(),
        raw.truth.is_some(),
        raw.text.is_some(),
        raw.number.is_some(),
        raw.matches.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given != 1 {
        return Err(Refusal::WrongAnswerType);
    }
    match body {
        QuestionBody::SingleChoice { options } | QuestionBody::MultipleChoice { options, .. } => {
            let ids = raw.option_ids.as_ref().ok_or(Refusal::WrongAnswerType)?;
            let known: HashSet<Uuid> = options.iter().map(|o| o.id).collect();
            let mut picked: Vec<Uuid> = Vec::with_capacity(ids.len());
            for id in ids {
                if !known.contains(id) {
                    return Err(Refusal::UnknownOption);
                }
                if !picked.contains(id) {
                    picked.push(*id);
                }
            }
            if matches!(body, QuestionBody::SingleChoice { .. }) && picked.len() > 1 {
                return Err(Refusal::WrongAnswerType);
            }
            Ok(Answer::Choices(picked))
        }
        QuestionBody::TrueFalse { .. } => {
            raw.truth.map(Answer::Truth).ok_or(Refusal::WrongAnswerType)
        }
        QuestionBody::ShortText { .. } => {
            let text = raw.text.as_ref().ok_or(Refusal::WrongAnswerType)?;
            if text.chars().count() > MAX_TEXT_ANSWER {
                return Err(Refusal::WrongAnswerType);
            }
            Ok(Answer::Text(text.clone()))
        }
        QuestionBody::Numeric { .. } => {
            let typed = raw.number.as_ref().ok_or(Refusal::WrongAnswerType)?;
            parse_number(typed)
                .map(Answer::Number)
                .ok_or(Refusal::NotANumber)
        }
        QuestionBody::Matching { pairs } => {
            let given = raw.matches.as_ref().ok_or(Refusal::WrongAnswerType)?;
            let lefts: HashSet<Uuid> = pairs.iter().map(|p| p.left_id).collect();
            let rights: HashSet<Uuid> = pairs.iter().map(|p| p.right_id).collect();
            let mut seen = HashSet::new();
            let mut out = Vec::with_capacity(given.len());
            for (left, right) in given {
                if !lefts.contains(left) || !rights.contains(right) {
                    return Err(Refusal::UnknownOption);
                }
                // One choice per item: the last one given wins.
                if seen.insert(*left) {
                    out.push((*left, *right));
                } else if let Some(slot) = out.iter_mut().find(|(l, _)| l == left) {
                    slot.1 = *right;
                }
            }
            Ok(Answer::Matches(out))
        }
    }
}

/// The points `answer` earns on a question worth `points`; a missing or misfitting answer earns
/// nothing.
pub fn grade(body: &QuestionBody, points: f64, answer: Option<&Answer>) -> f64 {
    let Some(answer) = answer else {
        return 0.0;
    };
    let share = match (body, answer) {
        (QuestionBody::SingleChoice { options }, Answer::Choices(picked)) => {
            let right = options.iter().find(|o| o.correct).map(|o| o.id);
            f64::from(u8::from(
                picked.len() == 1 && right == picked.first().copied(),
            ))
        }
        (QuestionBody::MultipleChoice { options, scoring }, Answer::Choices(picked)) => {
            let picked: HashSet<Uuid> = picked.iter().copied().collect();
            let correct: HashSet<Uuid> =
                options.iter().filter(|o| o.correct).map(|o| o.id).collect();
            let wrong_total = options.len() - correct.len();
            match scoring {
                MultiScoring::AllOrNothing => f64::from(u8::from(picked == correct)),
                MultiScoring::Partial => {
                    let hits = picked.intersection(&correct).count();
                    let misses = picked.len() - hits;
                    let gain = hits as f64 / correct.len().max(1) as f64;
                    let loss = if wrong_total == 0 {
                        0.0
                    } else {
                        misses as f64 / wrong_total as f64
                    };
                    (gain - loss).max(0.0)
                }
            }
        }
        (QuestionBody::TrueFalse { answer: right }, Answer::Truth(given)) => {
            f64::from(u8::from(right == given))
        }
        (
            QuestionBody::ShortText {
                accepted,
                case_sensitive,
            },
            Answer::Text(given),
        ) => {
            let n = normalise(given, *case_sensitive);
            f64::from(u8::from(!n.is_empty() && accepted.contains(&n)))
        }
        (QuestionBody::Numeric { value, tolerance }, Answer::Number(given)) => {
            // A hair of slack so that 0.1 + 0.2 style representation errors never cost a mark.
            let slack = 1e-9 * value.abs().max(1.0);
            f64::from(u8::from((given - value).abs() <= tolerance + slack))
        }
        (QuestionBody::Matching { pairs }, Answer::Matches(given)) => {
            let key: HashMap<Uuid, Uuid> = pairs.iter().map(|p| (p.left_id, p.right_id)).collect();
            let right = given.iter().filter(|(l, r)| key.get(l) == Some(r)).count();
            right as f64 / pairs.len().max(1) as f64
        }
        _ => 0.0,
    };
    points * share
}

/// Rounds a score or percent to 4 decimals, so sums of float shares compare and print cleanly.
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::question::{ChoiceOption, MatchPair};

    fn opt(correct: bool) -> ChoiceOption {
        ChoiceOption {
            id: Uuid::new_v4(),
            text: Uuid::new_v4().to_string(),
            correct,
        }
    }

    fn choices(ids: &[Uuid]) -> RawAnswer {
        RawAnswer {
            option_ids: Some(ids.to_vec()),
            ..RawAnswer::default()
        }
    }

    #[test]
    fn single_choice_right_and_wrong() {
        let options = vec![opt(false), opt(true), opt(false)];
        let (right, wrong) = (options[1].id, options[0].id);
        let body = QuestionBody::SingleChoice { options };
        let a = parse(&body, &choices(&[right])).ok();
        assert_eq!(grade(&body, 2.0, a.as_ref()), 2.0);
        let a = parse(&body, &choices(&[wrong])).ok();
        assert_eq!(grade(&body, 2.0, a.as_ref()), 0.0);
        assert_eq!(
            parse(&body, &choices(&[right, wrong])),
            Err(Refusal::WrongAnswerType)
        );
        assert_eq!(grade(&body, 2.0, None), 0.0);
    }

    #[test]
    fn multiple_choice_all_or_nothing_and_partial() {
        // Two correct (a, b) and two wrong (c, d).
        let options = vec![opt(true), opt(true), opt(false), opt(false)];
        let [a, b, c, _d] = [options[0].id, options[1].id, options[2].id, options[3].id];
        let strict = QuestionBody::MultipleChoice {
            options: options.clone(),
            scoring: MultiScoring::AllOrNothing,
        };
        let partial = QuestionBody::MultipleChoice {
            options,
            scoring: MultiScoring::Partial,
        };
        let g = |body: &QuestionBody, ids: &[Uuid]| {
            grade(body, 4.0, parse(body, &choices(ids)).ok().as_ref())
        };
        assert_eq!(g(&strict, &[a, b]), 4.0);
        assert_eq!(g(&strict, &[b, a, a]), 4.0);
        assert_eq!(g(&strict, &[a]), 0.0);
        assert_eq!(g(&strict, &[a, b, c]), 0.0);
        // Partial: each right pick +1/2, each wrong pick -1/2, floored at 0.
        assert_eq!(g(&partial, &[a, b]), 4.0);
        assert_eq!(g(&partial, &[a]), 2.0);
        assert_eq!(g(&partial, &[a, b, c]), 2.0);
        assert_eq!(g(&partial, &[a, c]), 0.0);
        assert_eq!(g(&partial, &[c]), 0.0);
        // Picking everything earns nothing.
        let all: Vec<Uuid> = match &partial {
            QuestionBody::MultipleChoice { options, .. } => options.iter().map(|o| o.id).collect(),
            _ => unreachable!(),
        };
        assert_eq!(g(&partial, &all), 0.0);
    }

    #[test]
    fn unknown_options_are_refused() {
        let body = QuestionBody::SingleChoice {
            options: vec![opt(true), opt(false)],
        };
        assert_eq!(
            parse(&body, &choices(&[Uuid::new_v4()])),
            Err(Refusal::UnknownOption)
        );
    }

    #[test]
    fn true_false() {
        let body = QuestionBody::TrueFalse { answer: false };
        let raw = |v| RawAnswer {
            truth: Some(v),
            ..RawAnswer::default()
        };
        assert_eq!(
            grade(&body, 1.0, parse(&body, &raw(false)).ok().as_ref()),
            1.0
        );
        assert_eq!(
            grade(&body, 1.0, parse(&body, &raw(true)).ok().as_ref()),
            0.0
        );
        assert_eq!(parse(&body, &choices(&[])), Err(Refusal::WrongAnswerType));
    }

    #[test]
    fn short_text_ignores_case_and_spacing() {
        let body = QuestionBody::ShortText {
            accepted: vec!["badan kepegawaian".into(), "bkpsdm".into()],
            case_sensitive: false,
        };
        let raw = |t: &str| RawAnswer {
            text: Some(t.into()),
            ..RawAnswer::default()
        };
        let g = |t: &str| grade(&body, 1.0, parse(&body, &raw(t)).ok().as_ref());
        assert_eq!(g("  Badan   KEPEGAWAIAN "), 1.0);
        assert_eq!(g("BKPSDM"), 1.0);
        assert_eq!(g("bkd"), 0.0);
        assert_eq!(g(""), 0.0);
        let strict = QuestionBody::ShortText {
            accepted: vec!["NIP".into()],
            case_sensitive: true,
        };
        let g = |t: &str| grade(&strict, 1.0, parse(&strict, &raw(t)).ok().as_ref());
        assert_eq!(g(" NIP"), 1.0);
        assert_eq!(g("nip"), 0.0);
    }

    #[test]
    fn numeric_with_tolerance_and_decimal_comma() {
        let body = QuestionBody::Numeric {
            value: 20.0,
            tolerance: 0.5,
        };
        let raw = |t: &str| RawAnswer {
            number: Some(t.into()),
            ..RawAnswer::default()
        };
        let g = |t: &str| grade(&body, 1.0, parse(&body, &raw(t)).ok().as_ref());
        assert_eq!(g("20"), 1.0);
        assert_eq!(g(" 20,5 "), 1.0);
        assert_eq!(g("19.5"), 1.0);
        assert_eq!(g("20.51"), 0.0);
        assert_eq!(g("-20"), 0.0);
        for bad in [
            "dua puluh",
            "",
            "1,000.5",
            "1e3",
            "NaN",
            "inf",
            "0x14",
            "2,0,0",
        ] {
            assert_eq!(parse(&body, &raw(bad)), Err(Refusal::NotANumber), "{bad}");
        }
        let exact = QuestionBody::Numeric {
            value: 0.3,
            tolerance: 0.0,
        };
        let a = Answer::Number(0.1 + 0.2);
        assert_eq!(grade(&exact, 1.0, Some(&a)), 1.0);
    }

    #[test]
    fn matching_earns_a_share_per_right_pair() {
        let pairs: Vec<MatchPair> = (0..4)
            .map(|i| MatchPair {
                left_id: Uuid::new_v4(),
                left: format!("l{i}"),
                right_id: Uuid::new_v4(),
                right: format!("r{i}"),
            })
            .collect();
        let right: Vec<(Uuid, Uuid)> = pairs.iter().map(|p| (p.left_id, p.right_id)).collect();
        let mut half = right.clone();
        half[0].1 = right[1].1;
        half[1].1 = right[0].1;
        let body = QuestionBody::Matching { pairs };
        let raw = |m: &[(Uuid, Uuid)]| RawAnswer {
            matches: Some(m.to_vec()),
            ..RawAnswer::default()
        };
        let g = |m: &[(Uuid, Uuid)]| grade(&body, 2.0, parse(&body, &raw(m)).ok().as_ref());
        assert_eq!(g(&right), 2.0);
        assert_eq!(g(&half), 1.0);
        assert_eq!(g(&right[..1]), 0.5);
        assert_eq!(
            parse(&body, &raw(&[(Uuid::new_v4(), right[0].1)])),
            Err(Refusal::UnknownOption)
        );
    }

    #[test]
    fn exactly_one_answer_field_is_given() {
        let body = QuestionBody::TrueFalse { answer: true };
        let both = RawAnswer {
            truth: Some(true),
            text: Some("true".into()),
            ..RawAnswer::default()
        };
        assert_eq!(parse(&body, &both), Err(Refusal::WrongAnswerType));
        assert_eq!(
            parse(&body, &RawAnswer::default()),
            Err(Refusal::WrongAnswerType)
        );
    }

    #[test]
    fn answers_round_trip_through_storage() {
        for a in [
            Answer::Choices(vec![Uuid::new_v4()]),
            Answer::Truth(true),
            Answer::Text("x".into()),
            Answer::Number(1.5),
            Answer::Matches(vec![(Uuid::new_v4(), Uuid::new_v4())]),
        ] {
            assert_eq!(Answer::from_stored(&a.to_stored()), Some(a));
        }
    }
}

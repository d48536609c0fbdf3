//! What a question is made of, how it is checked when a trainer writes it, how it is laid out in
//! an attempt, and what a learner sees of it.
//!
//! A version's [`QuestionBody`] holds the answer key. It is stored as JSON and never leaves the
//! server as such: learners get a [`Delivered`] question (ids and texts only), and the key only
//! through a review that the quiz's policy allows.

use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::QuizError;

/// Longest prompt, in characters.
pub const MAX_PROMPT: usize = 10_000;
/// Longest option, accepted answer or matching item, in characters.
pub const MAX_OPTION: usize = 2_000;
/// Fewest and most options of a choice question (pairs of a matching question).
pub const OPTIONS: std::ops::RangeInclusive<usize> = 2..=20;
/// Most accepted answers of a short-text question.
pub const MAX_ACCEPTED: usize = 20;
/// Most points a question may carry.
pub const MAX_POINTS: f64 = 1_000.0;

/// The types of question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum QuestionKind {
    /// One correct option.
    SingleChoice,
    /// One or more correct options; all-or-nothing or partial credit.
    MultipleChoice,
    /// A statement that is true or false.
    TrueFalse,
    /// A short typed answer, compared with the accepted answers after normalising case and
    /// spacing.
    ShortText,
    /// A number, right within a tolerance.
    Numeric,
    /// Items on the left matched to choices on the right.
    Matching,
}

impl QuestionKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::SingleChoice => "single_choice",
            QuestionKind::MultipleChoice => "multiple_choice",
            QuestionKind::TrueFalse => "true_false",
            QuestionKind::ShortText => "short_text",
            QuestionKind::Numeric => "numeric",
            QuestionKind::Matching => "matching",
        }
    }

    /// Reads the stored form.
    pub fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "single_choice" => QuestionKind::SingleChoice,
            "multiple_choice" => QuestionKind::MultipleChoice,
            "true_false" => QuestionKind::TrueFalse,
            "short_text" => QuestionKind::ShortText,
            "numeric" => QuestionKind::Numeric,
            "matching" => QuestionKind::Matching,
            _ => return None,
        })
    }
}

/// How a multiple-choice question scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum MultiScoring {
    /// Full points for exactly the correct set, nothing otherwise.
    AllOrNothing,
    /// Each correct option picked earns `1/correct`, each wrong one picked costs `1/wrong`;
    /// never below zero.
    Partial,
}

/// An option of a choice question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceOption {
    /// Stable within the question's versions while the option's text stays.
    pub id: Uuid,
    /// What the learner reads.
    pub text: String,
    /// Part of the answer key.
    pub correct: bool,
}

/// A pair of a matching question: the item on the left and its right-hand choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchPair {
    /// The left item's id.
    pub left_id: Uuid,
    /// The left item.
    pub left: String,
    /// The right-hand choice's id.
    pub right_id: Uuid,
    /// The right-hand choice.
    pub right: String,
}

/// The content and answer key of a question version (stored as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionBody {
    /// Exactly one option is correct.
    SingleChoice {
        /// The options, in the order written.
        options: Vec<ChoiceOption>,
    },
    /// At least one option is correct.
    MultipleChoice {
        /// The options, in the order written.
        options: Vec<ChoiceOption>,
        /// How it scores.
        scoring: MultiScoring,
    },
    /// True or false.
    TrueFalse {
        /// The right answer.
        answer: bool,
    },
    /// A typed answer.
    ShortText {
        /// Every answer that counts as right.
        accepted: Vec<String>,
        /// Whether case matters (spacing never does).
        case_sensitive: bool,
    },
    /// A number.
    Numeric {
        /// The right value.
        value: f64,
        /// How far from it still counts (absolute, ≥ 0).
        tolerance: f64,
    },
    /// Items matched to choices; each right pair earns its share of the points.
    Matching {
        /// The pairs, in the order written.
        pairs: Vec<MatchPair>,
    },
}

fn text_field(field: &'static str, what: &str, s: &str, max: usize) -> Result<String, QuizError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(QuizError::invalid(field, format!("{what} cannot be empty")));
    }
    if t.chars().count() > max {
        return Err(QuizError::invalid(
            field,
            format!("{what} can have at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(QuizError::invalid(
            field,
            format!("{what} contains control characters"),
        ));
    }
    Ok(t.to_owned())
}

/// Checks a prompt; gives it trimmed.
///
/// # Errors
/// BAD_USER_INPUT on `prompt`.
pub fn check_prompt(prompt: &str) -> Result<String, QuizError> {
    text_field("prompt", "a question's prompt", prompt, MAX_PROMPT)
}

/// Checks a question's points.
///
/// # Errors
/// BAD_USER_INPUT on `points`: not above 0, above [`MAX_POINTS`], or not finite.
pub fn check_points(points: f64) -> Result<f64, QuizError> {
    if points.is_finite() && points > 0.0 && points <= MAX_POINTS {
        Ok(points)
    } else {
        Err(QuizError::invalid(
            "points",
            format!("points must be above 0 and at most {MAX_POINTS}"),
        ))
    }
}

/// Normalises a typed answer for comparison: trimmed, runs of whitespace made one space, and
/// lower-cased unless case matters.
pub fn normalise(s: &str, case_sensitive: bool) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if case_sensitive {
        joined
    } else {
        joined.to_lowercase()
    }
}

impl QuestionBody {
    /// The question's type.
    pub fn kind(&self) -> QuestionKind {
        match self {
            QuestionBody::SingleChoice { .. } => QuestionKind::SingleChoice,
            QuestionBody::MultipleChoice { .. } => QuestionKind::MultipleChoice,
            QuestionBody::TrueFalse { .. } => QuestionKind::TrueFalse,
            QuestionBody::ShortText { .. } => QuestionKind::ShortText,
            QuestionBody::Numeric { .. } => QuestionKind::Numeric,
            QuestionBody::Matching { .. } => QuestionKind::Matching,
        }
    }

    /// Checks a body a trainer wrote and gives it tidied (texts trimmed, accepted answers
    /// normalised and de-duplicated).
    ///
    /// # Errors
    /// BAD_USER_INPUT naming the field at fault.
    pub fn validated(self) -> Result<Self, QuizError> {
        match self {
            QuestionBody::SingleChoice { options } => {
                let options = check_options(options)?;
                if options.iter().filter(|o| o.correct).count() != 1 {
                    return Err(QuizError::invalid(
                        "options",
                        "a single-choice question has exactly one correct option",
                    ));
                }
                Ok(QuestionBody::SingleChoice { options })
            }
            QuestionBody::MultipleChoice { options, scoring } => {
                let options = check_options(options)?;
                if !options.iter().any(|o| o.correct) {
                    return Err(QuizError::invalid(
                        "options",
                        "a multiple-choice question has at least one correct option",
                    ));
                }
                Ok(QuestionBody::MultipleChoice { options, scoring })
            }
            QuestionBody::TrueFalse { answer } => Ok(QuestionBody::TrueFalse { answer }),
            QuestionBody::ShortText {
                accepted,
                case_sensitive,
            } => {
                let mut out: Vec<String> = Vec::new();
                for a in &accepted {
                    let t = text_field("accepted", "an accepted answer", a, MAX_OPTION)?;
                    let n = normalise(&t, case_sensitive);
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
                if out.is_empty() || out.len() > MAX_ACCEPTED {
                    return Err(QuizError::invalid(
                        "accepted",
                        format!("a short-text question has 1 to {MAX_ACCEPTED} accepted answers"),
                    ));
                }
                Ok(QuestionBody::ShortText {
                    accepted: out,
                    case_sensitive,
                })
            }
            QuestionBody::Numeric { value, tolerance } => {
                if !value.is_finite() {
                    return Err(QuizError::invalid("value", "the answer must be a number"));
                }
                if !(tolerance.is_finite() && tolerance >= 0.0) {
                    return Err(QuizError::invalid(
                        "tolerance",
                        "the tolerance is a number of at least 0",
                    ));
                }
                Ok(QuestionBody::Numeric { value, tolerance })
            }
            QuestionBody::Matching { pairs } => {
                if !OPTIONS.contains(&pairs.len()) {
                    return Err(QuizError::invalid(
                        "pairs",
                        format!(
                            "a matching question has {} to {} pairs",
                            OPTIONS.start(),
                            OPTIONS.end()
                        ),
                    ));
                }
                let mut out = Vec::with_capacity(pairs.len());
                let mut ids = std::collections::HashSet::new();
                let mut lefts = std::collections::HashSet::new();
                for p in pairs {
                    let left = text_field("pairs", "a matching item", &p.left, MAX_OPTION)?;
                    let right = text_field("pairs", "a matching choice", &p.right, MAX_OPTION)?;
                    if !ids.insert(p.left_id) || !ids.insert(p.right_id) {
                        return Err(QuizError::invalid("pairs", "pair ids must be distinct"));
                    }
                    if !lefts.insert(normalise(&left, false)) {
                        return Err(QuizError::invalid(
                            "pairs",
                            format!("the item \"{left}\" appears twice"),
                        ));
                    }
                    out.push(MatchPair {
                        left_id: p.left_id,
                        left,
                        right_id: p.right_id,
                        right,
                    });
                }
                Ok(QuestionBody::Matching { pairs: out })
            }
        }
    }

    /// The options of a choice question.
    pub fn options(&self) -> &[ChoiceOption] {
        match self {
            QuestionBody::SingleChoice { options }
            | QuestionBody::MultipleChoice { options, .. } => options,
            _ => &[],
        }
    }

    /// Reads a stored body.
    ///
    /// # Errors
    /// INTERNAL when the JSON does not parse.
    pub fn from_stored(json: &str) -> Result<Self, QuizError> {
        serde_json::from_str(json)
            .map_err(|e| QuizError::Internal(format!("question body does not parse: {e}")))
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

fn check_options(options: Vec<ChoiceOption>) -> Result<Vec<ChoiceOption>, QuizError> {
    if !OPTIONS.contains(&options.len()) {
        return Err(QuizError::invalid(
            "options",
            format!(
                "a choice question has {} to {} options",
                OPTIONS.start(),
                OPTIONS.end()
            ),
        ));
    }
    let mut ids = std::collections::HashSet::new();
    let mut texts = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(options.len());
    for o in options {
        let text = text_field("options", "an option", &o.text, MAX_OPTION)?;
        if !ids.insert(o.id) {
            return Err(QuizError::invalid("options", "option ids must be distinct"));
        }
        if !texts.insert(normalise(&text, false)) {
            return Err(QuizError::invalid(
                "options",
                format!("the option \"{text}\" appears twice"),
            ));
        }
        out.push(ChoiceOption {
            id: o.id,
            text,
            correct: o.correct,
        });
    }
    Ok(out)
}

/// The order a question's parts were shown in one attempt (stored with the attempt item).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Option ids (choice questions) or right-hand choice ids (matching), in the order shown.
    pub choices: Vec<Uuid>,
    /// Left item ids (matching), in the order shown.
    pub lefts: Vec<Uuid>,
}

impl Layout {
    /// The layout of `body` in a new attempt: the written order, or shuffled. A matching
    /// question's right-hand choices are always shuffled, or the pairs would show side by side.
    pub fn new(body: &QuestionBody, shuffle: bool, rng: &mut impl Rng) -> Self {
        match body {
            QuestionBody::SingleChoice { options }
            | QuestionBody::MultipleChoice { options, .. } => {
                let mut choices: Vec<Uuid> = options.iter().map(|o| o.id).collect();
                if shuffle {
                    choices.shuffle(rng);
                }
                Layout {
                    choices,
                    lefts: Vec::new(),
                }
            }
            QuestionBody::Matching { pairs } => {
                let mut lefts: Vec<Uuid> = pairs.iter().map(|p| p.left_id).collect();
                if shuffle {
                    lefts.shuffle(rng);
                }
                let mut choices: Vec<Uuid> = pairs.iter().map(|p| p.right_id).collect();
                choices.shuffle(rng);
                // Never show every choice beside the item it answers: a shuffle that did
                // (likely with two pairs) is rotated by one, which moves every choice.
                let answer: std::collections::HashMap<Uuid, Uuid> =
                    pairs.iter().map(|p| (p.left_id, p.right_id)).collect();
                let aligned = lefts
                    .iter()
                    .zip(&choices)
                    .all(|(l, c)| answer.get(l) == Some(c));
                if aligned {
                    choices.rotate_left(1);
                }
                Layout { choices, lefts }
            }
            _ => Layout::default(),
        }
    }

    /// Reads a stored layout.
    ///
    /// # Errors
    /// INTERNAL when the JSON does not parse.
    pub fn from_stored(json: &str) -> Result<Self, QuizError> {
        serde_json::from_str(json)
            .map_err(|e| QuizError::Internal(format!("attempt layout does not parse: {e}")))
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A part of a delivered question: an id and a text, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The id a learner answers with.
    pub id: Uuid,
    /// What the learner reads.
    pub text: String,
}

/// A question as a learner gets it during an attempt: nothing in it tells the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    /// Its type.
    pub kind: QuestionKind,
    /// The prompt.
    pub prompt: String,
    /// Its points.
    pub points: f64,
    /// Options (choice questions) or right-hand choices (matching), in the attempt's order.
    pub choices: Vec<Choice>,
    /// Left items (matching), in the attempt's order.
    pub items: Vec<Choice>,
}

/// What the learner sees of `body` laid out as `layout`.
pub fn deliver(prompt: &str, points: f64, body: &QuestionBody, layout: &Layout) -> Delivered {
    let (choices, items) = match body {
        QuestionBody::SingleChoice { options } | QuestionBody::MultipleChoice { options, .. } => {
            let by_id: std::collections::HashMap<Uuid, &ChoiceOption> =
                options.iter().map(|o| (o.id, o)).collect();
            let choices = layout
                .choices
                .iter()
                .filter_map(|id| by_id.get(id))
                .map(|o| Choice {
                    id: o.id,
                    text: o.text.clone(),
                })
                .collect();
            (choices, Vec::new())
        }
        QuestionBody::Matching { pairs } => {
            let rights: std::collections::HashMap<Uuid, &MatchPair> =
                pairs.iter().map(|p| (p.right_id, p)).collect();
            let lefts: std::collections::HashMap<Uuid, &MatchPair> =
                pairs.iter().map(|p| (p.left_id, p)).collect();
            let choices = layout
                .choices
                .iter()
                .filter_map(|id| rights.get(id))
                .map(|p| Choice {
                    id: p.right_id,
                    text: p.right.clone(),
                })
                .collect();
            let items = layout
                .lefts
                .iter()
                .filter_map(|id| lefts.get(id))
                .map(|p| Choice {
                    id: p.left_id,
                    text: p.left.clone(),
                })
                .collect();
            (choices, items)
        }
        _ => (Vec::new(), Vec::new()),
    };
    Delivered {
        kind: body.kind(),
        prompt: prompt.to_owned(),
        points,
        choices,
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(text: &str, correct: bool) -> ChoiceOption {
        ChoiceOption {
            id: Uuid::new_v4(),
            text: text.into(),
            correct,
        }
    }

    #[test]
    fn single_choice_needs_exactly_one_correct_option() {
        let two = QuestionBody::SingleChoice {
            options: vec![opt("a", true), opt("b", true)],
        };
        assert!(two.validated().is_err());
        let none = QuestionBody::SingleChoice {
            options: vec![opt("a", false), opt("b", false)],
        };
        assert!(none.validated().is_err());
        let one = QuestionBody::SingleChoice {
            options: vec![opt(" a ", true), opt("b", false)],
        };
        let ok = one.validated().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.options()[0].text, "a");
    }

    #[test]
    fn options_are_bounded_and_distinct() {
        let one = QuestionBody::MultipleChoice {
            options: vec![opt("a", true)],
            scoring: MultiScoring::Partial,
        };
        assert!(one.validated().is_err());
        let same = QuestionBody::MultipleChoice {
            options: vec![opt("Jakarta", true), opt(" jakarta", false)],
            scoring: MultiScoring::Partial,
        };
        assert!(same.validated().is_err());
        let empty = QuestionBody::MultipleChoice {
            options: vec![opt("a", true), opt("  ", false)],
            scoring: MultiScoring::Partial,
        };
        assert!(empty.validated().is_err());
    }

    #[test]
    fn accepted_answers_are_normalised_once() {
        let body = QuestionBody::ShortText {
            accepted: vec!["  Tangerang   Selatan ".into(), "tangerang selatan".into()],
            case_sensitive: false,
        };
        assert_eq!(
            body.validated().ok(),
            Some(QuestionBody::ShortText {
                accepted: vec!["tangerang selatan".into()],
                case_sensitive: false,
            })
        );
        let none = QuestionBody::ShortText {
            accepted: vec![],
            case_sensitive: false,
        };
        assert!(none.validated().is_err());
    }

    #[test]
    fn numeric_needs_finite_value_and_tolerance() {
        let bad = QuestionBody::Numeric {
            value: f64::NAN,
            tolerance: 0.0,
        };
        assert!(bad.validated().is_err());
        let neg = QuestionBody::Numeric {
            value: 1.0,
            tolerance: -0.5,
        };
        assert!(neg.validated().is_err());
    }

    #[test]
    fn a_delivered_question_carries_no_key() {
        let body = QuestionBody::SingleChoice {
            options: vec![opt("a", true), opt("b", false), opt("c", false)],
        };
        let layout = Layout::new(&body, true, &mut rand::thread_rng());
        let d = deliver("p", 1.0, &body, &layout);
        assert_eq!(d.choices.len(), 3);
        let text = format!("{d:?}");
        assert!(!text.contains("correct"), "{text}");
    }

    #[test]
    fn matching_choices_never_line_up_with_their_items() {
        let pairs: Vec<MatchPair> = (0..2)
            .map(|i| MatchPair {
                left_id: Uuid::new_v4(),
                left: format!("l{i}"),
                right_id: Uuid::new_v4(),
                right: format!("r{i}"),
            })
            .collect();
        let body = QuestionBody::Matching { pairs };
        for _ in 0..50 {
            let layout = Layout::new(&body, false, &mut rand::thread_rng());
            let QuestionBody::Matching { pairs } = &body else {
                unreachable!()
            };
            let aligned = pairs
                .iter()
                .zip(&layout.choices)
                .all(|(p, c)| p.right_id == *c);
            assert!(!aligned);
        }
    }

    #[test]
    fn stored_forms_round_trip() {
        let body = QuestionBody::Numeric {
            value: 2.5,
            tolerance: 0.1,
        };
        assert_eq!(
            QuestionBody::from_stored(&body.to_stored()).ok(),
            Some(body)
        );
        for k in [
            QuestionKind::SingleChoice,
            QuestionKind::MultipleChoice,
            QuestionKind::TrueFalse,
            QuestionKind::ShortText,
            QuestionKind::Numeric,
            QuestionKind::Matching,
        ] {
            assert_eq!(QuestionKind::from_stored(k.as_str()), Some(k));
        }
    }
}

//! Surveys: templates per level with Indonesian defaults ([`templates`], [`defaults`]), the
//! surveys a course chooses ([`settings`]), forms and responses ([`respond`]), the aggregates
//! trainers and admins see ([`results`]), and the follow-up requests to learners and their
//! supervisors ([`follow_up`]) with the inbox that tells them ([`inbox`]).

pub mod defaults;
pub mod follow_up;
pub mod graphql;
pub mod inbox;
pub mod respond;
pub mod results;
pub mod settings;
pub mod templates;

use async_graphql::Enum;

/// Which survey: the reaction after the course, or a follow-up months later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum SurveyLevel {
    /// Level 1: the learner's reaction, once the course is completed.
    Reaction,
    /// Level 3 and 4: the learner, a set number of days after completion.
    FollowUpLearner,
    /// Level 3 and 4: the learner's supervisor (atasan), at the same time.
    FollowUpSupervisor,
}

impl SurveyLevel {
    /// Every level.
    pub const ALL: [SurveyLevel; 3] = [
        SurveyLevel::Reaction,
        SurveyLevel::FollowUpLearner,
        SurveyLevel::FollowUpSupervisor,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SurveyLevel::Reaction => "reaction",
            SurveyLevel::FollowUpLearner => "follow_up_learner",
            SurveyLevel::FollowUpSupervisor => "follow_up_supervisor",
        }
    }

    /// The level of a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// What a Likert question measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Enum)]
pub enum Dimension {
    /// Materi: the content.
    Material,
    /// Narasumber: the trainers.
    Trainer,
    /// Penyelenggaraan dan platform: organisation, schedule, the platform itself.
    Organisation,
    /// Manfaat: usefulness for the work.
    Usefulness,
}

impl Dimension {
    /// Every dimension, in the order reports show them.
    pub const ALL: [Dimension; 4] = [
        Dimension::Material,
        Dimension::Trainer,
        Dimension::Organisation,
        Dimension::Usefulness,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Material => "material",
            Dimension::Trainer => "trainer",
            Dimension::Organisation => "organisation",
            Dimension::Usefulness => "usefulness",
        }
    }

    /// The dimension of a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[graphql(name = "SurveyQuestionKind")]
pub enum QuestionKind {
    /// 1 (sangat tidak setuju) to 5 (sangat setuju).
    Likert,
    /// Free text.
    Text,
}

impl QuestionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Likert => "likert",
            QuestionKind::Text => "text",
        }
    }

    /// The kind of a stored name (anything unknown reads as text).
    pub fn from_stored(s: &str) -> Self {
        if s == "likert" {
            QuestionKind::Likert
        } else {
            QuestionKind::Text
        }
    }
}

/// The lowest and highest Likert answers.
pub const LIKERT_RANGE: std::ops::RangeInclusive<i32> = 1..=5;

/// The longest free-text answer, in characters.
pub const MAX_TEXT_ANSWER: usize = 4000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for l in SurveyLevel::ALL {
            assert_eq!(SurveyLevel::from_stored(l.as_str()), Some(l));
        }
        for d in Dimension::ALL {
            assert_eq!(Dimension::from_stored(d.as_str()), Some(d));
        }
        assert_eq!(SurveyLevel::from_stored("level4"), None);
        assert_eq!(QuestionKind::from_stored("likert"), QuestionKind::Likert);
    }
}

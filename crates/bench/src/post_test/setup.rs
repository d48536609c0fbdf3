//! A published course whose post-test has 20 questions of every kind, made the way a trainer and
//! an admin make it (GraphQL), and its learners inserted directly (people, active enrollments,
//! the required reading lesson already completed) with signed tokens instead of sign-ins.
//!
//! The bench knows every question's key, so it can send, for each learner and question, a right,
//! partly right or wrong answer and know the score the server must give it.

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use enrollment::entity::enrollment as enrollment_e;
use identity::entity::person;
use progress::entity::lesson_progress;
use quiz::grading::Answer;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{ADMIN_EMAIL, App};
use crate::progress::http::gql;
use crate::progress::setup::{
    APPROVE, CREATE, CREATE_COHORT, CREATE_LESSON, CREATE_MODULE, SUBMIT, id_of, person_row, token,
};

const CREATE_BANK: &str =
    "mutation($i: CreateQuestionBankInput!) { createQuestionBank(input: $i) { id } }";
const CREATE_QUESTION: &str = "mutation($b: ID!, $i: CreateQuestionInput!) { createQuestion(bankId: $b, input: $i) { id options { id correct } pairs { id rightId } } }";
pub(crate) const CONFIGURE: &str = "mutation($l: ID!, $s: QuizSettingsInput!) { configureQuiz(lessonId: $l, settings: $s) { id } }";
pub(crate) const SET_QUESTIONS: &str =
    "mutation($q: ID!, $ids: [ID!]!) { setQuizQuestions(quizId: $q, questionIds: $ids) { id } }";

/// Questions of the post-test.
pub const QUESTIONS: usize = 20;
/// Percent that passes (the verdicts below put learners on both sides of it).
pub const PASSING_PERCENT: f64 = 60.0;
/// The per-attempt time limit: long enough that no deadline falls inside the run, but set,
/// because a real post-test has one and starting then also queues the closing job.
const TIME_LIMIT_MINUTES: i64 = 60;
/// Rows per INSERT while setting up (well under both databases' bind-parameter limits).
const CHUNK: usize = 500;

/// The short-text key, and an answer that matches it only after normalising case and spacing.
const ACCEPTED: [&str; 2] = ["Tangerang Selatan", "Tangsel"];
const TEXT_RIGHT: &str = "  tangerang   SELATAN ";
const TEXT_WRONG: &str = "Jakarta";
/// The numeric key (20 ± 0.5), a right answer typed with the Indonesian decimal comma, and a
/// wrong one.
const NUMBER_VALUE: f64 = 20.0;
const NUMBER_TOLERANCE: f64 = 0.5;
const NUMBER_RIGHT: (&str, f64) = ("20,4", 20.4);
const NUMBER_WRONG: (&str, f64) = ("21", 21.0);

/// How a learner answers one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The key.
    Right,
    /// Half of a partial-credit multiple choice, or one pair of three of a matching question;
    /// the wrong answer for kinds without partial credit.
    Partial,
    /// A wrong answer.
    Wrong,
}

/// The verdict of learner `learner` on question `question`: 60 % right, 20 % partial, 20 %
/// wrong, spread differently per learner so that scores differ and some pass.
pub fn verdict(learner: usize, question: usize) -> Verdict {
    match (learner * 7 + question * 3) % 10 {
        0..=5 => Verdict::Right,
        6 | 7 => Verdict::Partial,
        _ => Verdict::Wrong,
    }
}

/// A question's key, in the ids the server gave its options and pairs.
#[derive(Debug, Clone)]
enum Key {
    /// Single choice: the correct option and a wrong one.
    Single { right: Uuid, wrong: Uuid },
    /// Multiple choice with partial credit: two correct options of four, and a wrong one.
    MultiPartial { correct: [Uuid; 2], wrong: Uuid },
    /// True/false.
    Truth(bool),
    /// Short text ([`ACCEPTED`]).
    Text,
    /// Numeric ([`NUMBER_VALUE`] ± [`NUMBER_TOLERANCE`]).
    Number,
    /// Matching: (item, choice) of each of its three pairs.
    Matching([(Uuid, Uuid); 3]),
    /// Multiple choice, all or nothing: two correct options of three.
    MultiAll { correct: [Uuid; 2] },
}

/// A question of the post-test, as the bench knows it.
#[derive(Debug, Clone)]
pub struct Question {
    /// Its id.
    pub id: Uuid,
    /// Its points.
    pub points: f64,
    key: Key,
}

/// What to send for one question, what the server must store, and the points it must give.
pub struct Planned {
    /// The answer fields of a `QuizAnswerInput` (without questionId, seq, answeredAt).
    pub field: (&'static str, Value),
    /// The stored answer.
    pub stored: Answer,
    /// The points it earns, rounded as the server rounds an item's score.
    pub score: f64,
}

/// Rounds to four decimals, as the server stores scores.
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn ids(v: &[Uuid]) -> Value {
    v.iter().map(|i| Value::String(i.to_string())).collect()
}

impl Question {
    /// The answer for `verdict`.
    pub fn plan(&self, verdict: Verdict) -> Planned {
        let full = self.points;
        let choices = |picked: &[Uuid], score: f64| Planned {
            field: ("optionIds", ids(picked)),
            stored: Answer::Choices(picked.to_vec()),
            score,
        };
        match (&self.key, verdict) {
            (Key::Single { right, .. }, Verdict::Right) => choices(&[*right], full),
            (Key::Single { wrong, .. }, _) => choices(&[*wrong], 0.0),
            (Key::MultiPartial { correct, .. }, Verdict::Right) => choices(correct, full),
            // One of the two correct options and no wrong one: half the points.
            (Key::MultiPartial { correct, .. }, Verdict::Partial) => {
                choices(&correct[..1], round4(full * 0.5))
            }
            // A wrong option alone: the penalty takes the share below zero, which floors at 0.
            (Key::MultiPartial { wrong, .. }, Verdict::Wrong) => choices(&[*wrong], 0.0),
            (Key::Truth(t), v) => {
                let given = if v == Verdict::Right { *t } else { !*t };
                Planned {
                    field: ("truth", Value::Bool(given)),
                    stored: Answer::Truth(given),
                    score: if v == Verdict::Right { full } else { 0.0 },
                }
            }
            (Key::Text, v) => {
                let (text, score) = if v == Verdict::Right {
                    (TEXT_RIGHT, full)
                } else {
                    (TEXT_WRONG, 0.0)
                };
                Planned {
                    field: ("text", json!(text)),
                    stored: Answer::Text(text.to_owned()),
                    score,
                }
            }
            (Key::Number, v) => {
                let ((typed, value), score) = if v == Verdict::Right {
                    (NUMBER_RIGHT, full)
                } else {
                    (NUMBER_WRONG, 0.0)
                };
                Planned {
                    field: ("number", json!(typed)),
                    stored: Answer::Number(value),
                    score,
                }
            }
            (Key::Matching(p), v) => {
                let [(l0, r0), (l1, r1), (l2, r2)] = *p;
                let (pairs, score) = match v {
                    Verdict::Right => ([(l0, r0), (l1, r1), (l2, r2)], full),
                    // The first pair right, the other two swapped: a third of the points.
                    Verdict::Partial => ([(l0, r0), (l1, r2), (l2, r1)], round4(full / 3.0)),
                    Verdict::Wrong => ([(l0, r1), (l1, r2), (l2, r0)], 0.0),
                };
                Planned {
                    field: (
                        "matches",
                        pairs
                            .iter()
                            .map(|(l, r)| json!({"itemId": l, "choiceId": r}))
                            .collect(),
                    ),
                    stored: Answer::Matches(pairs.to_vec()),
                    score,
                }
            }
            (Key::MultiAll { correct }, Verdict::Right) => choices(correct, full),
            // One of two correct options earns nothing when it is all or nothing.
            (Key::MultiAll { correct }, _) => choices(&correct[..1], 0.0),
        }
    }
}

/// A learner: a person with an active enrollment, the reading done, and an access token.
pub struct Learner {
    /// The person.
    pub person_id: Uuid,
    /// Their access token.
    pub token: String,
}

/// The post-test and who takes it.
pub struct PostTest {
    /// The quiz.
    pub quiz_id: Uuid,
    /// Its questions, in the order they were added.
    pub questions: Vec<Question>,
    /// The learners, in the order of their index in [`verdict`].
    pub learners: Vec<Learner>,
}

impl PostTest {
    /// Points of the whole post-test.
    pub fn max_score(&self) -> f64 {
        self.questions.iter().map(|q| q.points).sum()
    }

    /// The score learner `i` must get: the item scores summed, rounded as the server rounds.
    pub fn expected_score(&self, i: usize) -> f64 {
        round4(
            self.questions
                .iter()
                .enumerate()
                .map(|(q, question)| question.plan(verdict(i, q)).score)
                .sum(),
        )
    }

    /// Whether learner `i` must pass.
    pub fn expected_pass(&self, i: usize) -> bool {
        let percent = round4(100.0 * self.expected_score(i) / self.max_score());
        percent + 1e-9 >= PASSING_PERCENT
    }
}

/// The 7 kinds the questions cycle through.
const KINDS: usize = 7;

/// The `CreateQuestionInput` of question `n`.
fn question_input(n: usize, points: f64) -> Value {
    let opts = |v: &[(&str, bool)]| -> Value {
        v.iter()
            .map(|(t, c)| json!({"text": t, "correct": c}))
            .collect()
    };
    let prompt = |p: &str| format!("Soal {}: {p}", n + 1);
    let mut input = match n % KINDS {
        0 => json!({"kind": "SINGLE_CHOICE", "prompt": prompt("Ibu kota Provinsi Banten?"),
            "options": opts(&[("Serang", true), ("Tangerang", false), ("Cilegon", false), ("Lebak", false)])}),
        1 => {
            json!({"kind": "MULTIPLE_CHOICE", "scoring": "PARTIAL", "prompt": prompt("Mana yang termasuk ASN?"),
            "options": opts(&[("PNS", true), ("PPPK", true), ("Tenaga honorer", false), ("Karyawan swasta", false)])})
        }
        2 => {
            json!({"kind": "TRUE_FALSE", "prompt": prompt("Pengembangan kompetensi ASN minimal 10 JP setahun."), "truth": false})
        }
        3 => {
            json!({"kind": "SHORT_TEXT", "prompt": prompt("Nama kota ini?"), "accepted": ACCEPTED})
        }
        4 => {
            json!({"kind": "NUMERIC", "prompt": prompt("Berapa JP minimal setahun?"), "value": NUMBER_VALUE, "tolerance": NUMBER_TOLERANCE})
        }
        5 => json!({"kind": "MATCHING", "prompt": prompt("Pasangkan kota dan provinsinya."),
            "pairs": [{"left": "Serpong", "right": "Banten"}, {"left": "Bandung", "right": "Jawa Barat"}, {"left": "Semarang", "right": "Jawa Tengah"}]}),
        _ => {
            json!({"kind": "MULTIPLE_CHOICE", "scoring": "ALL_OR_NOTHING", "prompt": prompt("Nilai dasar ASN?"),
            "options": opts(&[("Berorientasi pelayanan", true), ("Akuntabel", true), ("Nepotisme", false)])})
        }
    };
    input["points"] = json!(points);
    input["tags"] = json!(["post-test"]);
    input
}

/// Reads the key of question `n` from what `createQuestion` answered.
fn key_of(n: usize, created: &Value) -> anyhow::Result<Key> {
    let options = || -> anyhow::Result<Vec<(Uuid, bool)>> {
        created["options"]
            .as_array()
            .context("no options")?
            .iter()
            .map(|o| Ok((id_of(&o["id"])?, o["correct"].as_bool() == Some(true))))
            .collect()
    };
    let split = || -> anyhow::Result<(Vec<Uuid>, Vec<Uuid>)> {
        let all = options()?;
        Ok((
            all.iter().filter(|o| o.1).map(|o| o.0).collect(),
            all.iter().filter(|o| !o.1).map(|o| o.0).collect(),
        ))
    };
    let two = |v: &[Uuid]| -> anyhow::Result<[Uuid; 2]> {
        <[Uuid; 2]>::try_from(&v[..2.min(v.len())]).context("fewer than two correct options")
    };
    Ok(match n % KINDS {
        0 => {
            let (right, wrong) = split()?;
            Key::Single {
                right: *right.first().context("no correct option")?,
                wrong: *wrong.first().context("no wrong option")?,
            }
        }
        1 => {
            let (right, wrong) = split()?;
            Key::MultiPartial {
                correct: two(&right)?,
                wrong: *wrong.first().context("no wrong option")?,
            }
        }
        2 => Key::Truth(false),
        3 => Key::Text,
        4 => Key::Number,
        5 => {
            let pairs: Vec<(Uuid, Uuid)> = created["pairs"]
                .as_array()
                .context("no pairs")?
                .iter()
                .map(|p| Ok((id_of(&p["id"])?, id_of(&p["rightId"])?)))
                .collect::<anyhow::Result<_>>()?;
            Key::Matching(<[(Uuid, Uuid); 3]>::try_from(pairs).map_err(|p| {
                anyhow::anyhow!("a matching question with {} pairs, not 3", p.len())
            })?)
        }
        _ => Key::MultiAll {
            correct: two(&split()?.0)?,
        },
    })
}

/// Makes the course, its post-test and `count` learners ready to take it.
///
/// # Errors
/// When any step fails.
pub async fn post_test(app: &App, count: usize) -> anyhow::Result<PostTest> {
    let db = &app.state().db;
    let addr = app.server.addr;
    let admin = person::Entity::find()
        .filter(person::Column::Email.eq(ADMIN_EMAIL))
        .one(db)
        .await?
        .context("the first admin is missing")?;
    let admin_token = token(app, admin.id, &admin.roles)?;
    let trainer_id = kernel::new_id();
    person::Entity::insert(person_row(trainer_id, 0, "pelatih", "learner,trainer"))
        .exec_without_returning(db)
        .await
        .context("cannot insert the trainer")?;
    let trainer = token(app, trainer_id, "learner,trainer")?;

    let code = format!("KUIS-{}", &kernel::new_id().simple().to_string()[..8]).to_uppercase();
    let course_id = id_of(
        &gql(
            addr,
            &trainer,
            CREATE,
            json!({"i": {"code": code, "title": "Kursus beban post-test", "competencyType": "TECHNICAL", "jpCredit": 2}}),
        )
        .await?["createCourse"]["id"],
    )?;
    let module = gql(
        addr,
        &trainer,
        CREATE_MODULE,
        json!({"c": course_id, "i": {"title": "Modul 1"}}),
    )
    .await?["createModule"]["id"]
        .clone();
    // A required reading lesson before the post-test, so that starting it checks the course's
    // required lessons the way it does in a real course.
    let reading = id_of(
        &gql(
            addr,
            &trainer,
            CREATE_LESSON,
            json!({"m": module, "i": {"title": "Bacaan", "kind": "TEXT", "required": true, "body": "# Bacaan\n\nMateri sebelum post-test."}}),
        )
        .await?["createLesson"]["id"],
    )?;
    let quiz_lesson = id_of(
        &gql(
            addr,
            &trainer,
            CREATE_LESSON,
            json!({"m": module, "i": {"title": "Post-test", "kind": "QUIZ", "required": true}}),
        )
        .await?["createLesson"]["id"],
    )?;
    let questions = bank(addr, &trainer, course_id, "Bank soal post-test", QUESTIONS).await?;
    let quiz_id = id_of(
        &gql(
            addr,
            &trainer,
            CONFIGURE,
            json!({"l": quiz_lesson, "s": {
                "kind": "POST_TEST",
                "timeLimitMinutes": TIME_LIMIT_MINUTES,
                "passingPercent": PASSING_PERCENT,
                "reviewPolicy": "AFTER_CLOSE",
                "shuffleQuestions": true,
                "shuffleOptions": true,
                "maxAttempts": 1,
            }}),
        )
        .await?["configureQuiz"]["id"],
    )?;
    let ids: Vec<Uuid> = questions.iter().map(|q| q.id).collect();
    gql(
        addr,
        &trainer,
        SET_QUESTIONS,
        json!({"q": quiz_id, "ids": ids}),
    )
    .await?;
    // Published once its post-test is ready, as the course lifecycle requires.
    gql(addr, &trainer, SUBMIT, json!({"id": course_id})).await?;
    gql(addr, &admin_token, APPROVE, json!({"id": course_id})).await?;
    let cohort = id_of(
        &gql(
            addr,
            &admin_token,
            CREATE_COHORT,
            json!({"c": course_id, "i": {"name": "Angkatan post-test"}}),
        )
        .await?["createCohort"]["id"],
    )?;

    let learners = learners(app, course_id, cohort, reading, quiz_lesson, count).await?;
    Ok(PostTest {
        quiz_id,
        questions,
        learners,
    })
}

/// Creates, as `trainer`, a question bank of `course_id` holding `count` questions of the 7
/// kinds in turn, every fifth worth two points (so that points weigh in the score); returns
/// them with their keys.
///
/// # Errors
/// When a mutation fails or answers without a usable key.
pub(crate) async fn bank(
    addr: std::net::SocketAddr,
    trainer: &str,
    course_id: Uuid,
    title: &str,
    count: usize,
) -> anyhow::Result<Vec<Question>> {
    let bank = gql(
        addr,
        trainer,
        CREATE_BANK,
        json!({"i": {"courseId": course_id, "title": title}}),
    )
    .await?["createQuestionBank"]["id"]
        .clone();
    let mut questions = Vec::with_capacity(count);
    for n in 0..count {
        let points = if n % 5 == 4 { 2.0 } else { 1.0 };
        let created = gql(
            addr,
            trainer,
            CREATE_QUESTION,
            json!({"b": bank, "i": question_input(n, points)}),
        )
        .await?["createQuestion"]
            .clone();
        questions.push(Question {
            id: id_of(&created["id"])?,
            points,
            key: key_of(n, &created).with_context(|| format!("question {n}: {created}"))?,
        });
    }
    Ok(questions)
}

/// Inserts `count` learners actively enrolled in `cohort` who have completed the reading lesson,
/// and signs a token for each.
async fn learners(
    app: &App,
    course_id: Uuid,
    cohort: Uuid,
    reading: Uuid,
    quiz_lesson: Uuid,
    count: usize,
) -> anyhow::Result<Vec<Learner>> {
    let db = &app.state().db;
    let now = Utc::now();
    let read_at = now - Duration::hours(1);
    let ids: Vec<(Uuid, Uuid)> = (0..count)
        .map(|_| (kernel::new_id(), kernel::new_id()))
        .collect();
    for (c, chunk) in ids.chunks(CHUNK).enumerate() {
        let people = chunk
            .iter()
            .enumerate()
            .map(|(i, (p, _))| person_row(*p, c * CHUNK + i, "kuis", "learner"));
        person::Entity::insert_many(people)
            .exec_without_returning(db)
            .await
            .context("cannot insert learners")?;
        let enrollments = chunk.iter().map(|(p, e)| enrollment_e::ActiveModel {
            id: Set(*e),
            cohort_id: Set(cohort),
            course_id: Set(course_id),
            person_id: Set(*p),
            state: Set("active".into()),
            source: Set("assigned".into()),
            rule_id: Set(None),
            requested_at: Set(now),
            activated_at: Set(Some(now)),
            completed_at: Set(None),
            ended_at: Set(None),
            due_at: Set(None),
            // The reading is done; the post-test is what is left.
            progress_percent: Set(50.0),
            required_done: Set(1),
            required_total: Set(2),
            next_lesson_id: Set(Some(quiz_lesson)),
            last_activity_at: Set(Some(read_at)),
            created_at: Set(now),
            updated_at: Set(now),
        });
        enrollment_e::Entity::insert_many(enrollments)
            .exec_without_returning(db)
            .await
            .context("cannot insert enrollments")?;
        let read = chunk
            .iter()
            .map(|(p, e)| done_lesson_row(*e, *p, reading, read_at));
        lesson_progress::Entity::insert_many(read)
            .exec_without_returning(db)
            .await
            .context("cannot insert the reading lesson's progress")?;
    }
    ids.into_iter()
        .map(|(p, _)| {
            Ok(Learner {
                person_id: p,
                token: token(app, p, "learner")?,
            })
        })
        .collect()
}

/// A lesson-progress row opened and complete at `at`, as `complete_lesson` writes a
/// reading or quiz lesson.
pub(crate) fn done_lesson_row(
    enrollment: Uuid,
    person: Uuid,
    lesson: Uuid,
    at: DateTime<Utc>,
) -> lesson_progress::ActiveModel {
    let mut row = progress::completion::blank_row(enrollment, lesson, person, at);
    row.opened = Set(true);
    row.completed_at = Set(Some(at));
    row
}

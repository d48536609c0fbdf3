//! The default templates, in Indonesian, one per level. They are written on first start with
//! fixed ids (`INSERT … ON CONFLICT DO NOTHING`), so seeding is idempotent and two replicas
//! starting together seed once. Admins may edit them like any template afterwards.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::{Dimension, QuestionKind, SurveyLevel};
use crate::entity::{survey_default, survey_question, survey_template};
use crate::error::EvaluationError;

/// One seeded question: kind, dimension, per trainer, required, text.
type Seed = (QuestionKind, Option<Dimension>, bool, bool, &'static str);

const L: QuestionKind = QuestionKind::Likert;
const T: QuestionKind = QuestionKind::Text;
const MAT: Option<Dimension> = Some(Dimension::Material);
const TRN: Option<Dimension> = Some(Dimension::Trainer);
const ORG: Option<Dimension> = Some(Dimension::Organisation);
const USE: Option<Dimension> = Some(Dimension::Usefulness);

/// Level 1: the reaction questionnaire, with a block asked for each trainer.
const REACTION: &[Seed] = &[
    (
        L,
        MAT,
        false,
        true,
        "Materi pelatihan sesuai dengan kebutuhan pekerjaan saya.",
    ),
    (
        L,
        MAT,
        false,
        true,
        "Materi disusun runtut dan mudah dipahami.",
    ),
    (
        L,
        MAT,
        false,
        true,
        "Contoh dan studi kasus dalam materi relevan dengan tugas saya sebagai ASN.",
    ),
    (
        L,
        TRN,
        false,
        true,
        "Susunan narasumber sesuai dengan cakupan materi pelatihan.",
    ),
    (
        L,
        TRN,
        true,
        true,
        "Narasumber menguasai materi yang disampaikan.",
    ),
    (
        L,
        TRN,
        true,
        true,
        "Narasumber menyampaikan materi dengan jelas dan menarik.",
    ),
    (
        L,
        TRN,
        true,
        true,
        "Narasumber memberikan contoh penerapan yang mudah diikuti.",
    ),
    (T, TRN, true, false, "Saran untuk narasumber ini:"),
    (
        L,
        ORG,
        false,
        true,
        "Platform pembelajaran daring mudah digunakan, juga melalui telepon genggam.",
    ),
    (
        L,
        ORG,
        false,
        true,
        "Video dan dokumen pelatihan dapat diakses dengan lancar.",
    ),
    (
        L,
        ORG,
        false,
        true,
        "Jadwal dan batas waktu pelatihan memberi cukup waktu untuk belajar di sela pekerjaan.",
    ),
    (
        L,
        USE,
        false,
        true,
        "Pelatihan ini menambah pengetahuan dan keterampilan saya.",
    ),
    (
        L,
        USE,
        false,
        true,
        "Saya dapat menerapkan hasil pelatihan ini dalam pekerjaan sehari-hari.",
    ),
    (
        L,
        USE,
        false,
        true,
        "Saya akan merekomendasikan pelatihan ini kepada rekan kerja.",
    ),
    (
        T,
        None,
        false,
        false,
        "Hal apa yang paling bermanfaat dari pelatihan ini?",
    ),
    (
        T,
        None,
        false,
        false,
        "Saran perbaikan untuk materi, narasumber, atau penyelenggaraan pelatihan:",
    ),
];

/// Levels 3 and 4, asked of the learner.
const FOLLOW_UP_LEARNER: &[Seed] = &[
    (
        L,
        USE,
        false,
        true,
        "Apakah keterampilan dari pelatihan ini sudah Anda gunakan dalam pekerjaan? (1 = belum pernah, 5 = rutin digunakan)",
    ),
    (
        T,
        USE,
        false,
        true,
        "Berikan contoh penerapannya dalam pekerjaan Anda.",
    ),
    (
        L,
        USE,
        false,
        true,
        "Penerapan hasil pelatihan ini meningkatkan mutu atau kecepatan layanan di unit kerja saya.",
    ),
    (
        L,
        ORG,
        false,
        true,
        "Atasan dan unit kerja saya mendukung penerapan hasil pelatihan ini.",
    ),
    (
        L,
        MAT,
        false,
        true,
        "Materi pelatihan masih relevan dengan tugas saya saat ini.",
    ),
    (
        T,
        None,
        false,
        false,
        "Hambatan apa yang Anda temui dalam menerapkan hasil pelatihan?",
    ),
    (
        T,
        None,
        false,
        false,
        "Hasil atau perubahan apa yang terlihat di unit kerja Anda setelah penerapan (indikator hasil)?",
    ),
];

/// Levels 3 and 4, asked of the learner's supervisor (atasan).
const FOLLOW_UP_SUPERVISOR: &[Seed] = &[
    (
        L,
        USE,
        false,
        true,
        "Apakah bawahan Anda sudah menggunakan keterampilan dari pelatihan ini dalam pekerjaan? (1 = belum pernah, 5 = rutin digunakan)",
    ),
    (
        T,
        USE,
        false,
        true,
        "Berikan contoh penerapannya oleh bawahan Anda.",
    ),
    (
        L,
        USE,
        false,
        true,
        "Kinerja bawahan Anda meningkat setelah mengikuti pelatihan ini.",
    ),
    (
        L,
        MAT,
        false,
        true,
        "Pelatihan ini sesuai dengan kebutuhan kompetensi jabatan bawahan Anda.",
    ),
    (
        T,
        None,
        false,
        false,
        "Dampak apa yang terlihat pada layanan atau hasil kerja unit (indikator hasil)?",
    ),
    (
        T,
        None,
        false,
        false,
        "Pelatihan lanjutan apa yang Anda sarankan untuk bawahan Anda?",
    ),
];

/// The default template of each level: (level, fixed id, name, questions).
pub fn seeds() -> [(SurveyLevel, Uuid, &'static str, &'static [Seed]); 3] {
    [
        (
            SurveyLevel::Reaction,
            template_id(1),
            "Evaluasi Reaksi Peserta (standar)",
            REACTION,
        ),
        (
            SurveyLevel::FollowUpLearner,
            template_id(2),
            "Evaluasi Pascapelatihan oleh Peserta (standar)",
            FOLLOW_UP_LEARNER,
        ),
        (
            SurveyLevel::FollowUpSupervisor,
            template_id(3),
            "Evaluasi Pascapelatihan oleh Atasan (standar)",
            FOLLOW_UP_SUPERVISOR,
        ),
    ]
}

/// The fixed id of seeded template `n` (shaped like a UUID v7, version and variant set).
fn template_id(n: u128) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0e00_0000 | (n << 12))
}

/// The fixed id of question `position` of seeded template `template`.
fn question_id(template: Uuid, position: usize) -> Uuid {
    Uuid::from_u128(template.as_u128() | position as u128)
}

/// Writes the default templates and makes them the defaults of levels that have none. Safe to
/// run any number of times, concurrently too.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn ensure(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<(), EvaluationError> {
    for (level, id, name, questions) in seeds() {
        let template = survey_template::ActiveModel {
            id: Set(id),
            family_id: Set(id),
            version: Set(1),
            level: Set(level.as_str().to_owned()),
            name: Set(name.to_owned()),
            created_by: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            retired_at: Set(None),
        };
        survey_template::Entity::insert(template)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(conn)
            .await?;
        let rows = questions.iter().enumerate().map(
            |(i, (kind, dimension, per_trainer, required, text))| survey_question::ActiveModel {
                id: Set(question_id(id, i + 1)),
                template_id: Set(id),
                position: Set(i32::try_from(i + 1).unwrap_or(i32::MAX)),
                kind: Set(kind.as_str().to_owned()),
                dimension: Set(dimension.map(|d| d.as_str().to_owned())),
                per_trainer: Set(*per_trainer),
                required: Set(*required),
                text: Set((*text).to_owned()),
            },
        );
        survey_question::Entity::insert_many(rows)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(conn)
            .await?;
        survey_default::Entity::insert(survey_default::ActiveModel {
            level: Set(level.as_str().to_owned()),
            template_id: Set(id),
            updated_by: Set(None),
            updated_at: Set(now),
        })
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_distinct_and_likert_items_have_a_dimension() {
        let mut ids = std::collections::HashSet::new();
        for (_, id, _, questions) in seeds() {
            assert!(ids.insert(id));
            assert_eq!(id.get_version_num(), 7);
            for (i, (kind, dimension, _, _, text)) in questions.iter().enumerate() {
                assert!(ids.insert(question_id(id, i + 1)));
                assert!(*kind == QuestionKind::Text || dimension.is_some(), "{text}");
                assert!(text.chars().count() <= 500);
            }
        }
    }

    #[test]
    fn only_the_reaction_template_has_a_per_trainer_block() {
        for (level, _, _, questions) in seeds() {
            let per_trainer = questions.iter().filter(|q| q.2).count();
            assert_eq!(per_trainer > 0, level == SurveyLevel::Reaction);
        }
    }
}

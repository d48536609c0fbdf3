//! The storage conformance suite: every case in `cases` runs against the local store (always,
//! served by `local_media_router` on a loopback port) and against S3 when the `LMS_TEST_S3_*`
//! variables name a bucket. Both backends must pass the same assertions.

mod cases;
mod harness;
mod local_only;

/// Declares each case twice: `local::<case>` and `s3::<case>`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $case() {
                    let h = crate::storage::harness::Harness::local().await;
                    crate::storage::cases::$case(&h).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(h) = crate::storage::harness::Harness::s3(stringify!($case)).await else {
                        return;
                    };
                    crate::storage::cases::$case(&h).await;
                }
            )*
        }
    };
}

conformance!(
    put_get_head_delete,
    ranged_get_returns_the_exact_bytes,
    long_ranges_come_back_whole_across_read_boundaries,
    missing_objects_are_not_found,
    presigned_get_serves_the_object_over_http,
    ranged_presigned_get_is_a_206_with_the_exact_bytes,
    expired_and_tampered_urls_are_forbidden,
    presigned_put_stores_the_object_with_its_signed_content_type,
    multipart_upload_through_presigned_part_urls,
    abort_removes_the_parts,
    the_store_reports_ready,
);

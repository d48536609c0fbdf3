//! The conformance cases, each written once against [`ObjectStore`] and plain HTTP.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, RANGE};
use storage::{ByteRange, CompletedPart, MIN_PART_SIZE, ObjectMeta, StorageError};

use super::harness::{Harness, data, etag_of};

const MINUTE: Duration = Duration::from_secs(60);

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub async fn put_get_head_delete(h: &Harness) {
    let bytes = data(1000, 1);
    h.store
        .put(
            "docs/handout.pdf",
            Bytes::from(bytes.clone()),
            "application/pdf",
        )
        .await
        .unwrap();

    let meta = h.store.head("docs/handout.pdf").await.unwrap();
    assert_eq!(
        meta,
        Some(ObjectMeta {
            size: 1000,
            content_type: "application/pdf".into()
        })
    );
    let object = h.store.get("docs/handout.pdf", None).await.unwrap();
    assert_eq!((object.size, object.range.clone()), (1000, 0..1000));
    assert!(!object.partial);
    assert_eq!(object.content_type, "application/pdf");
    assert_eq!(object.bytes().await.unwrap(), bytes);

    // A second put replaces the object.
    h.store
        .put("docs/handout.pdf", Bytes::from_static(b"v2"), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        h.store.get_bytes("docs/handout.pdf").await.unwrap(),
        &b"v2"[..]
    );

    h.store.delete("docs/handout.pdf").await.unwrap();
    assert_eq!(h.store.head("docs/handout.pdf").await.unwrap(), None);
    assert!(matches!(
        h.store.get("docs/handout.pdf", None).await,
        Err(StorageError::NotFound { .. })
    ));
    // Deleting again is not an error.
    h.store.delete("docs/handout.pdf").await.unwrap();
}

pub async fn ranged_get_returns_the_exact_bytes(h: &Harness) {
    let bytes = data(10_000, 2);
    h.store
        .put("video/clip.mp4", Bytes::from(bytes.clone()), "video/mp4")
        .await
        .unwrap();
    let cases = [
        ("bytes=100-199", 100..200),
        ("bytes=9990-", 9990..10_000),
        ("bytes=-10", 9990..10_000),
        ("bytes=9000-20000", 9000..10_000),
        ("bytes=0-0", 0..1),
    ];
    for (header, expected) in cases {
        let range = ByteRange::parse(header).unwrap();
        let object = h.store.get("video/clip.mp4", Some(range)).await.unwrap();
        assert!(object.partial, "{header}");
        assert_eq!(object.size, 10_000, "{header}");
        assert_eq!(object.range, expected, "{header}");
        assert_eq!(
            object.content_range(),
            Some(format!(
                "bytes {}-{}/10000",
                expected.start,
                expected.end - 1
            ))
        );
        let start = usize::try_from(expected.start).unwrap();
        let end = usize::try_from(expected.end).unwrap();
        assert_eq!(
            object.bytes().await.unwrap(),
            &bytes[start..end],
            "{header}"
        );
    }
    let past_the_end = ByteRange::parse("bytes=10000-").unwrap();
    assert!(matches!(
        h.store.get("video/clip.mp4", Some(past_the_end)).await,
        Err(StorageError::RangeNotSatisfiable { size: 10_000 })
    ));
    h.store.delete("video/clip.mp4").await.unwrap();
}

/// Ranges longer than one read of the local store (1 MiB), starting and ending off the read
/// boundaries, and the whole object: every byte in place.
pub async fn long_ranges_come_back_whole_across_read_boundaries(h: &Harness) {
    const MIB: u64 = 1024 * 1024;
    let size = 3 * MIB + 12_345;
    let bytes = data(usize::try_from(size).unwrap(), 7);
    h.store
        .put("video/long.mp4", Bytes::from(bytes.clone()), "video/mp4")
        .await
        .unwrap();
    let cases = [
        (
            Some(format!("bytes=100-{}", 2 * MIB + 99)),
            100..2 * MIB + 100,
        ),
        (Some(format!("bytes={}-", MIB - 1)), MIB - 1..size),
        (Some("bytes=-3000000".to_owned()), size - 3_000_000..size),
        (None, 0..size),
    ];
    for (header, expected) in cases {
        let range = header.as_deref().map(|h| ByteRange::parse(h).unwrap());
        let object = h.store.get("video/long.mp4", range).await.unwrap();
        assert_eq!(object.range, expected, "{header:?}");
        let start = usize::try_from(expected.start).unwrap();
        let end = usize::try_from(expected.end).unwrap();
        let got = object.bytes().await.unwrap();
        assert!(got == bytes[start..end], "{header:?}: the bytes differ");
    }
    h.store.delete("video/long.mp4").await.unwrap();
}

pub async fn missing_objects_are_not_found(h: &Harness) {
    assert!(matches!(
        h.store.get("nothing/here.bin", None).await,
        Err(StorageError::NotFound { .. })
    ));
    assert_eq!(h.store.head("nothing/here.bin").await.unwrap(), None);
    let url = h
        .store
        .presign_get("nothing/here.bin", MINUTE)
        .await
        .unwrap();
    let response = h.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

pub async fn presigned_get_serves_the_object_over_http(h: &Harness) {
    let bytes = data(300_000, 3);
    h.store
        .put(
            "lessons/slides deck.pdf",
            Bytes::from(bytes.clone()),
            "application/pdf",
        )
        .await
        .unwrap();
    let url = h
        .store
        .presign_get("lessons/slides deck.pdf", MINUTE)
        .await
        .unwrap();
    let response = h.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_LENGTH).as_deref(), Some("300000"));
    assert_eq!(
        header(&response, CONTENT_TYPE).as_deref(),
        Some("application/pdf")
    );
    assert_eq!(header(&response, ACCEPT_RANGES).as_deref(), Some("bytes"));
    assert_eq!(response.bytes().await.unwrap(), bytes);
    h.store.delete("lessons/slides deck.pdf").await.unwrap();
}

pub async fn ranged_presigned_get_is_a_206_with_the_exact_bytes(h: &Harness) {
    let bytes = data(100_000, 4);
    h.store
        .put("video/seek.mp4", Bytes::from(bytes.clone()), "video/mp4")
        .await
        .unwrap();
    let url = h.store.presign_get("video/seek.mp4", MINUTE).await.unwrap();

    let response = h
        .http
        .get(&url)
        .header(RANGE, "bytes=65536-65635")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&response, CONTENT_RANGE).as_deref(),
        Some("bytes 65536-65635/100000")
    );
    assert_eq!(header(&response, CONTENT_LENGTH).as_deref(), Some("100"));
    assert_eq!(response.bytes().await.unwrap(), &bytes[65536..65636]);

    let response = h
        .http
        .get(&url)
        .header(RANGE, "bytes=-5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.bytes().await.unwrap(), &bytes[99_995..]);

    let response = h
        .http
        .get(&url)
        .header(RANGE, "bytes=100000-")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    if h.is_local() {
        assert_eq!(
            header(&response, CONTENT_RANGE).as_deref(),
            Some("bytes */100000")
        );
    }
    h.store.delete("video/seek.mp4").await.unwrap();
}

pub async fn expired_and_tampered_urls_are_forbidden(h: &Harness) {
    h.store
        .put(
            "private/report.pdf",
            Bytes::from_static(b"secret"),
            "application/pdf",
        )
        .await
        .unwrap();
    h.store
        .put(
            "private/other.pdf",
            Bytes::from_static(b"other"),
            "application/pdf",
        )
        .await
        .unwrap();

    // Signed an hour ago for a minute.
    h.clock.set(Utc::now() - chrono::Duration::hours(1));
    let expired = h
        .store
        .presign_get("private/report.pdf", MINUTE)
        .await
        .unwrap();
    h.clock.set(Utc::now());
    let status = h.http.get(&expired).send().await.unwrap().status();
    if h.is_local() {
        assert_eq!(status, StatusCode::FORBIDDEN, "expired");
    } else {
        // AWS answers 403 (AccessDenied, "Request has expired"), Garage 400 ("Date is too old").
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST),
            "expired: {status}"
        );
    }

    let url = h
        .store
        .presign_get("private/report.pdf", MINUTE)
        .await
        .unwrap();
    assert_eq!(
        h.http.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );

    let mut flipped = url.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == '0' { '1' } else { '0' });
    let other_key = url.replacen("private/report.pdf", "private/other.pdf", 1);
    let unsigned = url.split('?').next().unwrap().to_owned();
    for (what, tampered) in [
        ("flipped signature", flipped),
        ("other key", other_key),
        ("no signature", unsigned),
    ] {
        let response = h.http.get(&tampered).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
    }
    h.store.delete("private/report.pdf").await.unwrap();
    h.store.delete("private/other.pdf").await.unwrap();
}

pub async fn presigned_put_stores_the_object_with_its_signed_content_type(h: &Harness) {
    let bytes = data(200_000, 5);
    let url = h
        .store
        .presign_put("uploads/photo.jpg", MINUTE, "image/jpeg")
        .await
        .unwrap();

    let wrong_type = h
        .http
        .put(&url)
        .header(CONTENT_TYPE, "text/html")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::FORBIDDEN);
    assert_eq!(h.store.head("uploads/photo.jpg").await.unwrap(), None);

    let response = h
        .http
        .put(&url)
        .header(CONTENT_TYPE, "image/jpeg")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, ETAG), Some(etag_of(&bytes)));
    assert_eq!(
        h.store.head("uploads/photo.jpg").await.unwrap(),
        Some(ObjectMeta {
            size: 200_000,
            content_type: "image/jpeg".into()
        })
    );
    assert_eq!(h.store.get_bytes("uploads/photo.jpg").await.unwrap(), bytes);
    h.store.delete("uploads/photo.jpg").await.unwrap();
}

async fn put_part(h: &Harness, key: &str, upload_id: &str, n: u32, body: &[u8]) -> String {
    let url = h
        .store
        .presign_part(key, upload_id, n, MINUTE)
        .await
        .unwrap();
    let response = h.http.put(&url).body(body.to_vec()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "part {n}");
    header(&response, ETAG).unwrap()
}

pub async fn multipart_upload_through_presigned_part_urls(h: &Harness) {
    let key = "courses/intro/lecture.mp4";
    let part_size = usize::try_from(MIN_PART_SIZE).unwrap();
    let p1 = data(part_size, 11);
    let p2_first_try = data(part_size, 12);
    let p2 = data(part_size, 22);
    let p3 = data(1234, 13);

    let upload_id = h.store.create_multipart(key, "video/mp4").await.unwrap();
    assert!(
        h.store
            .list_parts(key, &upload_id)
            .await
            .unwrap()
            .is_empty()
    );

    // Out of order, as a phone resuming after a dropped connection would send them, and part 2
    // twice: the second copy wins.
    let e3 = put_part(h, key, &upload_id, 3, &p3).await;
    let e1 = put_part(h, key, &upload_id, 1, &p1).await;
    let stale_e2 = put_part(h, key, &upload_id, 2, &p2_first_try).await;
    let e2 = put_part(h, key, &upload_id, 2, &p2).await;
    assert_eq!(
        vec![&e1, &e2, &e3, &stale_e2],
        vec![
            &etag_of(&p1),
            &etag_of(&p2),
            &etag_of(&p3),
            &etag_of(&p2_first_try)
        ]
    );

    let listed = h.store.list_parts(key, &upload_id).await.unwrap();
    let summary: Vec<(u32, u64, String)> = listed
        .into_iter()
        .map(|p| (p.part_number, p.size, p.etag))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, MIN_PART_SIZE, e1.clone()),
            (2, MIN_PART_SIZE, e2.clone()),
            (3, 1234, e3.clone()),
        ]
    );
    assert_eq!(h.store.head(key).await.unwrap(), None, "not yet complete");

    let part = |part_number, etag: &String| CompletedPart {
        part_number,
        etag: etag.clone(),
    };
    // The ETag of the first copy of part 2 no longer names what the store has.
    let stale = h
        .store
        .complete_multipart(
            key,
            &upload_id,
            &[part(1, &e1), part(2, &stale_e2), part(3, &e3)],
        )
        .await;
    assert!(
        matches!(stale, Err(StorageError::InvalidParts(_))),
        "{stale:?}"
    );

    h.store
        .complete_multipart(key, &upload_id, &[part(1, &e1), part(2, &e2), part(3, &e3)])
        .await
        .unwrap();
    let expected = [p1, p2, p3].concat();
    assert_eq!(
        h.store.head(key).await.unwrap(),
        Some(ObjectMeta {
            size: expected.len() as u64,
            content_type: "video/mp4".into()
        })
    );
    assert!(h.store.get_bytes(key).await.unwrap() == expected);
    assert!(matches!(
        h.store.list_parts(key, &upload_id).await,
        Err(StorageError::UploadNotFound { .. })
    ));
    h.store.delete(key).await.unwrap();
}

pub async fn abort_removes_the_parts(h: &Harness) {
    let key = "courses/intro/abandoned.mp4";
    let upload_id = h.store.create_multipart(key, "video/mp4").await.unwrap();
    let etag = put_part(h, key, &upload_id, 1, &data(1000, 7)).await;
    assert_eq!(h.store.list_parts(key, &upload_id).await.unwrap().len(), 1);

    h.store.abort_multipart(key, &upload_id).await.unwrap();
    assert!(matches!(
        h.store.list_parts(key, &upload_id).await,
        Err(StorageError::UploadNotFound { .. })
    ));
    let completed = h
        .store
        .complete_multipart(
            key,
            &upload_id,
            &[CompletedPart {
                part_number: 1,
                etag,
            }],
        )
        .await;
    assert!(
        matches!(completed, Err(StorageError::UploadNotFound { .. })),
        "{completed:?}"
    );
    let url = h
        .store
        .presign_part(key, &upload_id, 2, MINUTE)
        .await
        .unwrap();
    let late = h.http.put(&url).body(vec![1u8; 10]).send().await.unwrap();
    assert_eq!(late.status(), StatusCode::NOT_FOUND);
    assert_eq!(h.store.head(key).await.unwrap(), None);
    // Aborting again is not an error.
    h.store.abort_multipart(key, &upload_id).await.unwrap();
}

pub async fn the_store_reports_ready(h: &Harness) {
    h.store.check().await.unwrap();
    assert!(["local", "s3"].contains(&h.store.backend_name()));
}

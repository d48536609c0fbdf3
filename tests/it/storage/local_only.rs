//! What only the local backend has: its body limit, its folder and the router's own answers.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, RANGE};
use storage::StorageError;

use super::harness::{Harness, data};

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let h = Harness::local_with_limit(1024).await;
    let url = h
        .store
        .presign_put("big.bin", MINUTE, "application/octet-stream")
        .await
        .unwrap();
    let response = h
        .http
        .put(&url)
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(data(1025, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // A streamed body declares no length: the limit holds while it is read.
    let chunks =
        futures::stream::iter((0..4).map(|i| Ok::<_, std::io::Error>(Bytes::from(data(400, i)))));
    let response = h
        .http
        .put(&url)
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h.store.head("big.bin").await.unwrap(), None);

    let response = h
        .http
        .put(&url)
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(data(1024, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn keys_cannot_leave_the_folder() {
    let h = Harness::local().await;
    for key in [
        "../escaped",
        "/etc/passwd",
        "a/../../escaped",
        "a\\..\\b",
        "a\0b",
    ] {
        let put = h
            .store
            .put(key, Bytes::from_static(b"x"), "text/plain")
            .await;
        assert!(
            matches!(put, Err(StorageError::InvalidKey { .. })),
            "{key:?}"
        );
        let url = h.store.presign_get(key, MINUTE).await;
        assert!(
            matches!(url, Err(StorageError::InvalidKey { .. })),
            "{key:?}"
        );
    }
    let root = h.dir.as_ref().unwrap().path();
    assert!(!root.join("escaped").exists());
    assert!(!root.parent().unwrap().join("escaped").exists());
}

#[tokio::test]
async fn a_key_cannot_be_an_object_and_a_folder() {
    let h = Harness::local().await;
    h.store
        .put("a", Bytes::from_static(b"x"), "text/plain")
        .await
        .unwrap();
    let nested = h
        .store
        .put("a/b", Bytes::from_static(b"y"), "text/plain")
        .await;
    assert!(
        matches!(nested, Err(StorageError::KeyConflict)),
        "{nested:?}"
    );
    assert_eq!(h.store.head("a/b").await.unwrap(), None);
    assert!(matches!(
        h.store.get("a/b", None).await,
        Err(StorageError::NotFound { .. })
    ));
}

#[tokio::test]
async fn head_and_malformed_ranges_are_served_whole() {
    let h = Harness::local().await;
    let bytes = data(5000, 9);
    h.store
        .put("doc.pdf", Bytes::from(bytes.clone()), "application/pdf")
        .await
        .unwrap();
    let url = h.store.presign_get("doc.pdf", MINUTE).await.unwrap();

    let head = h.http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()),
        Some("5000")
    );

    let response = h
        .http
        .get(&url)
        .header(RANGE, "bytes=0-1,5-9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap(), bytes);
}

#[tokio::test]
async fn a_get_url_cannot_put_and_a_put_url_cannot_get() {
    let h = Harness::local().await;
    h.store
        .put(
            "doc.pdf",
            Bytes::from_static(b"original"),
            "application/pdf",
        )
        .await
        .unwrap();
    let get_url = h.store.presign_get("doc.pdf", MINUTE).await.unwrap();
    let response = h.http.put(&get_url).body("replaced").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let put_url = h
        .store
        .presign_put("doc.pdf", MINUTE, "application/pdf")
        .await
        .unwrap();
    let response = h.http.get(&put_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        h.store.get_bytes("doc.pdf").await.unwrap(),
        &b"original"[..]
    );
}

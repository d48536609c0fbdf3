//! Signed media URLs as a phone uses them, on whichever store the app runs with: the gateway's
//! `/media` routes for the local folder, or the S3 server itself.

use std::time::Duration;

use lms_tests::TestApp;

#[tokio::test]
async fn a_signed_url_serves_exact_byte_ranges_and_refuses_tampering() {
    let app = TestApp::spawn().await;
    let store = &app.server.state.store;
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    store
        .put(
            "lessons/risk-management/module-1.pdf",
            bytes.clone().into(),
            "application/pdf",
        )
        .await
        .unwrap();
    let url = store
        .presign_get(
            "lessons/risk-management/module-1.pdf",
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    if store.backend_name() == "local" {
        assert!(url.starts_with(&format!("{}/media/", app.base)), "{url}");
    }

    let whole = app.client.get(&url).send().await.unwrap();
    assert_eq!(whole.status().as_u16(), 200);
    assert_eq!(whole.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let part = app
        .client
        .get(&url)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(
        part.headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok()),
        Some("bytes 1000-1999/100000")
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[1000..2000]);

    let tail = app
        .client
        .get(&url)
        .header("range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status().as_u16(), 206);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &bytes[99_990..]);

    let beyond = app
        .client
        .get(&url)
        .header("range", "bytes=200000-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status().as_u16(), 416);

    let tampered = if url.ends_with('0') {
        format!("{}1", &url[..url.len() - 1])
    } else {
        format!("{}0", &url[..url.len() - 1])
    };
    let refused = app.client.get(&tampered).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    // The server keeps serving after a refused URL.
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status().as_u16(),
        200
    );
}

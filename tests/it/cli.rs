//! The `lms` command line, driven in-process through the same code the binary runs.

use clap::Parser;
use lms_tests::{Options, TestApp};
use serde_json::json;

async fn lms(backing: &lms_tests::Backing, args: &[&str]) -> anyhow::Result<()> {
    let mut argv = vec![
        "lms".to_owned(),
        "--data-dir".to_owned(),
        backing.data_dir().display().to_string(),
    ];
    if let Some(url) = backing.database_url() {
        argv.extend(["--database-url".to_owned(), url.to_owned()]);
    }
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    gateway::cli::run(gateway::cli::Cli::try_parse_from(argv)?).await
}

#[tokio::test]
async fn the_command_line_migrates_creates_users_imports_rosters_and_prints_the_schema() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.unit(&admin, "DINKES", None).await;
    let backing = app.stop().await;

    lms(&backing, &["migrate", "status"]).await.unwrap();
    lms(&backing, &["migrate"]).await.unwrap();

    let roster = backing.data_dir().join("roster.csv");
    std::fs::write(
        &roster,
        "nip,name,email,unit_code,position,grade,employment_type,roles\n\
         198503122010012003,Siti Aminah,siti@tangsel.go.id,DINKES,Perawat,III/a,PNS,learner\n",
    )
    .unwrap();
    lms(&backing, &["import-roster", roster.to_str().unwrap()])
        .await
        .unwrap();
    let bad = backing.data_dir().join("bad.csv");
    std::fs::write(
        &bad,
        "nip,name,unit_code,employment_type\n123,X,DINKES,PNS\n",
    )
    .unwrap();
    let refused = lms(&backing, &["import-roster", bad.to_str().unwrap()]).await;
    assert!(
        refused.is_err(),
        "a roster with rejected rows is not applied"
    );

    lms(
        &backing,
        &[
            "admin",
            "create-user",
            "--name",
            "Widyaiswara",
            "--email",
            "wi@tangsel.go.id",
            "--roles",
            "trainer",
            "--password",
            "trainer-pass-1",
            "--unit",
            "dinkes",
        ],
    )
    .await
    .unwrap();
    let duplicate = lms(
        &backing,
        &[
            "admin",
            "create-user",
            "--name",
            "Again",
            "--email",
            "wi@tangsel.go.id",
            "--password",
            "trainer-pass-1",
        ],
    )
    .await;
    assert!(duplicate.is_err());

    let sdl = backing.data_dir().join("schema.graphql");
    lms(&backing, &["schema", "--write", sdl.to_str().unwrap()])
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&sdl).unwrap(),
        gateway::schema::sdl()
    );

    // The server started again on the same data sees what the command line did.
    let app = TestApp::spawn_with(Options {
        reuse: Some(backing),
        ..Default::default()
    })
    .await;
    let (trainer, _) = app.sign_in("wi@tangsel.go.id", "trainer-pass-1").await;
    let me = app
        .ok(Some(&trainer), "{ me { roles unit { code } } }", json!({}))
        .await;
    assert_eq!(
        me["me"],
        json!({"roles": ["TRAINER"], "unit": {"code": "DINKES"}})
    );
    let admin = app.admin().await;
    let siti = app
        .ok(
            Some(&admin),
            "{ people(search: \"siti\") { edges { node { nip grade } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        siti["people"]["edges"][0]["node"],
        json!({"nip": "198503122010012003", "grade": "III/a"})
    );
}

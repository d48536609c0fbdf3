//! `schema.graphql` is the served schema, to the byte.

#[test]
fn schema_graphql_matches_the_served_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let served = gateway::schema::sdl();
    assert!(
        committed == served,
        "schema.graphql is out of date: run `cargo run -p gateway -- schema --write schema.graphql`"
    );
}

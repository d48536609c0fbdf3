//! The GraphQL schema: one Query and one Mutation object per domain crate, merged here, with
//! the limits every request runs under. [`builder`] holds no data, so the SDL test and
//! `lms schema` see exactly the schema the server serves.

use std::sync::Arc;

use async_graphql::extensions::apollo_persisted_queries::{
    ApolloPersistedQueries, LruCacheStorage,
};
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{
    EmptySubscription, MergedObject, SDLExportOptions, Schema, SchemaBuilder, ServerError,
    ServerResult, Variables,
};

/// Every query field, merged from the domain crates.
#[derive(MergedObject, Default)]
pub struct Query(
    identity::IdentityQuery,
    jobs::JobsQuery,
    CourseQueries,
    EnrollmentQueries,
    ProgressQueries,
    EvaluationQueries,
);

/// Every mutation, merged from the domain crates.
#[derive(MergedObject, Default)]
pub struct Mutation(
    identity::IdentityMutation,
    jobs::JobsMutation,
    CourseMutations,
    EnrollmentMutations,
    ProgressMutations,
    EvaluationMutations,
);

/// The course crate's queries, merged apart so the top-level merge stays small (one flat merge
/// of many objects overflows the compiler's recursion limit).
#[derive(MergedObject, Default)]
pub struct CourseQueries(course::CourseQuery, course::media_graphql::MediaQuery);

/// The course crate's mutations, merged apart like [`CourseQueries`].
#[derive(MergedObject, Default)]
pub struct CourseMutations(course::CourseMutation, course::media_graphql::MediaMutation);

/// The enrollment crate's queries (and, later, those of the crates above it), merged apart like
/// [`CourseQueries`].
#[derive(MergedObject, Default)]
pub struct EnrollmentQueries(enrollment::EnrollmentQuery);

/// The enrollment crate's mutations, merged apart like [`CourseQueries`].
#[derive(MergedObject, Default)]
pub struct EnrollmentMutations(enrollment::EnrollmentMutation);

/// The progress crate's queries, merged apart like [`CourseQueries`].
#[derive(MergedObject, Default)]
pub struct ProgressQueries(progress::ProgressQuery, QuizQueries);

/// The quiz crate's queries, merged apart like [`CourseQueries`].
#[derive(MergedObject, Default)]
pub struct QuizQueries(quiz::QuizQuery, quiz::QuizAuthoringQuery);

/// The progress crate's mutations, merged apart like [`CourseQueries`].
#[derive(MergedObject, Default)]
pub struct ProgressMutations(progress::ProgressMutation, QuizMutations);

/// The quiz crate's mutations, merged apart like [`CourseQueries`].
#[derive(MergedObject, Default)]
pub struct QuizMutations(quiz::QuizMutation, quiz::QuizAuthoringMutation);

/// The evaluation crate's queries (surveys, certificates, reports), merged apart like
/// [`CourseQueries`].
#[derive(MergedObject, Default)]
pub struct EvaluationQueries(
    evaluation::SurveyQuery,
    evaluation::CertificateQuery,
    evaluation::ReportQuery,
    evaluation::CourseReportQuery,
    evaluation::OverviewReportQuery,
);

/// The evaluation crate's mutations, merged apart like [`CourseQueries`].
#[derive(MergedObject, Default)]
pub struct EvaluationMutations(
    evaluation::SurveyMutation,
    evaluation::CertificateMutation,
    evaluation::ExportMutation,
);

/// The served schema.
pub type LmsSchema = Schema<Query, Mutation, EmptySubscription>;

/// Deepest selection nesting accepted.
pub const MAX_DEPTH: usize = 12;
/// Largest query complexity (each field costs 1, lists their page size).
pub const MAX_COMPLEXITY: usize = 1000;
/// Deepest recursion of fragments and input values.
pub const MAX_RECURSIVE_DEPTH: usize = 32;
/// Most directives on one field.
pub const MAX_DIRECTIVES: usize = 8;
/// Most operations in one batch request.
pub const MAX_BATCH: usize = 10;
/// Persisted queries remembered per process.
pub const PERSISTED_QUERY_CACHE: usize = 1024;

/// The schema with its limits and extensions, without data.
pub fn builder(introspection: bool) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    let b = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
        .limit_directives(MAX_DIRECTIVES)
        // Phones send a hash instead of the query text once the server knows it.
        .extension(ApolloPersistedQueries::new(LruCacheStorage::new(
            PERSISTED_QUERY_CACHE,
        )))
        .extension(NoMutationOverGet);
    if introspection {
        b
    } else {
        b.disable_introspection()
    }
}

/// The sorted SDL of the schema: what `schema.graphql` holds.
pub fn sdl() -> String {
    builder(true).finish().sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}

/// Marks a request that came by HTTP GET, with the operation it selects.
#[derive(Debug, Clone)]
pub struct HttpGet {
    /// `operationName` of the request.
    pub operation_name: Option<String>,
}

/// The error code of a mutation attempted over GET; the HTTP layer turns it into 405.
pub const METHOD_NOT_ALLOWED_CODE: &str = "METHOD_NOT_ALLOWED";

/// Refuses a mutation sent by GET (GraphQL over HTTP: GET must be safe). It checks the parsed
/// document, so a persisted query that expands to a mutation is caught too.
struct NoMutationOverGet;

impl ExtensionFactory for NoMutationOverGet {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NoMutationOverGetExt)
    }
}

struct NoMutationOverGetExt;

fn selected_is_mutation(doc: &ExecutableDocument, name: Option<&str>) -> bool {
    match &doc.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => match name {
            Some(n) => ops
                .iter()
                .any(|(k, op)| k.as_str() == n && op.node.ty == OperationType::Mutation),
            None => ops.values().any(|op| op.node.ty == OperationType::Mutation),
        },
    }
}

#[async_trait::async_trait]
impl Extension for NoMutationOverGetExt {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if let Some(get) = ctx.data_opt::<HttpGet>()
            && selected_is_mutation(&doc, get.operation_name.as_deref())
        {
            let mut err = ServerError::new("mutations must be sent with POST", None);
            let mut ext = async_graphql::ErrorExtensionValues::default();
            ext.set("code", METHOD_NOT_ALLOWED_CODE);
            err.extensions = Some(ext);
            return Err(err);
        }
        Ok(doc)
    }
}

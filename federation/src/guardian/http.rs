//! The guardian's HTTP JSON API over axum (paths in [`crate::api`]).
//! CPU-heavy checks run on the blocking pool so slow pairings never stall
//! the runtime; the answer is sent only after the guardian's commit returned.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;
use tracing::{debug, info};

use crate::api::{ApiError, ClaimRequest, NoteStateRequest, RecoverRequest, ReissueRequest};
use crate::guardian::service::{Guardian, RequestError};

/// Largest request body: 1,000 notes with proofs fit well within it.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The API routes over a guardian.
pub fn router(guardian: Arc<Guardian>) -> Router {
    Router::new()
        .route("/v1/config", get(config))
        .route("/v1/health", get(health))
        .route("/v1/reissue", post(reissue))
        .route("/v1/claim", post(claim))
        .route("/v1/note_state", post(note_state))
        .route("/v1/recover", post(recover))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(guardian)
}

/// Serves the API on `listener` until the task is dropped.
pub async fn serve(guardian: Arc<Guardian>, listener: TcpListener) -> std::io::Result<()> {
    let address: SocketAddr = listener.local_addr()?;
    info!(%address, federation = %guardian.config().id(), "guardian API listening");
    axum::serve(listener, router(guardian)).await
}

struct Refusal(ApiError);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

impl From<RequestError> for Refusal {
    fn from(error: RequestError) -> Self {
        debug!(%error, "request refused");
        Refusal(error.to_api())
    }
}

type Answer<T> = Result<Json<T>, Refusal>;

async fn config(State(guardian): State<Arc<Guardian>>) -> Json<crate::FederationConfig> {
    Json(guardian.config().clone())
}

async fn health(State(guardian): State<Arc<Guardian>>) -> Answer<crate::api::Health> {
    Ok(Json(guardian.health()?))
}

async fn reissue(
    State(guardian): State<Arc<Guardian>>,
    Json(request): Json<ReissueRequest>,
) -> Answer<crate::api::SignatureShares> {
    blocking(guardian, move |g| g.reissue(&request)).await
}

async fn claim(
    State(guardian): State<Arc<Guardian>>,
    Json(request): Json<ClaimRequest>,
) -> Answer<crate::api::SignatureShares> {
    Ok(Json(guardian.claim(&request).await?))
}

async fn note_state(
    State(guardian): State<Arc<Guardian>>,
    Json(request): Json<NoteStateRequest>,
) -> Answer<crate::api::NoteStateResponse> {
    blocking(guardian, move |g| g.note_state(&request)).await
}

async fn recover(
    State(guardian): State<Arc<Guardian>>,
    Json(request): Json<RecoverRequest>,
) -> Answer<crate::api::RecoverResponse> {
    blocking(guardian, move |g| g.recover(&request)).await
}

async fn blocking<T: Serialize + Send + 'static>(
    guardian: Arc<Guardian>,
    work: impl FnOnce(&Guardian) -> Result<T, RequestError> + Send + 'static,
) -> Answer<T> {
    let result = tokio::task::spawn_blocking(move || work(&guardian))
        .await
        .map_err(|e| {
            Refusal(ApiError::new(
                crate::api::ErrorCode::Internal,
                format!("guardian task failed: {e}"),
            ))
        })?;
    Ok(Json(result?))
}

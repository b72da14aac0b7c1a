//! Authorization, the route-group layer: a route group declares the scope it needs; the token comes from
//! `Authorization: Bearer` or `X-API-Key`; 401 when absent or unknown, 403 when the scope is missing.
//! The caller's [`Principal`] is put in the request extensions for handlers that care.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::limits::presented_token;
use super::state::AppState;
use crate::tokens::{Principal, Scope};

/// Checks the token for `scope`. Used as `from_fn_with_state((state, Scope::Read), authorize)`.
pub async fn authorize(State((state, scope)): State<(AppState, Scope)>, mut req: Request, next: Next) -> Response {
    match check(&state, scope, presented_token(req.headers())) {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

/// The principal for `token` if it may use `scope`.
pub fn check(state: &AppState, scope: Scope, token: Option<&str>) -> Result<Principal, ApiError> {
    let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
        ApiError::Unauthorized("a token is required: send `Authorization: Bearer <token>` or `X-API-Key`".into())
    })?;
    let principal =
        state.tokens.authenticate(token).ok_or_else(|| ApiError::Unauthorized("the token is not valid".into()))?;
    if !principal.allows(scope) {
        let scope = serde_json::to_value(scope).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        return Err(ApiError::Forbidden(format!("this token lacks the `{scope}` scope")));
    }
    Ok(principal)
}

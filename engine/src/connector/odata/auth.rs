//! Signing in to an OData service: a bearer token from the environment, or OAuth 2.0
//! client credentials — a token asked of the token endpoint, kept until a minute before
//! it expires, and asked for again at once when the service answers 401. Secrets are
//! read from the environment when the system is opened and never shown: not in `Debug`,
//! logs or errors.

use crate::config::Auth;
use serde_json::Value as Json;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A secret, never shown.
pub(super) struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(hidden)")
    }
}

/// How the connector signs in.
#[derive(Debug)]
pub(super) enum Credentials {
    /// Not at all (a service on loopback that asks for nothing).
    None,
    /// A bearer token as given.
    Bearer(Secret),
    /// OAuth 2.0 client credentials, with the token last issued.
    Client {
        token_url: String,
        client_id: String,
        secret: Secret,
        scope: Option<String>,
        issued: Mutex<Option<(Secret, Instant)>>,
    },
}

/// How long before a token's expiry it is no longer used.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

impl Credentials {
    /// The credentials `auth` names, their secret read from the environment; or which
    /// variable is not set.
    pub(super) fn from_env(auth: Option<&Auth>) -> Result<Credentials, String> {
        let read = |env: &str| {
            std::env::var(env)
                .map(Secret)
                .map_err(|_| format!("its secret is read from {env}, which is not set"))
        };
        Ok(match auth {
            None => Credentials::None,
            Some(Auth::Bearer { env }) => Credentials::Bearer(read(env)?),
            Some(Auth::ClientCredentials {
                token_url,
                client_id,
                secret_env,
                scope,
            }) => Credentials::Client {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                secret: read(secret_env)?,
                scope: scope.clone(),
                issued: Mutex::new(None),
            },
        })
    }

    /// The token to send, asking the token endpoint for one when none is good; `None`
    /// when the service asks for none. An error says why, without the secret.
    pub(super) async fn token(&self, client: &reqwest::Client) -> Result<Option<String>, String> {
        let Credentials::Client {
            token_url,
            client_id,
            secret,
            scope,
            issued,
        } = self
        else {
            return Ok(match self {
                Credentials::Bearer(token) => Some(token.0.clone()),
                _ => None,
            });
        };
        let mut issued = issued.lock().await;
        if let Some((token, until)) = &*issued
            && *until > Instant::now()
        {
            return Ok(Some(token.0.clone()));
        }
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.0.as_str()),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope.as_str()));
        }
        let answer = client
            .post(token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("its token endpoint did not answer: {}", e.without_url()))?;
        let status = answer.status();
        let body: Json = answer.json_value().await;
        let Some(token) = body["access_token"]
            .as_str()
            .filter(|_| status.is_success())
        else {
            // The endpoint's own words (`invalid_client: …`), which name no secret.
            let error = body["error"].as_str().unwrap_or("no token");
            let description = body["error_description"].as_str().unwrap_or_default();
            return Err(format!(
                "its token endpoint refused the client credentials ({status}): {error} {description}"
            )
            .trim_end()
            .to_string());
        };
        let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(3600));
        let until = Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN);
        *issued = Some((Secret(token.to_string()), until));
        Ok(Some(token.to_string()))
    }

    /// The service refused the token sent: the next request asks for a new one.
    pub(super) async fn refused(&self) {
        if let Credentials::Client { issued, .. } = self {
            *issued.lock().await = None;
        }
    }

    /// Whether a refused token can be replaced by asking again.
    pub(super) fn renewable(&self) -> bool {
        matches!(self, Credentials::Client { .. })
    }
}

/// Reading an answer's JSON without reqwest's `json` feature.
trait JsonValue {
    async fn json_value(self) -> Json;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Json {
        let bytes = self.bytes().await.unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(Json::Null)
    }
}

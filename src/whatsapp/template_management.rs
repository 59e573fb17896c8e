//! Graph calls that create, edit and delete message templates (graph-api-notes §7.1; Meta:
//! whatsapp/templates/template-management and reference/whatsapp-business-account/template-api).
//! Every call carries `Authorization: Bearer <access token>`; the token never appears in
//! errors or logs. Refusals keep Meta's words and codes: see [`refusal_text`].

use crate::config::Config;
use crate::whatsapp::graph::GraphError;
use serde_json::Value;

/// What `POST /{waba_id}/message_templates` answered: `{"id","status","category"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// Meta's template id.
    pub id: String,
    /// `PENDING`, `APPROVED` or `REJECTED` (`PENDING` when Meta left it out).
    pub status: String,
    /// The category Meta assigned (may differ from the one asked for), when given.
    pub category: Option<String>,
}

/// `POST /{waba_id}/message_templates` with `body` (the create body of §7.2, as
/// `domain::template_builder::Draft::create_body` writes it).
/// Errors: [`GraphError::Status`] with Meta's code and words, e.g. `(subcode 2388024)` for a
/// name and language that already exist.
pub async fn create(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    waba_id: &str,
    body: &Value,
) -> Result<Created, GraphError> {
    let answer = call(
        http.post(config.graph_url(&format!("{waba_id}/message_templates")))
            .bearer_auth(token)
            .json(body),
    )
    .await?;
    let id = match &answer["id"] {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => {
            return Err(GraphError::Invalid(
                "template create answered without an id".into(),
            ))
        }
    };
    Ok(Created {
        id,
        status: answer["status"].as_str().unwrap_or("PENDING").to_string(),
        category: answer["category"].as_str().map(str::to_string),
    })
}

/// `POST /{template_id}` with `body` (`components`, and `category` /
/// `message_send_ttl_seconds` when they change). Meta answers `{"success": true}` and no new
/// status (the status webhook brings it).
pub async fn edit(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    template_id: &str,
    body: &Value,
) -> Result<(), GraphError> {
    if template_id.is_empty() || !template_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(GraphError::Invalid(format!(
            "template id {template_id:?} is not numeric"
        )));
    }
    let answer = call(
        http.post(config.graph_url(template_id))
            .bearer_auth(token)
            .json(body),
    )
    .await?;
    success(&answer, "template edit")
}

/// `DELETE /{waba_id}/message_templates?name=<name>` (every language of `name`) or, with
/// `hsm_id = Some(template id)`, `…?hsm_id=<id>&name=<name>` (only that one).
pub async fn delete(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    waba_id: &str,
    name: &str,
    hsm_id: Option<&str>,
) -> Result<(), GraphError> {
    let mut query = Vec::with_capacity(2);
    if let Some(id) = hsm_id {
        query.push(("hsm_id", id));
    }
    query.push(("name", name));
    let answer = call(
        http.delete(config.graph_url(&format!("{waba_id}/message_templates")))
            .bearer_auth(token)
            .query(&query),
    )
    .await?;
    success(&answer, "template delete")
}

fn success(answer: &Value, what: &str) -> Result<(), GraphError> {
    if answer["success"] == Value::Bool(false) {
        return Err(GraphError::Invalid(format!(
            "{what} answered success: false"
        )));
    }
    Ok(())
}

/// What a template-management subcode means in words (graph-api-notes §7.7), for refusals
/// whose `error_user_msg` is missing.
pub fn subcode_meaning(subcode: i64) -> Option<&'static str> {
    Some(match subcode {
        2388019 => "the WhatsApp Business Account has reached its template limit",
        2388023 => "a template with this name and language is still being deleted: retry in a minute, or, after deleting an approved template, wait 4 weeks or use a new name (e.g. add _v2)",
        2388024 => "a template with this name already exists in this language",
        2388040 => "a field is over its character limit",
        2388043 => "a component is missing a required field (usually its example)",
        2388047 => "the header's format is invalid",
        2388072 => "the body's format is invalid",
        2388073 => "the footer's format is invalid",
        2388081 => "URL buttons may not point at WhatsApp (wa.me)",
        2388293 => "too many parameters for the length of the text: add more words around them",
        2388299 => "the text may not start or end with a parameter",
        _ => return None,
    })
}

/// Meta's refusal in words: `error_user_title: error_user_msg` when Meta gives them, else
/// the meaning of `error_subcode` (see [`subcode_meaning`]) or `message`, followed by
/// `(code C, subcode S)`. E.g. `Content in This Language Already Exists: There is already
/// English content for this template. … (code 100, subcode 2388024)`.
pub fn refusal_text(error: &Value) -> String {
    let text = |k: &str| error[k].as_str().map(str::trim).filter(|s| !s.is_empty());
    let subcode = error["error_subcode"].as_i64();
    let words = match (text("error_user_title"), text("error_user_msg")) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (None, Some(m)) => m.to_string(),
        _ => subcode
            .and_then(subcode_meaning)
            .map(|m| {
                let mut m = m.to_string();
                m[..1].make_ascii_uppercase();
                m
            })
            .or_else(|| text("message").map(str::to_string))
            .unwrap_or_else(|| "Meta gave no reason".into()),
    };
    match (error["code"].as_i64(), subcode) {
        (Some(c), Some(s)) => format!("{words} (code {c}, subcode {s})"),
        (Some(c), None) => format!("{words} (code {c})"),
        (None, Some(s)) => format!("{words} (subcode {s})"),
        (None, None) => words,
    }
}

/// Sends `req`; a 2xx answer is its JSON body, anything else [`GraphError::Status`] with
/// Meta's `code` and [`refusal_text`] as the message.
async fn call(req: reqwest::RequestBuilder) -> Result<Value, GraphError> {
    let resp = req
        .send()
        .await
        .map_err(|e| GraphError::Network(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or_default();
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let error = &body["error"];
    Err(GraphError::Status {
        status,
        code: error["code"].as_i64(),
        message: refusal_text(error),
        details: error["error_data"]["details"].as_str().map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_in_words() {
        let dup: Value = serde_json::json!({"code": 100, "error_subcode": 2388024,
            "message": "Invalid parameter", "error_user_title": "Content in This Language Already Exists",
            "error_user_msg": "There is already English content for this template."});
        assert_eq!(
            refusal_text(&dup),
            "Content in This Language Already Exists: There is already English content for this template. (code 100, subcode 2388024)"
        );
        let bare: Value = serde_json::json!({"code": 100, "error_subcode": 2388019, "message": "Invalid parameter"});
        assert_eq!(
            refusal_text(&bare),
            "The WhatsApp Business Account has reached its template limit (code 100, subcode 2388019)"
        );
        assert_eq!(
            refusal_text(&serde_json::json!({"code": 190, "message": "Token expired"})),
            "Token expired (code 190)"
        );
    }
}

//! The number's WhatsApp business profile (graph-api-notes.md §10; Meta:
//! business-messaging/whatsapp/business-profiles): what customers see on the business's
//! WhatsApp page (about, address, description, email, websites, vertical, picture).
//!
//! - Read: `GET /{phone_number_id}/whatsapp_business_profile?fields=…` → `{"data":[{…}]}`
//!   (the object sits in `data[0]`; missing values are simply absent).
//! - Write: `POST /{phone_number_id}/whatsapp_business_profile` with only the fields that
//!   change plus `"messaging_product":"whatsapp"` → `{"success":true}`. The picture goes
//!   first through the Resumable Upload API ([`super::resumable_upload`]) and is then set
//!   with `profile_picture_handle`.
//!
//! Meta's limits are checked here, before any Graph call ([`parse_change`]), so a refusal
//! names the field: `about` 1–139 characters, `address` ≤256, `description` ≤512, `email` a
//! valid address ≤128, `websites` at most 2 `http(s)://` URLs of ≤256, `vertical` empty or
//! one of [`VERTICALS`]; the picture a JPEG or PNG of at most [`MAX_PICTURE_BYTES`].

use super::graph::{self, GraphError};
use super::resumable_upload;
use crate::app::AppState;
use crate::config::Config;
use crate::domain::inboxes::{self, Channel};
use crate::error::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The fields read from Graph.
pub const FIELDS: &str = "about,address,description,email,profile_picture_url,websites,vertical";

/// `about`: 1 to 139 characters (Meta).
pub const MAX_ABOUT: usize = 139;
/// `address`: at most 256 characters (Meta).
pub const MAX_ADDRESS: usize = 256;
/// `description`: at most 512 characters (Meta's page and pywa; the OpenAPI spec says 256).
pub const MAX_DESCRIPTION: usize = 512;
/// `email`: at most 128 characters (Meta).
pub const MAX_EMAIL: usize = 128;
/// `websites`: at most 2 (Meta).
pub const MAX_WEBSITES: usize = 2;
/// Each website: at most 256 characters (Meta).
pub const MAX_WEBSITE: usize = 256;
/// Largest profile picture accepted, in bytes: 5 MiB (Switchboard's cap; WhatsApp scales
/// the picture down to 640×640 anyway).
pub const MAX_PICTURE_BYTES: usize = 5 * 1024 * 1024;

/// Values Meta accepts for `vertical` (besides the empty string), graph-api-notes.md §10.
pub const VERTICALS: &[&str] = &[
    "ALCOHOL",
    "APPAREL",
    "AUTO",
    "BEAUTY",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GOVT",
    "GROCERY",
    "HEALTH",
    "HOTEL",
    "NONPROFIT",
    "ONLINE_GAMBLING",
    "OTC_DRUGS",
    "OTHER",
    "PHYSICAL_GAMBLING",
    "PROF_SERVICES",
    "RESTAURANT",
    "RETAIL",
    "TRAVEL",
];

/// A vertical's name as people read it (`PROF_SERVICES` → "Professional services").
pub fn vertical_label(code: &str) -> &'static str {
    match code {
        "ALCOHOL" => "Alcoholic beverages",
        "APPAREL" => "Clothing and apparel",
        "AUTO" => "Automotive",
        "BEAUTY" => "Beauty, spa and salon",
        "EDU" => "Education",
        "ENTERTAIN" => "Entertainment",
        "EVENT_PLAN" => "Event planning and service",
        "FINANCE" => "Finance and banking",
        "GOVT" => "Public service",
        "GROCERY" => "Food and grocery",
        "HEALTH" => "Medical and health",
        "HOTEL" => "Hotel and lodging",
        "NONPROFIT" => "Non-profit",
        "ONLINE_GAMBLING" => "Online gambling and gaming",
        "OTC_DRUGS" => "Over-the-counter drugs",
        "OTHER" => "Other",
        "PHYSICAL_GAMBLING" => "Non-online gambling and gaming",
        "PROF_SERVICES" => "Professional services",
        "RESTAURANT" => "Restaurant",
        "RETAIL" => "Shopping and retail",
        "TRAVEL" => "Travel and transportation",
        _ => "Not set",
    }
}

/// The profile as Graph returns it (every field optional; reads may also show the verticals
/// `UNDEFINED` and `NOT_A_BIZ`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessProfile {
    #[serde(default)]
    pub about: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub websites: Vec<String>,
    #[serde(default)]
    pub vertical: Option<String>,
    /// A `pps.whatsapp.net` URL of the current picture (reads only).
    #[serde(default)]
    pub profile_picture_url: Option<String>,
}

/// The fields to change (`None`: unchanged). Built by [`parse_change`], so every value is
/// within Meta's limits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileChange {
    pub about: Option<String>,
    pub address: Option<String>,
    pub description: Option<String>,
    pub email: Option<String>,
    pub websites: Option<Vec<String>>,
    pub vertical: Option<String>,
}

impl ProfileChange {
    /// True when no field changes.
    pub fn is_empty(&self) -> bool {
        *self == ProfileChange::default()
    }

    /// The `POST …/whatsapp_business_profile` body: the changed fields, the picture handle
    /// when given, and `"messaging_product":"whatsapp"`.
    pub fn graph_body(&self, picture_handle: Option<&str>) -> Value {
        let mut body = Map::new();
        body.insert("messaging_product".into(), "whatsapp".into());
        for (key, value) in [
            ("about", &self.about),
            ("address", &self.address),
            ("description", &self.description),
            ("email", &self.email),
            ("vertical", &self.vertical),
        ] {
            if let Some(v) = value {
                body.insert(key.into(), v.clone().into());
            }
        }
        if let Some(w) = &self.websites {
            body.insert("websites".into(), json!(w));
        }
        if let Some(h) = picture_handle {
            body.insert("profile_picture_handle".into(), h.into());
        }
        Value::Object(body)
    }
}

/// Keys a change may carry and ignores: what a read returns but cannot be written.
const READ_ONLY: &[&str] = &["messaging_product", "profile_picture_url"];

fn text_field(field: &str, value: &Value, max: usize) -> AppResult<String> {
    let Value::String(s) = value else {
        return Err(AppError::invalid(field, format!("{field} must be text")));
    };
    let s = s.trim().to_string();
    let n = s.chars().count();
    if n > max {
        return Err(AppError::invalid(
            field,
            format!("{field} may be at most {max} characters (WhatsApp's limit); it has {n}"),
        ));
    }
    Ok(s)
}

/// Checks one website: `http://` or `https://`, a host, no spaces, ≤256 characters.
fn check_website(field: &str, url: &str) -> AppResult<()> {
    if url.chars().count() > MAX_WEBSITE {
        return Err(AppError::invalid(
            field,
            format!("each website may be at most {MAX_WEBSITE} characters (WhatsApp's limit)"),
        ));
    }
    let lower = url.to_ascii_lowercase();
    let parsed = url::Url::parse(url).ok();
    let ok = (lower.starts_with("http://") || lower.starts_with("https://"))
        && !url.chars().any(char::is_whitespace)
        && parsed
            .as_ref()
            .and_then(|u| u.host_str())
            .is_some_and(|h| h.contains('.') || h == "localhost");
    if !ok {
        return Err(AppError::invalid(
            field,
            format!("{url:?} is not a web address: it must start with http:// or https:// and name a site, e.g. https://shop.example.com"),
        ));
    }
    Ok(())
}

/// Reads and checks a change from a JSON object (`{"about": …, "websites": […], …}`) against
/// Meta's limits, before any Graph call. Text is trimmed. `about` may not be empty; the other
/// texts, `websites: []` and `vertical: ""` clear a value. `messaging_product` and
/// `profile_picture_url` (echoed from a read) are ignored.
/// Errors: 422 naming the field (`about`, `address`, `description`, `email`, `websites`,
/// `websites[1]`, `vertical`) for a wrong type, a length over the limit, a malformed email or
/// URL, more than 2 websites or an unknown vertical; 422 naming an unknown key.
pub fn parse_change(body: &Map<String, Value>) -> AppResult<ProfileChange> {
    let mut change = ProfileChange::default();
    for (key, value) in body {
        match key.as_str() {
            "about" => {
                let s = text_field("about", value, MAX_ABOUT)?;
                if s.is_empty() {
                    return Err(AppError::invalid(
                        "about",
                        "about cannot be empty: WhatsApp needs 1 to 139 characters",
                    ));
                }
                change.about = Some(s);
            }
            "address" => change.address = Some(text_field("address", value, MAX_ADDRESS)?),
            "description" => {
                change.description = Some(text_field("description", value, MAX_DESCRIPTION)?)
            }
            "email" => {
                let s = text_field("email", value, MAX_EMAIL)?;
                if !s.is_empty() && s.parse::<lettre::Address>().is_err() {
                    return Err(AppError::invalid(
                        "email",
                        format!("{s:?} is not an email address (e.g. help@shop.example.com)"),
                    ));
                }
                change.email = Some(s);
            }
            "websites" => {
                let Value::Array(items) = value else {
                    return Err(AppError::invalid(
                        "websites",
                        "websites must be a list of up to 2 web addresses",
                    ));
                };
                let mut sites = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let field = format!("websites[{i}]");
                    let Value::String(s) = item else {
                        return Err(AppError::invalid(&field, "each website must be text"));
                    };
                    let s = s.trim();
                    if s.is_empty() {
                        continue;
                    }
                    check_website(&field, s)?;
                    sites.push(s.to_string());
                }
                if sites.len() > MAX_WEBSITES {
                    return Err(AppError::invalid(
                        "websites",
                        format!("WhatsApp shows at most {MAX_WEBSITES} websites; {} were given", sites.len()),
                    ));
                }
                change.websites = Some(sites);
            }
            "vertical" => {
                let Value::String(s) = value else {
                    return Err(AppError::invalid("vertical", "vertical must be text"));
                };
                let s = s.trim().to_ascii_uppercase();
                if !s.is_empty() && !VERTICALS.contains(&s.as_str()) {
                    return Err(AppError::invalid(
                        "vertical",
                        format!(
                            "{s:?} is not a WhatsApp business category; use one of {}",
                            VERTICALS.join(", ")
                        ),
                    ));
                }
                change.vertical = Some(s);
            }
            other if READ_ONLY.contains(&other) => {}
            other => {
                return Err(AppError::invalid(
                    other,
                    format!("{other} is not a business profile field; use about, address, description, email, websites or vertical"),
                ))
            }
        }
    }
    Ok(change)
}

/// The picture's MIME type from its first bytes: `image/jpeg` or `image/png`.
/// Errors: 422 `profile_picture` for anything else, an empty file or one over
/// [`MAX_PICTURE_BYTES`].
pub fn picture_type(bytes: &[u8]) -> AppResult<&'static str> {
    if bytes.is_empty() {
        return Err(AppError::invalid("profile_picture", "the picture is empty"));
    }
    if bytes.len() > MAX_PICTURE_BYTES {
        return Err(picture_too_large());
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else {
        Err(AppError::invalid(
            "profile_picture",
            "the picture must be a JPEG or PNG image",
        ))
    }
}

/// The 422 for a picture over [`MAX_PICTURE_BYTES`].
pub fn picture_too_large() -> AppError {
    AppError::invalid(
        "profile_picture",
        format!(
            "the picture may be at most {} MB",
            MAX_PICTURE_BYTES / (1024 * 1024)
        ),
    )
}

/// `GET /{phone_number_id}/whatsapp_business_profile?fields=…`: the profile in `data[0]`
/// (an empty profile when `data` is empty).
pub async fn fetch(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    phone_number_id: &str,
) -> Result<BusinessProfile, GraphError> {
    let answer = graph::json_ok(
        http.get(config.graph_url(&format!("{phone_number_id}/whatsapp_business_profile")))
            .bearer_auth(token)
            .query(&[("fields", FIELDS)]),
    )
    .await?;
    match answer["data"].get(0) {
        Some(first) => serde_json::from_value(first.clone()).map_err(|e| {
            GraphError::Invalid(format!("business profile in an unexpected shape: {e}"))
        }),
        None => Ok(BusinessProfile::default()),
    }
}

/// `POST /{phone_number_id}/whatsapp_business_profile` with `body` (see
/// [`ProfileChange::graph_body`]). Errors: Meta's refusal as [`GraphError::Status`];
/// `success: false` as [`GraphError::Invalid`].
pub async fn update(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    phone_number_id: &str,
    body: &Value,
) -> Result<(), GraphError> {
    let answer = graph::json_ok(
        http.post(config.graph_url(&format!("{phone_number_id}/whatsapp_business_profile")))
            .bearer_auth(token)
            .json(body),
    )
    .await?;
    if answer["success"] == Value::Bool(false) {
        return Err(GraphError::Invalid(
            "Meta answered success: false without a reason".into(),
        ));
    }
    Ok(())
}

/// A Graph failure as the person sees it: a refusal is a 422 (`field` =
/// `business_profile`, or `profile_picture` for the upload) in words with Meta's code and
/// details ("WhatsApp refused the change: (#100) Invalid parameter — about is too long");
/// an unreachable or confused Graph is a 502.
pub fn refusal(field: &str, action: &str, e: &GraphError) -> AppError {
    match e {
        GraphError::Status { .. } if !e.is_transient() => {
            let mut text = format!("WhatsApp refused {action}: {}", e.external_error());
            if let Some(d) = e.details().filter(|d| !d.is_empty()) {
                text.push_str(&format!(" — {d}"));
            }
            if e.is_token_invalid() {
                text.push_str(" (paste a new API key in the Credentials section)");
            }
            AppError::invalid(field, text)
        }
        GraphError::Invalid(m) if m.starts_with("WHATSAPP_APP_ID") => {
            AppError::invalid(field, m.clone())
        }
        _ => AppError::BadGateway(format!(
            "Could not reach the WhatsApp Cloud API for {action} ({e}); please try again"
        )),
    }
}

/// The profile as the API answers it: [`BusinessProfile`]'s fields (absent texts as `""`),
/// plus `inbox_id`, `vertical_label` and `picture_upload_available` (false while
/// `WHATSAPP_APP_ID` is unset).
pub fn view(config: &Config, inbox_id: i64, p: &BusinessProfile) -> Value {
    let vertical = p.vertical.clone().unwrap_or_default();
    json!({
        "inbox_id": inbox_id,
        "about": p.about.clone().unwrap_or_default(),
        "address": p.address.clone().unwrap_or_default(),
        "description": p.description.clone().unwrap_or_default(),
        "email": p.email.clone().unwrap_or_default(),
        "websites": p.websites,
        "vertical": vertical,
        "vertical_label": vertical_label(&vertical),
        "profile_picture_url": p.profile_picture_url,
        "picture_upload_available": config.whatsapp_app_id.is_some(),
    })
}

/// A picture to set: its bytes and file name.
#[derive(Debug, Clone)]
pub struct Picture {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Records #190 on the inbox ("reauthorization required"), as every Graph caller does.
async fn note_token_failure(state: &AppState, inbox_id: i64, e: &GraphError) -> AppResult<()> {
    if e.is_token_invalid() {
        let text = e.external_error();
        state
            .db(move |conn| inboxes::mark_reauthorization_required(conn, inbox_id, &text))
            .await?;
    }
    Ok(())
}

/// Reads the profile of inbox `inbox_id` (its `channel`) from Graph. Errors: see [`refusal`] (field `business_profile`).
pub async fn load(
    state: &AppState,
    inbox_id: i64,
    channel: &Channel,
) -> AppResult<BusinessProfile> {
    let token = channel.api_key(&state.secrets)?;
    match fetch(&state.http, &state.config, &token, &channel.phone_number_id).await {
        Ok(p) => Ok(p),
        Err(e) => {
            note_token_failure(state, inbox_id, &e).await?;
            Err(refusal(
                "business_profile",
                "reading the business profile",
                &e,
            ))
        }
    }
}

/// Applies `change` and `picture` to the inbox's profile: the picture is checked
/// ([`picture_type`]) and uploaded first (Resumable Upload, needs `WHATSAPP_APP_ID`), then
/// one `POST …/whatsapp_business_profile` carries the fields and the handle; the profile is
/// read again and returned (the change as sent, if that read fails).
/// Errors: 422 `business_profile` when nothing changes; 422 `profile_picture` for a bad
/// picture, an unset `WHATSAPP_APP_ID` or Meta refusing the upload; 422 `business_profile`
/// when Meta refuses the change (its code and words); 502 when Graph cannot be reached.
pub async fn apply(
    state: &AppState,
    inbox_id: i64,
    channel: &Channel,
    change: ProfileChange,
    picture: Option<Picture>,
) -> AppResult<BusinessProfile> {
    if change.is_empty() && picture.is_none() {
        return Err(AppError::invalid(
            "business_profile",
            "nothing to change: send about, address, description, email, websites, vertical or a profile_picture",
        ));
    }
    let mime = match &picture {
        Some(p) => Some(picture_type(&p.bytes)?),
        None => None,
    };
    if picture.is_some() && state.config.whatsapp_app_id.is_none() {
        return Err(AppError::invalid(
            "profile_picture",
            "changing the picture needs the Meta app's ID: set WHATSAPP_APP_ID and restart Switchboard",
        ));
    }
    let token = channel.api_key(&state.secrets)?;
    let handle = match (&picture, mime) {
        (Some(p), Some(mime)) => {
            let uploaded = resumable_upload::upload(
                &state.http,
                &state.config,
                &token,
                &p.file_name,
                mime,
                &p.bytes,
            )
            .await;
            match uploaded {
                Ok(h) => Some(h),
                Err(e) => {
                    note_token_failure(state, inbox_id, &e).await?;
                    return Err(refusal("profile_picture", "the picture upload", &e));
                }
            }
        }
        _ => None,
    };
    let body = change.graph_body(handle.as_deref());
    let pnid = &channel.phone_number_id;
    if let Err(e) = update(&state.http, &state.config, &token, pnid, &body).await {
        note_token_failure(state, inbox_id, &e).await?;
        return Err(refusal("business_profile", "the change", &e));
    }
    tracing::info!(inbox_id = inbox_id, "business profile updated");
    match fetch(&state.http, &state.config, &token, pnid).await {
        Ok(p) => Ok(p),
        Err(e) => {
            tracing::info!(inbox_id = inbox_id, error = %e.external_error(), "business profile re-read failed");
            Ok(BusinessProfile {
                about: change.about,
                address: change.address,
                description: change.description,
                email: change.email,
                websites: change.websites.unwrap_or_default(),
                vertical: change.vertical,
                profile_picture_url: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn limits_name_the_field() {
        let cases = [
            (json!({"about": ""}), "about"),
            (json!({"about": "a".repeat(140)}), "about"),
            (json!({"about": 5}), "about"),
            (json!({"address": "a".repeat(257)}), "address"),
            (json!({"description": "d".repeat(513)}), "description"),
            (json!({"email": "not-an-email"}), "email"),
            (
                json!({"email": format!("{}@x.com", "a".repeat(130))}),
                "email",
            ),
            (json!({"websites": "https://a.example"}), "websites"),
            (json!({"websites": ["ftp://a.example"]}), "websites[0]"),
            (
                json!({"websites": ["https://a.example", "shop"]}),
                "websites[1]",
            ),
            (
                json!({"websites": ["https://a.example", "https://b.example", "https://c.example"]}),
                "websites",
            ),
            (json!({"vertical": "SPACESHIPS"}), "vertical"),
            (json!({"nickname": "x"}), "nickname"),
        ];
        for (body, field) in cases {
            match parse_change(&obj(body.clone())) {
                Err(AppError::Unprocessable { field: Some(f), .. }) => {
                    assert_eq!(f, field, "{body}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_valid_change_builds_the_graph_body() {
        let change = parse_change(&obj(json!({
            "about": " Open 8-20 ",
            "email": "help@shop.example.com",
            "websites": ["https://shop.example.com/", ""],
            "vertical": "retail",
            "messaging_product": "whatsapp",
        })))
        .unwrap();
        assert_eq!(
            change.graph_body(Some("4::h")),
            json!({"messaging_product": "whatsapp", "about": "Open 8-20",
                   "email": "help@shop.example.com", "websites": ["https://shop.example.com/"],
                   "vertical": "RETAIL", "profile_picture_handle": "4::h"})
        );
        assert!(parse_change(&Map::new()).unwrap().is_empty());
    }

    #[test]
    fn picture_types() {
        assert_eq!(
            picture_type(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(),
            "image/jpeg"
        );
        assert_eq!(picture_type(b"\x89PNG\r\n\x1a\n....").unwrap(), "image/png");
        assert!(picture_type(b"GIF89a").is_err());
        assert!(picture_type(b"").is_err());
    }
}

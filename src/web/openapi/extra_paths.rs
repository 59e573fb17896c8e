//! Operations whose handler serves more than one path (or is generic): each gets a stub here,
//! documented like a handler, so every route of the routing table has its operation.

/// Served by `toggle` (`src/web/api/typing.rs`).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/typing_status",
    tag = "typing",
    operation_id = "typing_toggle_alias",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "What became of the typing indicator", body = crate::web::openapi::schemas::TypingStatus),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn typing_toggle_alias() {}

/// Served by `update` (`src/web/api/contacts.rs`).
#[utoipa::path(
    put,
    path = "/api/v1/accounts/{account_id}/contacts/{id}",
    tag = "contacts",
    operation_id = "contacts_update_put",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::schemas::ContactBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The contact", body = crate::web::openapi::schemas::ContactPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn contacts_update_put() {}

/// Served by `index::<Rules>` (`src/web/api/automation.rs`).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/automation_rules",
    tag = "automation",
    operation_id = "automation_index_rules",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account's automation rules", body = crate::web::openapi::schemas::AutomationRuleList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_index_rules() {}

/// Served by `create::<Rules>` (`src/web/api/automation.rs`).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/automation_rules",
    tag = "automation",
    operation_id = "automation_create_rules",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The new rule", body = crate::web::openapi::schemas::AutomationRulePayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_create_rules() {}

/// Served by `show::<Rules>` (`src/web/api/automation.rs`).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/automation_rules/{id}",
    tag = "automation",
    operation_id = "automation_show_rules",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The rule", body = crate::web::openapi::schemas::AutomationRulePayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_show_rules() {}

/// Served by `update::<Rules>` (`src/web/api/automation.rs`).
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/automation_rules/{id}",
    tag = "automation",
    operation_id = "automation_update_rules",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The rule as changed", body = crate::web::openapi::schemas::AutomationRulePayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_update_rules() {}

/// Served by `update::<Rules>` (`src/web/api/automation.rs`).
#[utoipa::path(
    put,
    path = "/api/v1/accounts/{account_id}/automation_rules/{id}",
    tag = "automation",
    operation_id = "automation_update_rules_put",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The rule as changed", body = crate::web::openapi::schemas::AutomationRulePayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_update_rules_put() {}

/// Served by `destroy::<Rules>` (`src/web/api/automation.rs`).
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/automation_rules/{id}",
    tag = "automation",
    operation_id = "automation_destroy_rules",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_destroy_rules() {}

/// Served by `index::<Macros>` (`src/web/api/automation.rs`).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/macros",
    tag = "automation",
    operation_id = "automation_index_macros",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The macros the caller may see", body = crate::web::openapi::schemas::MacroList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_index_macros() {}

/// Served by `create::<Macros>` (`src/web/api/automation.rs`).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/macros",
    tag = "automation",
    operation_id = "automation_create_macros",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The new macro", body = crate::web::openapi::schemas::MacroPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_create_macros() {}

/// Served by `show::<Macros>` (`src/web/api/automation.rs`).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/macros/{id}",
    tag = "automation",
    operation_id = "automation_show_macros",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The macro", body = crate::web::openapi::schemas::MacroPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_show_macros() {}

/// Served by `update::<Macros>` (`src/web/api/automation.rs`).
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/macros/{id}",
    tag = "automation",
    operation_id = "automation_update_macros",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The macro as changed", body = crate::web::openapi::schemas::MacroPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_update_macros() {}

/// Served by `update::<Macros>` (`src/web/api/automation.rs`).
#[utoipa::path(
    put,
    path = "/api/v1/accounts/{account_id}/macros/{id}",
    tag = "automation",
    operation_id = "automation_update_macros_put",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The macro as changed", body = crate::web::openapi::schemas::MacroPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_update_macros_put() {}

/// Served by `destroy::<Macros>` (`src/web/api/automation.rs`).
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/macros/{id}",
    tag = "automation",
    operation_id = "automation_destroy_macros",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn automation_destroy_macros() {}

/// Served by `update` (`src/web/api/sla_policies.rs`).
#[utoipa::path(
    put,
    path = "/api/v1/accounts/{account_id}/sla_policies/{id}",
    tag = "sla_policies",
    operation_id = "sla_policies_update_put",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The policy", body = crate::web::openapi::schemas::SlaPolicyPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
#[allow(dead_code)]
pub(crate) fn sla_policies_update_put() {}

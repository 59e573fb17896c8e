// @generated-style diesel schema for migrations/ (kept in sync by hand; see migrations/*/up.sql).

diesel::table! {
    accounts (id) {
        id -> Int8,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        name -> Text,
        email -> Text,
        encrypted_password -> Text,
        access_token_digest -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        display_name -> Nullable<Text>,
        avatar_path -> Nullable<Text>,
        session_epoch -> Int4,
    }
}

diesel::table! {
    account_users (id) {
        id -> Int8,
        account_id -> Int8,
        user_id -> Int8,
        role -> Text,
        created_at -> Timestamptz,
        availability -> Text,
        auto_offline -> Bool,
        last_seen_online_at -> Nullable<Timestamptz>,
        presence_expires_at -> Nullable<Timestamptz>,
        away_from -> Nullable<Text>,
    }
}

diesel::table! {
    channel_whatsapp (id) {
        id -> Int8,
        account_id -> Int8,
        phone_number -> Text,
        provider -> Text,
        phone_number_id -> Text,
        business_account_id -> Text,
        api_key_ciphertext -> Text,
        app_secret_ciphertext -> Nullable<Text>,
        webhook_verify_token -> Text,
        source -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    inboxes (id) {
        id -> Int8,
        account_id -> Int8,
        channel_id -> Int8,
        name -> Text,
        channel_type -> Text,
        enable_auto_assignment -> Bool,
        last_webhook_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Jsonb>,
        last_error_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        templates_synced_at -> Nullable<Timestamptz>,
        templates_sync_error -> Nullable<Text>,
        templates_next_sync_at -> Nullable<Timestamptz>,
        reauthorization_required -> Bool,
        reauthorization_error -> Nullable<Text>,
        webhook_setup_warning -> Nullable<Text>,
        webhook_setup_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    inbox_members (id) {
        id -> Int8,
        inbox_id -> Int8,
        user_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    contacts (id) {
        id -> Int8,
        account_id -> Int8,
        name -> Text,
        phone_number -> Nullable<Text>,
        email -> Nullable<Text>,
        identifier -> Nullable<Text>,
        bsuid -> Nullable<Text>,
        parent_bsuid -> Nullable<Text>,
        username -> Nullable<Text>,
        additional_attributes -> Jsonb,
        custom_attributes -> Jsonb,
        last_activity_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    contact_inboxes (id) {
        id -> Int8,
        contact_id -> Int8,
        inbox_id -> Int8,
        source_id -> Text,
        source_kind -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    teams (id) {
        id -> Int8,
        account_id -> Int8,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        allow_auto_assign -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    password_reset_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        token_digest -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    labels (id) {
        id -> Int8,
        account_id -> Int8,
        title -> Text,
        description -> Text,
        color -> Text,
        show_on_sidebar -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    conversations (id) {
        id -> Int8,
        account_id -> Int8,
        inbox_id -> Int8,
        display_id -> Int4,
        uuid -> Text,
        contact_id -> Int8,
        contact_inbox_id -> Nullable<Int8>,
        status -> Text,
        priority -> Nullable<Text>,
        assignee_id -> Nullable<Int8>,
        team_id -> Nullable<Int8>,
        snoozed_until -> Nullable<Timestamptz>,
        last_incoming_at -> Nullable<Timestamptz>,
        last_activity_at -> Timestamptz,
        agent_last_seen_at -> Nullable<Timestamptz>,
        additional_attributes -> Jsonb,
        custom_attributes -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        labels -> Array<Text>,
        waiting_since -> Nullable<Timestamptz>,
        sla_due_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    messages (id) {
        id -> Int8,
        account_id -> Int8,
        inbox_id -> Int8,
        conversation_id -> Int8,
        message_type -> Int2,
        content -> Nullable<Text>,
        content_type -> Text,
        content_attributes -> Jsonb,
        private -> Bool,
        status -> Text,
        source_id -> Nullable<Text>,
        external_error -> Nullable<Text>,
        sender_type -> Nullable<Text>,
        sender_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    attachments (id) {
        id -> Int8,
        message_id -> Int8,
        account_id -> Int8,
        file_type -> Text,
        media_id -> Nullable<Text>,
        mime_type -> Nullable<Text>,
        sha256 -> Nullable<Text>,
        file_size -> Nullable<Int8>,
        file_name -> Nullable<Text>,
        storage_path -> Nullable<Text>,
        download_status -> Text,
        download_error -> Nullable<Text>,
        coordinates_lat -> Nullable<Float8>,
        coordinates_long -> Nullable<Float8>,
        fallback_title -> Nullable<Text>,
        external_url -> Nullable<Text>,
        meta -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    pending_message_updates (id) {
        id -> Int8,
        inbox_id -> Int8,
        source_id -> Text,
        kind -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    realtime_events (id) {
        id -> Int8,
        account_id -> Int8,
        inbox_id -> Nullable<Int8>,
        conversation_id -> Nullable<Int8>,
        name -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    whatsapp_events (id) {
        id -> Int8,
        inbox_id -> Nullable<Int8>,
        phone_number -> Text,
        raw_body -> Text,
        status -> Text,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        unhandled_fields -> Nullable<Array<Text>>,
        run_after -> Timestamptz,
        received_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
        items_done -> Int4,
    }
}

diesel::table! {
    jobs (id) {
        id -> Int8,
        kind -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        run_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        ordering_key -> Nullable<Text>,
        started_at -> Nullable<Timestamptz>,
        progress -> Int4,
    }
}

diesel::table! {
    message_templates (id) {
        id -> Int8,
        account_id -> Int8,
        inbox_id -> Int8,
        external_id -> Nullable<Text>,
        name -> Text,
        language -> Text,
        status -> Text,
        category -> Nullable<Text>,
        parameter_format -> Text,
        components -> Jsonb,
        synced_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Int8,
        account_id -> Int8,
        inbox_id -> Nullable<Int8>,
        url -> Text,
        name -> Nullable<Text>,
        subscriptions -> Array<Text>,
        secret_ciphertext -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        consecutive_failures -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        webhook_id -> Int8,
        delivery_id -> Text,
        event -> Text,
        attempt -> Int4,
        status_code -> Nullable<Int4>,
        duration_ms -> Int8,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    password_reset_requests (id) {
        id -> Int8,
        email_digest -> Text,
        ip -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    custom_filters (id) {
        id -> Int8,
        account_id -> Int8,
        user_id -> Int8,
        name -> Text,
        filter_type -> Text,
        query -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(account_users -> accounts (account_id));
diesel::joinable!(account_users -> users (user_id));
diesel::joinable!(inboxes -> channel_whatsapp (channel_id));
diesel::joinable!(inbox_members -> inboxes (inbox_id));
diesel::joinable!(contact_inboxes -> contacts (contact_id));
diesel::joinable!(conversations -> contacts (contact_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(attachments -> messages (message_id));
diesel::joinable!(message_templates -> inboxes (inbox_id));
diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));

diesel::table! {
    /// Signed deltas of conversation counts, written by triggers on `conversations`
    /// (migration 2026-12-01-000100_workspace_speed; read by `conversations::count_snapshot`).
    conversation_counts (id) {
        id -> Int8,
        account_id -> Int8,
        inbox_id -> Int8,
        status -> Text,
        assignee_id -> Int8,
        label -> Text,
        n -> Int8,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    users,
    account_users,
    channel_whatsapp,
    inboxes,
    inbox_members,
    contacts,
    contact_inboxes,
    teams,
    conversations,
    messages,
    attachments,
    pending_message_updates,
    realtime_events,
    whatsapp_events,
    jobs,
    message_templates,
    password_reset_tokens,
    password_reset_requests,
    labels,
    webhooks,
    webhook_deliveries,
    custom_filters,
);

diesel::table! {
    canned_responses (id) {
        id -> Int8,
        account_id -> Int8,
        short_code -> Text,
        content -> Text,
        created_by_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    canned_response_attachments (id) {
        id -> Int8,
        canned_response_id -> Int8,
        account_id -> Int8,
        file_name -> Text,
        mime_type -> Text,
        file_size -> Int8,
        storage_path -> Text,
        created_at -> Timestamptz,
    }
}

// Issue 10: the notification centre (migration 2026-12-01-000300_notification_centre).
diesel::table! {
    notifications (id) {
        id -> Int8,
        account_id -> Int8,
        user_id -> Int8,
        notification_type -> Text,
        primary_actor_type -> Text,
        primary_actor_id -> Int8,
        secondary_actor_type -> Nullable<Text>,
        secondary_actor_id -> Nullable<Int8>,
        read_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    conversation_participants (id) {
        id -> Int8,
        account_id -> Int8,
        conversation_id -> Int8,
        user_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    team_members (id) {
        id -> Int8,
        team_id -> Int8,
        user_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    notifications,
    conversation_participants,
    team_members,
);

diesel::table! {
    /// Notes agents keep about a contact (Chatwoot's contact notes; migration
    /// 2026-12-01-000900_contact_notes).
    contact_notes (id) {
        id -> Int8,
        account_id -> Int8,
        contact_id -> Int8,
        user_id -> Nullable<Int8>,
        content -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(contact_notes, users);

// == custom-attrs ==
diesel::table! {
    /// Custom attribute definitions (Chatwoot's `custom_attribute_definitions`; migration
    /// 2026-12-02-000400_custom_attributes).
    custom_attribute_definitions (id) {
        id -> Int8,
        account_id -> Int8,
        attribute_key -> Text,
        attribute_display_name -> Text,
        attribute_display_type -> Text,
        attribute_description -> Nullable<Text>,
        attribute_model -> Text,
        attribute_values -> Array<Text>,
        regex_pattern -> Nullable<Text>,
        regex_cue -> Nullable<Text>,
        default_value -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}
diesel::table! {
    /// Contact CSV imports and their progress (migration 2026-12-02-000700_contact_imports).
    contact_imports (id) {
        id -> Int8,
        account_id -> Int8,
        user_id -> Nullable<Int8>,
        file_name -> Text,
        data -> Nullable<Bytea>,
        file_size -> Int8,
        status -> Text,
        rows_total -> Int4,
        rows_done -> Int4,
        created_count -> Int4,
        updated_count -> Int4,
        failed_count -> Int4,
        next_offset -> Int8,
        next_line -> Int8,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        header -> Nullable<Array<Text>>,
    }
}

diesel::table! {
    /// The rows a contact import refused (line and reason).
    contact_import_errors (id) {
        id -> Int8,
        import_id -> Int8,
        line -> Int8,
        field -> Nullable<Text>,
        reason -> Text,
        cells -> Nullable<Array<Text>>,
    }
}

diesel::joinable!(contact_import_errors -> contact_imports (import_id));
diesel::allow_tables_to_appear_in_same_query!(contact_imports, contact_import_errors);

// == management ==
diesel::table! {
    /// Number health of each WhatsApp inbox (migration 2026-12-03-020000_number_health).
    whatsapp_number_health (inbox_id) {
        inbox_id -> Int8,
        status -> Nullable<Text>,
        quality_rating -> Nullable<Text>,
        messaging_limit -> Nullable<Text>,
        throughput -> Nullable<Text>,
        name_status -> Nullable<Text>,
        verified_name -> Nullable<Text>,
        can_send_message -> Nullable<Text>,
        health_status -> Nullable<Jsonb>,
        alerts -> Jsonb,
        reviews -> Jsonb,
        events -> Jsonb,
        refused_routes -> Jsonb,
        alerted_problem -> Nullable<Text>,
        refreshed_at -> Nullable<Timestamptz>,
        refresh_error -> Nullable<Text>,
        next_refresh_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}
diesel::table! {
    /// Management-webhook facts about a template (migration 2026-12-03-020000_number_health).
    whatsapp_template_signals (template_id) {
        template_id -> Int8,
        rejected_reason -> Nullable<Text>,
        rejection_detail -> Nullable<Text>,
        quality_score -> Nullable<Text>,
        previous_quality_score -> Nullable<Text>,
        pending_category -> Nullable<Text>,
        category_change_at -> Nullable<Timestamptz>,
        previous_category -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}
diesel::joinable!(whatsapp_number_health -> inboxes (inbox_id));
diesel::joinable!(whatsapp_template_signals -> message_templates (template_id));
diesel::allow_tables_to_appear_in_same_query!(whatsapp_number_health, inboxes);
diesel::allow_tables_to_appear_in_same_query!(whatsapp_template_signals, message_templates);
// == dualhook (issue 12, migration 2026-12-03-010000_dualhook) ==

diesel::table! {
    /// An account's Dualhook Platform credentials (both encrypted at rest).
    dualhook_integrations (account_id) {
        account_id -> Int8,
        api_key_ciphertext -> Nullable<Text>,
        partner_secret_ciphertext -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// A "Connect WhatsApp via Dualhook" request and its WABA-scoped webhook URL.
    dualhook_connections (id) {
        id -> Int8,
        account_id -> Int8,
        connection_key -> Text,
        verify_token -> Text,
        inbox_name -> Text,
        status -> Text,
        session_id -> Nullable<Text>,
        onboarding_url -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        waba_id -> Nullable<Text>,
        requested_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// The Dualhook state of an inbox Dualhook connected.
    dualhook_inboxes (inbox_id) {
        inbox_id -> Int8,
        account_id -> Int8,
        connection_row_id -> Nullable<Int8>,
        dualhook_connection_id -> Text,
        connection_mode -> Text,
        mode_at -> Nullable<Timestamptz>,
        heartbeat_status -> Nullable<Text>,
        heartbeat_next_due_at -> Nullable<Timestamptz>,
        heartbeat_last_confirmed_at -> Nullable<Timestamptz>,
        heartbeat_at -> Nullable<Timestamptz>,
        disconnected_at -> Nullable<Timestamptz>,
        disconnected_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// The journal of Dualhook lifecycle events (raw body as received).
    dualhook_events (id) {
        id -> Int8,
        account_id -> Int8,
        event_id -> Text,
        event -> Text,
        raw_body -> Text,
        status -> Text,
        summary -> Nullable<Text>,
        error -> Nullable<Text>,
        dualhook_connection_id -> Nullable<Text>,
        inbox_id -> Nullable<Int8>,
        received_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
    }
}

// == avail (issue 13: availability and auto-assignment, migration 2026-12-04-010000) ==
diesel::table! {
    /// Auto-assignment settings and round-robin state of an inbox (also its assignment lock).
    inbox_auto_assignment (inbox_id) {
        inbox_id -> Int8,
        max_assignment_limit -> Nullable<Int4>,
        last_assigned_user_id -> Nullable<Int8>,
        updated_at -> Timestamptz,
    }
}

// Issue 13 (hours): business hours, greeting, out of office and CSAT.
diesel::table! {
    inbox_hours_settings (inbox_id) {
        inbox_id -> Int8,
        account_id -> Int8,
        working_hours_enabled -> Bool,
        timezone -> Text,
        working_hours -> Jsonb,
        holidays -> Jsonb,
        out_of_office_message -> Nullable<Text>,
        greeting_enabled -> Bool,
        greeting_message -> Nullable<Text>,
        csat_survey_enabled -> Bool,
        csat_question -> Nullable<Text>,
        csat_scale -> Text,
        csat_template_name -> Nullable<Text>,
        csat_template_language -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Conversations waiting for an agent with room, oldest first.
    assignment_queue (conversation_id) {
        conversation_id -> Int8,
        inbox_id -> Int8,
        queued_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(inbox_auto_assignment, assignment_queue);
diesel::allow_tables_to_appear_in_same_query!(assignment_queue, conversations);

diesel::table! {
    auto_replies (conversation_id, kind, period_key) {
        conversation_id -> Int8,
        kind -> Text,
        period_key -> Text,
        message_id -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    csat_survey_responses (id) {
        id -> Int8,
        account_id -> Int8,
        inbox_id -> Int8,
        conversation_id -> Int8,
        contact_id -> Int8,
        assigned_agent_id -> Nullable<Int8>,
        message_id -> Nullable<Int8>,
        scale -> Text,
        rating -> Nullable<Int4>,
        feedback_message -> Nullable<Text>,
        rated_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    inbox_hours_settings,
    auto_replies,
    csat_survey_responses,
);

// Issue 13 (rules): automation rules, runs, fires and macros
// (migration 2026-12-04-030000_automation).
diesel::table! {
    automation_rules (id) {
        id -> Int8,
        account_id -> Int8,
        name -> Text,
        description -> Text,
        event_name -> Text,
        conditions -> Jsonb,
        actions -> Jsonb,
        active -> Bool,
        unanswered_minutes -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    automation_runs (id) {
        id -> Int8,
        rule_id -> Int8,
        account_id -> Int8,
        conversation_id -> Nullable<Int8>,
        event_name -> Text,
        outcome -> Text,
        actions_done -> Jsonb,
        error -> Nullable<Text>,
        depth -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    automation_fires (rule_id, conversation_id, waiting_since) {
        rule_id -> Int8,
        conversation_id -> Int8,
        waiting_since -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    macros (id) {
        id -> Int8,
        account_id -> Int8,
        name -> Text,
        visibility -> Text,
        actions -> Jsonb,
        created_by_id -> Nullable<Int8>,
        updated_by_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    automation_rules,
    automation_runs,
    automation_fires,
    macros,
);

// == sla (issue 13: SLA policies) ==
diesel::table! {
    sla_policies (id) {
        id -> Int8,
        account_id -> Int8,
        name -> Text,
        description -> Text,
        first_response_time_threshold -> Nullable<Int8>,
        next_response_time_threshold -> Nullable<Int8>,
        resolution_time_threshold -> Nullable<Int8>,
        only_during_business_hours -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    applied_slas (id) {
        id -> Int8,
        account_id -> Int8,
        conversation_id -> Int8,
        sla_policy_id -> Int8,
        sla_status -> Text,
        due_at -> Nullable<Timestamptz>,
        due_type -> Nullable<Text>,
        due_started_at -> Nullable<Timestamptz>,
        breached -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sla_events (id) {
        id -> Int8,
        applied_sla_id -> Int8,
        account_id -> Int8,
        conversation_id -> Int8,
        event_type -> Text,
        started_at -> Timestamptz,
        due_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(applied_slas -> sla_policies (sla_policy_id));
diesel::joinable!(sla_events -> applied_slas (applied_sla_id));
diesel::allow_tables_to_appear_in_same_query!(
    sla_policies,
    applied_slas,
    sla_events,
    conversations
);
// == limits (issue 15): shared rate limits ==
diesel::table! {
    rate_buckets (key) {
        key -> Text,
        capacity -> Float8,
        per_second -> Float8,
        tokens -> Float8,
        updated_at -> Timestamptz,
    }
}

// == reports (issue 14, migration 2026-12-05-030000_reports) ==
diesel::table! {
    reporting_events (id) {
        id -> Int8,
        account_id -> Int8,
        inbox_id -> Nullable<Int8>,
        conversation_id -> Nullable<Int8>,
        user_id -> Nullable<Int8>,
        team_id -> Nullable<Int8>,
        name -> Text,
        value -> Nullable<Float8>,
        value_in_business_hours -> Nullable<Float8>,
        event_start_time -> Nullable<Timestamptz>,
        event_end_time -> Timestamptz,
        message_id -> Nullable<Int8>,
        detail -> Nullable<Text>,
        category -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reporting_conversations (conversation_id) {
        conversation_id -> Int8,
        opened_at -> Timestamptz,
        first_response_at -> Nullable<Timestamptz>,
        waiting_since -> Nullable<Timestamptz>,
        resolved_at -> Nullable<Timestamptz>,
        last_incoming_at -> Nullable<Timestamptz>,
        window_replied -> Bool,
        window_closed_for -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    reporting_rollups (account_id, name, hour, inbox_id, team_id, user_id) {
        account_id -> Int8,
        hour -> Timestamptz,
        name -> Text,
        inbox_id -> Int8,
        team_id -> Int8,
        user_id -> Int8,
        count -> Int8,
        sum_value -> Float8,
        sum_value_bh -> Float8,
    }
}

// (migration 2026-12-06-010000_reports_daily)
diesel::table! {
    reporting_daily (account_id, name, grain, day, inbox_id, dim_id) {
        account_id -> Int8,
        name -> Text,
        grain -> Int2,
        day -> Date,
        inbox_id -> Int8,
        dim_id -> Int8,
        count -> Int8,
        sum_value -> Float8,
        sum_value_bh -> Float8,
    }
}

diesel::table! {
    reporting_label_daily (account_id, name, day, label, inbox_id) {
        account_id -> Int8,
        name -> Text,
        day -> Date,
        label -> Text,
        inbox_id -> Int8,
        count -> Int8,
        sum_value -> Float8,
        sum_value_bh -> Float8,
    }
}

diesel::table! {
    reporting_label_hourly (account_id, name, hour, label, inbox_id) {
        account_id -> Int8,
        name -> Text,
        hour -> Timestamptz,
        label -> Text,
        inbox_id -> Int8,
        count -> Int8,
        sum_value -> Float8,
        sum_value_bh -> Float8,
    }
}

diesel::table! {
    reporting_pending (id) {
        id -> Int8,
        fact_id -> Int8,
        account_id -> Int8,
        name -> Text,
        inbox_id -> Int8,
        team_id -> Int8,
        user_id -> Int8,
        conversation_id -> Nullable<Int8>,
        event_end_time -> Timestamptz,
        value -> Float8,
        value_bh -> Float8,
        sign -> Int4,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    reporting_events,
    reporting_conversations,
    reporting_rollups,
    reporting_pending,
    reporting_daily,
    reporting_label_daily,
    reporting_label_hourly,
);

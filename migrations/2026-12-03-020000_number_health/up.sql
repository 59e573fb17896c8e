-- Number health (issue 12): one row per WhatsApp inbox with what Graph's
-- `GET /{phone_number_id}?fields=…` and Meta's management webhooks last said about the number,
-- the changes refused on the inbox's webhook route (sibling routing), and the drop an
-- administrator was last emailed about (one email per drop).
CREATE TABLE whatsapp_number_health (
    inbox_id BIGINT PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
    -- Graph `status`: CONNECTED, FLAGGED, RESTRICTED, … (kept as Meta writes it)
    status TEXT,
    -- GREEN | YELLOW | RED | NA | UNKNOWN
    quality_rating TEXT,
    -- whatsapp_business_manager_messaging_limit or the webhook's max_daily_conversations_per_business
    messaging_limit TEXT,
    -- throughput.level: STANDARD | HIGH
    throughput TEXT,
    -- name_status (or the phone_number_name_update decision)
    name_status TEXT,
    verified_name TEXT,
    -- health_status.can_send_message: AVAILABLE | LIMITED | BLOCKED
    can_send_message TEXT,
    health_status JSONB,
    -- latest account_alerts (newest first, at most 10)
    alerts JSONB NOT NULL DEFAULT '[]',
    -- latest account_review_update decisions (newest first, at most 10)
    reviews JSONB NOT NULL DEFAULT '[]',
    -- latest other management events: account_update, security, capabilities, quality events
    events JSONB NOT NULL DEFAULT '[]',
    -- changes refused on this inbox's route: [{phone_number_id, waba_id, count, last_at}]
    refused_routes JSONB NOT NULL DEFAULT '[]',
    -- the drop or restriction administrators were emailed about; NULL once healthy again
    alerted_problem TEXT,
    refreshed_at TIMESTAMPTZ,
    refresh_error TEXT,
    next_refresh_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX whatsapp_number_health_next_refresh_idx ON whatsapp_number_health (next_refresh_at);

-- What management webhooks said about one template beyond its status: why it was rejected,
-- its quality, and a pending or completed recategorisation.
CREATE TABLE whatsapp_template_signals (
    template_id BIGINT PRIMARY KEY REFERENCES message_templates(id) ON DELETE CASCADE,
    rejected_reason TEXT,
    rejection_detail TEXT,
    quality_score TEXT,
    previous_quality_score TEXT,
    pending_category TEXT,
    category_change_at TIMESTAMPTZ,
    previous_category TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- generated from engine/models — do not edit; run `python -m engine.schema > schema.sql`
-- dialect: sqlite

CREATE TABLE admins (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    username VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    email_address VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    created_at DATETIME NOT NULL,
    last_login_at DATETIME,
    CONSTRAINT uq_admins_username UNIQUE (username)
);

CREATE TABLE deliveries (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    instance_id INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL,
    email_normalized VARCHAR(255) NOT NULL,
    state VARCHAR(16) NOT NULL,
    lease_until DATETIME,
    worker VARCHAR(128) NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    sent_at DATETIME,
    message_id VARCHAR(255) NOT NULL,
    email_id INTEGER,
    CONSTRAINT uq_deliveries_instance_id_email_normalized UNIQUE (instance_id, email_normalized),
    CONSTRAINT ck_deliveries_state CHECK (state IN ('pending','claimed','sent','failed','unknown','skipped'))
);

CREATE INDEX ix_deliveries_instance_state_id ON deliveries (instance_id, state, id);

CREATE TABLE installation_secrets (
    name VARCHAR(64) NOT NULL,
    value TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT pk_installation_secrets PRIMARY KEY (name)
);

CREATE TABLE journey_sends (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    journey_id INTEGER NOT NULL,
    action_id INTEGER NOT NULL,
    enrollment_id BIGINT NOT NULL,
    step_seq INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL,
    email_address VARCHAR(255) NOT NULL,
    email_id INTEGER NOT NULL,
    due_at DATETIME NOT NULL,
    state VARCHAR(16) NOT NULL,
    lease_until DATETIME,
    worker VARCHAR(128) NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    sent_at DATETIME,
    message_id VARCHAR(255) NOT NULL,
    created_at DATETIME NOT NULL,
    opens INTEGER NOT NULL,
    first_opened_at DATETIME,
    last_opened_at DATETIME,
    clicks INTEGER NOT NULL,
    first_clicked_at DATETIME,
    last_clicked_at DATETIME,
    browser_views INTEGER NOT NULL,
    unsubscribed_at DATETIME,
    bounced_at DATETIME,
    complained_at DATETIME,
    CONSTRAINT uq_journey_sends_enrollment_id_action_id_step_seq UNIQUE (enrollment_id, action_id, step_seq),
    CONSTRAINT ck_journey_sends_state CHECK (state IN ('pending','claimed','sent','failed','unknown','skipped'))
);

CREATE INDEX ix_journey_sends_action ON journey_sends (action_id, created_at);

CREATE INDEX ix_journey_sends_state_due ON journey_sends (state, due_at);

CREATE INDEX ix_journey_sends_subscriber ON journey_sends (subscriber_id, action_id);

CREATE TABLE journey_steps (
    enrollment_id BIGINT NOT NULL,
    journey_id INTEGER NOT NULL,
    action_id INTEGER NOT NULL,
    step_seq INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL,
    outcome VARCHAR(16) NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT pk_journey_steps PRIMARY KEY (enrollment_id, action_id, step_seq)
);

CREATE INDEX ix_journey_steps_journey_action_at ON journey_steps (journey_id, action_id, created_at);

CREATE TABLE rate_limit_counters (
    bucket VARCHAR(64) NOT NULL,
    client VARCHAR(64) NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    CONSTRAINT pk_rate_limit_counters PRIMARY KEY (bucket, client, window_start)
);

CREATE INDEX ix_rate_limit_counters_window_start ON rate_limit_counters (window_start);

CREATE TABLE scheduler_leases (
    name VARCHAR(64) NOT NULL,
    holder VARCHAR(128) NOT NULL,
    expires_at DATETIME NOT NULL,
    CONSTRAINT pk_scheduler_leases PRIMARY KEY (name)
);

CREATE TABLE throttle_states (
    name VARCHAR(64) NOT NULL,
    payload TEXT NOT NULL,
    updated_at DATETIME NOT NULL,
    CONSTRAINT pk_throttle_states PRIMARY KEY (name)
);

CREATE TABLE user_groups (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(255) NOT NULL,
    permissions TEXT NOT NULL,
    limit_subscribers INTEGER NOT NULL,
    limit_lists INTEGER NOT NULL,
    limit_campaign_send_per_period INTEGER NOT NULL,
    limit_email_send_per_period INTEGER NOT NULL,
    force_unsubscription_link BOOLEAN NOT NULL,
    force_reject_opt_link BOOLEAN NOT NULL,
    allowed_sender_domains TEXT NOT NULL,
    created_at DATETIME NOT NULL
);

CREATE TABLE users (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    username VARCHAR(255) NOT NULL,
    email_address VARCHAR(255) NOT NULL,
    email_normalized VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    first_name VARCHAR(255) NOT NULL,
    last_name VARCHAR(255) NOT NULL,
    company_name VARCHAR(255) NOT NULL,
    time_zone VARCHAR(64) NOT NULL,
    language VARCHAR(16) NOT NULL,
    account_status VARCHAR(16) NOT NULL,
    reputation_level VARCHAR(16) NOT NULL,
    created_at DATETIME NOT NULL,
    last_activity_at DATETIME,
    tfa_secret VARCHAR(64) NOT NULL,
    tfa_enabled BOOLEAN NOT NULL,
    tfa_last_step BIGINT NOT NULL,
    list_triggers BOOLEAN NOT NULL,
    CONSTRAINT ck_users_account_status CHECK (account_status IN ('Enabled','Disabled')),
    CONSTRAINT ck_users_reputation_level CHECK (reputation_level IN ('Trusted','Untrusted')),
    CONSTRAINT fk_users_group_id_user_groups FOREIGN KEY(group_id) REFERENCES user_groups (id),
    CONSTRAINT uq_users_username UNIQUE (username),
    CONSTRAINT uq_users_email_normalized UNIQUE (email_normalized)
);

CREATE INDEX ix_users_group_id ON users (group_id);

CREATE TABLE api_keys (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    key_digest VARCHAR(64) NOT NULL,
    key_prefix VARCHAR(16) NOT NULL,
    user_id INTEGER,
    admin_id INTEGER,
    note VARCHAR(255) NOT NULL,
    bound_ip_address VARCHAR(64) NOT NULL,
    created_at DATETIME NOT NULL,
    last_used_at DATETIME,
    last_used_ip VARCHAR(64) NOT NULL,
    request_count INTEGER NOT NULL,
    CONSTRAINT ck_api_keys_one_owner CHECK ((user_id IS NULL) <> (admin_id IS NULL)),
    CONSTRAINT uq_api_keys_key_digest UNIQUE (key_digest),
    CONSTRAINT fk_api_keys_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_api_keys_admin_id_admins FOREIGN KEY(admin_id) REFERENCES admins (id) ON DELETE CASCADE
);

CREATE INDEX ix_api_keys_admin_id ON api_keys (admin_id);

CREATE INDEX ix_api_keys_user_id ON api_keys (user_id);

CREATE TABLE auth_sessions (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    token_digest VARCHAR(64) NOT NULL,
    user_id INTEGER,
    admin_id INTEGER,
    created_at DATETIME NOT NULL,
    last_used_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    ip_address VARCHAR(64) NOT NULL,
    CONSTRAINT ck_auth_sessions_one_owner CHECK ((user_id IS NULL) <> (admin_id IS NULL)),
    CONSTRAINT uq_auth_sessions_token_digest UNIQUE (token_digest),
    CONSTRAINT fk_auth_sessions_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_auth_sessions_admin_id_admins FOREIGN KEY(admin_id) REFERENCES admins (id) ON DELETE CASCADE
);

CREATE INDEX ix_auth_sessions_admin_id ON auth_sessions (admin_id);

CREATE INDEX ix_auth_sessions_user_id ON auth_sessions (user_id);

CREATE TABLE automated_reports (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    frequency VARCHAR(16) NOT NULL,
    filter_type VARCHAR(8) NOT NULL,
    filter_tags TEXT NOT NULL,
    recipient_emails TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    last_run_at DATETIME,
    next_run_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT fk_automated_reports_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_automated_reports_owner_user_id ON automated_reports (owner_user_id);

CREATE INDEX ix_automated_reports_status_next ON automated_reports (status, next_run_at);

CREATE TABLE email_marketing_accounts (
    user_id INTEGER NOT NULL,
    status VARCHAR(32) NOT NULL,
    monthly_campaigns INTEGER,
    monthly_emails INTEGER,
    usage_month VARCHAR(7) NOT NULL,
    campaigns_used INTEGER NOT NULL,
    emails_used INTEGER NOT NULL,
    updated_at DATETIME NOT NULL,
    CONSTRAINT pk_email_marketing_accounts PRIMARY KEY (user_id),
    CONSTRAINT ck_email_marketing_accounts_status CHECK (status IN ('ACTIVE','WARNED','SUSPENDED','BANNED','SUSPENDED_AUTOLIFT')),
    CONSTRAINT fk_email_marketing_accounts_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE email_subscriptions (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    email_address VARCHAR(255) NOT NULL,
    email_normalized VARCHAR(255) NOT NULL,
    subscription_status VARCHAR(16) NOT NULL,
    deliverability_status VARCHAR(16) NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    public_nonce VARCHAR(8) NOT NULL,
    legacy_links BOOLEAN NOT NULL,
    CONSTRAINT uq_email_subscriptions_owner_user_id_email_normalized UNIQUE (owner_user_id, email_normalized),
    CONSTRAINT ck_email_subscriptions_subscription_status CHECK (subscription_status IN ('NOT_SET','PENDING','SUBSCRIBED','UNSUBSCRIBED')),
    CONSTRAINT ck_email_subscriptions_deliverability_status CHECK (deliverability_status IN ('NOT_SET','VALID','BOUNCED','SPAM_COMPLAINT','INACTIVE')),
    CONSTRAINT fk_email_subscriptions_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_email_subscriptions_email_normalized ON email_subscriptions (email_normalized);

CREATE TABLE email_templates (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    subject TEXT NOT NULL,
    html_content TEXT NOT NULL,
    plain_content TEXT NOT NULL,
    thumbnail_path VARCHAR(1000) NOT NULL,
    access_type VARCHAR(8) NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    CONSTRAINT ck_email_templates_access_type CHECK (access_type IN ('Public','Private')),
    CONSTRAINT fk_email_templates_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_email_templates_owner_user_id ON email_templates (owner_user_id);

CREATE TABLE emails (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    email_name VARCHAR(255) NOT NULL,
    mode VARCHAR(16) NOT NULL,
    template_id INTEGER NOT NULL,
    is_email_template BOOLEAN NOT NULL,
    content_type VARCHAR(8),
    from_name VARCHAR(255) NOT NULL,
    from_email VARCHAR(255) NOT NULL,
    reply_to_name VARCHAR(255) NOT NULL,
    reply_to_email VARCHAR(255) NOT NULL,
    subject TEXT NOT NULL,
    pre_header_text TEXT NOT NULL,
    html_content TEXT NOT NULL,
    plain_content TEXT NOT NULL,
    extra_content1 TEXT NOT NULL,
    extra_content2 TEXT NOT NULL,
    fetch_url TEXT NOT NULL,
    fetch_plain_url TEXT NOT NULL,
    image_embedding BOOLEAN NOT NULL,
    plain_content_auto_convert BOOLEAN NOT NULL,
    subject_set_to_title_element BOOLEAN NOT NULL,
    open_tracking BOOLEAN NOT NULL,
    link_tracking BOOLEAN NOT NULL,
    utm_tracking BOOLEAN NOT NULL,
    utm_source VARCHAR(255) NOT NULL,
    utm_medium VARCHAR(255) NOT NULL,
    utm_campaign VARCHAR(255) NOT NULL,
    utm_term VARCHAR(255) NOT NULL,
    utm_content VARCHAR(255) NOT NULL,
    utm_merge_tags BOOLEAN NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    CONSTRAINT ck_emails_mode CHECK (mode IN ('Editor','Stripo','Unlayer','Empty','Template','Import')),
    CONSTRAINT fk_emails_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_emails_owner_user_id ON emails (owner_user_id);

CREATE TABLE journey_exports (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    status VARCHAR(12) NOT NULL,
    options TEXT NOT NULL,
    content TEXT NOT NULL,
    error TEXT NOT NULL,
    submitted_at DATETIME NOT NULL,
    started_at DATETIME,
    updated_at DATETIME NOT NULL,
    finished_at DATETIME,
    expires_at DATETIME NOT NULL,
    download_size INTEGER NOT NULL,
    CONSTRAINT ck_journey_exports_status CHECK (status IN ('Pending','Processing','Completed','Failed')),
    CONSTRAINT fk_journey_exports_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_journey_exports_owner_user_id ON journey_exports (owner_user_id);

CREATE INDEX ix_journey_exports_status ON journey_exports (status, id);

CREATE TABLE journeys (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    notes TEXT NOT NULL,
    "trigger" VARCHAR(40) NOT NULL,
    trigger_list_id INTEGER NOT NULL,
    trigger_email_id INTEGER NOT NULL,
    trigger_value VARCHAR(255) NOT NULL,
    trigger_parameters TEXT NOT NULL,
    trigger_criteria TEXT NOT NULL,
    run_criteria TEXT NOT NULL,
    run_criteria_operator VARCHAR(3) NOT NULL,
    rate_limit_per_hour INTEGER NOT NULL,
    rate_limit_per_day INTEGER NOT NULL,
    status VARCHAR(8) NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    enabled_at DATETIME,
    last_pull_at DATETIME,
    CONSTRAINT ck_journeys_status CHECK (status IN ('Enabled','Disabled')),
    CONSTRAINT ck_journeys_run_criteria_operator CHECK (run_criteria_operator IN ('and','or')),
    CONSTRAINT fk_journeys_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_journeys_owner_trigger_status ON journeys (owner_user_id, "trigger", status);

CREATE INDEX ix_journeys_owner_user_id ON journeys (owner_user_id);

CREATE TABLE outbox_events (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    event_id VARCHAR(36) NOT NULL,
    owner_user_id INTEGER NOT NULL,
    entity_fqdn VARCHAR(128) NOT NULL,
    slug VARCHAR(64) NOT NULL,
    entity_id VARCHAR(64) NOT NULL,
    payload TEXT NOT NULL,
    occurred_at DATETIME NOT NULL,
    CONSTRAINT uq_outbox_events_event_id UNIQUE (event_id),
    CONSTRAINT fk_outbox_events_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_outbox_events_owner_id ON outbox_events (owner_user_id, id);

CREATE TABLE sender_details (
    user_id INTEGER NOT NULL,
    from_name VARCHAR(100) NOT NULL,
    from_email VARCHAR(254) NOT NULL,
    updated_at DATETIME NOT NULL,
    CONSTRAINT pk_sender_details PRIMARY KEY (user_id),
    CONSTRAINT fk_sender_details_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE sender_emails (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    email_address VARCHAR(254) NOT NULL,
    email_normalized VARCHAR(254) NOT NULL,
    verified BOOLEAN NOT NULL,
    verified_at DATETIME,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    code_digest VARCHAR(64),
    code_expires_at DATETIME,
    code_attempts INTEGER NOT NULL,
    code_sent_at DATETIME,
    codes_window_start DATETIME,
    codes_in_window INTEGER NOT NULL,
    CONSTRAINT uq_sender_emails_owner_user_id_email_normalized UNIQUE (owner_user_id, email_normalized),
    CONSTRAINT fk_sender_emails_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_sender_emails_owner_user_id ON sender_emails (owner_user_id);

CREATE TABLE tags (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    public_nonce VARCHAR(8) DEFAULT '' NOT NULL,
    CONSTRAINT uq_tags_owner_user_id_name UNIQUE (owner_user_id, name),
    CONSTRAINT fk_tags_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE test_sends (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    email_id INTEGER,
    campaign_id INTEGER,
    recipient VARCHAR(255) NOT NULL,
    sent_at DATETIME NOT NULL,
    CONSTRAINT fk_test_sends_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_test_sends_owner_sent ON test_sends (owner_user_id, sent_at);

CREATE TABLE automated_report_runs (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    state VARCHAR(16) NOT NULL,
    detail TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT uq_automated_report_runs_report_id_period_start_period_end UNIQUE (report_id, period_start, period_end),
    CONSTRAINT fk_automated_report_runs_report_id_automated_reports FOREIGN KEY(report_id) REFERENCES automated_reports (id) ON DELETE CASCADE
);

CREATE TABLE campaigns (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    status VARCHAR(32) NOT NULL,
    status_reason VARCHAR(64) NOT NULL,
    email_id INTEGER,
    original_campaign_id INTEGER NOT NULL,
    schedule_type VARCHAR(16) NOT NULL,
    send_date DATE,
    send_time VARCHAR(8) NOT NULL,
    send_timezone VARCHAR(128) NOT NULL,
    schedule_rec_days_of_week VARCHAR(64) NOT NULL,
    schedule_rec_days_of_month VARCHAR(128) NOT NULL,
    schedule_rec_months VARCHAR(64) NOT NULL,
    schedule_rec_hours VARCHAR(128) NOT NULL,
    schedule_rec_minutes VARCHAR(255) NOT NULL,
    schedule_rec_send_max_instance INTEGER,
    schedule_rec_sent_instances INTEGER NOT NULL,
    next_send_at DATETIME,
    approval_user_explanation TEXT NOT NULL,
    google_analytics_domains TEXT NOT NULL,
    publish_on_rss VARCHAR(16) NOT NULL,
    s2s_enabled BOOLEAN NOT NULL,
    rules_json_bundle TEXT NOT NULL,
    approved_content VARCHAR(64) NOT NULL,
    approved_setup VARCHAR(64) NOT NULL,
    created_at DATETIME NOT NULL,
    last_activity_at DATETIME NOT NULL,
    send_process_started_on DATETIME,
    send_process_finished_on DATETIME,
    total_recipients INTEGER NOT NULL,
    total_sent INTEGER NOT NULL,
    total_failed INTEGER NOT NULL,
    total_delivered INTEGER NOT NULL,
    total_opens INTEGER NOT NULL,
    unique_opens INTEGER NOT NULL,
    total_clicks INTEGER NOT NULL,
    unique_clicks INTEGER NOT NULL,
    total_forwards INTEGER NOT NULL,
    unique_forwards INTEGER NOT NULL,
    total_views_on_browser INTEGER NOT NULL,
    unique_views_on_browser INTEGER NOT NULL,
    total_unsubscriptions INTEGER NOT NULL,
    total_hard_bounces INTEGER NOT NULL,
    total_soft_bounces INTEGER NOT NULL,
    total_complaints INTEGER NOT NULL,
    public_nonce VARCHAR(8) NOT NULL,
    legacy_links BOOLEAN NOT NULL,
    CONSTRAINT ck_campaigns_status CHECK (status IN ('Draft','Ready','Sending','Paused','Pending Approval','Sent','Failed')),
    CONSTRAINT ck_campaigns_schedule_type CHECK (schedule_type IN ('Not Scheduled','Immediate','Future','Recursive')),
    CONSTRAINT fk_campaigns_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_campaigns_email_id_emails FOREIGN KEY(email_id) REFERENCES emails (id) ON DELETE SET NULL
);

CREATE INDEX ix_campaigns_email_id ON campaigns (email_id);

CREATE INDEX ix_campaigns_next_send_at ON campaigns (next_send_at);

CREATE INDEX ix_campaigns_owner_user_id ON campaigns (owner_user_id);

CREATE INDEX ix_campaigns_status ON campaigns (status);

CREATE TABLE journey_actions (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    journey_id INTEGER NOT NULL,
    parent_action_id INTEGER NOT NULL,
    branch VARCHAR(8) NOT NULL,
    order_no INTEGER NOT NULL,
    action VARCHAR(32) NOT NULL,
    parameters TEXT NOT NULL,
    published BOOLEAN NOT NULL,
    notes TEXT NOT NULL,
    next_action_id INTEGER NOT NULL,
    true_action_id INTEGER NOT NULL,
    false_action_id INTEGER NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT ck_journey_actions_branch CHECK (branch IN ('','True','False','Yes','No')),
    CONSTRAINT fk_journey_actions_journey_id_journeys FOREIGN KEY(journey_id) REFERENCES journeys (id) ON DELETE CASCADE
);

CREATE INDEX ix_journey_actions_journey_parent ON journey_actions (journey_id, parent_action_id, branch, order_no);

CREATE TABLE journey_enrollments (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    journey_id INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL,
    list_id INTEGER NOT NULL,
    run_no INTEGER NOT NULL,
    state VARCHAR(12) NOT NULL,
    current_action_id INTEGER NOT NULL,
    due_at DATETIME NOT NULL,
    step_seq INTEGER NOT NULL,
    claim VARCHAR(32),
    created_at DATETIME NOT NULL,
    finished_at DATETIME,
    CONSTRAINT uq_journey_enrollments_subscriber_id_journey_id_run_no UNIQUE (subscriber_id, journey_id, run_no),
    CONSTRAINT ck_journey_enrollments_state CHECK (state IN ('active','completed','exited')),
    CONSTRAINT fk_journey_enrollments_journey_id_journeys FOREIGN KEY(journey_id) REFERENCES journeys (id) ON DELETE CASCADE
);

CREATE INDEX ix_journey_enrollments_action_due ON journey_enrollments (current_action_id, due_at, id);

CREATE INDEX ix_journey_enrollments_claim ON journey_enrollments (claim) WHERE claim IS NOT NULL;

CREATE INDEX ix_journey_enrollments_journey_state ON journey_enrollments (journey_id, state, created_at);

CREATE TABLE subscriber_lists (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    opt_in_mode VARCHAR(8) NOT NULL,
    opt_in_confirmation_email_id INTEGER,
    opt_in_subscribe_to_list_id INTEGER,
    opt_in_unsubscribe_from_list_id INTEGER,
    opt_out_subscribe_to_list_id INTEGER,
    opt_out_unsubscribe_from_list_id INTEGER,
    opt_out_scope VARCHAR(16) NOT NULL,
    opt_out_add_to_suppression_list BOOLEAN NOT NULL,
    opt_out_add_to_global_suppression_list BOOLEAN NOT NULL,
    hide_in_subscriber_area BOOLEAN NOT NULL,
    send_service_integration_failed_notification BOOLEAN NOT NULL,
    send_activity_notification BOOLEAN NOT NULL,
    sender_name VARCHAR(255) NOT NULL,
    sender_email_address VARCHAR(255) NOT NULL,
    sender_company VARCHAR(255) NOT NULL,
    sender_address TEXT NOT NULL,
    subscription_confirmation_pending_page_url TEXT NOT NULL,
    subscription_confirmed_page_url TEXT NOT NULL,
    subscription_error_page_url TEXT NOT NULL,
    unsubscription_confirmed_page_url TEXT NOT NULL,
    unsubscription_error_page_url TEXT NOT NULL,
    req_by_email_search_to_address VARCHAR(255) NOT NULL,
    req_by_email_subscription_command VARCHAR(255) NOT NULL,
    req_by_email_unsubscription_command VARCHAR(255) NOT NULL,
    options TEXT NOT NULL,
    updated_at DATETIME,
    archived_at DATETIME,
    CONSTRAINT ck_subscriber_lists_opt_in_mode CHECK (opt_in_mode IN ('Single','Double')),
    CONSTRAINT ck_subscriber_lists_opt_out_scope CHECK (opt_out_scope IN ('This list','All lists')),
    CONSTRAINT fk_subscriber_lists_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_subscriber_lists_opt_in_confirmation_email_id_emails FOREIGN KEY(opt_in_confirmation_email_id) REFERENCES emails (id) ON DELETE SET NULL,
    CONSTRAINT fk_subscriber_lists_opt_in_subscribe_to_list_id_subscriber_lists FOREIGN KEY(opt_in_subscribe_to_list_id) REFERENCES subscriber_lists (id) ON DELETE SET NULL,
    CONSTRAINT fk_subscriber_lists_opt_in_unsubscribe_from_list_id_subscriber_lists FOREIGN KEY(opt_in_unsubscribe_from_list_id) REFERENCES subscriber_lists (id) ON DELETE SET NULL,
    CONSTRAINT fk_subscriber_lists_opt_out_subscribe_to_list_id_subscriber_lists FOREIGN KEY(opt_out_subscribe_to_list_id) REFERENCES subscriber_lists (id) ON DELETE SET NULL,
    CONSTRAINT fk_subscriber_lists_opt_out_unsubscribe_from_list_id_subscriber_lists FOREIGN KEY(opt_out_unsubscribe_from_list_id) REFERENCES subscriber_lists (id) ON DELETE SET NULL
);

CREATE INDEX ix_subscriber_lists_owner_user_id ON subscriber_lists (owner_user_id);

CREATE TABLE campaign_recipients (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    list_id INTEGER NOT NULL,
    segment_id INTEGER NOT NULL,
    excluded BOOLEAN NOT NULL,
    CONSTRAINT uq_campaign_recipients_campaign_id_list_id_segment_id_excluded UNIQUE (campaign_id, list_id, segment_id, excluded),
    CONSTRAINT fk_campaign_recipients_campaign_id_campaigns FOREIGN KEY(campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE,
    CONSTRAINT fk_campaign_recipients_list_id_subscriber_lists FOREIGN KEY(list_id) REFERENCES subscriber_lists (id) ON DELETE CASCADE
);

CREATE INDEX ix_campaign_recipients_list_id ON campaign_recipients (list_id);

CREATE TABLE campaign_tags (
    campaign_id INTEGER NOT NULL,
    tag_id INTEGER NOT NULL,
    CONSTRAINT pk_campaign_tags PRIMARY KEY (campaign_id, tag_id),
    CONSTRAINT fk_campaign_tags_campaign_id_campaigns FOREIGN KEY(campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE,
    CONSTRAINT fk_campaign_tags_tag_id_tags FOREIGN KEY(tag_id) REFERENCES tags (id) ON DELETE CASCADE
);

CREATE INDEX ix_campaign_tags_tag_id ON campaign_tags (tag_id);

CREATE TABLE campaign_variations (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    email_id INTEGER NOT NULL,
    weight INTEGER NOT NULL,
    position INTEGER NOT NULL,
    CONSTRAINT uq_campaign_variations_campaign_id_position UNIQUE (campaign_id, position),
    CONSTRAINT uq_campaign_variations_campaign_id_email_id UNIQUE (campaign_id, email_id),
    CONSTRAINT ck_campaign_variations_weight CHECK (weight > 0),
    CONSTRAINT fk_campaign_variations_campaign_id_campaigns FOREIGN KEY(campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE,
    CONSTRAINT fk_campaign_variations_email_id_emails FOREIGN KEY(email_id) REFERENCES emails (id) ON DELETE CASCADE
);

CREATE INDEX ix_campaign_variations_email_id ON campaign_variations (email_id);

CREATE TABLE custom_fields (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    list_id INTEGER,
    name VARCHAR(255) NOT NULL,
    field_type VARCHAR(32) NOT NULL,
    default_value TEXT NOT NULL,
    options TEXT NOT NULL,
    validation_method VARCHAR(32) NOT NULL,
    validation_rule TEXT NOT NULL,
    is_required BOOLEAN NOT NULL,
    is_unique BOOLEAN NOT NULL,
    visibility VARCHAR(16) NOT NULL,
    merge_tag_alias VARCHAR(255) NOT NULL,
    years VARCHAR(16) NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT fk_custom_fields_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_custom_fields_list_id_subscriber_lists FOREIGN KEY(list_id) REFERENCES subscriber_lists (id) ON DELETE CASCADE
);

CREATE INDEX ix_custom_fields_list_id ON custom_fields (list_id);

CREATE INDEX ix_custom_fields_owner_user_id ON custom_fields (owner_user_id);

CREATE TABLE export_jobs (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    module VARCHAR(32) NOT NULL,
    list_id INTEGER,
    options TEXT NOT NULL,
    file_format VARCHAR(8) NOT NULL,
    row_count INTEGER NOT NULL,
    submitted_at DATETIME NOT NULL,
    finished_at DATETIME,
    expires_at DATETIME NOT NULL,
    CONSTRAINT ck_export_jobs_module CHECK (module IN ('SubscriberExport','CampaignExport')),
    CONSTRAINT fk_export_jobs_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_export_jobs_list_id_subscriber_lists FOREIGN KEY(list_id) REFERENCES subscriber_lists (id) ON DELETE CASCADE
);

CREATE INDEX ix_export_jobs_owner_list ON export_jobs (owner_user_id, list_id);

CREATE TABLE import_jobs (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    list_id INTEGER NOT NULL,
    status VARCHAR(16) NOT NULL,
    options TEXT NOT NULL,
    header TEXT NOT NULL,
    upload_bytes BIGINT NOT NULL,
    cursor INTEGER NOT NULL,
    watermark BIGINT NOT NULL,
    total_rows INTEGER NOT NULL,
    imported INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    failures TEXT NOT NULL,
    error TEXT NOT NULL,
    lease_holder VARCHAR(64) NOT NULL,
    lease_until DATETIME,
    created_at DATETIME NOT NULL,
    finished_at DATETIME,
    CONSTRAINT fk_import_jobs_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_import_jobs_list_id_subscriber_lists FOREIGN KEY(list_id) REFERENCES subscriber_lists (id) ON DELETE CASCADE
);

CREATE INDEX ix_import_jobs_list_id ON import_jobs (list_id);

CREATE INDEX ix_import_jobs_owner_user_id ON import_jobs (owner_user_id);

CREATE INDEX ix_import_jobs_status_id ON import_jobs (status, id);

CREATE TABLE segments (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    list_id INTEGER NOT NULL,
    owner_user_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    rules_json TEXT NOT NULL,
    rules_operator VARCHAR(8) NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT fk_segments_list_id_subscriber_lists FOREIGN KEY(list_id) REFERENCES subscriber_lists (id) ON DELETE CASCADE,
    CONSTRAINT fk_segments_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_segments_list_id ON segments (list_id);

CREATE INDEX ix_segments_owner_user_id ON segments (owner_user_id);

CREATE TABLE send_instances (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    scheduled_for DATETIME NOT NULL,
    started_at DATETIME NOT NULL,
    finished_at DATETIME,
    state VARCHAR(16) NOT NULL,
    total_recipients INTEGER NOT NULL,
    CONSTRAINT uq_send_instances_campaign_id_number UNIQUE (campaign_id, number),
    CONSTRAINT ck_send_instances_state CHECK (state IN ('queued','sending','done','canceled')),
    CONSTRAINT fk_send_instances_campaign_id_campaigns FOREIGN KEY(campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE
);

CREATE INDEX ix_send_instances_state_campaign ON send_instances (state, campaign_id);

CREATE TABLE split_tests (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    test_size INTEGER NOT NULL,
    test_duration INTEGER NOT NULL,
    winner_criterion VARCHAR(32) NOT NULL,
    seed INTEGER NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT ck_split_tests_winner_criterion CHECK (winner_criterion IN ('Highest Open Rate','Most Unique Clicks')),
    CONSTRAINT ck_split_tests_test_size CHECK (test_size BETWEEN 1 AND 100),
    CONSTRAINT uq_split_tests_campaign_id UNIQUE (campaign_id),
    CONSTRAINT fk_split_tests_campaign_id_campaigns FOREIGN KEY(campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE
);

CREATE TABLE subscriber_tags (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    list_id INTEGER NOT NULL,
    owner_user_id INTEGER NOT NULL,
    name VARCHAR(250) NOT NULL,
    name_digest VARCHAR(64) NOT NULL,
    description TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT uq_subscriber_tags_list_id_name_digest UNIQUE (list_id, name_digest),
    CONSTRAINT fk_subscriber_tags_list_id_subscriber_lists FOREIGN KEY(list_id) REFERENCES subscriber_lists (id) ON DELETE CASCADE,
    CONSTRAINT fk_subscriber_tags_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_subscriber_tags_owner_user_id ON subscriber_tags (owner_user_id);

CREATE TABLE subscribers (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    list_id INTEGER NOT NULL,
    email_address VARCHAR(255) NOT NULL,
    email_normalized VARCHAR(255) NOT NULL,
    subscription_status VARCHAR(16) NOT NULL,
    bounce_type VARCHAR(16) NOT NULL,
    soft_bounce_count INTEGER NOT NULL,
    subscription_date DATETIME NOT NULL,
    subscription_ip VARCHAR(64) NOT NULL,
    opt_in_date DATETIME,
    unsubscription_date DATETIME,
    unsubscription_ip VARCHAR(64) NOT NULL,
    complained_at DATETIME,
    unsubscription_campaign_id INTEGER NOT NULL,
    unsubscription_email_id INTEGER NOT NULL,
    unsubscription_channel VARCHAR(64) NOT NULL,
    source VARCHAR(16) NOT NULL,
    source_ref VARCHAR(64) NOT NULL,
    confirmation_due_at DATETIME,
    public_nonce VARCHAR(8) NOT NULL,
    legacy_links BOOLEAN NOT NULL,
    CONSTRAINT uq_subscribers_list_id_email_normalized UNIQUE (list_id, email_normalized),
    CONSTRAINT ck_subscribers_subscription_status CHECK (subscription_status IN ('Subscribed','Unsubscribed','Opt-In Pending')),
    CONSTRAINT ck_subscribers_bounce_type CHECK (bounce_type IN ('Not Bounced','Soft','Hard')),
    CONSTRAINT fk_subscribers_list_id_subscriber_lists FOREIGN KEY(list_id) REFERENCES subscriber_lists (id) ON DELETE CASCADE
);

CREATE INDEX ix_subscribers_confirmation_due_at ON subscribers (confirmation_due_at);

CREATE INDEX ix_subscribers_email_normalized ON subscribers (email_normalized);

CREATE INDEX ix_subscribers_list_email_lower ON subscribers (list_id, lower(email_address), id);

CREATE INDEX ix_subscribers_list_status ON subscribers (list_id, subscription_status);

CREATE TABLE suppressions (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    list_id INTEGER,
    list_scope INTEGER NOT NULL,
    email_address VARCHAR(255) NOT NULL,
    email_normalized VARCHAR(255) NOT NULL,
    source VARCHAR(32) NOT NULL,
    reason TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT uq_suppressions_owner_user_id_list_scope_email_normalized UNIQUE (owner_user_id, list_scope, email_normalized),
    CONSTRAINT ck_suppressions_source CHECK (source IN ('Administrator','User','SPAM complaint','Hard Bounced','Unsubscribe')),
    CONSTRAINT fk_suppressions_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_suppressions_list_id_subscriber_lists FOREIGN KEY(list_id) REFERENCES subscriber_lists (id) ON DELETE CASCADE
);

CREATE INDEX ix_suppressions_email_normalized ON suppressions (email_normalized);

CREATE TABLE webhook_endpoints (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    url VARCHAR(2000) NOT NULL,
    secret VARCHAR(64) NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    active_since DATETIME NOT NULL,
    fanned_out_to BIGINT NOT NULL,
    list_id INTEGER,
    CONSTRAINT fk_webhook_endpoints_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_webhook_endpoints_list_id_subscriber_lists FOREIGN KEY(list_id) REFERENCES subscriber_lists (id) ON DELETE CASCADE
);

CREATE INDEX ix_webhook_endpoints_list_id ON webhook_endpoints (list_id);

CREATE INDEX ix_webhook_endpoints_owner_user_id ON webhook_endpoints (owner_user_id, id);

CREATE TABLE autoresponders (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER NOT NULL,
    list_id INTEGER NOT NULL,
    segment_id INTEGER,
    email_id INTEGER,
    name VARCHAR(255) NOT NULL,
    trigger_type VARCHAR(40) NOT NULL,
    trigger_value VARCHAR(1000) NOT NULL,
    trigger_value2 VARCHAR(255) NOT NULL,
    trigger_time_type VARCHAR(16) NOT NULL,
    trigger_time INTEGER NOT NULL,
    repeat_status VARCHAR(8),
    repeat_count INTEGER NOT NULL,
    repeat_interval INTEGER NOT NULL,
    repeat_unit VARCHAR(1) NOT NULL,
    status VARCHAR(8) NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    enabled_at DATETIME,
    total_sent INTEGER NOT NULL,
    total_delivered INTEGER NOT NULL,
    total_failed INTEGER NOT NULL,
    total_opens INTEGER NOT NULL,
    unique_opens INTEGER NOT NULL,
    total_clicks INTEGER NOT NULL,
    unique_clicks INTEGER NOT NULL,
    total_conversions INTEGER NOT NULL,
    unique_conversions INTEGER NOT NULL,
    total_forwards INTEGER NOT NULL,
    unique_forwards INTEGER NOT NULL,
    total_views_on_browser INTEGER NOT NULL,
    unique_views_on_browser INTEGER NOT NULL,
    total_unsubscriptions INTEGER NOT NULL,
    total_hard_bounces INTEGER NOT NULL,
    total_soft_bounces INTEGER NOT NULL,
    total_revenue NUMERIC(14, 2) NOT NULL,
    CONSTRAINT ck_autoresponders_trigger_type CHECK (trigger_type IN ('OnSubscription','OnSubscriberLinkClick','OnSubscriberCampaignOpen','OnSubscriberCampaignConversion','OnSubscriberForwardToFriend','OnSubscriberDate')),
    CONSTRAINT ck_autoresponders_trigger_time_type CHECK (trigger_time_type IN ('Immediately','Seconds later','Minutes later','Hours later','Days later','Weeks later','Months later')),
    CONSTRAINT ck_autoresponders_status CHECK (status IN ('Enabled','Disabled')),
    CONSTRAINT ck_autoresponders_repeat_unit CHECK (repeat_unit IN ('','H','D','W','M')),
    CONSTRAINT fk_autoresponders_owner_user_id_users FOREIGN KEY(owner_user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_autoresponders_list_id_subscriber_lists FOREIGN KEY(list_id) REFERENCES subscriber_lists (id) ON DELETE CASCADE,
    CONSTRAINT fk_autoresponders_segment_id_segments FOREIGN KEY(segment_id) REFERENCES segments (id) ON DELETE SET NULL,
    CONSTRAINT fk_autoresponders_email_id_emails FOREIGN KEY(email_id) REFERENCES emails (id) ON DELETE SET NULL
);

CREATE INDEX ix_autoresponders_email_id ON autoresponders (email_id);

CREATE INDEX ix_autoresponders_list_trigger_status ON autoresponders (list_id, trigger_type, status);

CREATE INDEX ix_autoresponders_owner_user_id ON autoresponders (owner_user_id);

CREATE INDEX ix_autoresponders_segment_id ON autoresponders (segment_id);

CREATE TABLE import_upload_chunks (
    job_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    CONSTRAINT pk_import_upload_chunks PRIMARY KEY (job_id, seq),
    CONSTRAINT fk_import_upload_chunks_job_id_import_jobs FOREIGN KEY(job_id) REFERENCES import_jobs (id) ON DELETE CASCADE
);

CREATE TABLE split_test_decisions (
    instance_id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    winner_criterion VARCHAR(32) NOT NULL,
    test_ends_at DATETIME NOT NULL,
    winner_email_id INTEGER,
    decided_at DATETIME,
    CONSTRAINT pk_split_test_decisions PRIMARY KEY (instance_id),
    CONSTRAINT fk_split_test_decisions_instance_id_send_instances FOREIGN KEY(instance_id) REFERENCES send_instances (id) ON DELETE CASCADE,
    CONSTRAINT fk_split_test_decisions_campaign_id_campaigns FOREIGN KEY(campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE
);

CREATE INDEX ix_split_test_decisions_campaign_id ON split_test_decisions (campaign_id);

CREATE INDEX ix_split_test_decisions_test_ends_at ON split_test_decisions (test_ends_at);

CREATE TABLE subscriber_activity (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    subscriber_id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    email_id INTEGER,
    kind VARCHAR(16) NOT NULL,
    link_url TEXT NOT NULL,
    occurred_at DATETIME NOT NULL,
    CONSTRAINT ck_subscriber_activity_kind CHECK (kind IN ('queued','sent','failed','open','click','unsubscribe','complaint','bounce')),
    CONSTRAINT fk_subscriber_activity_subscriber_id_subscribers FOREIGN KEY(subscriber_id) REFERENCES subscribers (id) ON DELETE CASCADE,
    CONSTRAINT fk_subscriber_activity_campaign_id_campaigns FOREIGN KEY(campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE
);

CREATE INDEX ix_subscriber_activity_campaign_kind ON subscriber_activity (campaign_id, kind);

CREATE INDEX ix_subscriber_activity_subscriber_kind_time ON subscriber_activity (subscriber_id, kind, occurred_at);

CREATE TABLE subscriber_field_values (
    subscriber_id INTEGER NOT NULL,
    field_id INTEGER NOT NULL,
    value_text VARCHAR(1000) NOT NULL,
    value_number NUMERIC(20, 6),
    value_date DATETIME,
    CONSTRAINT pk_subscriber_field_values PRIMARY KEY (subscriber_id, field_id),
    CONSTRAINT fk_subscriber_field_values_subscriber_id_subscribers FOREIGN KEY(subscriber_id) REFERENCES subscribers (id) ON DELETE CASCADE,
    CONSTRAINT fk_subscriber_field_values_field_id_custom_fields FOREIGN KEY(field_id) REFERENCES custom_fields (id) ON DELETE CASCADE
);

CREATE INDEX ix_field_values_field_date ON subscriber_field_values (field_id, value_date);

CREATE INDEX ix_field_values_field_number ON subscriber_field_values (field_id, value_number);

CREATE INDEX ix_field_values_field_text ON subscriber_field_values (field_id, value_text);

CREATE TABLE subscriber_tag_assignments (
    subscriber_id INTEGER NOT NULL,
    tag_id INTEGER NOT NULL,
    tagged_at DATETIME NOT NULL,
    CONSTRAINT pk_subscriber_tag_assignments PRIMARY KEY (subscriber_id, tag_id),
    CONSTRAINT fk_subscriber_tag_assignments_subscriber_id_subscribers FOREIGN KEY(subscriber_id) REFERENCES subscribers (id) ON DELETE CASCADE,
    CONSTRAINT fk_subscriber_tag_assignments_tag_id_subscriber_tags FOREIGN KEY(tag_id) REFERENCES subscriber_tags (id) ON DELETE CASCADE
);

CREATE INDEX ix_subscriber_tag_assignments_tag_id ON subscriber_tag_assignments (tag_id);

CREATE TABLE webhook_deliveries (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    event_id INTEGER NOT NULL,
    endpoint_id INTEGER NOT NULL,
    state VARCHAR(16) NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at DATETIME NOT NULL,
    lease_until DATETIME,
    claim VARCHAR(32) NOT NULL,
    last_status_code INTEGER,
    last_error VARCHAR(1000) NOT NULL,
    delivered_at DATETIME,
    created_at DATETIME NOT NULL,
    CONSTRAINT uq_webhook_deliveries_event_id_endpoint_id UNIQUE (event_id, endpoint_id),
    CONSTRAINT ck_webhook_deliveries_state CHECK (state IN ('pending','sending','delivered','failed')),
    CONSTRAINT fk_webhook_deliveries_event_id_outbox_events FOREIGN KEY(event_id) REFERENCES outbox_events (id) ON DELETE CASCADE,
    CONSTRAINT fk_webhook_deliveries_endpoint_id_webhook_endpoints FOREIGN KEY(endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE
);

CREATE INDEX ix_webhook_deliveries_endpoint_id ON webhook_deliveries (endpoint_id, id);

CREATE INDEX ix_webhook_deliveries_state_next_attempt_at ON webhook_deliveries (state, next_attempt_at);

CREATE TABLE webhook_event_types (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    endpoint_id INTEGER NOT NULL,
    event_type VARCHAR(200) NOT NULL,
    CONSTRAINT uq_webhook_event_types_endpoint_id_event_type UNIQUE (endpoint_id, event_type),
    CONSTRAINT fk_webhook_event_types_endpoint_id_webhook_endpoints FOREIGN KEY(endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE
);

CREATE TABLE autoresponder_sends (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    autoresponder_id INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL,
    email_address VARCHAR(255) NOT NULL,
    occurrence VARCHAR(40) NOT NULL,
    email_id INTEGER,
    due_at DATETIME NOT NULL,
    state VARCHAR(16) NOT NULL,
    lease_until DATETIME,
    worker VARCHAR(128) NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    sent_at DATETIME,
    message_id VARCHAR(255) NOT NULL,
    opens INTEGER NOT NULL,
    first_opened_at DATETIME,
    clicks INTEGER NOT NULL,
    first_clicked_at DATETIME,
    unsubscribed_at DATETIME,
    bounce_type VARCHAR(8) NOT NULL,
    bounced_at DATETIME,
    created_at DATETIME NOT NULL,
    CONSTRAINT uq_autoresponder_sends_autoresponder_id_subscriber_id_occurrence UNIQUE (autoresponder_id, subscriber_id, occurrence),
    CONSTRAINT ck_autoresponder_sends_state CHECK (state IN ('pending','claimed','sent','failed','unknown','skipped')),
    CONSTRAINT ck_autoresponder_sends_bounce_type CHECK (bounce_type IN ('','Soft','Hard')),
    CONSTRAINT fk_autoresponder_sends_autoresponder_id_autoresponders FOREIGN KEY(autoresponder_id) REFERENCES autoresponders (id) ON DELETE CASCADE
);

CREATE INDEX ix_autoresponder_sends_responder_due ON autoresponder_sends (autoresponder_id, due_at);

CREATE INDEX ix_autoresponder_sends_state_due ON autoresponder_sends (state, due_at);

-- 004: alerts. The state of every (rule, site, entity), the history of
-- their changes, the notices waiting to be grouped into mails, the mail
-- outbox (one row per envelope recipient), and silences.
--
-- A state change and the notice it must send are written in one
-- transaction; a notice becomes a mail in the outbox in another one, and
-- the mailer marks an outbox row sent only after the relay accepted it.

CREATE TABLE reach.alert_state (
    rule        text        NOT NULL,
    site        text        NOT NULL,
    entity      text        NOT NULL,  -- queue, mailbox or collector name
    status      text        NOT NULL,  -- inactive, pending, firing, resolved
    level       text        NOT NULL,  -- ok, warning, critical
    since       timestamptz,           -- when status or level last changed
    value       double precision,      -- the last value seen (NULL: none)
    flapping    boolean     NOT NULL DEFAULT false,
    insufficient boolean    NOT NULL DEFAULT false,
    silenced    boolean     NOT NULL DEFAULT false, -- at the last evaluation
    state       jsonb       NOT NULL,  -- the whole state machine (alertstate.c)
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule, site, entity)
);

-- Every transition, mailed or not: what reachctl alerts and the dashboard
-- show as recent alerts.
CREATE TABLE reach.alert_events (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL,
    rule        text        NOT NULL,
    site        text        NOT NULL,
    entity      text        NOT NULL,
    figure      text        NOT NULL,
    action      text        NOT NULL,  -- fire, escalate, deescalate, resolve, repeat,
                                       -- flapping_start, flapping_stop, insufficient
    level       text        NOT NULL,
    value       double precision,
    threshold   text,                  -- as configured, e.g. "< 85%"
    window_name text,                  -- "1h"; NULL for gauges
    quiet       text,                  -- why it was not mailed (NULL: mailed)
    notice_id   bigint                 -- its notice, when one was queued
);
CREATE INDEX alert_events_at_idx ON reach.alert_events (at);

-- Notices waiting to be gathered (group_wait) into one mail per recipients
-- group. mail_id is set when the notice went into the outbox.
CREATE TABLE reach.alert_notices (
    id          bigserial   PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    grp         text        NOT NULL,  -- [recipients "NAME"]
    rule        text        NOT NULL,
    site        text        NOT NULL,
    entity      text        NOT NULL,
    action      text        NOT NULL,
    level       text        NOT NULL,
    payload     jsonb       NOT NULL,  -- every template field (figure, value, ...)
    thread      text,                  -- Message-ID of the firing mail it follows
    mail_id     bigint
);
CREATE INDEX alert_notices_pending_idx ON reach.alert_notices (grp, id) WHERE mail_id IS NULL;

-- Mails composed from notices: one row per mail and envelope recipient,
-- sent in id order per recipient. message is the whole RFC 5322 text.
CREATE TABLE reach.alert_outbox (
    id          bigserial   PRIMARY KEY,
    mail_id     bigint      NOT NULL,  -- the same for every recipient of a mail
    created_at  timestamptz NOT NULL DEFAULT now(),
    grp         text        NOT NULL,
    rcpt        text        NOT NULL,
    message_id  text        NOT NULL,
    subject     text        NOT NULL,  -- decoded, for reachctl
    message     text        NOT NULL,
    digest      boolean     NOT NULL DEFAULT false,
    state       text        NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'sent', 'failed')),
    attempts    integer     NOT NULL DEFAULT 0,
    next_try_at timestamptz NOT NULL DEFAULT now(),
    last_code   integer,
    last_reply  text,
    sent_at     timestamptz,
    UNIQUE (mail_id, rcpt)
);
CREATE INDEX alert_outbox_queued_idx ON reach.alert_outbox (rcpt, id) WHERE state = 'queued';
CREATE SEQUENCE reach.alert_mail_seq;

CREATE TABLE reach.silences (
    id          bigserial   PRIMARY KEY,
    rule_glob   text        NOT NULL DEFAULT '*',
    scope_glob  text        NOT NULL DEFAULT '*',
    starts_at   timestamptz NOT NULL DEFAULT now(),
    until       timestamptz NOT NULL,
    reason      text        NOT NULL,
    created_by  text        NOT NULL DEFAULT current_user,
    created_at  timestamptz NOT NULL DEFAULT now(),
    removed_at  timestamptz,
    CHECK (until > starts_at)
);

-- The alerts people look at: every alert not inactive.
CREATE VIEW reach.alerts AS
SELECT rule, site, entity, status, level, since, value, flapping, insufficient, silenced,
       updated_at
FROM reach.alert_state
WHERE status IN ('pending', 'firing') OR flapping OR insufficient;

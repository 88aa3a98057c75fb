-- 001: telephony. One row per call (a caller's stint in a queue), minute/hour/day
-- aggregates, collector cursors, in-progress calls and kept source lines.
-- Applied by reachd at start-up inside a transaction, recorded in reach.schema_migrations.

CREATE TABLE reach.calls (
    site            text        NOT NULL,
    queue           text        NOT NULL,
    callid          text        NOT NULL,
    entered_at      timestamptz NOT NULL,
    ended_at        timestamptz NOT NULL,  -- the call is counted in this instant's bucket
    outcome         text        NOT NULL
                    CHECK (outcome IN ('answered', 'abandoned', 'timed_out', 'ivr_handled')),
    end_reason      text,                  -- source verb: COMPLETECALLER, EXITEMPTY, ...
    agent           text,
    wait_s          integer,               -- NULL when the source did not tell
    talk_s          integer,
    transferred     boolean     NOT NULL DEFAULT false,
    short_abandoned boolean     NOT NULL DEFAULT false,
    within_sl       boolean     NOT NULL DEFAULT false,
    collector       text        NOT NULL,
    PRIMARY KEY (site, queue, callid, entered_at)
);
CREATE INDEX calls_site_ended_idx ON reach.calls (site, ended_at);

-- Histograms are int arrays of the bins documented in docs/indicators.md.
CREATE FUNCTION reach.hist_add(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{}')
    FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;
CREATE AGGREGATE reach.hist_sum(integer[]) (
    SFUNC = reach.hist_add, STYPE = integer[], INITCOND = '{}'
);

-- Sums per site, queue and bucket (UTC); grain is minute, hour or day.
-- Rows are added to, only ever from calls that were really inserted.
CREATE TABLE reach.call_agg (
    site              text        NOT NULL,
    queue             text        NOT NULL,
    grain             text        NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
    bucket            timestamptz NOT NULL,
    offered           integer     NOT NULL DEFAULT 0,
    answered          integer     NOT NULL DEFAULT 0,
    abandoned         integer     NOT NULL DEFAULT 0,
    short_abandoned   integer     NOT NULL DEFAULT 0,
    timed_out         integer     NOT NULL DEFAULT 0,
    transferred       integer     NOT NULL DEFAULT 0,
    ivr_handled       integer     NOT NULL DEFAULT 0,
    sl_answered       integer     NOT NULL DEFAULT 0,  -- answered with wait <= service_level
    wait_answered_sum bigint      NOT NULL DEFAULT 0,  -- for asa_s
    wait_answered_n   integer     NOT NULL DEFAULT 0,
    talk_sum          bigint      NOT NULL DEFAULT 0,  -- for talk_avg_s
    talk_n            integer     NOT NULL DEFAULT 0,
    wait_hist         integer[]   NOT NULL DEFAULT '{}', -- answered + abandoned waits
    PRIMARY KEY (site, queue, grain, bucket)
);

-- Calls still waiting or talking when the cursor was committed: restored at
-- start-up so that a call whose ENTERQUEUE lies before the cursor is finished.
CREATE TABLE reach.call_open (
    site       text        NOT NULL,
    collector  text        NOT NULL,
    queue      text        NOT NULL,
    callid     text        NOT NULL,
    entered_at timestamptz NOT NULL,
    connected_at timestamptz,
    agent      text,
    wait_s     integer,
    PRIMARY KEY (site, collector, queue, callid, entered_at)
);

-- Where each collector stands in its source, and its running counters.
CREATE TABLE reach.cursors (
    site        text        NOT NULL,
    collector   text        NOT NULL,
    source      text        NOT NULL,
    dev         bigint      NOT NULL,
    ino         bigint      NOT NULL,
    "offset"    bigint      NOT NULL,
    fingerprint bigint      NOT NULL,
    source_size bigint      NOT NULL,
    lines_accepted bigint   NOT NULL DEFAULT 0,
    lines_rejected bigint   NOT NULL DEFAULT 0,
    lines_unknown  bigint   NOT NULL DEFAULT 0,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, collector)
);

-- Rejected and unknown lines, kept for inspection (first 4 KiB, as bytes).
CREATE TABLE reach.source_lines (
    site      text        NOT NULL,
    collector text        NOT NULL,
    dev       bigint      NOT NULL,
    ino       bigint      NOT NULL,
    "offset"  bigint      NOT NULL,
    kind      text        NOT NULL CHECK (kind IN ('rejected', 'unknown')),
    reason    text        NOT NULL,
    line      bytea       NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site, collector, dev, ino, "offset")
);

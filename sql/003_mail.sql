-- 003: functional mailboxes. One row per incoming message (site, mailbox,
-- Message-ID), minute/hour/day aggregates of what happened to them, and the
-- functions and views that turn those into the mail figures of INDICATORS.md.

CREATE TABLE reach.mails (
    site            text        NOT NULL,
    mailbox         text        NOT NULL,  -- the functional address
    msgid           text        NOT NULL,
    received_at     timestamptz NOT NULL,
    sender          text        NOT NULL,  -- envelope sender, '' for <>
    automatic       text,                  -- why it is automatic; NULL for a person's message
    rejected        boolean     NOT NULL DEFAULT false, -- refused or bounced by the MTA
    ack_at          timestamptz,           -- automatic acknowledgement within ack_window
    replied_at      timestamptz,           -- first human reply
    reply_route     text CHECK (reply_route IN ('thread', 'answered')),
    reply_delay_s   integer,
    reply_delay_business_s integer,
    within_target   boolean,
    closed_at       timestamptz,           -- deleted or filed away without a reply
    closed_how      text,
    collector       text        NOT NULL,
    PRIMARY KEY (site, mailbox, msgid)
);
CREATE INDEX mails_backlog_idx ON reach.mails (site, mailbox, received_at)
    WHERE replied_at IS NULL AND closed_at IS NULL AND automatic IS NULL AND NOT rejected;

-- Reply delays use their own bins (see docs/indicators.md): minutes up to an
-- hour, quarter-hours up to a day, hours up to 14 days, then one last bin.
CREATE FUNCTION reach.mhist_bin_low(bin integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN bin IS NULL THEN NULL
                WHEN bin < 60 THEN bin * 60
                WHEN bin < 152 THEN 3600 + (bin - 60) * 900
                WHEN bin < 464 THEN 86400 + (bin - 152) * 3600
                ELSE 1209600 END
$$;

CREATE FUNCTION reach.mhist_quantile(h integer[], pct integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT reach.mhist_bin_low(reach.hist_rank_bin(h, pct))
$$;

-- Each counter is dated at the moment it became known: received at receipt,
-- acknowledged at the acknowledgement, replied (and its delays) at the reply,
-- closed at closing.
CREATE TABLE reach.mail_agg (
    site            text        NOT NULL,
    mailbox         text        NOT NULL,
    grain           text        NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
    bucket          timestamptz NOT NULL,
    received        integer     NOT NULL DEFAULT 0,
    automatic       integer     NOT NULL DEFAULT 0,
    rejected        integer     NOT NULL DEFAULT 0,
    acknowledged    integer     NOT NULL DEFAULT 0,
    replied         integer     NOT NULL DEFAULT 0,
    within_target   integer     NOT NULL DEFAULT 0,
    closed          integer     NOT NULL DEFAULT 0,
    delay_sum       bigint      NOT NULL DEFAULT 0,
    delay_max       integer,
    delay_hist      integer[]   NOT NULL DEFAULT '{}',
    delay_business_sum bigint   NOT NULL DEFAULT 0,
    delay_business_max integer,
    delay_business_hist integer[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (site, mailbox, grain, bucket)
);

-- Summed counters for any minute-aligned period (see reach.period_grains).
CREATE FUNCTION reach.mail_sums(p_site text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (site text, mailbox text, received bigint, automatic bigint, rejected bigint,
               acknowledged bigint, replied bigint, within_target bigint, closed bigint,
               delay_sum bigint, delay_max integer, delay_hist integer[],
               delay_business_sum bigint, delay_business_max integer,
               delay_business_hist integer[])
LANGUAGE sql STABLE AS $$
    SELECT a.site, a.mailbox, sum(a.received)::bigint, sum(a.automatic)::bigint,
           sum(a.rejected)::bigint, sum(a.acknowledged)::bigint, sum(a.replied)::bigint,
           sum(a.within_target)::bigint, sum(a.closed)::bigint, sum(a.delay_sum)::bigint,
           max(a.delay_max), reach.hist_sum(a.delay_hist),
           sum(a.delay_business_sum)::bigint, max(a.delay_business_max),
           reach.hist_sum(a.delay_business_hist)
    FROM reach.mail_agg a
    JOIN reach.period_grains(p_from, p_to) g
      ON a.grain = g.grain AND a.bucket >= g.lo AND a.bucket < g.hi
     AND NOT (a.bucket >= g.skip_lo AND a.bucket < g.skip_hi)
    WHERE p_site IS NULL OR a.site = p_site
    GROUP BY a.site, a.mailbox
$$;

CREATE FUNCTION reach.mail_figures(
    received bigint, acknowledged bigint, replied bigint, within_target bigint,
    delay_sum bigint, delay_max integer, delay_hist integer[],
    delay_business_sum bigint, delay_business_max integer, delay_business_hist integer[],
    OUT ack_rate double precision, OUT replied_within_target double precision,
    OUT reply_delay_avg_s double precision, OUT reply_delay_p50_s integer,
    OUT reply_delay_p90_s integer, OUT reply_delay_max_s integer,
    OUT reply_delay_business_avg_s double precision, OUT reply_delay_business_p50_s integer,
    OUT reply_delay_business_p90_s integer, OUT reply_delay_business_max_s integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT acknowledged::float8 / nullif(received, 0),
           within_target::float8 / nullif(replied, 0),
           delay_sum::float8 / nullif(replied, 0),
           reach.mhist_quantile(delay_hist, 50), reach.mhist_quantile(delay_hist, 90),
           CASE WHEN replied > 0 THEN delay_max END,
           delay_business_sum::float8 / nullif(replied, 0),
           reach.mhist_quantile(delay_business_hist, 50),
           reach.mhist_quantile(delay_business_hist, 90),
           CASE WHEN replied > 0 THEN delay_business_max END
$$;

-- The backlog at an instant: messages received before it and, at that
-- instant, neither answered nor closed (so any past instant works too).
CREATE FUNCTION reach.mail_backlog(p_site text, p_at timestamptz)
RETURNS TABLE (site text, mailbox text, backlog bigint, oldest_received_at timestamptz,
               oldest_unanswered_s integer)
LANGUAGE sql STABLE AS $$
    SELECT m.site, m.mailbox, count(*), min(m.received_at),
           extract(epoch FROM p_at - min(m.received_at))::integer
    FROM reach.mails m
    WHERE (p_site IS NULL OR m.site = p_site) AND m.automatic IS NULL AND NOT m.rejected
      AND m.received_at < p_at
      AND (m.replied_at IS NULL OR m.replied_at >= p_at)
      AND (m.closed_at IS NULL OR m.closed_at >= p_at)
    GROUP BY m.site, m.mailbox
$$;

-- Every mail figure for a period per site and mailbox, with the backlog at
-- the end of the period: what reachctl, the Redis windows and the API read.
CREATE FUNCTION reach.mail_indicators(p_site text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (site text, mailbox text, received bigint, automatic bigint, rejected bigint,
               acknowledged bigint, ack_rate double precision, replied bigint,
               replied_within_target double precision, closed bigint,
               reply_delay_avg_s double precision, reply_delay_p50_s integer,
               reply_delay_p90_s integer, reply_delay_max_s integer,
               reply_delay_business_avg_s double precision,
               reply_delay_business_p50_s integer, reply_delay_business_p90_s integer,
               reply_delay_business_max_s integer, backlog bigint, oldest_unanswered_s integer)
LANGUAGE sql STABLE AS $$
    WITH s AS (SELECT * FROM reach.mail_sums(p_site, p_from, p_to)),
         b AS (SELECT * FROM reach.mail_backlog(p_site,
                   date_trunc('minute', p_to + interval '59.999999 seconds', 'UTC'))),
         j AS (
            SELECT coalesce(s.site, b.site) AS site, coalesce(s.mailbox, b.mailbox) AS mailbox,
                   coalesce(s.received, 0) AS received, coalesce(s.automatic, 0) AS automatic,
                   coalesce(s.rejected, 0) AS rejected,
                   coalesce(s.acknowledged, 0) AS acknowledged,
                   coalesce(s.replied, 0) AS replied,
                   coalesce(s.within_target, 0) AS within_target,
                   coalesce(s.closed, 0) AS closed, coalesce(s.delay_sum, 0) AS delay_sum,
                   s.delay_max, coalesce(s.delay_hist, '{}') AS delay_hist,
                   coalesce(s.delay_business_sum, 0) AS delay_business_sum,
                   s.delay_business_max,
                   coalesce(s.delay_business_hist, '{}') AS delay_business_hist,
                   coalesce(b.backlog, 0) AS backlog, b.oldest_unanswered_s
            FROM s FULL JOIN b ON s.site = b.site AND s.mailbox = b.mailbox
         )
    SELECT j.site, j.mailbox, j.received, j.automatic, j.rejected, j.acknowledged,
           f.ack_rate, j.replied, f.replied_within_target, j.closed,
           f.reply_delay_avg_s, f.reply_delay_p50_s, f.reply_delay_p90_s, f.reply_delay_max_s,
           f.reply_delay_business_avg_s, f.reply_delay_business_p50_s,
           f.reply_delay_business_p90_s, f.reply_delay_business_max_s,
           j.backlog, j.oldest_unanswered_s
    FROM j,
         LATERAL reach.mail_figures(j.received, j.acknowledged, j.replied, j.within_target,
             j.delay_sum, j.delay_max, j.delay_hist, j.delay_business_sum,
             j.delay_business_max, j.delay_business_hist) f
    ORDER BY j.site, j.mailbox
$$;

CREATE VIEW reach.mail_indicators_hourly AS
SELECT a.site, a.mailbox, a.bucket AS period_start, a.received, a.automatic, a.rejected,
       a.acknowledged, a.replied, a.closed, f.*
FROM reach.mail_agg a,
     LATERAL reach.mail_figures(a.received::bigint, a.acknowledged::bigint, a.replied::bigint,
         a.within_target::bigint, a.delay_sum, a.delay_max, a.delay_hist,
         a.delay_business_sum, a.delay_business_max, a.delay_business_hist) f
WHERE a.grain = 'hour';

CREATE VIEW reach.mail_indicators_daily AS
WITH d AS (
    SELECT a.site, a.mailbox,
           (a.bucket AT TIME ZONE coalesce(s.timezone, 'Europe/Paris'))::date AS period_start,
           sum(a.received) AS received, sum(a.automatic) AS automatic,
           sum(a.rejected) AS rejected, sum(a.acknowledged) AS acknowledged,
           sum(a.replied) AS replied, sum(a.within_target) AS within_target,
           sum(a.closed) AS closed, sum(a.delay_sum) AS delay_sum, max(a.delay_max) AS delay_max,
           reach.hist_sum(a.delay_hist) AS delay_hist,
           sum(a.delay_business_sum) AS delay_business_sum,
           max(a.delay_business_max) AS delay_business_max,
           reach.hist_sum(a.delay_business_hist) AS delay_business_hist
    FROM reach.mail_agg a LEFT JOIN reach.sites s USING (site)
    WHERE a.grain = 'hour'
    GROUP BY 1, 2, 3
)
SELECT d.site, d.mailbox, d.period_start, d.received::bigint, d.automatic::bigint,
       d.rejected::bigint, d.acknowledged::bigint, d.replied::bigint, d.closed::bigint, f.*
FROM d,
     LATERAL reach.mail_figures(d.received::bigint, d.acknowledged::bigint, d.replied::bigint,
         d.within_target::bigint, d.delay_sum::bigint, d.delay_max, d.delay_hist,
         d.delay_business_sum::bigint, d.delay_business_max, d.delay_business_hist) f;

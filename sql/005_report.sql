-- 005: the indicator report (reachctl report, the annual table of the
-- quality label): the label's figures per site, queue and mailbox for a
-- period, beside the same period one year earlier. Every figure comes from
-- reach.call_sums / reach.mail_sums and reach.call_figures /
-- reach.mail_figures, the code path of reach.call_indicators and
-- reach.mail_indicators, so a queue's figures here equal theirs.

-- The report's telephony figures for a period: one row per site and queue,
-- and one row per site (scope 'site', entity NULL) for all its queues.
CREATE FUNCTION reach.call_report(p_site text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (site text, scope text, entity text, offered bigint, answered bigint,
               ivr_handled bigint, answered_rate double precision,
               global_rate double precision, service_level double precision,
               asa_s double precision)
LANGUAGE sql STABLE AS $$
    WITH s AS (SELECT * FROM reach.call_sums(p_site, p_from, p_to)),
    e AS (
        SELECT s.site, 'queue'::text AS scope, s.queue AS entity, s.offered, s.answered,
               s.abandoned, s.short_abandoned, s.timed_out, s.transferred, s.ivr_handled,
               s.sl_answered, s.wait_answered_sum, s.wait_answered_n, s.talk_sum, s.talk_n,
               s.wait_hist
        FROM s
        UNION ALL
        SELECT s.site, 'site', NULL, sum(s.offered)::bigint, sum(s.answered)::bigint,
               sum(s.abandoned)::bigint, sum(s.short_abandoned)::bigint,
               sum(s.timed_out)::bigint, sum(s.transferred)::bigint,
               sum(s.ivr_handled)::bigint, sum(s.sl_answered)::bigint,
               sum(s.wait_answered_sum)::bigint, sum(s.wait_answered_n)::bigint,
               sum(s.talk_sum)::bigint, sum(s.talk_n)::bigint, reach.hist_sum(s.wait_hist)
        FROM s GROUP BY s.site
    )
    SELECT e.site, e.scope, e.entity, e.offered, e.answered, e.ivr_handled, f.answered_rate,
           f.global_rate, f.service_level, f.asa_s
    FROM e,
         LATERAL reach.call_figures(e.offered, e.answered, e.abandoned, e.short_abandoned,
             e.timed_out, e.transferred, e.ivr_handled, e.sl_answered, e.wait_answered_sum,
             e.wait_answered_n, e.talk_sum, e.talk_n, e.wait_hist) f
$$;

-- The report's mail figures for a period: one row per site and mailbox that
-- had a count in it, and one row per site (scope 'site', entity NULL).
CREATE FUNCTION reach.mail_report(p_site text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (site text, scope text, entity text, received bigint, acknowledged bigint,
               replied bigint, ack_rate double precision,
               replied_within_target double precision, reply_delay_avg_s double precision,
               reply_delay_business_avg_s double precision)
LANGUAGE sql STABLE AS $$
    WITH s AS (SELECT * FROM reach.mail_sums(p_site, p_from, p_to)),
    e AS (
        SELECT s.site, 'mailbox'::text AS scope, s.mailbox AS entity, s.received,
               s.acknowledged, s.replied, s.within_target, s.delay_sum, s.delay_max,
               s.delay_hist, s.delay_business_sum, s.delay_business_max, s.delay_business_hist
        FROM s
        UNION ALL
        SELECT s.site, 'site', NULL, sum(s.received)::bigint, sum(s.acknowledged)::bigint,
               sum(s.replied)::bigint, sum(s.within_target)::bigint, sum(s.delay_sum)::bigint,
               max(s.delay_max), reach.hist_sum(s.delay_hist),
               sum(s.delay_business_sum)::bigint, max(s.delay_business_max),
               reach.hist_sum(s.delay_business_hist)
        FROM s GROUP BY s.site
    )
    SELECT e.site, e.scope, e.entity, e.received, e.acknowledged, e.replied, f.ack_rate,
           f.replied_within_target, f.reply_delay_avg_s, f.reply_delay_business_avg_s
    FROM e,
         LATERAL reach.mail_figures(e.received, e.acknowledged, e.replied, e.within_target,
             e.delay_sum, e.delay_max, e.delay_hist, e.delay_business_sum,
             e.delay_business_max, e.delay_business_hist) f
$$;

-- Both, one row per (site, scope, entity, figure); rank orders the figures.
-- kind: 'rate' (0..1), 'count', 'seconds' (calendar), 'business_seconds'
-- (seconds of opening time).
CREATE FUNCTION reach.report_figures(p_site text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (site text, scope text, entity text, figure text, rank integer, kind text,
               value double precision)
LANGUAGE sql STABLE AS $$
    SELECT c.site, c.scope, c.entity, v.figure, v.rank, v.kind, v.value
    FROM reach.call_report(p_site, p_from, p_to) c,
         LATERAL (VALUES ('offered', 1, 'count', c.offered::float8),
                         ('answered', 2, 'count', c.answered::float8),
                         ('answered_rate', 3, 'rate', c.answered_rate),
                         ('ivr_handled', 4, 'count', c.ivr_handled::float8),
                         ('global_rate', 5, 'rate', c.global_rate),
                         ('service_level', 6, 'rate', c.service_level),
                         ('asa_s', 7, 'seconds', c.asa_s)) v(figure, rank, kind, value)
    UNION ALL
    SELECT m.site, m.scope, m.entity, v.figure, v.rank, v.kind, v.value
    FROM reach.mail_report(p_site, p_from, p_to) m,
         LATERAL (VALUES ('received', 11, 'count', m.received::float8),
                         ('ack_rate', 12, 'rate', m.ack_rate),
                         ('replied', 13, 'count', m.replied::float8),
                         ('reply_delay_avg_s', 14, 'seconds', m.reply_delay_avg_s),
                         ('reply_delay_business_avg_s', 15, 'business_seconds',
                          m.reply_delay_business_avg_s),
                         ('replied_within_target', 16, 'rate', m.replied_within_target))
                 v(figure, rank, kind, value)
$$;

-- The report: each figure for [p_from, p_to) (value) and for the same
-- calendar span one year earlier in the zone p_zone (previous), with the
-- change: value - previous for rates (a fraction: x 100 = points) and
-- durations (seconds), value / previous - 1 for counts (a fraction: x 100 =
-- percent; 0 from 0 to 0, NULL from 0 to more). NULL where a period has no data: an
-- entity without a row in a period has every figure NULL there, and a rate
-- over zero is NULL (INDICATORS.md). Rows come ordered: by site, the site
-- totals first, then queues, then mailboxes, each figure in the label's order.
CREATE FUNCTION reach.indicator_report(p_site text, p_from timestamptz, p_to timestamptz,
                                       p_zone text DEFAULT 'Europe/Paris')
RETURNS TABLE (site text, scope text, entity text, figure text, kind text,
               value double precision, previous double precision, change double precision)
LANGUAGE sql STABLE AS $$
    WITH b AS (
        -- the local calendar, so that March 2025 is compared with March 2024
        -- whatever the DST dates and leap days in between
        SELECT ((p_from AT TIME ZONE p_zone) - interval '1 year') AT TIME ZONE p_zone AS pf,
               ((p_to AT TIME ZONE p_zone) - interval '1 year') AT TIME ZONE p_zone AS pt
    ), cur AS (
        SELECT r.*, coalesce(r.entity, '') AS ekey
        FROM reach.report_figures(p_site, p_from, p_to) r
    ), prev AS (
        SELECT r.*, coalesce(r.entity, '') AS ekey
        FROM b, reach.report_figures(p_site, b.pf, b.pt) r
    ), j AS (
        SELECT coalesce(c.site, p.site) AS site, coalesce(c.scope, p.scope) AS scope,
               coalesce(c.entity, p.entity) AS entity, coalesce(c.figure, p.figure) AS figure,
               coalesce(c.rank, p.rank) AS rank, coalesce(c.kind, p.kind) AS kind,
               c.value, p.value AS previous
        FROM cur c FULL JOIN prev p
          ON c.site = p.site AND c.scope = p.scope AND c.ekey = p.ekey AND c.figure = p.figure
    )
    SELECT j.site, j.scope, j.entity, j.figure, j.kind, j.value, j.previous,
           CASE WHEN j.kind <> 'count' THEN j.value - j.previous
                WHEN j.value = 0 AND j.previous = 0 THEN 0
                ELSE j.value / nullif(j.previous, 0) - 1 END
    FROM j
    ORDER BY j.site, CASE j.scope WHEN 'site' THEN 0 WHEN 'queue' THEN 1 ELSE 2 END,
             j.entity, j.rank
$$;

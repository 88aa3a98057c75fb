-- 002: the stable views dashboards and reports read. Figure names are those of
-- INDICATORS.md; a rate over zero calls is NULL.

-- Sites and their time zone (written by reachd from [daemon] timezone), so
-- that "daily" means the site's own calendar day.
CREATE TABLE reach.sites (
    site     text PRIMARY KEY,
    timezone text NOT NULL DEFAULT 'Europe/Paris'
);

CREATE FUNCTION reach.hist_bin_low(bin integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN bin IS NULL THEN NULL
                WHEN bin < 60 THEN bin
                WHEN bin < 84 THEN 60 + (bin - 60) * 10
                WHEN bin < 109 THEN 300 + (bin - 84) * 60
                WHEN bin < 127 THEN 1800 + (bin - 109) * 300
                ELSE 7200 END
$$;

-- The bin (0-based) holding the nearest-rank sample, rank = ceil(n * pct / 100);
-- NULL for an empty histogram. Shared by every histogram layout.
CREATE FUNCTION reach.hist_rank_bin(h integer[], pct integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH b AS (
        SELECT i - 1 AS bin,
               sum(c) OVER (ORDER BY i) AS cum,
               sum(c) OVER () AS n
        FROM unnest(h) WITH ORDINALITY AS t(c, i)
    )
    SELECT min(bin)::integer FROM b WHERE n > 0 AND cum >= (n * pct + 99) / 100
$$;

-- A wait quantile: the lower bound of that bin (the rule of daemon/hist.c).
CREATE FUNCTION reach.hist_quantile(h integer[], pct integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT reach.hist_bin_low(reach.hist_rank_bin(h, pct))
$$;

-- Figures from summed counters (one place for every formula in SQL).
CREATE FUNCTION reach.call_figures(
    offered bigint, answered bigint, abandoned bigint, short_abandoned bigint,
    timed_out bigint, transferred bigint, ivr_handled bigint, sl_answered bigint,
    wait_answered_sum bigint, wait_answered_n bigint, talk_sum bigint, talk_n bigint,
    wait_hist integer[],
    OUT answered_rate double precision, OUT global_rate double precision,
    OUT abandon_rate double precision, OUT service_level double precision,
    OUT asa_s double precision, OUT wait_p50_s integer, OUT wait_p90_s integer,
    OUT talk_avg_s double precision)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT answered::float8 / nullif(offered - short_abandoned, 0),
           (answered + ivr_handled)::float8 / nullif(offered - short_abandoned + ivr_handled, 0),
           (abandoned - short_abandoned)::float8 / nullif(offered - short_abandoned, 0),
           sl_answered::float8 / nullif(answered, 0),
           wait_answered_sum::float8 / nullif(wait_answered_n, 0),
           reach.hist_quantile(wait_hist, 50),
           reach.hist_quantile(wait_hist, 90),
           talk_sum::float8 / nullif(talk_n, 0)
$$;

CREATE VIEW reach.call_indicators_hourly AS
SELECT a.site, a.queue, a.bucket AS period_start,
       a.offered, a.answered, a.abandoned, a.short_abandoned, a.timed_out,
       a.transferred, a.ivr_handled, f.*
FROM reach.call_agg a,
     LATERAL reach.call_figures(a.offered, a.answered, a.abandoned, a.short_abandoned,
         a.timed_out, a.transferred, a.ivr_handled, a.sl_answered, a.wait_answered_sum,
         a.wait_answered_n, a.talk_sum, a.talk_n, a.wait_hist) f
WHERE a.grain = 'hour';

-- Days in the site's time zone (default Europe/Paris), from the hour rows.
CREATE VIEW reach.call_indicators_daily AS
WITH d AS (
    SELECT a.site, a.queue,
           (a.bucket AT TIME ZONE coalesce(s.timezone, 'Europe/Paris'))::date AS period_start,
           sum(a.offered) AS offered, sum(a.answered) AS answered,
           sum(a.abandoned) AS abandoned, sum(a.short_abandoned) AS short_abandoned,
           sum(a.timed_out) AS timed_out, sum(a.transferred) AS transferred,
           sum(a.ivr_handled) AS ivr_handled, sum(a.sl_answered) AS sl_answered,
           sum(a.wait_answered_sum) AS wait_answered_sum,
           sum(a.wait_answered_n) AS wait_answered_n,
           sum(a.talk_sum) AS talk_sum, sum(a.talk_n) AS talk_n,
           reach.hist_sum(a.wait_hist) AS wait_hist
    FROM reach.call_agg a LEFT JOIN reach.sites s USING (site)
    WHERE a.grain = 'hour'
    GROUP BY 1, 2, 3
)
SELECT d.site, d.queue, d.period_start,
       d.offered::bigint, d.answered::bigint, d.abandoned::bigint,
       d.short_abandoned::bigint, d.timed_out::bigint, d.transferred::bigint,
       d.ivr_handled::bigint, f.*
FROM d,
     LATERAL reach.call_figures(d.offered::bigint, d.answered::bigint, d.abandoned::bigint,
         d.short_abandoned::bigint, d.timed_out::bigint, d.transferred::bigint,
         d.ivr_handled::bigint, d.sl_answered::bigint, d.wait_answered_sum::bigint,
         d.wait_answered_n::bigint, d.talk_sum::bigint, d.talk_n::bigint, d.wait_hist) f;

-- Which aggregate rows make up a period, read at the coarsest grain that
-- fits: whole UTC days from day rows, whole hours from hour rows, the edges
-- from minute rows. p_from is rounded down and p_to up to the minute. One row
-- per grain: buckets in [lo, hi) and not in [skip_lo, skip_hi). Shared by the
-- call and mail sums. Buckets are UTC whatever the session's TimeZone.
CREATE FUNCTION reach.period_grains(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (grain text, lo timestamptz, hi timestamptz, skip_lo timestamptz,
               skip_hi timestamptz)
LANGUAGE sql STABLE AS $$
    WITH m AS (
        SELECT date_trunc('minute', p_from, 'UTC') AS f,
               date_trunc('minute', p_to + interval '59.999999 seconds', 'UTC') AS t
    ), r AS (
        SELECT f, t,
               CASE WHEN date_trunc('hour', f, 'UTC') = f THEN f
                    ELSE date_trunc('hour', f, 'UTC') + interval '1 hour' END AS h0,
               date_trunc('hour', t, 'UTC') AS h1,
               CASE WHEN date_trunc('day', f, 'UTC') = f THEN f
                    ELSE date_trunc('day', f, 'UTC') + interval '1 day' END AS d0,
               date_trunc('day', t, 'UTC') AS d1
        FROM m
    )
    SELECT 'day', d0, d1, d0, d0 FROM r
    UNION ALL SELECT 'hour', h0, h1, d0, d1 FROM r
    UNION ALL SELECT 'minute', f, t, h0, h1 FROM r
$$;

-- Summed counters for any minute-aligned period [p_from, p_to) per site and
-- queue (see reach.period_grains). p_site NULL means every site.
CREATE FUNCTION reach.call_sums(p_site text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (site text, queue text, offered bigint, answered bigint, abandoned bigint,
               short_abandoned bigint, timed_out bigint, transferred bigint,
               ivr_handled bigint, sl_answered bigint, wait_answered_sum bigint,
               wait_answered_n bigint, talk_sum bigint, talk_n bigint, wait_hist integer[])
LANGUAGE sql STABLE AS $$
    SELECT a.site, a.queue, sum(a.offered)::bigint, sum(a.answered)::bigint,
           sum(a.abandoned)::bigint, sum(a.short_abandoned)::bigint,
           sum(a.timed_out)::bigint, sum(a.transferred)::bigint,
           sum(a.ivr_handled)::bigint, sum(a.sl_answered)::bigint,
           sum(a.wait_answered_sum)::bigint, sum(a.wait_answered_n)::bigint,
           sum(a.talk_sum)::bigint, sum(a.talk_n)::bigint, reach.hist_sum(a.wait_hist)
    FROM reach.call_agg a
    JOIN reach.period_grains(p_from, p_to) g
      ON a.grain = g.grain AND a.bucket >= g.lo AND a.bucket < g.hi
     AND NOT (a.bucket >= g.skip_lo AND a.bucket < g.skip_hi)
    WHERE p_site IS NULL OR a.site = p_site
    GROUP BY a.site, a.queue
$$;

-- Every telephony figure for a period, per site and queue: what reachctl,
-- the Redis windows and (later) the HTTP API all read.
CREATE FUNCTION reach.call_indicators(p_site text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (site text, queue text, offered bigint, answered bigint, abandoned bigint,
               short_abandoned bigint, timed_out bigint, transferred bigint,
               ivr_handled bigint, answered_rate double precision,
               global_rate double precision, abandon_rate double precision,
               service_level double precision, asa_s double precision,
               wait_p50_s integer, wait_p90_s integer, talk_avg_s double precision)
LANGUAGE sql STABLE AS $$
    SELECT s.site, s.queue, s.offered, s.answered, s.abandoned, s.short_abandoned,
           s.timed_out, s.transferred, s.ivr_handled, f.*
    FROM reach.call_sums(p_site, p_from, p_to) s,
         LATERAL reach.call_figures(s.offered, s.answered, s.abandoned, s.short_abandoned,
             s.timed_out, s.transferred, s.ivr_handled, s.sl_answered,
             s.wait_answered_sum, s.wait_answered_n, s.talk_sum, s.talk_n, s.wait_hist) f
    ORDER BY s.site, s.queue
$$;

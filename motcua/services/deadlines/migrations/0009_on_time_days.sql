-- The on-time report's daily summary (repository/reports.py, queries.on_time_report).
--
-- A center's year is tens of thousands of clocks and the province's millions; classifying
-- them one by one for every report took half a second for a center and seconds for the
-- province (bench/province.py). A closed clock's category never depends on the report's
-- instant once the instant is past its closure, so the closed clocks' counts are kept here
-- per receipt day, center, procedure and line, in the same transaction as the clock's
-- change, and a report reads a row per day and group instead of a row per dossier.
--
-- Kept by a trigger rather than by each writer: every path that writes a clock (receipt,
-- facts, closure, reopening, any added later) then keeps the summary, and none can forget
-- to. A change subtracts the row's old share and adds its new one, so the summary is
-- exact after duplicate, reordered or corrected events: it is always the sum over the
-- clocks as they are.
--
-- The writers only append their changes (on_time_day_changes), never update a shared
-- row: consumers closing clocks of the same center and day in one batch each would
-- otherwise lock the same rows in different orders and deadlock. The scheduler folds the
-- changes into on_time_days (on_time_fold, one folder at a time), and a reader sums both,
-- so the counts are exact whether or not a change has been folded yet.
--
-- Days are those of Asia/Ho_Chi_Minh, the zone of the reports' periods (the same days as
-- the scorecard's summary, so the two can share a table); a report in another zone, the
-- days not yet over at its instant, and the days with a closure after its instant are
-- counted from the clocks directly. The open clocks are never stored: whether they are
-- overdue depends on the instant; the reader counts them from clocks_open_received.
--
-- The categories are the direct count's (repository/reports.py, _cohort_counts): a
-- resolved clock by its outcome, a withdrawn or stopped one as withdrawn.

CREATE TABLE on_time_days (
    day              date NOT NULL,
    center_id        text NOT NULL,
    procedure_code   text NOT NULL,
    -- '' for no line: the report groups a missing line under '' too (statistics.NO_LINE).
    line_code        text NOT NULL,
    resolved_early   integer NOT NULL DEFAULT 0,
    resolved_on_time integer NOT NULL DEFAULT 0,
    resolved_late    integer NOT NULL DEFAULT 0,
    withdrawn        integer NOT NULL DEFAULT 0,
    -- The latest closure ever counted in the row: a report whose instant is earlier
    -- counts the day from the clocks. Never lowered when a clock reopens, which only
    -- sends a few more reports to the clocks.
    last_closed_at   timestamptz,
    PRIMARY KEY (center_id, day, procedure_code, line_code)
);
-- The province's reports read every center's days.
CREATE INDEX on_time_days_day ON on_time_days (day);

-- The changes not yet folded into on_time_days: a few seconds' worth.
CREATE TABLE on_time_day_changes (LIKE on_time_days);
CREATE INDEX on_time_day_changes_day ON on_time_day_changes (day);

-- The open clocks of a period, for the categories that depend on the report's instant.
CREATE INDEX clocks_open_received ON clocks (center_id, received_at)
    INCLUDE (procedure_code, line_code, closed_at, outcome, adjusted, due_at, dossier_id)
    WHERE closed_kind IS NULL;

-- One closed clock's share of the counts, times sign (+1 to add it, -1 to take it away).
-- One function serves the trigger (a row) and the rebuild (a whole table), so the two
-- cannot disagree.
CREATE FUNCTION on_time_share(c clocks, sign integer)
RETURNS TABLE (day date, center_id text, procedure_code text, line_code text,
               resolved_early integer, resolved_on_time integer, resolved_late integer,
               withdrawn integer, last_closed_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT (c.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, c.center_id,
        c.procedure_code, coalesce(c.line_code, ''),
        sign * (c.closed_kind = 'resolved' AND c.outcome = 'early')::int,
        sign * (c.closed_kind = 'resolved' AND c.outcome = 'on_time')::int,
        sign * (c.closed_kind = 'resolved' AND c.outcome = 'late')::int,
        sign * (c.closed_kind <> 'resolved')::int,
        c.closed_at
    -- In no cohort until its receipt is known; open clocks are counted by the reader.
    WHERE c.received_at IS NOT NULL AND c.closed_kind IS NOT NULL
$$;

CREATE FUNCTION on_time_add(c clocks, sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO on_time_day_changes SELECT * FROM on_time_share(c, sign)
$$;

-- Fold the changes into on_time_days; how many rows of it changed. Only one transaction
-- at a time folds (the others return 0 at once): two would update the same rows in
-- different orders. A change committed during the fold stays for the next one.
CREATE FUNCTION on_time_fold() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    folded integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('deadlines.on_time_fold')) THEN
        RETURN 0;
    END IF;
    WITH gone AS (DELETE FROM on_time_day_changes RETURNING *)
    INSERT INTO on_time_days AS s
    SELECT day, center_id, procedure_code, line_code, sum(resolved_early),
           sum(resolved_on_time), sum(resolved_late), sum(withdrawn), max(last_closed_at)
    FROM gone GROUP BY day, center_id, procedure_code, line_code
    ON CONFLICT (center_id, day, procedure_code, line_code) DO UPDATE SET
        resolved_early = s.resolved_early + EXCLUDED.resolved_early,
        resolved_on_time = s.resolved_on_time + EXCLUDED.resolved_on_time,
        resolved_late = s.resolved_late + EXCLUDED.resolved_late,
        withdrawn = s.withdrawn + EXCLUDED.withdrawn,
        last_closed_at = greatest(s.last_closed_at, EXCLUDED.last_closed_at);
    GET DIAGNOSTICS folded = ROW_COUNT;
    RETURN folded;
END $$;

CREATE FUNCTION on_time_clock_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM on_time_add(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM on_time_add(NEW, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER clocks_on_time_insert_delete AFTER INSERT OR DELETE ON clocks
    FOR EACH ROW EXECUTE FUNCTION on_time_clock_changed();
-- Only a change to what the summary reads: the scheduler's and the worklist's updates
-- leave its rows (and their locks) alone.
CREATE TRIGGER clocks_on_time_update AFTER UPDATE ON clocks
    FOR EACH ROW
    WHEN ((OLD.center_id, OLD.procedure_code, OLD.line_code, OLD.received_at,
           OLD.closed_kind, OLD.closed_at, OLD.outcome)
          IS DISTINCT FROM
          (NEW.center_id, NEW.procedure_code, NEW.line_code, NEW.received_at,
           NEW.closed_kind, NEW.closed_at, NEW.outcome))
    EXECUTE FUNCTION on_time_clock_changed();

-- Rebuild from the clocks in one pass: for the clocks stored before this migration, and
-- for a bulk load that copies clocks with the triggers off (bench/province.py).
CREATE FUNCTION on_time_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM on_time_day_changes;
    DELETE FROM on_time_days;
    INSERT INTO on_time_days
    SELECT x.day, x.center_id, x.procedure_code, x.line_code, sum(x.resolved_early),
           sum(x.resolved_on_time), sum(x.resolved_late), sum(x.withdrawn),
           max(x.last_closed_at)
    FROM clocks c, on_time_share(c, 1) x
    GROUP BY x.day, x.center_id, x.procedure_code, x.line_code
    -- Each center's days side by side on disk: a center's year then reads a few pages of
    -- the table, not one per row (rows in hash order cost 1,284 pages for 1,530 rows).
    ORDER BY x.center_id, x.day;
END $$;

SELECT on_time_rebuild();

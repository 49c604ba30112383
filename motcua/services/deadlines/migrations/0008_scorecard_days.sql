-- The 766 scorecard's daily summary (repository/scorecard.py, docs/score766.md).
--
-- A year of the province is millions of clocks; scanning and aggregating them takes
-- seconds, whatever the index. So each clock's share of the scorecard's counts is kept,
-- per center and receipt day, in the same transaction as the clock's change, and a
-- period of whole days reads at most a row per center and day.
--
-- Kept by a trigger rather than by each writer: every path that writes a clock (receipt,
-- facts, closure, flags, any added later) then keeps the summary, and none can forget
-- to. A change subtracts the row's old share and adds its new one, so the summary is
-- exact after duplicate, reordered or corrected events: it is always the sum over the
-- clocks as they are.
--
-- The writers only append their changes (scorecard_changes), never update a shared row:
-- consumers receiving or closing dossiers of the same center and day each would otherwise
-- lock the same summary rows in different orders and deadlock. The scheduler folds the
-- changes into the three summaries (scorecard_fold, one folder at a time, as
-- on_time_fold), and a reader sums a summary and the pending changes, so the counts are
-- exact whether or not a change has been folded yet.
--
-- Days are those of Asia/Ho_Chi_Minh, the zone of the reports' periods; a period whose
-- bounds are not that zone's midnights is counted from the clocks directly.
--
-- What depends on "now" cannot be stored: a clock still running (neither closed nor
-- paused) is on time or overdue as of the question. Its stored share leaves those two
-- counts out, and the reader adds them from the running clocks, which are few (the open
-- cases of the last weeks) and indexed below.
--
-- The thresholds are the scorecard's: REPEATED_FROM = 2 supplement requests
-- (shared/reference/supplements.py) and DISLIKE_AT_MOST = 2 (scorecard.py); a unit test
-- holds them equal.

-- Whether an apology letter was issued for the clock's dossier (letters are issued from
-- the clock, so they share its center and receipt), set by the letters' trigger below.
ALTER TABLE clocks ADD COLUMN lettered boolean NOT NULL DEFAULT false;
-- Before the triggers exist: the rebuild at the end counts these clocks once.
UPDATE clocks c SET lettered = true
WHERE EXISTS (SELECT 1 FROM apology_letters a WHERE a.dossier_id = c.dossier_id);

CREATE TABLE scorecard_days (
    day                 date NOT NULL,
    center_id           text NOT NULL,
    received            integer NOT NULL DEFAULT 0,
    on_time_766         integer NOT NULL DEFAULT 0,  -- settled clocks only
    repeated_supplement integer NOT NULL DEFAULT 0,
    resolved            integer NOT NULL DEFAULT 0,
    resolved_late       integer NOT NULL DEFAULT 0,
    overdue             integer NOT NULL DEFAULT 0,  -- settled clocks only
    overdue_with_letter integer NOT NULL DEFAULT 0,  -- settled clocks only
    online              integer NOT NULL DEFAULT 0,
    with_result         integer NOT NULL DEFAULT 0,
    digitised           integer NOT NULL DEFAULT 0,
    reused              integer NOT NULL DEFAULT 0,
    rated               integer NOT NULL DEFAULT 0,
    disliked            integer NOT NULL DEFAULT 0,
    -- numeric, as extract(epoch ...) is: sums and differences stay exact.
    handling_seconds    numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (day, center_id)
);

-- Indicator 2.2 by procedure: a center's, and the province's kept apart so that the
-- province's year reads a row per day and procedure, not one per center besides.
CREATE TABLE scorecard_procedure_days (
    day              date NOT NULL,
    center_id        text NOT NULL,
    procedure_code   text NOT NULL,
    resolved         integer NOT NULL DEFAULT 0,
    handling_seconds numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (center_id, day, procedure_code)
);
CREATE TABLE scorecard_province_procedure_days (
    day              date NOT NULL,
    procedure_code   text NOT NULL,
    resolved         integer NOT NULL DEFAULT 0,
    handling_seconds numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (day, procedure_code)
);

-- The changes not yet folded into the three tables above: a few seconds' worth. One log
-- serves them all, each a sum of it over fewer keys.
CREATE TABLE scorecard_changes (
    day                 date NOT NULL,
    center_id           text NOT NULL,
    procedure_code      text NOT NULL,
    received            integer NOT NULL,
    on_time_766         integer NOT NULL,
    repeated_supplement integer NOT NULL,
    resolved            integer NOT NULL,
    resolved_late       integer NOT NULL,
    overdue             integer NOT NULL,
    overdue_with_letter integer NOT NULL,
    online              integer NOT NULL,
    with_result         integer NOT NULL,
    digitised           integer NOT NULL,
    reused              integer NOT NULL,
    rated               integer NOT NULL,
    disliked            integer NOT NULL,
    handling_seconds    numeric NOT NULL
);
CREATE INDEX scorecard_changes_day ON scorecard_changes (day);

-- The running clocks of a period, for their on-time and overdue counts as of now.
CREATE INDEX clocks_running_received ON clocks (received_at)
    INCLUDE (center_id, closed_kind, outcome, due_at, supplement_requests, lettered)
    WHERE closed_at IS NULL AND paused_since IS NULL;

-- One clock's share of the counts, times sign (+1 to add it, -1 to take it away). The
-- expressions are the direct count's (repository/scorecard.py, _COHORT), with "ended"
-- the closure or the pause: no settled clock ends "now". One function serves the
-- trigger (a row) and the rebuild (a whole table), so the two cannot disagree.
CREATE FUNCTION scorecard_share(c clocks, sign integer)
RETURNS TABLE (day date, center_id text, procedure_code text, received integer,
               on_time_766 integer, repeated_supplement integer, resolved integer,
               resolved_late integer, overdue integer, overdue_with_letter integer,
               online integer, with_result integer, digitised integer, reused integer,
               rated integer, disliked integer, handling_seconds numeric)
LANGUAGE sql STABLE AS $$
    SELECT (c.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, c.center_id,
        c.procedure_code,
        sign,
        sign * (settled AND NOT repeated AND coalesce(CASE WHEN resolved
            THEN c.outcome IN ('early', 'on_time') ELSE ended <= c.due_at END, false))::int,
        sign * repeated::int,
        sign * resolved::int,
        sign * (resolved AND c.outcome IS NOT DISTINCT FROM 'late')::int,
        sign * overdue::int,
        sign * (overdue AND c.lettered)::int,
        sign * coalesce(c.channel = 'online', false)::int,
        sign * (resolved AND c.has_result)::int,
        sign * (coalesce(c.scanned_component OR (c.channel = 'online' AND c.has_component),
                         false) AND c.has_result)::int,
        sign * c.reused_component::int,
        sign * (c.rating IS NOT NULL)::int,
        sign * coalesce(c.rating <= 2, false)::int,
        sign * CASE WHEN resolved
            THEN coalesce(extract(epoch FROM c.closed_at - c.received_at), 0) ELSE 0 END
    FROM (SELECT NOT (c.closed_at IS NULL AND c.paused_since IS NULL) AS settled,
                 coalesce(c.closed_at, c.paused_since) AS ended,
                 c.supplement_requests >= 2 AS repeated,
                 coalesce(c.closed_kind = 'resolved', false) AS resolved) AS k,
         LATERAL (SELECT k.settled AND coalesce(CASE WHEN k.resolved THEN c.outcome = 'late'
                      ELSE c.closed_kind IS NULL AND k.ended > c.due_at END, false)
                      AS overdue) AS o
    WHERE c.received_at IS NOT NULL  -- in no cohort until its receipt is known
$$;

-- The share is appended (columns in the order of scorecard_changes).
CREATE FUNCTION scorecard_add(c clocks, sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO scorecard_changes SELECT * FROM scorecard_share(c, sign)
$$;

-- Fold the changes into the summaries; how many of their rows changed. Only one
-- transaction at a time folds (the others return 0 at once): two would update the same
-- rows in different orders. One statement, so every summary folds the same changes (those
-- of its snapshot); a change committed during the fold stays for the next one. A
-- procedure's row takes a change only when its resolved count or handling time moves.
CREATE FUNCTION scorecard_fold() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    folded integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('deadlines.scorecard_fold')) THEN
        RETURN 0;
    END IF;
    WITH gone AS (DELETE FROM scorecard_changes RETURNING *),
    shares AS (
        SELECT day, center_id, procedure_code, sum(received) AS received,
               sum(on_time_766) AS on_time_766, sum(repeated_supplement) AS repeated_supplement,
               sum(resolved) AS resolved, sum(resolved_late) AS resolved_late,
               sum(overdue) AS overdue, sum(overdue_with_letter) AS overdue_with_letter,
               sum(online) AS online, sum(with_result) AS with_result,
               sum(digitised) AS digitised, sum(reused) AS reused, sum(rated) AS rated,
               sum(disliked) AS disliked, sum(handling_seconds) AS handling_seconds
        FROM gone GROUP BY day, center_id, procedure_code),
    days AS (
        INSERT INTO scorecard_days AS s
        SELECT day, center_id, sum(received), sum(on_time_766), sum(repeated_supplement),
               sum(resolved), sum(resolved_late), sum(overdue), sum(overdue_with_letter),
               sum(online), sum(with_result), sum(digitised), sum(reused), sum(rated),
               sum(disliked), sum(handling_seconds)
        FROM shares GROUP BY day, center_id
        ON CONFLICT (day, center_id) DO UPDATE SET
            received = s.received + EXCLUDED.received,
            on_time_766 = s.on_time_766 + EXCLUDED.on_time_766,
            repeated_supplement = s.repeated_supplement + EXCLUDED.repeated_supplement,
            resolved = s.resolved + EXCLUDED.resolved,
            resolved_late = s.resolved_late + EXCLUDED.resolved_late,
            overdue = s.overdue + EXCLUDED.overdue,
            overdue_with_letter = s.overdue_with_letter + EXCLUDED.overdue_with_letter,
            online = s.online + EXCLUDED.online,
            with_result = s.with_result + EXCLUDED.with_result,
            digitised = s.digitised + EXCLUDED.digitised,
            reused = s.reused + EXCLUDED.reused,
            rated = s.rated + EXCLUDED.rated,
            disliked = s.disliked + EXCLUDED.disliked,
            handling_seconds = s.handling_seconds + EXCLUDED.handling_seconds
        RETURNING 1),
    procedures AS (
        INSERT INTO scorecard_procedure_days AS s
        SELECT day, center_id, procedure_code, resolved, handling_seconds
        FROM shares WHERE resolved <> 0 OR handling_seconds <> 0
        ON CONFLICT (center_id, day, procedure_code) DO UPDATE SET
            resolved = s.resolved + EXCLUDED.resolved,
            handling_seconds = s.handling_seconds + EXCLUDED.handling_seconds
        RETURNING 1),
    province AS (
        INSERT INTO scorecard_province_procedure_days AS s
        SELECT day, procedure_code, sum(resolved), sum(handling_seconds)
        FROM shares WHERE resolved <> 0 OR handling_seconds <> 0
        GROUP BY day, procedure_code
        ON CONFLICT (day, procedure_code) DO UPDATE SET
            resolved = s.resolved + EXCLUDED.resolved,
            handling_seconds = s.handling_seconds + EXCLUDED.handling_seconds
        RETURNING 1)
    SELECT (SELECT count(*) FROM days) + (SELECT count(*) FROM procedures)
           + (SELECT count(*) FROM province)
    INTO folded;
    RETURN folded;
END $$;

CREATE FUNCTION scorecard_clock_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM scorecard_add(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM scorecard_add(NEW, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER clocks_scorecard_insert_delete AFTER INSERT OR DELETE ON clocks
    FOR EACH ROW EXECUTE FUNCTION scorecard_clock_changed();
-- Only a change to what the scorecard reads: the scheduler's and the worklist's updates
-- leave the summary's rows (and their locks) alone.
CREATE TRIGGER clocks_scorecard_update AFTER UPDATE ON clocks
    FOR EACH ROW
    WHEN ((OLD.center_id, OLD.procedure_code, OLD.received_at, OLD.due_at, OLD.paused_since,
           OLD.closed_kind, OLD.closed_at, OLD.outcome, OLD.channel, OLD.supplement_requests,
           OLD.has_component, OLD.scanned_component, OLD.reused_component, OLD.has_result,
           OLD.rating, OLD.lettered)
          IS DISTINCT FROM
          (NEW.center_id, NEW.procedure_code, NEW.received_at, NEW.due_at, NEW.paused_since,
           NEW.closed_kind, NEW.closed_at, NEW.outcome, NEW.channel, NEW.supplement_requests,
           NEW.has_component, NEW.scanned_component, NEW.reused_component, NEW.has_result,
           NEW.rating, NEW.lettered))
    EXECUTE FUNCTION scorecard_clock_changed();

-- A letter marks its own clock, a row no other dossier shares; the trigger above then
-- appends the clock's new share like any other change.
CREATE FUNCTION scorecard_letter_issued() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE clocks SET lettered = true WHERE dossier_id = NEW.dossier_id AND NOT lettered;
    RETURN NULL;
END $$;

CREATE TRIGGER apology_letters_scorecard AFTER INSERT ON apology_letters
    FOR EACH ROW EXECUTE FUNCTION scorecard_letter_issued();

-- Rebuild from the clocks, in one pass: for the clocks stored before this migration,
-- and for a bulk load that copies clocks with the triggers off (bench/province.py).
CREATE FUNCTION scorecard_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- No fold meanwhile: it would add changes the rebuild counts from the clocks.
    PERFORM pg_advisory_xact_lock(hashtext('deadlines.scorecard_fold'));
    UPDATE clocks c SET lettered = true
    WHERE NOT c.lettered AND EXISTS (SELECT 1 FROM apology_letters a
                                     WHERE a.dossier_id = c.dossier_id);
    -- The pending changes (those of the update above too) are in the clocks counted below.
    DELETE FROM scorecard_changes;
    DELETE FROM scorecard_days;
    DELETE FROM scorecard_procedure_days;
    DELETE FROM scorecard_province_procedure_days;
    -- Summed per center, day and procedure once; each table is then a sum of those.
    CREATE TEMPORARY TABLE scorecard_shares ON COMMIT DROP AS
        SELECT x.day, x.center_id, x.procedure_code, sum(x.received) AS received,
               sum(x.on_time_766) AS on_time_766,
               sum(x.repeated_supplement) AS repeated_supplement,
               sum(x.resolved) AS resolved, sum(x.resolved_late) AS resolved_late,
               sum(x.overdue) AS overdue, sum(x.overdue_with_letter) AS overdue_with_letter,
               sum(x.online) AS online, sum(x.with_result) AS with_result,
               sum(x.digitised) AS digitised, sum(x.reused) AS reused,
               sum(x.rated) AS rated, sum(x.disliked) AS disliked,
               sum(x.handling_seconds) AS handling_seconds
        FROM clocks c, scorecard_share(c, 1) x
        GROUP BY x.day, x.center_id, x.procedure_code;
    INSERT INTO scorecard_days
    SELECT day, center_id, sum(received), sum(on_time_766), sum(repeated_supplement),
           sum(resolved), sum(resolved_late), sum(overdue), sum(overdue_with_letter),
           sum(online), sum(with_result), sum(digitised), sum(reused), sum(rated),
           sum(disliked), sum(handling_seconds)
    FROM scorecard_shares GROUP BY day, center_id;
    INSERT INTO scorecard_procedure_days
    SELECT day, center_id, procedure_code, resolved, handling_seconds
    FROM scorecard_shares WHERE resolved <> 0;
    INSERT INTO scorecard_province_procedure_days
    SELECT day, procedure_code, sum(resolved), sum(handling_seconds)
    FROM scorecard_shares WHERE resolved <> 0 GROUP BY day, procedure_code;
    DROP TABLE scorecard_shares;
END $$;

SELECT scorecard_rebuild();

-- The breach forecast reads each open procedure's latest durations at a center
-- (repository/forecast.py, recent_durations) from the end of this index; with the
-- duration carried in it, those reads are index-only instead of a heap page per row.
DROP INDEX forecast_durations_recent;
CREATE INDEX forecast_durations_recent
    ON forecast_durations (center_id, procedure_code, resolved_at DESC)
    INCLUDE (working_seconds);

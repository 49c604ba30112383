-- The reports' cohort (repository/reports.py) read from the indexes alone. A center's
-- dossiers are spread over the whole table among the other centers', so counting one
-- center's year through clocks_center_received fetched a heap page per dossier: with a
-- province's 5,000,000 dossiers (bench/province.py), 33,000 pages and most of a second
-- for one report. With the columns the counts need carried in the index, the same report
-- is an index-only scan over contiguous entries; the province's year likewise reads
-- clocks_received instead of the whole table.
DROP INDEX clocks_center_received;
CREATE INDEX clocks_center_received ON clocks (center_id, received_at)
    INCLUDE (procedure_code, line_code, closed_kind, closed_at, outcome, adjusted, due_at,
             dossier_id);
DROP INDEX clocks_received;
CREATE INDEX clocks_received ON clocks (received_at)
    INCLUDE (center_id, procedure_code, line_code, closed_kind, closed_at, outcome, adjusted,
             due_at, dossier_id);

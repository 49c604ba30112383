-- Citizens' ratings of the service (feedback.received from notify), one per dossier, for
-- the satisfaction reports beside the on-time rate. The comment stays with notify: the
-- reports count scores, and free text may hold personal data.
CREATE TABLE ratings (
    dossier_id uuid PRIMARY KEY,
    center_id  text NOT NULL,
    rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    -- The local date the citizen rated on: the report's period is cut on it.
    rated_on   date NOT NULL,
    rated_at   timestamptz NOT NULL
);

CREATE INDEX ratings_center_day ON ratings (center_id, rated_on);

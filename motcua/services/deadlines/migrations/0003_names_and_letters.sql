-- Names, not codes, on the leaders' pages: each procedure's name as the receipts carry it
-- (dossier.received's procedure_name), the latest per center and code.
CREATE TABLE procedure_names (
    center_id      text NOT NULL,
    procedure_code text NOT NULL,
    name_vi        text NOT NULL,
    name_en        text,
    PRIMARY KEY (center_id, procedure_code)
);

-- The apology letter as the officer completes it: the reason they give, the new date
-- they set (NULL: the one the scheduler computed stands), and who did it when.
ALTER TABLE apology_letters
    ADD COLUMN reason             text CHECK (length(reason) BETWEEN 1 AND 2000),
    ADD COLUMN set_appointment_at timestamptz,
    ADD COLUMN completed_by       text,
    ADD COLUMN completed_at       timestamptz;

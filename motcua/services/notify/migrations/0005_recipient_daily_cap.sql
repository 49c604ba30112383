-- Messages recorded per recipient and local day, shared by every replica, so that the
-- daily cap per recipient holds however many replicas consume (services/notify/daily_cap.py).
-- recipient_ref is already a keyed digest: no phone number or address is stored here.
CREATE TABLE recipient_daily (
    recipient_ref text NOT NULL,
    day           date NOT NULL,
    messages      integer NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (recipient_ref, day)
);

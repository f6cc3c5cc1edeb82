-- The demo's tables. IF NOT EXISTS: a database created before versioned migrations adopts them as they are.
CREATE TABLE IF NOT EXISTS events (
    id text PRIMARY KEY,
    account text NOT NULL,
    amount numeric(20, 4) NOT NULL,
    occurred_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS account_totals (
    account text PRIMARY KEY,
    total_amount numeric NOT NULL DEFAULT 0,
    event_count bigint NOT NULL DEFAULT 0,
    last_event_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Reconciliation (docs/RECONCILE.md): one event that voids a hand or a branch books several
-- ledger rows, so a row is keyed by its event's position and its place among that event's
-- rows (`entry`, 0 for every row of one event before). The void kinds: per void hand and
-- player void_bet (-committed), void_award (+awarded) and void_refund (committed - awarded);
-- per player and seat of a voided branch's money across the edge (no hand) void_buy_in (+),
-- void_cash_out (-) and void_refund (cashed out - bought in). Each group sums to zero, so a
-- hand's rows still sum to zero and a player's rows still sum to their stack.
ALTER TABLE ledger ADD COLUMN entry integer NOT NULL DEFAULT 0;
ALTER TABLE ledger DROP CONSTRAINT ledger_pkey;
ALTER TABLE ledger ADD PRIMARY KEY (position, entry);
ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
    CHECK (kind IN ('buy_in', 'top_up', 'cash_out', 'ante', 'blind', 'bet', 'award', 'refund',
                    'void_bet', 'void_award', 'void_buy_in', 'void_cash_out', 'void_refund'));

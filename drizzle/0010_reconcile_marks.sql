-- Reconcile in proportion to change (docs/decisions/016-scale.md).
-- The partial index lets a run list the dirty wallets alone.
-- A wallet becomes dirty when D1's side of it changes: a new wallet, a new
-- ledger entry after a clean check, or any edit or deletion of an entry.
-- Appends set the mark only on a clean wallet (no write while it is already
-- dirty); edits and deletions also move marked_at, so a check that was already
-- running when they happened cannot clear them, and set tampered, so the next
-- check sums the wallet's whole ledger instead of adding to its verified sum.
CREATE INDEX `wallet_checks_dirty_idx` ON `wallet_checks` (`wallet_id`) WHERE `dirty` = 1;
INSERT INTO wallet_checks (wallet_id, dirty, marked_at)
SELECT id, 1, 0 FROM wallets
UNION SELECT DISTINCT wallet_id, 1, 0 FROM ledger_entries WHERE true
ON CONFLICT DO NOTHING;
CREATE TRIGGER `reconcile_wallets_insert` AFTER INSERT ON wallets
BEGIN
  INSERT INTO wallet_checks (wallet_id, dirty, marked_at)
  VALUES (NEW.id, 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
  ON CONFLICT DO UPDATE SET dirty = 1, marked_at = excluded.marked_at WHERE dirty = 0;
END;
CREATE TRIGGER `reconcile_ledger_insert` AFTER INSERT ON ledger_entries
BEGIN
  INSERT INTO wallet_checks (wallet_id, dirty, marked_at)
  VALUES (NEW.wallet_id, 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
  ON CONFLICT DO UPDATE SET dirty = 1, marked_at = excluded.marked_at WHERE dirty = 0;
END;
CREATE TRIGGER `reconcile_ledger_update` AFTER UPDATE ON ledger_entries
BEGIN
  INSERT INTO wallet_checks (wallet_id, dirty, marked_at)
  VALUES (OLD.wallet_id, 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    (NEW.wallet_id, 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
  ON CONFLICT DO UPDATE SET dirty = 1, tampered = 1, marked_at = excluded.marked_at;
END;
CREATE TRIGGER `reconcile_ledger_delete` AFTER DELETE ON ledger_entries
BEGIN
  INSERT INTO wallet_checks (wallet_id, dirty, marked_at)
  VALUES (OLD.wallet_id, 1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
  ON CONFLICT DO UPDATE SET dirty = 1, tampered = 1, marked_at = excluded.marked_at;
END;

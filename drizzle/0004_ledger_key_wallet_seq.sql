PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_ledger_entries` (
	`wallet_id` text NOT NULL,
	`seq` integer NOT NULL,
	`id` text NOT NULL,
	`type` text NOT NULL,
	`amount` integer NOT NULL,
	`balance_after` integer NOT NULL,
	`grant_id` text,
	`hold_id` text,
	`reference` text,
	`idempotency_key` text,
	`description` text NOT NULL,
	`feature` text,
	`generation_id` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`wallet_id`, `seq`)
);
--> statement-breakpoint
INSERT INTO `__new_ledger_entries`("wallet_id", "seq", "id", "type", "amount", "balance_after", "grant_id", "hold_id", "reference", "idempotency_key", "description", "feature", "generation_id", "created_at") SELECT "wallet_id", "seq", "id", "type", "amount", "balance_after", "grant_id", "hold_id", "reference", "idempotency_key", "description", "feature", "generation_id", "created_at" FROM `ledger_entries`;--> statement-breakpoint
DROP TABLE `ledger_entries`;--> statement-breakpoint
ALTER TABLE `__new_ledger_entries` RENAME TO `ledger_entries`;--> statement-breakpoint
PRAGMA foreign_keys=ON;
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_generations` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`wallet_id` text,
	`session_id` text,
	`idempotency_key` text,
	`request_hash` text,
	`site` text NOT NULL,
	`feature` text NOT NULL,
	`issue_type` text NOT NULL,
	`prompt` text,
	`context` text,
	`title` text,
	`description` text,
	`output` text,
	`model` text,
	`upstream_id` text,
	`status` text NOT NULL,
	`error_code` text,
	`held` integer DEFAULT 0 NOT NULL,
	`charged` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer,
	`output_tokens` integer,
	`cost_usd` real,
	`first_delta_ms` integer,
	`latency_ms` integer,
	`created_at` integer NOT NULL,
	`completed_at` integer
);
--> statement-breakpoint
INSERT INTO `__new_generations`("id", "account_id", "wallet_id", "session_id", "idempotency_key", "request_hash", "site", "feature", "issue_type", "prompt", "context", "title", "description", "output", "model", "upstream_id", "status", "error_code", "held", "charged", "input_tokens", "output_tokens", "cost_usd", "first_delta_ms", "latency_ms", "created_at", "completed_at") SELECT "id", "account_id", "wallet_id", "session_id", "idempotency_key", "request_hash", "site", "feature", "issue_type", "prompt", "context", "title", "description", "output", "model", "upstream_id", "status", "error_code", "held", "charged", "input_tokens", "output_tokens", "cost_usd", "first_delta_ms", "latency_ms", "created_at", "completed_at" FROM `generations`;--> statement-breakpoint
DROP TABLE `generations`;--> statement-breakpoint
ALTER TABLE `__new_generations` RENAME TO `generations`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `generations_account_idx` ON `generations` (`account_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `generations_account_key_unique` ON `generations` (`account_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `generations_created_at_idx` ON `generations` (`created_at`);--> statement-breakpoint
CREATE INDEX `generations_wallet_idx` ON `generations` (`wallet_id`,`created_at`);
CREATE TABLE `feature_prices` (
	`feature` text PRIMARY KEY NOT NULL,
	`base_cost` integer NOT NULL,
	`usage_output_tokens_per_token` integer,
	`usage_max_cost` integer DEFAULT 0 NOT NULL,
	`plans` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rate_limits` (
	`key` text PRIMARY KEY NOT NULL,
	`tat` integer NOT NULL
);
--> statement-breakpoint
DROP INDEX `generations_account_key_idx`;--> statement-breakpoint
ALTER TABLE `generations` ADD `cost_usd` real;--> statement-breakpoint
ALTER TABLE `generations` ADD `first_delta_ms` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `generations_account_key_unique` ON `generations` (`account_id`,`idempotency_key`);
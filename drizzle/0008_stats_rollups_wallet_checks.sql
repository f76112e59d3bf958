CREATE TABLE `reconcile_state` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `wallet_checks` (
	`wallet_id` text PRIMARY KEY NOT NULL,
	`dirty` integer DEFAULT 1 NOT NULL,
	`marked_at` integer DEFAULT 0 NOT NULL,
	`verified_seq` integer DEFAULT 0 NOT NULL,
	`verified_at` integer
);
--> statement-breakpoint
CREATE TABLE `stats_accounts_daily` (
	`day` integer NOT NULL,
	`event` text NOT NULL,
	`n` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `event`)
);
--> statement-breakpoint
CREATE TABLE `stats_funnel_daily` (
	`day` integer PRIMARY KEY NOT NULL,
	`anonymous` integer DEFAULT 0 NOT NULL,
	`signed_up` integer DEFAULT 0 NOT NULL,
	`paying` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `stats_generation_daily` (
	`day` integer PRIMARY KEY NOT NULL,
	`latency_count` integer DEFAULT 0 NOT NULL,
	`latency_sum` integer DEFAULT 0 NOT NULL,
	`latency_max` integer,
	`cost_usd` real DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `stats_ledger_daily` (
	`day` integer NOT NULL,
	`type` text NOT NULL,
	`amount` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `type`)
);
--> statement-breakpoint
CREATE TABLE `stats_revenue_daily` (
	`day` integer NOT NULL,
	`currency` text NOT NULL,
	`demo` integer NOT NULL,
	`purchases` integer DEFAULT 0 NOT NULL,
	`packs` integer DEFAULT 0 NOT NULL,
	`allowances` integer DEFAULT 0 NOT NULL,
	`tokens` integer DEFAULT 0 NOT NULL,
	`gross` integer DEFAULT 0 NOT NULL,
	`refunded` integer DEFAULT 0 NOT NULL,
	`disputed` integer DEFAULT 0 NOT NULL,
	`net` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `currency`, `demo`)
);
--> statement-breakpoint
CREATE TABLE `stats_timing_daily` (
	`day` integer NOT NULL,
	`metric` text NOT NULL,
	`bucket` integer NOT NULL,
	`n` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `metric`, `bucket`)
);
--> statement-breakpoint
CREATE TABLE `stats_usage_daily` (
	`day` integer NOT NULL,
	`feature` text NOT NULL,
	`model` text NOT NULL,
	`site` text NOT NULL,
	`status` text NOT NULL,
	`payer` text NOT NULL,
	`generations` integer DEFAULT 0 NOT NULL,
	`spent` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `feature`, `model`, `site`, `status`, `payer`)
);
--> statement-breakpoint
ALTER TABLE `generations` ADD `wallet_id` text;
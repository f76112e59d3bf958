CREATE TABLE `first_purchase_offers` (
	`account_id` text PRIMARY KEY NOT NULL,
	`checkout_id` text,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `team_invites` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`code_hash` text NOT NULL,
	`email` text,
	`role` text NOT NULL,
	`monthly_limit` integer,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_by` text,
	`used_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `team_invites_code_hash_unique` ON `team_invites` (`code_hash`);--> statement-breakpoint
CREATE INDEX `team_invites_team_idx` ON `team_invites` (`team_id`);--> statement-breakpoint
CREATE TABLE `team_members` (
	`team_id` text NOT NULL,
	`account_id` text NOT NULL,
	`role` text NOT NULL,
	`monthly_limit` integer,
	`joined_at` integer NOT NULL,
	PRIMARY KEY(`team_id`, `account_id`)
);
--> statement-breakpoint
CREATE INDEX `team_members_account_idx` ON `team_members` (`account_id`);--> statement-breakpoint
CREATE TABLE `teams` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`stripe_customer_id` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `teams_created_at_idx` ON `teams` (`created_at`);--> statement-breakpoint
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
	`verified_sum` integer DEFAULT 0 NOT NULL,
	`tampered` integer DEFAULT 0 NOT NULL,
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
ALTER TABLE `accounts` ADD `welcome_ip` text;--> statement-breakpoint
CREATE INDEX `accounts_welcome_ip_idx` ON `accounts` (`welcome_ip`,`welcome_granted_at`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `resumed` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `checkouts` ADD `wallet_id` text;--> statement-breakpoint
ALTER TABLE `checkouts` ADD `discounted` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `checkouts` ADD `list_amount` integer;--> statement-breakpoint
ALTER TABLE `purchases` ADD `wallet_id` text;--> statement-breakpoint
ALTER TABLE `purchases` ADD `billing_reason` text;--> statement-breakpoint
ALTER TABLE `purchases` ADD `discounted` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `stripe_events` ADD `owed` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `stripe_events` ADD `owed_attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `stripe_events` ADD `invoice_id` text;--> statement-breakpoint
CREATE INDEX `stripe_events_invoice_idx` ON `stripe_events` (`invoice_id`);--> statement-breakpoint
ALTER TABLE `subscriptions` ADD `wallet_id` text;--> statement-breakpoint
ALTER TABLE `subscriptions` ADD `status_at` integer;--> statement-breakpoint
ALTER TABLE `generations` ADD `wallet_id` text;--> statement-breakpoint
ALTER TABLE `generations` ADD `session_id` text;--> statement-breakpoint
ALTER TABLE `generations` ADD `upstream_id` text;--> statement-breakpoint
CREATE INDEX `generations_wallet_idx` ON `generations` (`wallet_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `ledger_entries` ADD `member_id` text;
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
ALTER TABLE `generations` ADD `session_id` text;
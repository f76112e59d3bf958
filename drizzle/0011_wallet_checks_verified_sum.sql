ALTER TABLE `wallet_checks` ADD `verified_sum` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `wallet_checks` ADD `tampered` integer DEFAULT 0 NOT NULL;
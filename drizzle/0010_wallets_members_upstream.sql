ALTER TABLE `generations` ADD `wallet_id` text;--> statement-breakpoint
ALTER TABLE `generations` ADD `upstream_id` text;--> statement-breakpoint
CREATE INDEX `generations_wallet_idx` ON `generations` (`wallet_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `ledger_entries` ADD `member_id` text;
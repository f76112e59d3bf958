ALTER TABLE `generations` ADD `wallet_id` text;--> statement-breakpoint
ALTER TABLE `generations` ADD `upstream_id` text;--> statement-breakpoint
ALTER TABLE `ledger_entries` ADD `member_id` text;
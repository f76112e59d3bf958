ALTER TABLE `generations` ADD `wallet_id` text;--> statement-breakpoint
CREATE INDEX `generations_wallet_idx` ON `generations` (`wallet_id`,`created_at`);
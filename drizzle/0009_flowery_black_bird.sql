ALTER TABLE `accounts` ADD `welcome_ip` text;--> statement-breakpoint
CREATE INDEX `accounts_welcome_ip_idx` ON `accounts` (`welcome_ip`,`welcome_granted_at`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `resumed` integer DEFAULT false NOT NULL;
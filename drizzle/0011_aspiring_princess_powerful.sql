CREATE TABLE `first_purchase_offers` (
	`account_id` text PRIMARY KEY NOT NULL,
	`checkout_id` text,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
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
ALTER TABLE `subscriptions` ADD `status_at` integer;
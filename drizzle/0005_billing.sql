CREATE TABLE `checkouts` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`plan_id` text NOT NULL,
	`mode` text NOT NULL,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`tokens` integer NOT NULL,
	`demo` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `checkouts_account_idx` ON `checkouts` (`account_id`);--> statement-breakpoint
CREATE TABLE `plans` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`tokens` integer NOT NULL,
	`price_amount` integer NOT NULL,
	`currency` text DEFAULT 'usd' NOT NULL,
	`popular` integer DEFAULT false NOT NULL,
	`rollover_percent` integer DEFAULT 0 NOT NULL,
	`features` text DEFAULT '[]' NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`sort_order` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `promo_codes` (
	`code` text PRIMARY KEY NOT NULL,
	`tokens` integer NOT NULL,
	`max_redemptions` integer,
	`expires_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `promo_redemptions` (
	`code` text NOT NULL,
	`account_id` text NOT NULL,
	`tokens` integer NOT NULL,
	`grant_id` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`code`, `account_id`)
);
--> statement-breakpoint
CREATE INDEX `promo_redemptions_code_idx` ON `promo_redemptions` (`code`);--> statement-breakpoint
CREATE TABLE `purchases` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`plan_id` text NOT NULL,
	`kind` text NOT NULL,
	`checkout_session_id` text,
	`invoice_id` text,
	`subscription_id` text,
	`payment_intent_id` text,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`tokens` integer NOT NULL,
	`period_start` integer,
	`period_end` integer,
	`rollover_from_id` text,
	`rollover_cap` integer DEFAULT 0 NOT NULL,
	`carried_over` integer,
	`grant_id` text,
	`refunded_amount` integer DEFAULT 0 NOT NULL,
	`disputed_amount` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `purchases_checkout_session_unique` ON `purchases` (`checkout_session_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `purchases_invoice_unique` ON `purchases` (`invoice_id`);--> statement-breakpoint
CREATE INDEX `purchases_payment_intent_idx` ON `purchases` (`payment_intent_id`);--> statement-breakpoint
CREATE INDEX `purchases_subscription_idx` ON `purchases` (`subscription_id`,`period_end`);--> statement-breakpoint
CREATE INDEX `purchases_account_idx` ON `purchases` (`account_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `stripe_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`status` text NOT NULL,
	`claim` text NOT NULL,
	`purchase_id` text,
	`payment_intent_id` text,
	`reversal_amount` integer,
	`reversed_from` integer,
	`reversed_to` integer,
	`debited` integer,
	`note` text,
	`created_at` integer NOT NULL,
	`processed_at` integer
);
--> statement-breakpoint
CREATE INDEX `stripe_events_deferred_idx` ON `stripe_events` (`payment_intent_id`,`status`);--> statement-breakpoint
CREATE TABLE `subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`plan_id` text NOT NULL,
	`customer_id` text,
	`status` text NOT NULL,
	`canceled_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `subscriptions_account_idx` ON `subscriptions` (`account_id`);
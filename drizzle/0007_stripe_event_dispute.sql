ALTER TABLE `stripe_events` ADD `dispute_id` text;--> statement-breakpoint
ALTER TABLE `stripe_events` ADD `grant_id` text;
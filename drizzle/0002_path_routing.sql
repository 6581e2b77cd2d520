ALTER TABLE "repositories" ADD COLUMN "namespaces" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "repositories" ADD COLUMN "include_paths" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "repositories" ADD COLUMN "exclude_paths" text[] DEFAULT '{}'::text[] NOT NULL;
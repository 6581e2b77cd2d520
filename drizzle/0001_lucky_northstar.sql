CREATE TABLE "cleanup_policies" (
	"repository_id" integer PRIMARY KEY NOT NULL,
	"unused_days" integer,
	"keep_prereleases" integer,
	"keep_versions" integer,
	"updated_by" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "version_tombstones" (
	"repository_id" integer NOT NULL,
	"module_path" text NOT NULL,
	"version" text NOT NULL,
	"h1" text NOT NULL,
	"go_mod_h1" text NOT NULL,
	"zip_size" bigint,
	"deleted_by" text,
	"deleted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "version_tombstones_repository_id_module_path_version_pk" PRIMARY KEY("repository_id","module_path","version")
);
--> statement-breakpoint
ALTER TABLE "module_versions" ADD COLUMN "download_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "module_versions" ADD COLUMN "last_downloaded_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "cleanup_policies" ADD CONSTRAINT "cleanup_policies_repository_id_repositories_id_fk" FOREIGN KEY ("repository_id") REFERENCES "public"."repositories"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "version_tombstones" ADD CONSTRAINT "version_tombstones_repository_id_repositories_id_fk" FOREIGN KEY ("repository_id") REFERENCES "public"."repositories"("id") ON DELETE cascade ON UPDATE no action;
-- jobq Postgres schema as the migrations build it (schema "jobq").
-- Checked by test/storage/postgres-schema.test.ts; rewrite with JOBQ_UPDATE_SCHEMA_DUMP=1 npm test.

CREATE TABLE jobq.holds (
  queue text NOT NULL,
  key text NOT NULL,
  until bigint NOT NULL
);
ALTER TABLE jobq.holds ADD CONSTRAINT holds_pkey PRIMARY KEY (queue, key);

CREATE TABLE jobq.job_deps (
  depends_on uuid NOT NULL,
  job_id uuid NOT NULL
);
ALTER TABLE jobq.job_deps ADD CONSTRAINT job_deps_pkey PRIMARY KEY (depends_on, job_id);
CREATE INDEX job_deps_job ON jobq.job_deps USING btree (job_id);

CREATE TABLE jobq.jobq_migrations (
  version integer NOT NULL,
  name text NOT NULL,
  applied_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE jobq.jobq_migrations ADD CONSTRAINT jobq_migrations_pkey PRIMARY KEY (version);

CREATE TABLE jobq.jobs (
  seq bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
  id uuid NOT NULL,
  queue text NOT NULL,
  type text NOT NULL,
  payload json NOT NULL,
  status text NOT NULL,
  priority integer NOT NULL,
  attempts integer DEFAULT 0 NOT NULL,
  max_attempts integer NOT NULL,
  timeout_ms integer,
  run_at bigint NOT NULL,
  created_at bigint NOT NULL,
  started_at bigint,
  finished_at bigint,
  updated_at bigint NOT NULL,
  result json,
  errors jsonb DEFAULT '[]'::jsonb NOT NULL,
  progress double precision,
  lease_token text,
  lease_expires_at bigint,
  key text,
  unique_key text,
  key_until bigint,
  depends_on jsonb,
  on_dep_failure text,
  pending_deps integer DEFAULT 0 NOT NULL,
  has_dependents boolean DEFAULT false NOT NULL,
  concurrency_key text,
  rate_key text,
  ordering_key text,
  trace_context jsonb
);
ALTER TABLE jobq.jobs ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);
CREATE INDEX jobs_cancelled ON jobq.jobs USING btree (queue, finished_at, seq) WHERE (status = 'cancelled'::text);
CREATE INDEX jobs_claim ON jobq.jobs USING btree (queue, type, priority DESC, run_at, seq) WHERE (status = 'pending'::text);
CREATE INDEX jobs_claim_key ON jobq.jobs USING btree (queue, concurrency_key, priority DESC, run_at, seq) WHERE ((status = 'pending'::text) AND (concurrency_key IS NOT NULL));
CREATE INDEX jobs_completed ON jobq.jobs USING btree (queue, finished_at, seq) WHERE (status = 'completed'::text);
CREATE INDEX jobs_failed ON jobq.jobs USING btree (queue, finished_at, seq) WHERE (status = 'failed'::text);
CREATE INDEX jobs_leases ON jobq.jobs USING btree (lease_expires_at, seq) WHERE (status = 'processing'::text);
CREATE INDEX jobs_list ON jobq.jobs USING btree (queue, seq) WHERE (status <> 'processing'::text);
CREATE INDEX jobs_ordering ON jobq.jobs USING btree (queue, ordering_key, seq) WHERE ((ordering_key IS NOT NULL) AND (status = ANY (ARRAY['waiting'::text, 'scheduled'::text, 'pending'::text, 'processing'::text])));
CREATE INDEX jobs_scheduled ON jobq.jobs USING btree (queue, run_at, seq) WHERE (status = 'scheduled'::text);
CREATE UNIQUE INDEX jobs_unique_key ON jobq.jobs USING btree (unique_key) WHERE (unique_key IS NOT NULL);
CREATE INDEX jobs_waiting ON jobq.jobs USING btree (queue, seq) WHERE (status = 'waiting'::text);

CREATE TABLE jobq.kafka_ingest_offsets (
  consumer text NOT NULL,
  topic text NOT NULL,
  partition integer NOT NULL,
  next_offset bigint NOT NULL
);
ALTER TABLE jobq.kafka_ingest_offsets ADD CONSTRAINT kafka_ingest_offsets_pkey PRIMARY KEY (consumer, topic, partition);

CREATE TABLE jobq.kafka_outbox (
  seq bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
  queue text NOT NULL,
  created_at bigint NOT NULL,
  job_ids ARRAY NOT NULL,
  ordering_keys ARRAY NOT NULL
);
ALTER TABLE jobq.kafka_outbox ADD CONSTRAINT kafka_outbox_pkey PRIMARY KEY (seq);

CREATE TABLE jobq.leaders (
  name text NOT NULL,
  node_id text NOT NULL,
  expires_at bigint NOT NULL
);
ALTER TABLE jobq.leaders ADD CONSTRAINT leaders_pkey PRIMARY KEY (name);

CREATE TABLE jobq.nodes (
  id text NOT NULL,
  info jsonb NOT NULL,
  heartbeat_at bigint NOT NULL
);
ALTER TABLE jobq.nodes ADD CONSTRAINT nodes_pkey PRIMARY KEY (id);

CREATE TABLE jobq.queues (
  name text NOT NULL,
  paused boolean DEFAULT false NOT NULL,
  created_at bigint DEFAULT 0 NOT NULL,
  settings jsonb,
  rr_cursor text,
  ordered boolean DEFAULT false NOT NULL
);
ALTER TABLE jobq.queues ADD CONSTRAINT queues_pkey PRIMARY KEY (name);

CREATE TABLE jobq.rate_starts (
  queue text NOT NULL,
  key text NOT NULL,
  at bigint NOT NULL
);
CREATE INDEX rate_starts_window ON jobq.rate_starts USING btree (queue, key, at);

CREATE TABLE jobq.schedules (
  name text NOT NULL,
  cron text NOT NULL,
  tz text NOT NULL,
  job jsonb NOT NULL,
  catch_up text NOT NULL,
  paused boolean DEFAULT false NOT NULL,
  next_run_at bigint,
  last_run_at bigint,
  last_job_id uuid,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
ALTER TABLE jobq.schedules ADD CONSTRAINT schedules_pkey PRIMARY KEY (name);
CREATE INDEX schedules_due ON jobq.schedules USING btree (next_run_at) WHERE (NOT paused);

CREATE TABLE jobq.subscribers (
  node_id text NOT NULL,
  expires_at bigint NOT NULL
);
ALTER TABLE jobq.subscribers ADD CONSTRAINT subscribers_pkey PRIMARY KEY (node_id);

CREATE TABLE jobq.tokens (
  id uuid NOT NULL,
  name text NOT NULL,
  hash text NOT NULL,
  scopes jsonb NOT NULL,
  queues jsonb,
  created_at bigint NOT NULL,
  last_used_at bigint,
  revoked_at bigint
);
ALTER TABLE jobq.tokens ADD CONSTRAINT tokens_hash_key UNIQUE (hash);
ALTER TABLE jobq.tokens ADD CONSTRAINT tokens_name_key UNIQUE (name);
ALTER TABLE jobq.tokens ADD CONSTRAINT tokens_pkey PRIMARY KEY (id);

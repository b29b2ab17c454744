-- test/bench/gen-realistic.sql - a realistic database for benchmarks: random text, numbers, timestamps, JSON
--
--   psql -X -v ON_ERROR_STOP=1 -v scale=1 -d DB -f test/bench/gen-realistic.sql
--
-- scale 1 adds about 1 GB (pg_database_size, indexes included). Each run APPENDS that much:
-- ids continue after the current maximum, so running it twice at scale 1 gives the database
-- of scale 2 (the benchmark grows its database in place this way). Values are pseudo-random,
-- with the entropy of real data: zstd -3 compresses a plain pg_dump about 3:1, not the 50:1 of
-- pgbench's blank padding. Text (titles, descriptions, names, streets, messages) is words of a
-- vocabulary of random syllables, drawn with the skewed frequencies of a real language.
-- Tables stay logged (a backup of a real database); secondary indexes and primary keys are
-- dropped during the load and rebuilt after it, then VACUUM ANALYZE sets hint bits so the first
-- reader does not pay for them.

\set QUIET on
\if :{?scale}
\else
\set scale 1
\endif
\if :{?batch}
\else
\set batch 100000
\endif
SET client_min_messages = warning;
SET jit = off;
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';

CREATE TABLE IF NOT EXISTS users (
	id		bigint NOT NULL,
	email		text NOT NULL,
	full_name	text NOT NULL,
	address		text,
	country		char(2) NOT NULL,
	phone		text,
	password_hash	text NOT NULL,
	balance		numeric(12, 2) NOT NULL DEFAULT 0,
	is_active	boolean NOT NULL DEFAULT true,
	created_at	timestamptz NOT NULL,
	last_login	timestamptz
);

CREATE TABLE IF NOT EXISTS offers (
	id		bigint NOT NULL,
	user_id		bigint NOT NULL,
	title		text NOT NULL,
	description	text,
	price		numeric(12, 2) NOT NULL,
	currency	char(3) NOT NULL,
	status		text NOT NULL,
	quantity	integer NOT NULL,
	created_at	timestamptz NOT NULL,
	updated_at	timestamptz NOT NULL,
	attrs		jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS offer_logs (
	id		bigserial,
	offer_id	bigint NOT NULL,
	actor_id	bigint,
	event		text NOT NULL,
	at		timestamptz NOT NULL,
	payload		jsonb
);

CREATE TABLE IF NOT EXISTS events (
	id		uuid NOT NULL,
	kind		integer NOT NULL,
	score		double precision,
	flag		boolean NOT NULL,
	labels		text[],
	src		inet,
	at		timestamptz NOT NULL,
	body		text
);

CREATE SEQUENCE IF NOT EXISTS invoice_no_seq;

-- The load runs without indexes; they are rebuilt at the end.
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_pkey;
ALTER TABLE offers DROP CONSTRAINT IF EXISTS offers_pkey;
ALTER TABLE offer_logs DROP CONSTRAINT IF EXISTS offer_logs_pkey;
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_pkey;
DROP INDEX IF EXISTS users_email_key, offers_user_id_idx, offers_created_at_idx,
	offer_logs_offer_id_idx, events_at_idx;

-- Row counts of this run, and where the ids of this run start.
SELECT greatest(1, round(135000 * :scale))::bigint AS n_users,
       greatest(1, round(590000 * :scale))::bigint AS n_offers,
       greatest(1, round(1600000 * :scale))::bigint AS n_logs,
       greatest(1, round(1000000 * :scale))::bigint AS n_events,
       (SELECT coalesce(max(id), 0) FROM users) AS base_users,
       (SELECT coalesce(max(id), 0) FROM offers) AS base_offers
\gset
-- Ids referenced by this run's offers and logs: everything loaded so far.
SELECT :base_users + :n_users AS all_users, :base_offers + :n_offers AS all_offers
\gset

-- Word material: a vocabulary of 4096 words made of random syllables, the same at every run
-- (setseed), drawn with a Zipf-like law (index e^(8.3 u)) as words of a real language are. Each
-- statement builds it (view gen_voc) as an array of the fixed-width type name: O(1) subscripts,
-- and never toasted, which a stored array would be, and then detoasted at every subscript.
SELECT setseed(0.42) \gset
CREATE TEMP TABLE gen_vocab AS
SELECT i, (syl[1 + (random() * 311)::int] ||
	   CASE WHEN random() < 0.8 THEN syl[1 + (random() * 311)::int] ELSE '' END ||
	   CASE WHEN random() < 0.3 THEN syl[1 + (random() * 311)::int] ELSE '' END ||
	   CASE WHEN random() < 0.04 THEN '.' WHEN random() < 0.04 THEN ',' ELSE '' END)::name AS w
FROM (SELECT ARRAY(SELECT c || v FROM unnest(string_to_array(
		'b c d f g h j k l m n p r s t v w z br st tr ch sh th pl gr', ' ')) c,
		unnest(string_to_array('a e i o u a e o ai ea ou io', ' ')) v) AS syl) s,
     generate_series(1, 4096) i;
SELECT setseed(random() * 2 - 1) \gset
CREATE TEMP VIEW gen_voc AS SELECT array_agg(w ORDER BY i) AS voc FROM gen_vocab;

-- One INSERT per batch, run by \gexec: progress shows, and no statement runs for long. In each,
-- %1$s..%2$s are the batch's row numbers; v is the vocabulary (voc[exp(random() * 8.3)::int] is
-- a word), and the lateral subquery r draws the values that several columns share, per row.
-- users ------------------------------------------------------------------------------------
SELECT format($q$
INSERT INTO users (id, email, full_name, address, country, phone, password_hash, balance,
		   is_active, created_at, last_login)
SELECT %3$s + g,
       lower(fn || '.' || ln) || (%3$s + g) || '@' ||
	(ARRAY['example.com', 'mail.test', 'post.example', 'inbox.test', 'corp.example'])[1 + g %% 5],
       fn || ' ' || ln,
       (1 + (random() * 400)::int) || ' ' || initcap(voc[exp(random() * 8.3)::int]) ||
	(ARRAY[' Street', ' Road', ' Avenue', ' Lane', ' Way'])[1 + (random() * 4)::int] || ', ' ||
	lpad(((random() * 99999)::int)::text, 5, '0') || ' ' || initcap(voc[exp(random() * 8.3)::int]),
       (ARRAY['US', 'DE', 'FR', 'GB', 'ES', 'IT', 'NL', 'PL', 'SE', 'BR', 'JP', 'IN'])
	[1 + (random() * random() * 11)::int],
       CASE WHEN random() < 0.7 THEN '+' || (1 + (random() * 98)::int) || ' ' ||
	(100000000 + (random() * 899999999)::bigint) END,
       '$2b$12$' || encode(sha256(('u' || g || random())::bytea), 'base64'),
       round((random() * random() * 5000)::numeric, 2),
       random() < 0.9,
       ts,
       CASE WHEN random() < 0.8 THEN ts + random() * interval '400 days' END
FROM gen_voc v,
     LATERAL (SELECT g, now() - random() * interval '5 years' AS ts,
		     rtrim(initcap(voc[exp(random() * 8.3)::int]), '.,') AS fn,
		     rtrim(initcap(voc[exp(random() * 8.3)::int]), '.,') AS ln
	      FROM generate_series(%1$s, %2$s) g) r
$q$, lo, least(lo + :batch - 1, :n_users), :base_users)
FROM generate_series(1, :n_users, :batch) lo
\gexec
\echo users: :n_users rows

-- offers ----------------------------------------------------------------------------------
SELECT format($q$
INSERT INTO offers (id, user_id, title, description, price, currency, status, quantity,
		    created_at, updated_at, attrs)
SELECT %3$s + g,
       1 + (random() * (%4$s - 1))::bigint,
       initcap(rtrim(array_to_string(ARRAY(SELECT voc[exp(random() * 8.3)::int]
					   FROM generate_series(1, 2 + g %% 7)), ' '), '.,')),
       CASE WHEN random() < 0.95 THEN array_to_string(ARRAY(
	SELECT voc[exp(random() * 8.3)::int] FROM generate_series(1, (random() * 80)::int + g %% 2)),
	' ') END,
       round((exp(random() * 9) + random())::numeric, 2),
       (ARRAY['EUR', 'USD', 'GBP', 'CHF', 'JPY', 'SEK'])[1 + (random() * random() * 5)::int],
       (ARRAY['active', 'active', 'active', 'sold', 'draft', 'expired', 'paused'])
	[1 + (random() * 6)::int],
       (random() * random() * 250)::int,
       ts,
       ts + random() * interval '120 days',
       jsonb_build_object(
	'sku', upper(substr(md5(g::text || random()), 1, 12)),
	'color', (ARRAY['red', 'blue', 'green', 'black', 'white', 'silver', 'beige', 'navy'])
		[1 + (random() * 7)::int],
	'size', (ARRAY['XS', 'S', 'M', 'L', 'XL', 'XXL'])[1 + (random() * 5)::int],
	'weight_g', (random() * 20000)::int,
	'rating', round((1 + random() * 4)::numeric, 2),
	'in_stock', random() < 0.8,
	'dims', jsonb_build_object('w', round((random() * 200)::numeric, 1),
				   'h', round((random() * 200)::numeric, 1),
				   'd', round((random() * 80)::numeric, 1)),
	'tags', to_jsonb(ARRAY(SELECT rtrim(voc[exp(random() * 8.3)::int], '.,')
			       FROM generate_series(1, g %% 4))),
	'seller', jsonb_build_object('score', round(random()::numeric, 3),
				     'since', (2005 + (random() * 19)::int)::text,
				     'ref', substr(md5(random()::text), 1, 8)))
FROM gen_voc v,
     LATERAL (SELECT g, now() - random() * interval '3 years' AS ts
	      FROM generate_series(%1$s, %2$s) g) r
$q$, lo, least(lo + :batch - 1, :n_offers), :base_offers, :all_users)
FROM generate_series(1, :n_offers, :batch) lo
\gexec
\echo offers: :n_offers rows

-- offer_logs ------------------------------------------------------------------------------
SELECT format($q$
INSERT INTO offer_logs (offer_id, actor_id, event, at, payload)
SELECT 1 + (random() * (%3$s - 1))::bigint,
       CASE WHEN random() < 0.85 THEN 1 + (random() * (%4$s - 1))::bigint END,
       ev,
       now() - random() * interval '3 years',
       CASE WHEN ev = 'viewed' THEN jsonb_build_object(
		'ip', host(('10.0.0.0'::inet + (random() * 16777215)::bigint)),
		'ua', (ARRAY['Mozilla/5.0 (X11; Linux x86_64)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1)',
			     'Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 'curl/8.4.0',
			     'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)'])[1 + (random() * 4)::int],
		'session', substr(md5(g::text || random()), 1, 20),
		'ms', (random() * random() * 3000)::int)
	    WHEN ev = 'price_changed' THEN jsonb_build_object(
		'old', round((exp(random() * 9))::numeric, 2),
		'new', round((exp(random() * 9))::numeric, 2),
		'reason', array_to_string(ARRAY(SELECT voc[exp(random() * 8.3)::int]
						FROM generate_series(1, 1 + g %% 6)), ' '))
	    WHEN ev = 'message' THEN jsonb_build_object(
		'text', array_to_string(ARRAY(SELECT voc[exp(random() * 8.3)::int]
					      FROM generate_series(1, 3 + g %% 25)), ' '),
		'read', random() < 0.5)
	    ELSE jsonb_build_object('by', (ARRAY['web', 'app', 'api', 'batch'])[1 + (random() * 3)::int])
       END
FROM gen_voc v,
     LATERAL (SELECT g, (ARRAY['viewed', 'viewed', 'viewed', 'viewed', 'price_changed', 'message',
			       'status_changed', 'favorited'])[1 + (random() * 7)::int] AS ev
	      FROM generate_series(%1$s, %2$s) g) r
$q$, lo, least(lo + :batch - 1, :n_logs), :all_offers, :all_users)
FROM generate_series(1, :n_logs, :batch) lo
\gexec
\echo offer_logs: :n_logs rows

-- events ----------------------------------------------------------------------------------
SELECT format($q$
INSERT INTO events (id, kind, score, flag, labels, src, at, body)
SELECT gen_random_uuid(),
       (random() * random() * 40)::int,
       CASE WHEN random() < 0.9 THEN random() * 1000 - 100 END,
       random() < 0.3,
       ARRAY(SELECT (ARRAY['alpha', 'beta', 'prod', 'eu', 'us', 'mobile', 'web', 'retry', 'slow'])
			[1 + (random() * 8)::int]
	     FROM generate_series(1, g %% 4)),
       '10.0.0.0'::inet + (random() * 16777215)::bigint,
       now() - random() * interval '2 years',
       CASE WHEN random() < 0.6 THEN array_to_string(ARRAY(
	SELECT voc[exp(random() * 8.3)::int] FROM generate_series(1, 2 + g %% 15)), ' ') END
FROM gen_voc v, generate_series(%1$s, %2$s) g
$q$, lo, least(lo + :batch - 1, :n_events))
FROM generate_series(1, :n_events, :batch) lo
\gexec
\echo events: :n_events rows

SELECT setval('invoice_no_seq', (SELECT last_value FROM invoice_no_seq) + :n_offers) AS invoice_no
\gset
DROP VIEW gen_voc;
DROP TABLE gen_vocab;

-- Indexes, as the application has them.
ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE offers ADD CONSTRAINT offers_pkey PRIMARY KEY (id);
ALTER TABLE offer_logs ADD CONSTRAINT offer_logs_pkey PRIMARY KEY (id);
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX offers_user_id_idx ON offers (user_id);
CREATE INDEX offers_created_at_idx ON offers (created_at);
CREATE INDEX offer_logs_offer_id_idx ON offer_logs (offer_id);
CREATE INDEX events_at_idx ON events (at);

VACUUM ANALYZE users, offers, offer_logs, events;
SELECT pg_size_pretty(pg_database_size(current_database())) AS size \gset
\echo database size: :size

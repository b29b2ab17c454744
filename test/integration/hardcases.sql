-- test/integration/hardcases.sql - a database of hard cases for backup and restore round trips
-- Every common type, arrays, json/jsonb, bytea with NULs, NULL vs empty string, quoted and
-- Unicode identifiers, partitioned tables, generated columns, sequences, large objects,
-- unlogged and empty tables, text with newlines, tabs and backslashes. Deterministic: the same
-- rows every time (no random(), no now()). Load with psql -v ON_ERROR_STOP=1 -f.
SET client_min_messages = warning;

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TYPE pair AS (a integer, b text);

CREATE TABLE all_types (
	id          bigserial PRIMARY KEY,
	b           boolean,
	i2          smallint,
	i4          integer,
	i8          bigint,
	n           numeric(30, 10),
	r4          real,
	r8          double precision,
	m           money,
	c           char(5),
	vc          varchar(20),
	t           text,
	by          bytea,
	d           date,
	tm          time,
	tmz         time with time zone,
	ts          timestamp,
	tsz         timestamptz,
	iv          interval,
	u           uuid,
	j           json,
	jb          jsonb,
	inet_       inet,
	cidr_       cidr,
	mac         macaddr,
	bits        bit varying(16),
	pt          point,
	rng         int4range,
	tsr         tstzrange,
	mo          mood,
	pos         positive,
	pr          pair,
	ia          integer[],
	ta          text[],
	ja          jsonb[],
	ma          integer[][],
	x           xml,
	tv          tsvector
);

INSERT INTO all_types (b, i2, i4, i8, n, r4, r8, m, c, vc, t, by, d, tm, tmz, ts, tsz, iv, u, j, jb,
		       inet_, cidr_, mac, bits, pt, rng, tsr, mo, pos, pr, ia, ta, ja, ma, x, tv)
VALUES
	(true, 32767, 2147483647, 9223372036854775807, 12345678901234567890.0123456789,
	 3.4e38, 1.7976931348623157e308, 12.34, 'ab', 'varchar', 'plain text',
	 '\x00010203ff00'::bytea, '2024-02-29', '23:59:59.999999', '12:00+05:30',
	 '1999-12-31 23:59:59', '2000-01-01 00:00:00+00', '1 year 2 months 3 days 04:05:06',
	 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": [1, 2, {"x": null}]}',
	 '{"b": 2, "a": "ü\u00e9\t", "n": 1.5e10}', '192.168.0.1/24', '10.0.0.0/8',
	 '08:00:2b:01:02:03', B'1010', '(1.5,-2)', '[1,10)', '[2020-01-01,2021-01-01)', 'happy',
	 7, ROW(1, 'x,y')::pair, '{1,NULL,3}', '{"a b","c\"d","e\\f",NULL,""}',
	 ARRAY['{"a":1}'::jsonb, 'null'::jsonb], '{{1,2},{3,4}}', '<a href="x">ü</a>',
	 'the quick brown fox'),
	(false, -32768, -2147483648, -9223372036854775808, -0.0000000001, 'NaN', '-Infinity',
	 -0.01, 'Ω', '', '', ''::bytea, '-infinity', '00:00', '00:00-12', 'infinity',
	 '1970-01-01 00:00:00.000001+00', '-1 days', '00000000-0000-0000-0000-000000000000',
	 '[]', '{}', '::1', '::/0', 'ff:ff:ff:ff:ff:ff', B'', '(0,0)', 'empty', '(,)', 'sad', 1,
	 ROW(NULL, NULL)::pair, '{}', '{}', '{}', '{}', '<x/>', ''),
	(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- text that COPY must escape: newline, carriage return, tab, backslash, the \N marker itself
CREATE TABLE escapes (id integer PRIMARY KEY, t text, note text);
INSERT INTO escapes VALUES
	(1, E'line one\nline two', 'newline'),
	(2, E'a\tb\tc', 'tabs'),
	(3, E'back\\slash \\N not null', 'backslashes and a literal \N'),
	(4, E'cr\r\nlf', 'carriage return'),
	(5, '', 'empty string'),
	(6, NULL, 'null'),
	(7, E'\\', 'one backslash'),
	(8, E'unicode: ü ø 中文 😀 \u200b', 'unicode and a zero-width space'),
	(9, repeat('x', 100000), 'wide value');

-- bytea with NULs and every byte value
CREATE TABLE blobs (id integer PRIMARY KEY, data bytea);
INSERT INTO blobs SELECT 1, decode(string_agg(lpad(to_hex(b), 2, '0'), ''), 'hex')
	FROM generate_series(0, 255) b;
INSERT INTO blobs VALUES (2, '\x000000'), (3, ''), (4, NULL);

-- quoted and Unicode identifiers, in a schema that needs quoting too
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Mixed Case ""Quoted"" Table" (
	"select" integer,
	"Column With Spaces" text,
	"ünïcödé" text,
	"a.b" text
);
INSERT INTO "Odd Schema"."Mixed Case ""Quoted"" Table" VALUES
	(1, 'spaces', 'umlauts', 'dot'), (2, NULL, '', 'x');
CREATE TABLE "Odd Schema"."表" ("列" text PRIMARY KEY);
INSERT INTO "Odd Schema"."表" VALUES ('值'), ('😀');

-- partitioned: a range-partitioned parent, two leaves and a default; a sub-partitioned leaf
CREATE TABLE events (id integer NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
	PARTITION BY LIST (kind);
CREATE TABLE events_2024_a PARTITION OF events_2024 FOR VALUES IN ('a');
CREATE TABLE events_2024_rest PARTITION OF events_2024 DEFAULT;
CREATE TABLE events_default PARTITION OF events DEFAULT;
INSERT INTO events SELECT i, date '2023-01-01' + (i * 3), CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END
	FROM generate_series(1, 300) i;

-- generated and identity columns
CREATE TABLE generated (
	id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	w numeric NOT NULL,
	h numeric NOT NULL,
	area numeric GENERATED ALWAYS AS (w * h) STORED
);
INSERT INTO generated (w, h) SELECT i, i + 0.5 FROM generate_series(1, 50) i;

-- sequences: used, unused, and one with odd settings
CREATE SEQUENCE seq_used START 100 INCREMENT 7;
SELECT nextval('seq_used'), nextval('seq_used');
CREATE SEQUENCE seq_unused;
CREATE SEQUENCE "Odd Schema"."seq desc" INCREMENT -1 MINVALUE -1000 MAXVALUE 0 START 0 CYCLE;
SELECT nextval('"Odd Schema"."seq desc"');

-- large objects: a small one, an empty one, one over the 1 MiB read size
SELECT lo_from_bytea(424242, 'hello large object'::bytea);
SELECT lo_from_bytea(424243, ''::bytea);
SELECT lo_from_bytea(424244, decode(repeat('00ff10', 600000), 'hex'));
CREATE TABLE documents (id integer PRIMARY KEY, body oid);
INSERT INTO documents VALUES (1, 424242), (2, 424244);

-- unlogged and empty tables
CREATE UNLOGGED TABLE scratch (k text PRIMARY KEY, v integer);
INSERT INTO scratch VALUES ('a', 1), ('b', 2);
CREATE TABLE nothing_here (id integer);
CREATE TABLE no_columns ();
INSERT INTO no_columns DEFAULT VALUES;
INSERT INTO no_columns DEFAULT VALUES;

-- constraints, an index, a view, a materialized view, a trigger: post-data objects
CREATE TABLE parent (id integer PRIMARY KEY);
CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id),
		    CHECK (id > 0));
INSERT INTO parent SELECT generate_series(1, 20);
INSERT INTO child SELECT i, 1 + i % 20 FROM generate_series(1, 100) i;
CREATE INDEX child_parent_idx ON child (parent_id);
CREATE VIEW child_view AS SELECT c.id, p.id AS pid FROM child c JOIN parent p ON p.id = c.parent_id;
CREATE MATERIALIZED VIEW child_counts AS SELECT parent_id, count(*) FROM child GROUP BY 1;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RETURN NEW;
END
$$;
CREATE TRIGGER child_touch BEFORE UPDATE ON child FOR EACH ROW EXECUTE FUNCTION touch();

-- a distinctive value: tests grep the stored bytes for it (it must never appear in clear)
CREATE TABLE canary (id integer PRIMARY KEY, secret text);
INSERT INTO canary VALUES (1, 'CANARY-7f3a9c2e-hardcases-plaintext');

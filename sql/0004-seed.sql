-- sql/0004-seed.sql - the first rows of dr_config. An operator's later change is kept:
-- ON CONFLICT DO NOTHING never overwrites a value. drctl maintains 'schema.version' itself.

INSERT INTO public.dr_config (key, value, description) VALUES
	('backup.paused', 'false', 'true stops scheduled backups (drctl backup refuses until false)'),
	('probe.auto_failover', 'false', 'true lets probe --watch promote a standby on its own'),
	('lockdown.allowed_roles', '[]', 'roles that keep write access during a lockdown'),
	('audit.ship_with_backups', 'true', 'copy the audit log into every backup'),
	('schema.bootstrapped_at', pg_catalog.to_jsonb(now()), 'when bootstrap first seeded this database')
ON CONFLICT (key) DO NOTHING;

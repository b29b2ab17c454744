-- sql/0003-append-only.sql - append-only tables (UPDATE, DELETE and TRUNCATE raise an error) and
-- updated_at maintenance. The append-only triggers are statement-level, so they fire even when
-- no row matches: selftest proves them active with `UPDATE t SET c = c WHERE false`.

CREATE OR REPLACE FUNCTION public.dr_reject_change() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, public
AS $fn$
BEGIN
	RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
		USING ERRCODE = 'insufficient_privilege',
		      DETAIL = format('rows of %I.%I are never changed or removed', TG_TABLE_SCHEMA,
				      TG_TABLE_NAME),
		      HINT = 'insert a new row that records the correction instead';
END
$fn$;
COMMENT ON FUNCTION public.dr_reject_change() IS 'drctl: rejects UPDATE, DELETE and TRUNCATE';

CREATE OR REPLACE FUNCTION public.dr_touch_updated_at() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, public
AS $fn$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION public.dr_touch_updated_at() IS 'drctl: sets updated_at on every UPDATE';

DROP TRIGGER IF EXISTS dr_append_only ON public.offer_logs;
CREATE TRIGGER dr_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON public.offer_logs
	FOR EACH STATEMENT EXECUTE FUNCTION public.dr_reject_change();

DROP TRIGGER IF EXISTS dr_append_only ON public.dr_audit;
CREATE TRIGGER dr_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON public.dr_audit
	FOR EACH STATEMENT EXECUTE FUNCTION public.dr_reject_change();

DROP TRIGGER IF EXISTS dr_append_only ON public.dr_probes;
CREATE TRIGGER dr_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON public.dr_probes
	FOR EACH STATEMENT EXECUTE FUNCTION public.dr_reject_change();

DROP TRIGGER IF EXISTS dr_touch_updated_at ON public.offers;
CREATE TRIGGER dr_touch_updated_at BEFORE UPDATE ON public.offers
	FOR EACH ROW EXECUTE FUNCTION public.dr_touch_updated_at();

DROP TRIGGER IF EXISTS dr_touch_updated_at ON public.adapter_states;
CREATE TRIGGER dr_touch_updated_at BEFORE UPDATE ON public.adapter_states
	FOR EACH ROW EXECUTE FUNCTION public.dr_touch_updated_at();

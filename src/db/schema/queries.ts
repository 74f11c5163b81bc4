import { GOLANG_MIGRATE_KEPT_AS, TRACKING_TABLE } from "../tracking.ts";

/**
 * The catalog queries of `dump`, one per kind. They run with search_path set
 * to pg_catalog alone, so every name the server prints (format_type,
 * pg_get_*def, pg_get_expr) is schema-qualified whatever the caller's
 * search_path. Names are quoted with quote_ident, as those functions quote
 * them. Arrays come back as json: the client fetches no array types.
 */

/** Schemas of the database's own objects: not the system's. */
const userSchema = (namespace: string) =>
  `${namespace}.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and ${namespace}.nspname not like 'pg\\_temp\\_%' and ${namespace}.nspname not like 'pg\\_toast\\_temp\\_%'`;

/** An object an extension created belongs to the extension, which is listed by name instead. */
const notFromExtension = (catalog: string, oid: string) =>
  `not exists (select from pg_depend x where x.classid = '${catalog}'::regclass and x.objid = ${oid} and x.deptype = 'e')`;

/** The runner's own tables are not the application's schema. */
const notTracking = (relation: string) => `${relation}.relname not in ('${TRACKING_TABLE}', '${GOLANG_MIGRATE_KEPT_AS}')`;

const qualified = (namespace: string, name: string) => `quote_ident(${namespace}.nspname) || '.' || quote_ident(${name})`;

/**
 * Members (constraints, indexes, triggers, policies) only of what the dump lists: a foreign table's check is
 * not dumped with it, and listed under whatever table sorted before it, it would be that table's.
 */
const dumpedOwner = (relation: string) => `${relation}.relkind in ('r', 'p', 'v', 'm')`;

/** Relations (tables, views, sequences...) that belong in a dump; `c` is pg_class, `n` its namespace. */
const userRelation = `${userSchema("n")} and ${notFromExtension("pg_class", "c.oid")} and ${notTracking("c")}`;

export const EXTENSIONS = "select extname as name from pg_extension order by 1";

export const SCHEMAS = `
  select quote_ident(n.nspname) as name, obj_description(n.oid, 'pg_namespace') as comment
  from pg_namespace n
  where ${userSchema("n")} and ${notFromExtension("pg_namespace", "n.oid")}`;

export const TYPES = `
  select ${qualified("n", "t.typname")} as name, t.typtype as type_kind,
         format_type(t.typbasetype, t.typtypmod) as base_type, t.typnotnull as not_null, t.typdefault as default_value,
         to_json(array(select e.enumlabel from pg_enum e where e.enumtypid = t.oid order by e.enumsortorder)) as values,
         to_json(array(select quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid) from pg_constraint k
                       where k.contypid = t.oid and k.contype = 'c' order by k.conname)) as checks,
         obj_description(t.oid, 'pg_type') as comment
  from pg_type t join pg_namespace n on n.oid = t.typnamespace
  where t.typtype in ('e', 'd') and ${userSchema("n")} and ${notFromExtension("pg_type", "t.oid")}`;

// A sequence behind an identity column is the column's business (its name is generated): the column says identity.
export const SEQUENCES = `
  select ${qualified("n", "c.relname")} as name, format_type(s.seqtypid, null) as type,
         s.seqstart::text as start, s.seqincrement::text as increment, s.seqmin::text as min, s.seqmax::text as max,
         s.seqcache::text as cache, s.seqcycle as cycle,
         (select ${qualified("tn", "t.relname")} || '.' || quote_ident(a.attname)
            from pg_depend d join pg_class t on t.oid = d.refobjid join pg_namespace tn on tn.oid = t.relnamespace
            join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
           where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.refclassid = 'pg_class'::regclass and d.deptype = 'a') as owned_by,
         obj_description(c.oid, 'pg_class') as comment
  from pg_sequence s join pg_class c on c.oid = s.seqrelid join pg_namespace n on n.oid = c.relnamespace
  where ${userRelation}
    and not exists (select from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'i')`;

export const TABLES = `
  select ${qualified("n", "c.relname")} as name, c.relkind = 'p' as partitioned, c.relpersistence = 'u' as unlogged,
         c.relrowsecurity as row_level_security, c.relforcerowsecurity as force_row_level_security,
         case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end as partition_key,
         case when c.relispartition then (select ${qualified("pn", "p.relname")} || ' ' || pg_get_expr(c.relpartbound, c.oid)
                                            from pg_inherits h join pg_class p on p.oid = h.inhparent join pg_namespace pn on pn.oid = p.relnamespace
                                           where h.inhrelid = c.oid) end as partition_of,
         case when not c.relispartition then to_json(array(select ${qualified("pn", "p.relname")} from pg_inherits h join pg_class p on p.oid = h.inhparent
                                                            join pg_namespace pn on pn.oid = p.relnamespace where h.inhrelid = c.oid order by h.inhseqno)) end as inherits,
         obj_description(c.oid, 'pg_class') as comment
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p') and ${userRelation}`;

// attgenerated: 's' stored; PostgreSQL 18 adds 'v' (virtual).
export const COLUMNS = `
  select ${qualified("n", "c.relname")} as table_name, quote_ident(a.attname) as name,
         format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
         case when a.attgenerated = '' then pg_get_expr(ad.adbin, ad.adrelid) end as default_value,
         case when a.attgenerated <> '' then pg_get_expr(ad.adbin, ad.adrelid) end as generated,
         case a.attgenerated when 's' then 'stored' when 'v' then 'virtual' end as generated_kind,
         case a.attidentity when 'a' then 'always' when 'd' then 'by default' end as identity,
         case when a.attcollation <> 0 and a.attcollation <> ty.typcollation
              then (select quote_ident(cn.nspname) || '.' || quote_ident(co.collname) from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace where co.oid = a.attcollation) end as collation,
         col_description(c.oid, a.attnum) as comment
  from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
  join pg_type ty on ty.oid = a.atttypid
  left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
  where c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped and ${userRelation}`;

// NOT NULL is the column's (PostgreSQL 18 also records it as a constraint, contype 'n'); constraint triggers are triggers.
// A constraint the server derived from another (conparentid: a partition's copy of its parent's, or the one per
// referenced partition of a foreign key to a partitioned table, named fkey1 up to 17 and fkey_1 on 18) is the parent's.
export const CONSTRAINTS = `
  select ${qualified("n", "c.relname")} as table_name, quote_ident(k.conname) as name,
         case k.contype when 'p' then 'primary key' when 'u' then 'unique' when 'f' then 'foreign key' when 'c' then 'check' when 'x' then 'exclusion' end as type,
         pg_get_constraintdef(k.oid) as definition,
         obj_description(k.oid, 'pg_constraint') as comment
  from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
  where k.contype in ('p', 'u', 'f', 'c', 'x') and k.conparentid = 0 and ${dumpedOwner("c")} and ${userRelation}`;

export const INDEXES = `
  select ${qualified("n", "c.relname")} as table_name, quote_ident(ic.relname) as name,
         pg_get_indexdef(i.indexrelid) as definition, i.indisvalid as valid,
         obj_description(ic.oid, 'pg_class') as comment
  from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid
  join pg_namespace n on n.oid = c.relnamespace
  where ${dumpedOwner("c")} and ${userRelation}`;

// A row trigger's copy on each partition (tgparentid; PostgreSQL 14 hides it as internal, 15+ does not) is the parent's.
export const TRIGGERS = `
  select ${qualified("n", "c.relname")} as table_name, quote_ident(t.tgname) as name,
         pg_get_triggerdef(t.oid) as definition, t.tgenabled as firing,
         obj_description(t.oid, 'pg_trigger') as comment
  from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
  where not t.tgisinternal and t.tgparentid = 0 and ${dumpedOwner("c")} and ${userRelation}`;

export const POLICIES = `
  select ${qualified("n", "c.relname")} as table_name, quote_ident(p.polname) as name, p.polcmd as command, p.polpermissive as permissive,
         to_json(case when p.polroles = '{0}' then array['public']
                      else array(select quote_ident(r.rolname) from pg_roles r where r.oid = any(p.polroles) order by r.rolname) end) as roles,
         pg_get_expr(p.polqual, p.polrelid) as using_expression, pg_get_expr(p.polwithcheck, p.polrelid) as with_check,
         obj_description(p.oid, 'pg_policy') as comment
  from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
  where ${dumpedOwner("c")} and ${userRelation}`;

export const VIEWS = `
  select ${qualified("n", "c.relname")} as name, c.relkind = 'm' as materialized, pg_get_viewdef(c.oid, true) as definition,
         to_json(array(select option from unnest(c.reloptions) option order by option)) as options,
         obj_description(c.oid, 'pg_class') as comment
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('v', 'm') and ${userRelation}`;

// A body written as SQL-standard BEGIN ATOMIC (prosqlbody, PostgreSQL 14+) has no prosrc: its deparsed text is hashed.
export const ROUTINES = `
  select ${qualified("n", "p.proname")} || '(' || pg_get_function_identity_arguments(p.oid) || ')' as name,
         p.prokind = 'p' as procedure, pg_get_function_result(p.oid) as returns, l.lanname as language,
         case when p.pronargdefaults > 0 then pg_get_function_arguments(p.oid) end as arguments,
         case p.provolatile when 'i' then 'immutable' when 's' then 'stable' else 'volatile' end as volatility,
         p.proisstrict as strict, p.prosecdef as security_definer, to_json(array(select setting from unnest(p.proconfig) setting order by setting)) as settings,
         encode(sha256(convert_to(case when p.prosqlbody is not null then pg_get_function_sqlbody(p.oid) else p.prosrc end, 'UTF8')), 'hex') as body_sha256,
         obj_description(p.oid, 'pg_proc') as comment
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
  where p.prokind in ('f', 'p') and ${userSchema("n")} and ${notFromExtension("pg_proc", "p.oid")}`;

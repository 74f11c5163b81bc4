/**
 * The text rules about tables that existed before the migration: the
 * statements that lock or rewrite them, change their rows wholesale, or
 * take away what the release still running reads.
 */
import type { AlterTableCmd, ColumnDef, Constraint, RangeVar, RenameStmt } from "libpg-query";
import type { Migration } from "../migration-set.ts";
import type { CheckSeverity } from "./finding.ts";
import { type LocatedStatement, displayName, rangeVarOfNames, tableKey } from "./parsed-sql.ts";
import type { TableState } from "./table-state.ts";
import { SERIAL_TYPES, volatilityOf } from "./volatility.ts";

export type Report = (rule: string, severity: CheckSeverity, line: number, message: string, fix: string) => void;

const EXPAND_CONTRACT =
  "Expand and contract over two releases: this release adds the new shape and the application writes both (or reads the new one with a fallback); the next release, once no running version reads the old one, removes it.";

/** The column a `CHECK (column IS NOT NULL)` constrains, or null for any other constraint. */
function notNullCheckColumn(constraint: Constraint): string | null {
  const expression = constraint.raw_expr;
  if (constraint.contype !== "CONSTR_CHECK" || !expression || !("NullTest" in expression)) return null;
  const { arg, nulltesttype } = expression.NullTest;
  if (nulltesttype !== "IS_NOT_NULL" || !arg || !("ColumnRef" in arg)) return null;
  const fields = arg.ColumnRef.fields ?? [];
  const last = fields.length === 1 ? fields[0] : undefined;
  return last && "String" in last ? (last.String.sval ?? null) : null;
}

const quoteIdent = (name: string): string => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);

/**
 * ALTER TABLE on an existing table, one subcommand at a time. Remembers, for
 * SET NOT NULL, which columns a validated CHECK (column IS NOT NULL) already
 * covers: PostgreSQL 12+ then skips the full-table scan. Only this file is
 * seen, so a VALIDATE CONSTRAINT earlier in it, of a constraint added by an
 * earlier migration (whose definition this file does not show), is taken as
 * that check for its table.
 */
export class AlterTableRules {
  /** `schema.table.column` a validated CHECK (column IS NOT NULL) covers: from the database before the migration, then this file's. */
  private readonly provenNotNull: Set<string>;
  private readonly validatedTables = new Set<string>();
  /** Constraints this file added NOT VALID: key table/name, value the column of a NOT NULL check. */
  private readonly addedNotValid = new Map<string, string | null>();

  constructor(
    private readonly migration: Migration,
    private readonly tables: TableState,
    private readonly report: Report,
    validatedNotNull: ReadonlySet<string> = new Set(),
  ) {
    this.provenNotNull = new Set(validatedNotNull);
  }

  check(relation: RangeVar | undefined, cmd: AlterTableCmd, line: number): void {
    const table = tableKey(relation) ?? "";
    const name = displayName(relation);
    const column = cmd.name ?? "";
    switch (cmd.subtype) {
      case "AT_SetNotNull":
        if (this.provenNotNull.has(`${table}.${column}`) || this.validatedTables.has(table)) return;
        this.report(
          "not-null-without-check",
          "error",
          line,
          `SET NOT NULL on ${name}.${column} scans the whole table under an ACCESS EXCLUSIVE lock (no reads, no writes) to prove there is no NULL.`,
          `First add ALTER TABLE ${name} ADD CONSTRAINT ${quoteIdent(`${relation?.relname ?? "t"}_${column}_not_null`)} CHECK (${quoteIdent(column)} IS NOT NULL) NOT VALID; in one migration, then in a later one VALIDATE CONSTRAINT it (a scan that lets writes through), SET NOT NULL (PostgreSQL 12+ uses the check and skips the scan) and DROP the check.`,
        );
        return;
      case "AT_AddConstraint":
        if (cmd.def && "Constraint" in cmd.def) this.addConstraint(relation, cmd.def.Constraint, line);
        return;
      case "AT_ValidateConstraint":
        this.validate(relation, column, line);
        return;
      case "AT_AddColumn":
        if (cmd.def && "ColumnDef" in cmd.def) this.addColumn(relation, cmd.def.ColumnDef, line);
        return;
      case "AT_AlterColumnType":
        this.report(
          "alter-column-type",
          "warning",
          line,
          `ALTER COLUMN ${column} TYPE on ${name} holds an ACCESS EXCLUSIVE lock and rewrites the table and its indexes, unless the change is binary-compatible (varchar(n) to a larger n or to text).`,
          `Add a column of the new type, backfill it in batches and switch the application over (expand/contract over two releases); or check that the change is binary-compatible (the measured run reports a rewrite).`,
        );
        return;
      case "AT_DropColumn":
        this.report(
          "column-dropped",
          "warning",
          line,
          `Dropping ${name}.${column}: the release still running may read or write it, and fails once it is gone.`,
          `${EXPAND_CONTRACT} Drop the column in the release after the one that stops using it.`,
        );
        return;
      default:
        return;
    }
  }

  private addConstraint(relation: RangeVar | undefined, constraint: Constraint, line: number): void {
    const name = displayName(relation);
    const table = tableKey(relation) ?? "";
    const kind = constraint.contype;
    if (kind === "CONSTR_FOREIGN" || kind === "CONSTR_CHECK") {
      const notNullColumn = notNullCheckColumn(constraint);
      if (constraint.skip_validation) {
        this.addedNotValid.set(`${table}/${constraint.conname ?? ""}`, notNullColumn);
        return;
      }
      if (notNullColumn !== null) this.provenNotNull.add(`${table}.${notNullColumn}`);
      const what = kind === "CONSTR_FOREIGN" ? "A foreign key" : "A CHECK constraint";
      const lock = kind === "CONSTR_FOREIGN" ? "SHARE ROW EXCLUSIVE (no writes) on both tables" : "ACCESS EXCLUSIVE (no reads, no writes)";
      this.report(
        "constraint-without-not-valid",
        "error",
        line,
        `${what} added to ${name} without NOT VALID checks every existing row while holding ${lock}.`,
        `Add it with NOT VALID (only new rows are checked, the lock is brief), and run ALTER TABLE ${name} VALIDATE CONSTRAINT ${quoteIdent(constraint.conname ?? "its_name")}; in a later migration: validation takes only SHARE UPDATE EXCLUSIVE.`,
      );
      return;
    }
    if ((kind === "CONSTR_PRIMARY" || kind === "CONSTR_UNIQUE" || kind === "CONSTR_EXCLUSION") && !constraint.indexname) {
      this.report(
        "create-index-blocking",
        "error",
        line,
        `Adding a ${kind === "CONSTR_PRIMARY" ? "primary key" : kind === "CONSTR_UNIQUE" ? "unique constraint" : "exclusion constraint"} to ${name} builds its index under the ACCESS EXCLUSIVE lock of ADD CONSTRAINT: no reads and no writes until it is built.`,
        `Build the index first with CREATE UNIQUE INDEX CONCURRENTLY in a transaction:false migration, then add the constraint with ... USING INDEX that_index (a brief lock).`,
      );
    }
  }

  private validate(relation: RangeVar | undefined, constraintName: string, line: number): void {
    const table = tableKey(relation) ?? "";
    const key = `${table}/${constraintName}`;
    if (!this.addedNotValid.has(key)) {
      this.validatedTables.add(table);
      return;
    }
    const column = this.addedNotValid.get(key);
    if (column) this.provenNotNull.add(`${table}.${column}`);
    if (!this.migration.options.transaction) return;
    this.report(
      "constraint-without-not-valid",
      "error",
      line,
      `${constraintName} is validated in the same transaction that added it NOT VALID, so the lock ADD CONSTRAINT took on ${displayName(relation)} is held for the whole scan: NOT VALID gains nothing.`,
      `Move ALTER TABLE ${displayName(relation)} VALIDATE CONSTRAINT ${quoteIdent(constraintName)}; into a later migration.`,
    );
  }

  private addColumn(relation: RangeVar | undefined, column: ColumnDef, line: number): void {
    const name = `${displayName(relation)}.${column.colname ?? "?"}`;
    const typeNames = (column.typeName?.names ?? []).flatMap((part) => ("String" in part ? [part.String.sval ?? ""] : []));
    const constraints = (column.constraints ?? []).flatMap((item) => ("Constraint" in item ? [item.Constraint] : []));
    const rewrite = (why: string, severity: CheckSeverity = "error"): void =>
      this.report(
        "volatile-default",
        severity,
        line,
        `${name} is added with ${why}: ${severity === "error" ? "PostgreSQL computes it for every existing row, rewriting" : "if it is volatile, PostgreSQL computes it for every existing row and rewrites"} the whole table under an ACCESS EXCLUSIVE lock (on every version; only a non-volatile default is stored once).`,
        `Add the column without the default (or with a constant one), set the default with ALTER COLUMN ... SET DEFAULT (only new rows use it), and backfill existing rows in batches.`,
      );
    if (SERIAL_TYPES.has(typeNames.at(-1) ?? "")) rewrite(`type ${typeNames.at(-1)}, whose default is nextval()`);
    this.notNullWithoutDefault(relation, name, typeNames, constraints, line);
    for (const constraint of constraints) {
      if (constraint.contype === "CONSTR_DEFAULT") {
        const { volatility, culprit } = volatilityOf(constraint.raw_expr);
        if (volatility === "volatile") rewrite(`a volatile default (${culprit}())`);
        else if (volatility === "unknown") rewrite(`a default calling ${culprit}(), which the text rules do not know as stable or immutable`, "warning");
      } else if (constraint.contype === "CONSTR_IDENTITY") rewrite("GENERATED ... AS IDENTITY, a new sequence value per row");
      else if (constraint.contype === "CONSTR_GENERATED" && constraint.generated_kind !== "v") rewrite("a stored generated expression");
      else if ((constraint.contype === "CONSTR_PRIMARY" || constraint.contype === "CONSTR_UNIQUE") && !constraint.indexname) {
        this.report(
          "create-index-blocking",
          "error",
          line,
          `${name} is added ${constraint.contype === "CONSTR_PRIMARY" ? "as the primary key" : "UNIQUE"}, which builds an index on ${displayName(relation)} under an ACCESS EXCLUSIVE lock (no reads, no writes) until it is built.`,
          "Add the column plainly, build the index with CREATE UNIQUE INDEX CONCURRENTLY in a transaction:false migration, then add the constraint ... USING INDEX.",
        );
      }
    }
  }

  /** Existing rows get NULL in a new column without a value to give them: a NOT NULL one fails the migration on every table that has a row. */
  private notNullWithoutDefault(relation: RangeVar | undefined, name: string, typeNames: readonly string[], constraints: readonly Constraint[], line: number): void {
    const kinds = new Set(constraints.map((constraint) => constraint.contype));
    const valued = kinds.has("CONSTR_DEFAULT") || kinds.has("CONSTR_IDENTITY") || kinds.has("CONSTR_GENERATED") || SERIAL_TYPES.has(typeNames.at(-1) ?? "");
    if (valued || !(kinds.has("CONSTR_NOTNULL") || kinds.has("CONSTR_PRIMARY"))) return;
    this.report(
      "not-null-without-default",
      "error",
      line,
      `${name} is added NOT NULL without a DEFAULT: its existing rows would get NULL, so the migration fails on ${displayName(relation)} as soon as the table has a row (it applies only to an empty table).`,
      `Give it a constant default (ADD COLUMN ... NOT NULL DEFAULT value, stored once in the catalog on PostgreSQL 11+), or add it nullable, backfill it in batches, then add a CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later migration and SET NOT NULL.`,
    );
  }
}

/** Follows one statement: findings for existing tables, and the table state for the statements after it. */
export function tableRuleFindings(statement: LocatedStatement, tables: TableState, alterTable: AlterTableRules, report: Report): void {
  const { node, line } = statement;
  if ("AlterTableStmt" in node) {
    const { relation, cmds, objtype } = node.AlterTableStmt;
    if (objtype !== "OBJECT_TABLE" || !tables.existed(relation)) return;
    for (const cmd of cmds ?? []) if ("AlterTableCmd" in cmd) alterTable.check(relation, cmd.AlterTableCmd, line);
  } else if ("RenameStmt" in node) {
    renamed(node.RenameStmt, tables, line, report);
  } else if ("DropStmt" in node && node.DropStmt.removeType === "OBJECT_TABLE") {
    for (const object of node.DropStmt.objects ?? []) {
      const relation = "List" in object ? rangeVarOfNames(object.List.items) : undefined;
      if (tables.existed(relation)) {
        report(
          "table-dropped",
          "warning",
          line,
          `Dropping ${displayName(relation)}: the release still running may read or write it, and fails once it is gone (and its rows are lost).`,
          `${EXPAND_CONTRACT} Drop the table in the release after the one that stops using it.`,
        );
      }
      tables.drop(relation);
    }
  } else if ("CreateStmt" in node) {
    tables.create(node.CreateStmt.relation);
  } else if ("CreateTableAsStmt" in node && node.CreateTableAsStmt.objtype === "OBJECT_TABLE") {
    tables.create(node.CreateTableAsStmt.into?.rel);
  } else if ("SelectStmt" in node && node.SelectStmt.intoClause) {
    tables.create(node.SelectStmt.intoClause.rel);
  } else if ("AlterObjectSchemaStmt" in node && node.AlterObjectSchemaStmt.objectType === "OBJECT_TABLE") {
    tables.moveToSchema(node.AlterObjectSchemaStmt.relation, node.AlterObjectSchemaStmt.newschema);
  } else if ("IndexStmt" in node) {
    const { relation, concurrent } = node.IndexStmt;
    if (concurrent || !tables.existed(relation)) return;
    report(
      "create-index-blocking",
      "error",
      line,
      `CREATE INDEX without CONCURRENTLY on ${displayName(relation)} blocks every write to it (SHARE lock) until the index is built.`,
      `Use CREATE INDEX CONCURRENTLY, in a migration of its own marked "-- migrate:up transaction:false" (CONCURRENTLY refuses a transaction).`,
    );
  } else if ("UpdateStmt" in node) {
    if (node.UpdateStmt.whereClause !== undefined || !tables.existed(node.UpdateStmt.relation)) return;
    report(
      "update-without-where",
      "warning",
      line,
      `UPDATE without WHERE changes every row of ${displayName(node.UpdateStmt.relation)} in one transaction: all of them stay locked against other writers until the migration commits, and the table doubles in size until vacuumed.`,
      "Add the WHERE that names the rows meant (e.g. WHERE col IS NULL), and backfill a large table in batches outside the migration.",
    );
  } else if ("DeleteStmt" in node) {
    if (node.DeleteStmt.whereClause !== undefined || !tables.existed(node.DeleteStmt.relation)) return;
    report(
      "delete-without-where",
      "warning",
      line,
      `DELETE without WHERE removes every row of ${displayName(node.DeleteStmt.relation)} in one transaction: all of them stay locked against other writers until the migration commits.`,
      "Add the WHERE that names the rows meant; to empty a table on purpose, say so with TRUNCATE (and mind the readers of the running release).",
    );
  }
}

function renamed(rename: RenameStmt, tables: TableState, line: number, report: Report): void {
  const { renameType, relationType, relation, subname, newname } = rename;
  if (renameType === "OBJECT_COLUMN" && relationType === "OBJECT_TABLE" && tables.existed(relation)) {
    report(
      "column-renamed",
      "warning",
      line,
      `Renaming ${displayName(relation)}.${subname} to ${newname}: the release still running reads and writes the old name, and fails from this migration until it is replaced.`,
      `${EXPAND_CONTRACT} (Add ${newname}, keep both in step with a trigger or dual writes, drop ${subname} later.)`,
    );
  } else if (renameType === "OBJECT_TABLE") {
    if (tables.existed(relation)) {
      report(
        "table-renamed",
        "warning",
        line,
        `Renaming ${displayName(relation)} to ${newname}: the release still running uses the old name and fails from this migration until it is replaced.`,
        `${EXPAND_CONTRACT} (For example rename the table and leave a view with the old name until the next release.)`,
      );
    }
    tables.rename(relation, newname);
  }
}

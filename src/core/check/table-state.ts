import { type RangeVar, tableKey } from "./parsed-sql.ts";

/**
 * Which tables existed before the migration, followed through its renames,
 * drops and creations; and which tables there are after it (for the next
 * migration's existing tables).
 */
export class TableState {
  private readonly existing: Set<string>;
  private readonly present: Set<string>;

  constructor(existingTables: ReadonlySet<string>) {
    this.existing = new Set(existingTables);
    this.present = new Set(existingTables);
  }

  /** True when the table has rows and readers from before this migration. */
  existed(relation: RangeVar | undefined): boolean {
    const key = tableKey(relation);
    return key !== null && this.existing.has(key);
  }

  /** The tables after the statements seen so far. */
  after(): ReadonlySet<string> {
    return this.present;
  }

  create(relation: RangeVar | undefined): void {
    const key = tableKey(relation);
    // A temporary table is gone when the migration's session ends.
    if (key !== null && relation?.relpersistence !== "t") this.present.add(key);
  }

  rename(relation: RangeVar | undefined, newName: string | undefined): void {
    if (newName !== undefined) this.move(relation, { ...relation, relname: newName });
  }

  moveToSchema(relation: RangeVar | undefined, schema: string | undefined): void {
    if (schema !== undefined) this.move(relation, { ...relation, schemaname: schema });
  }

  drop(relation: RangeVar | undefined): void {
    const key = tableKey(relation);
    if (key === null) return;
    this.existing.delete(key);
    this.present.delete(key);
  }

  private move(from: RangeVar | undefined, to: RangeVar): void {
    const key = tableKey(from);
    const next = tableKey(to);
    if (key === null || next === null) return;
    if (this.existing.delete(key)) this.existing.add(next);
    if (this.present.delete(key)) this.present.add(next);
  }
}

import { type Migration, buildMigrationSet } from "../core/migration-set.ts";
import { readExpectedSnapshot } from "../core/schema/snapshot-text.ts";
import { embeddedMigrations } from "../source/embedded-migrations.gen.ts";
import { type ExpectedSchema, type ExpectedSchemaLookup, embeddedExpectedSchema } from "../source/expected-schema.ts";

let embedded: { readonly choice: ExpectedSchemaLookup; readonly fingerprint: string } | undefined;
let lastGiven: { readonly text: string; readonly expected: ExpectedSchema } | undefined;

/** Which files, with which contents: two sets with one fingerprint are the same migrations. */
const fingerprintOf = (migrations: readonly Migration[]): string => migrations.map((migration) => `${migration.fileName} ${migration.checksum}`).join("\n");

function embeddedChoice(): { readonly choice: ExpectedSchemaLookup; readonly fingerprint: string } {
  if (embedded === undefined) {
    const schema = embeddedExpectedSchema();
    embedded = {
      choice: schema === null ? { expected: null, reason: "this build embeds no schema snapshot (migrations/schema.snapshot): pass the schema option" } : { expected: schema, reason: null },
      fingerprint: fingerprintOf(buildMigrationSet(embeddedMigrations)),
    };
  }
  return embedded;
}

/**
 * The `schema` option, parsed once per text (a probe every few seconds must
 * not parse it again): given text, the embedded snapshot for the embedded
 * migrations only (it describes them and no other set, also not a set
 * ST44_EMBEDDED_UNTIL trimmed), or none. A text that is no snapshot is the
 * caller's mistake: SNAPSHOT_INVALID, thrown.
 */
export function expectedSchemaOf(options: { readonly migrations: readonly Migration[]; readonly schema?: string | null }): ExpectedSchemaLookup {
  if (options.schema === null) return { expected: null, reason: "the schema comparison is off (schema: null)" };
  if (typeof options.schema === "string") {
    if (lastGiven?.text !== options.schema) {
      const origin = "the schema option";
      lastGiven = { text: options.schema, expected: { origin, snapshot: readExpectedSnapshot(options.schema, origin) } };
    }
    return { expected: lastGiven.expected, reason: null };
  }
  const { choice, fingerprint } = embeddedChoice();
  if (fingerprintOf(options.migrations) !== fingerprint) {
    return { expected: null, reason: "no expected schema for these migrations (not the ones this build embeds): pass their schema.snapshot's text as the schema option" };
  }
  return choice;
}

/**
 * Which statements cannot run inside a transaction block (PostgreSQL refuses
 * them with 25001, so a transactional migration holding one fails at run
 * time) and which only mean something inside one (outside, they fail or do
 * nothing). COPY FROM STDIN and two-phase commit are refused earlier, when
 * the files are loaded (statement-rules.ts); these are the rest.
 */
import type { Node } from "libpg-query";

/** CURSOR_OPT_HOLD in PostgreSQL's parsenodes.h: DECLARE ... WITH HOLD survives the transaction. */
const CURSOR_OPT_HOLD = 0x20;

/** The statement's name when PostgreSQL refuses it inside a transaction block, else null. */
export function refusesTransaction(node: Node): string | null {
  if ("IndexStmt" in node) return node.IndexStmt.concurrent ? "CREATE INDEX CONCURRENTLY" : null;
  if ("DropStmt" in node) return node.DropStmt.concurrent ? "DROP INDEX CONCURRENTLY" : null;
  if ("ReindexStmt" in node) {
    const { kind, params } = node.ReindexStmt;
    if (params?.some((param) => "DefElem" in param && param.DefElem.defname === "concurrently")) return "REINDEX CONCURRENTLY";
    if (kind === "REINDEX_OBJECT_SYSTEM" || kind === "REINDEX_OBJECT_DATABASE") return "REINDEX DATABASE/SYSTEM";
    return null;
  }
  if ("VacuumStmt" in node) return node.VacuumStmt.is_vacuumcmd ? "VACUUM" : null;
  if ("CreatedbStmt" in node) return "CREATE DATABASE";
  if ("DropdbStmt" in node) return "DROP DATABASE";
  if ("CreateTableSpaceStmt" in node) return "CREATE TABLESPACE";
  if ("DropTableSpaceStmt" in node) return "DROP TABLESPACE";
  if ("AlterSystemStmt" in node) return "ALTER SYSTEM";
  if ("ClusterStmt" in node) return node.ClusterStmt.relation ? null : "CLUSTER (of every table)";
  if ("AlterTableStmt" in node) {
    const detach = node.AlterTableStmt.cmds?.some(
      (cmd) => "AlterTableCmd" in cmd && cmd.AlterTableCmd.subtype === "AT_DetachPartition" && isConcurrentPartitionCmd(cmd.AlterTableCmd.def),
    );
    return detach ? "DETACH PARTITION CONCURRENTLY" : null;
  }
  return null;
}

function isConcurrentPartitionCmd(def: Node | undefined): boolean {
  return def !== undefined && "PartitionCmd" in def && def.PartitionCmd.concurrent === true;
}

/** The statement's name when it fails (or silently does nothing) outside a transaction block, else null. */
export function needsTransaction(node: Node): string | null {
  if ("LockStmt" in node) return "LOCK TABLE";
  if ("TransactionStmt" in node) {
    const kind = node.TransactionStmt.kind;
    if (kind === "TRANS_STMT_SAVEPOINT") return "SAVEPOINT";
    if (kind === "TRANS_STMT_RELEASE") return "RELEASE SAVEPOINT";
    if (kind === "TRANS_STMT_ROLLBACK_TO") return "ROLLBACK TO SAVEPOINT";
    return null;
  }
  if ("DeclareCursorStmt" in node) return ((node.DeclareCursorStmt.options ?? 0) & CURSOR_OPT_HOLD) === 0 ? "DECLARE CURSOR (without WITH HOLD)" : null;
  if ("VariableSetStmt" in node) {
    const set = node.VariableSetStmt;
    if (set.kind === "VAR_SET_MULTI" && set.name === "TRANSACTION") return "SET TRANSACTION";
    return set.is_local ? "SET LOCAL" : null;
  }
  return null;
}

/** BEGIN, COMMIT and the like: a transaction:false file that sends its own keeps what it wraps atomic. */
export function isTransactionBoundary(node: Node): boolean {
  return "TransactionStmt" in node && needsTransaction(node) === null;
}

// node-postgres ships no types and @types/pg is not a dependency: the little of it the tests and examples use.
declare module "pg" {
  export interface PoolConfig {
    connectionString?: string;
    max?: number;
    connectionTimeoutMillis?: number;
    idleTimeoutMillis?: number;
  }
  export interface QueryResult {
    rows: Record<string, unknown>[];
  }
  export interface PoolClient {
    query(text: string): Promise<QueryResult>;
    release(error?: Error | boolean): void;
  }
  export class Pool {
    constructor(config?: PoolConfig);
    readonly totalCount: number;
    readonly idleCount: number;
    readonly waitingCount: number;
    query(text: string): Promise<QueryResult>;
    connect(): Promise<PoolClient>;
    end(): Promise<void>;
    on(event: "error", listener: (error: Error) => void): this;
  }
  const pg: { Pool: typeof Pool };
  export default pg;
}

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AttributeValue, CreateTableCommand, DynamoDBClient, ScanCommand, ScanCommandOutput } from '@aws-sdk/client-dynamodb';

/* eslint-disable @typescript-eslint/no-require-imports */
/** dynalite (an implementation of the DynamoDB API on LevelDB; in memory when no path is given). It ships no types. */
const dynalite = require('dynalite') as (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
/* eslint-enable @typescript-eslint/no-require-imports */

/** A DynamoDB server on loopback (in memory), for tests. */
export interface LoopbackDynamoDb {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A client of it, with dummy credentials. */
  client(): DynamoDBClient;
  close(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1 on a free port. */
export async function startLoopbackDynamoDb(): Promise<LoopbackDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    client: () => new DynamoDBClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Creates a table as `OnlineStore.dynamodb()` synthesizes it: partition key `k` (string), on demand. */
export async function createOnlineTable(client: DynamoDBClient, table: string): Promise<void> {
  await client.send(new CreateTableCommand({
    TableName: table,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
  }));
}

/** Every item of a table, by key, sorted: a full dump to compare runs. */
export async function scanTable(client: DynamoDBClient, table: string): Promise<Record<string, Record<string, AttributeValue>>> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out: ScanCommandOutput = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  const keys = items.map((i) => i.k.S!).sort();
  const byKey = new Map(items.map((i) => [i.k.S!, i]));
  return Object.fromEntries(keys.map((k) => [k, byKey.get(k)!]));
}

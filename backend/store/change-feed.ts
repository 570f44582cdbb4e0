import { EventEmitter } from 'node:events';
import type pg from 'pg';

/** What replicas tell each other: IAM facts changed, or a user's sessions were ended. */
export type ChangeTopic = 'iam' | 'sessions';
export type ChangeListener = (payload: string) => void;

export interface ChangeFeed {
  publish(topic: ChangeTopic, payload: string): Promise<void>;
  subscribe(topic: ChangeTopic, listener: ChangeListener): void;
  close(): Promise<void>;
}

/** One process (the embedded SQLite store): changes are already applied where they happen. */
export class LocalChangeFeed implements ChangeFeed {
  private readonly events = new EventEmitter();
  async publish(topic: ChangeTopic, payload: string): Promise<void> {
    this.events.emit(topic, payload);
  }
  subscribe(topic: ChangeTopic, listener: ChangeListener): void {
    this.events.on(topic, listener);
  }
  async close(): Promise<void> {
    this.events.removeAllListeners();
  }
}

const CHANNEL = 'perch_changes';

/**
 * Several Perch replicas on one PostgreSQL database: PostgreSQL's LISTEN/NOTIFY carries each
 * change to every replica (the one that made it included), so in-memory caches follow at once.
 */
export class PostgresChangeFeed implements ChangeFeed {
  private readonly events = new EventEmitter();
  private closed = false;

  private constructor(
    private readonly listener: pg.Client,
    private readonly pool: pg.Pool,
    private readonly onError: (error: unknown) => void,
  ) {}

  static async connect(connectionString: string, onError: (error: unknown) => void): Promise<PostgresChangeFeed> {
    const { default: pgModule } = await import('pg');
    const listener = new pgModule.Client({ connectionString });
    await listener.connect();
    const feed = new PostgresChangeFeed(listener, new pgModule.Pool({ connectionString, max: 2 }), onError);
    listener.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      const cut = message.payload.indexOf(':');
      feed.events.emit(message.payload.slice(0, cut), message.payload.slice(cut + 1));
    });
    listener.on('error', (error) => {
      if (!feed.closed) onError(error);
    });
    await listener.query(`LISTEN ${CHANNEL}`);
    return feed;
  }

  async publish(topic: ChangeTopic, payload: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, `${topic}:${payload}`]);
  }

  subscribe(topic: ChangeTopic, listener: ChangeListener): void {
    this.events.on(topic, (payload: string) => {
      try {
        listener(payload);
      } catch (error) {
        this.onError(error);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.events.removeAllListeners();
    await Promise.allSettled([this.listener.end(), this.pool.end()]);
  }
}

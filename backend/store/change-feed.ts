import { EventEmitter } from 'node:events';
import type pg from 'pg';

/** What replicas tell each other: IAM facts changed, a user's sessions were ended, an operations state changed (maintenance, kill switches), secret keys changed, the worker groups changed, or tenants or tenant access changed. */
export type ChangeTopic = 'iam' | 'sessions' | 'operations' | 'secrets' | 'worker-groups' | 'tenants';
export type ChangeListener = (payload: string) => void;

export interface ChangeFeed {
  publish(topic: ChangeTopic, payload: string): Promise<void>;
  subscribe(topic: ChangeTopic, listener: ChangeListener): void;
  /**
   * Told when changes may have been missed (the feed's connection dropped and is back): whatever
   * was cached from the store must be re-read.
   */
  onResync(listener: () => void): void;
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
  onResync(): void {
    // Nothing is ever missed in one process.
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
/** Reconnection delays of the LISTEN connection: from this, doubling, up to the max. */
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5_000;
const RESYNC = Symbol('resync');

export class PostgresChangeFeed implements ChangeFeed {
  private readonly events = new EventEmitter();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempts = 0;

  private constructor(
    private listener: pg.Client,
    private readonly pool: pg.Pool,
    private readonly newClient: () => pg.Client,
    private readonly onError: (error: unknown) => void,
  ) {}

  static async connect(connectionString: string, onError: (error: unknown) => void): Promise<PostgresChangeFeed> {
    const { default: pgModule } = await import('pg');
    const newClient = () => new pgModule.Client({ connectionString });
    const listener = await PostgresChangeFeed.listen(newClient);
    const feed = new PostgresChangeFeed(listener, new pgModule.Pool({ connectionString, max: 2 }), newClient, onError);
    feed.attach(listener);
    return feed;
  }

  /** A connected client LISTENing on the channel (an 'error' listener is attached at once). */
  private static async listen(newClient: () => pg.Client): Promise<pg.Client> {
    const client = newClient();
    // Until attach(): an idle client's error must not be an unhandled 'error' event (connect() throws it).
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    return client;
  }

  private attach(client: pg.Client): void {
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      const cut = message.payload.indexOf(':');
      this.events.emit(message.payload.slice(0, cut), message.payload.slice(cut + 1));
    });
    client.on('error', (error) => {
      if (this.closed) return;
      this.onError(error);
      this.lost(client);
    });
    client.on('end', () => this.lost(client));
  }

  /**
   * The LISTEN connection is gone (a server restart, a failover, a terminated backend): every
   * notification sent until a new one LISTENs is lost, so reconnect, then have the caches re-read.
   */
  private lost(client: pg.Client): void {
    if (this.closed || client !== this.listener || this.reconnectTimer) return;
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** this.attempts++);
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
    this.reconnectTimer.unref();
  }

  private async reconnect(): Promise<void> {
    let client: pg.Client;
    try {
      client = await PostgresChangeFeed.listen(this.newClient);
    } catch (error) {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      this.onError(error);
      this.scheduleReconnect();
      return;
    }
    this.reconnectTimer = undefined;
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.attempts = 0;
    this.listener = client;
    this.attach(client);
    this.events.emit(RESYNC);
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

  onResync(listener: () => void): void {
    this.events.on(RESYNC, () => {
      try {
        listener();
      } catch (error) {
        this.onError(error);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.events.removeAllListeners();
    await Promise.allSettled([this.listener.end(), this.pool.end()]);
  }
}

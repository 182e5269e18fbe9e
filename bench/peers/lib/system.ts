// What every system in the peers bench offers the measurements (bench/peers/roles/clients.ts):
// the same workload — a 20-field record, one field edited at a time — in each system's own terms.

/** A value of one field of the record. */
export type FieldValue = string | number | boolean

/** One client of a system, connected and synced to the record. */
export interface RecordClient {
  /** Sets one field of the record (one edit). */
  edit(field: string, value: FieldValue): void
  /** The field's current value in this client. */
  read(field: string): unknown
  /**
   * Calls `listener` after this client applied a change (remote or local).
   *
   * @returns The disposer.
   */
  onChange(listener: () => void): () => void
  /** Resolves once this client's edits so far are acknowledged (systems without acknowledgements: at once). */
  settled(): Promise<void>
  /** Disconnects and frees the client. */
  close(): Promise<void>
}

/** How a record client connects. */
export interface OpenOptions {
  /**
   * A reader that only receives: no presence/awareness state of its own
   * (y-websocket and Hocuspocus would otherwise broadcast each client's
   * awareness to every other client on connect and every 15 s).
   */
  readonly quiet: boolean
}

/** A member of a presence room. */
export interface PresenceMember {
  /** Publishes this member's state with a new cursor position. */
  move(cursor: number): void
  /**
   * Calls `listener` with another member's key and cursor whenever an update of theirs arrives.
   *
   * @returns The disposer.
   */
  onPeer(listener: (peer: string, cursor: number) => void): () => void
  close(): Promise<void>
}

/** The client side of one system. */
export interface SystemClient {
  /**
   * Creates the record (the 20-field entity) on the server with a first
   * client, which stays connected.
   *
   * @param url - The system's server.
   * @param name - A name for the document/entity.
   * @returns The reference other clients open it by (a name, or Automerge's document URL) and the client.
   */
  createRecord(url: string, name: string): Promise<{ ref: string; client: RecordClient }>
  /** Opens another client of a record made by {@link createRecord}, resolved once it shows the record. */
  openRecord(url: string, ref: string, options: OpenOptions): Promise<RecordClient>
  /**
   * Creates a collection of `count` records with a seeding client that stays connected.
   *
   * @returns The reference and a function that disconnects the seeder.
   */
  seedRecords(url: string, name: string, count: number): Promise<{ ref: string; close(): Promise<void> }>
  /**
   * A new client opens the collection; resolves once it holds all `count` records.
   *
   * @returns The disposer of that client.
   */
  joinRecords(url: string, ref: string, count: number): Promise<() => Promise<void>>
  /**
   * Presence, when the system has it: joins member `index` to a room
   * (`ref` from {@link createRoom}). `undefined`: the system has no equivalent.
   */
  readonly presence?: {
    createRoom(url: string, name: string): Promise<string>
    join(url: string, ref: string, index: number): Promise<PresenceMember>
  }
}

/** The server side of one system: one per process. */
export interface SystemServer {
  /** Listens on a free loopback port. */
  start(): Promise<{ url: string }>
  close(): Promise<void>
}

/** A typical presence state: who, their color, the field they edit, and a cursor that moves. */
export function presenceState(index: number, cursor: number) {
  return { name: `guest-${index.toString(16).padStart(4, '0')}`, color: '#1971c2', field: 'status', cursor }
}

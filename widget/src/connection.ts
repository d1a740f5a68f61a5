// The conversation's connection to the Rasa server's socket.io channel
// (clinic_assistant/channels/socketio.py), through socket.io-client.
//
// - The conversation is the server's to issue: the widget keeps the signed token the
//   server confirmed (localStorage), so a reload or another page of the site continues
//   the same conversation; the server sends its history on every connect. A token the
//   server did not sign gets a new conversation, never someone else's.
// - Messages go through an outbox, also in localStorage: each has an id, is sent one
//   at a time once the session is confirmed, and leaves the outbox only when the
//   server acknowledges it. A message typed while disconnected waits there and is
//   sent when the connection returns; the server handles an id once, and one that
//   the history already shows is not sent again. So: never lost, never twice.

import { io, Socket } from "socket.io-client";
import type { Settings } from "./config";

export interface QuickReply {
  title: string;
  payload: string;
}

export interface BotMessage {
  text?: string;
  quick_replies?: QuickReply[];
  custom?: Record<string, unknown>;
}

export interface HistoryItem extends BotMessage {
  sender: "user" | "bot";
  id?: string;
  time?: number;
}

export interface Outgoing {
  id: string;
  /** What is sent: the typed text or a button's payload. */
  message: string;
  /** What the patient sees: the typed text or the button's title. */
  shown: string;
}

export type ConnectionState = "connecting" | "online" | "reconnecting";

export interface ConnectionEvents {
  state(state: ConnectionState): void;
  history(items: HistoryItem[], pending: Outgoing[]): void;
  bot(message: BotMessage): void;
  sending(id: string): void;
  sent(id: string): void;
  failed(message: Outgoing, reason: string): void;
  waiting(waiting: boolean): void;
}

interface Ack {
  ok: boolean;
  error?: string;
  /** "session_invalid": the server does not know the token; ask for a new conversation. */
  code?: string;
}

const ACK_TIMEOUT_MS = 30_000;
const RETRY_MS = 2_000;

export function newId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID().replace(/-/g, "");
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** localStorage that never throws (private mode, storage full, blocked cookies). */
class Store {
  constructor(private readonly prefix: string) {}

  read<T>(name: string, fallback: T): T {
    try {
      const raw = window.localStorage.getItem(this.prefix + name);
      return raw === null ? fallback : (JSON.parse(raw) as T);
    } catch {
      return fallback;
    }
  }

  write(name: string, value: unknown): void {
    try {
      window.localStorage.setItem(this.prefix + name, JSON.stringify(value));
    } catch {
      /* kept in memory for this page only */
    }
  }
}

export class Connection {
  private readonly socket: Socket;
  private readonly store: Store;
  /** The server's signed token for this conversation ("" until it issues one). */
  private sessionId: string;
  private outbox: Outgoing[];
  private confirmed = false;
  private inFlight: string | null = null;
  private generation = 0;
  private retryTimer: number | undefined;

  constructor(settings: Settings, private readonly events: ConnectionEvents) {
    this.store = new Store(`clinic-chat:${settings.serverUrl}:`);
    this.sessionId = this.store.read<string>("token", "");
    this.outbox = this.store.read<Outgoing[]>("outbox", []).filter(
      (item) => item && typeof item.id === "string" && typeof item.message === "string",
    );
    this.socket = io(settings.serverUrl, {
      path: settings.socketPath,
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4_000,
      autoConnect: false,
    });
    this.socket.on("connect", () => this.requestSession());
    this.socket.on("disconnect", () => this.lost());
    this.socket.on("connect_error", () => this.lost());
    this.socket.on("session_history", (data: { messages?: HistoryItem[] }) =>
      this.history(Array.isArray(data?.messages) ? data.messages : []),
    );
    this.socket.on("session_confirm", (sessionId: unknown) => this.confirm(sessionId));
    this.socket.on("bot_uttered", (message: BotMessage) => {
      if (message && typeof message === "object") this.events.bot(message);
    });
  }

  connect(): void {
    if (!this.socket.connected) {
      this.events.state("connecting");
      this.socket.connect();
    }
  }

  get pending(): Outgoing[] {
    return [...this.outbox];
  }

  /** Queues a message; it is sent now if connected, otherwise when the connection returns. */
  send(message: string, shown: string = message): Outgoing {
    const item: Outgoing = { id: newId(), message, shown };
    this.outbox.push(item);
    this.saveOutbox();
    window.setTimeout(() => this.flush(), 0); // after the caller has shown it
    return item;
  }

  /** Leaves this conversation (it stays in the clinic's records) and starts a new one. */
  startOver(): void {
    this.sessionId = "";
    this.store.write("token", "");
    this.outbox = [];
    this.saveOutbox();
    this.generation += 1;
    this.inFlight = null;
    this.confirmed = false;
    this.events.waiting(false);
    if (this.socket.connected) this.requestSession();
    else this.connect();
  }

  private requestSession(): void {
    this.confirmed = false;
    this.events.state("connecting");
    this.socket.emit("session_request", this.sessionId ? { session_id: this.sessionId } : {});
  }

  private lost(): void {
    this.confirmed = false;
    this.generation += 1; // an acknowledgement still on its way is no longer awaited
    this.inFlight = null;
    this.events.waiting(false);
    this.events.state("reconnecting");
  }

  private history(items: HistoryItem[]): void {
    // A message the server already has (sent just before the connection broke) is
    // done, even though its acknowledgement never arrived.
    const delivered = new Set(items.filter((i) => i.sender === "user" && i.id).map((i) => i.id));
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((item) => !delivered.has(item.id));
    if (this.outbox.length !== before) this.saveOutbox();
    this.events.history(items, this.pending);
  }

  private confirm(sessionId: unknown): void {
    if (typeof sessionId === "string" && sessionId && sessionId !== this.sessionId) {
      this.sessionId = sessionId;
      this.store.write("token", sessionId);
    }
    this.confirmed = true;
    this.events.state("online");
    this.flush();
  }

  private flush(): void {
    window.clearTimeout(this.retryTimer);
    if (!this.confirmed || this.inFlight !== null || !this.socket.connected) return;
    const item = this.outbox[0];
    if (!item) {
      this.events.waiting(false);
      return;
    }
    const generation = this.generation;
    this.inFlight = item.id;
    this.events.sending(item.id);
    this.events.waiting(true);
    this.socket
      .timeout(ACK_TIMEOUT_MS)
      .emit(
        "user_uttered",
        { session_id: this.sessionId, message: item.message, message_id: item.id },
        (err: Error | null, ack: Ack | undefined) => {
          if (generation !== this.generation) return;
          this.inFlight = null;
          if (err || !ack) {
            // no answer in time: send again (the server handles an id only once)
            this.retryTimer = window.setTimeout(() => this.flush(), RETRY_MS);
            return;
          }
          if (!ack.ok && ack.code === "session_invalid") {
            // the server no longer knows this token (its secret changed): the message
            // stays queued and goes into a new conversation
            this.sessionId = "";
            this.store.write("token", "");
            this.requestSession();
            return;
          }
          this.outbox = this.outbox.filter((queued) => queued.id !== item.id);
          this.saveOutbox();
          if (ack.ok) this.events.sent(item.id);
          else this.events.failed(item, ack.error || "the message could not be sent");
          this.flush();
        },
      );
  }

  private saveOutbox(): void {
    this.store.write("outbox", this.outbox);
  }
}

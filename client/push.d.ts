// TypeScript declarations for push.js, mod_push's browser client.

/** The transports, in the default order of preference. */
export type PushTransport = "websocket" | "eventsource" | "longpoll" | "poll";

export interface PushSubscriberOptions {
  /** Transports to try, in order; the first the browser and the location
   *  both allow is used.  Default: all four, in the order above. */
  transports?: PushTransport[];
  /** Resume after this message id ("T:N"); default: the location's
   *  PushFirstMessage (the oldest buffered message, or the next one). */
  lastEventId?: string;
  /** Reconnect after a failure (with jittered backoff).  Default true. */
  reconnect?: boolean;
  /** Where publish() POSTs when it cannot use the WebSocket. */
  publishUrl?: string;
  /** Send cookies and HTTP authentication cross-origin.  Default false. */
  withCredentials?: boolean;
  /** Short polling: milliseconds between polls that found nothing.
   *  Default 1000. */
  pollInterval?: number;
  /** A transport that has not connected after this many milliseconds
   *  counts as failed.  Default 10000. */
  openTimeout?: number;
  /** Reconnect backoff, from minDelay doubling to maxDelay (ms).
   *  Defaults 250 and 15000. */
  minDelay?: number;
  maxDelay?: number;
  /** The channel's name for meta.channel; default: the URL's last
   *  path segment. */
  channel?: string;
}

export interface PushMessageMeta {
  /** The message id, "T:N" (null where the server gave none). */
  id: string | null;
  /** The publisher's X-EventSource-Event, or null. */
  event: string | null;
  /** The message's Content-Type, where the transport carries it
   *  (WebSocket, long and short poll); null otherwise. */
  contentType: string | null;
  channel: string;
}

export interface PushPublishResult {
  /** The new message's id (null when sent over the WebSocket, which
   *  has no answer). */
  id: string | null;
  /** 201 (the channel had subscribers) or 202; null over the WebSocket. */
  status: number | null;
}

export interface PushPublishOptions {
  /** Sent as Content-Type (POST only). */
  contentType?: string;
  /** Sent as X-EventSource-Event (POST only). */
  event?: string;
}

export interface PushSubscriberEvents {
  /** A message: text, or an ArrayBuffer for a binary WebSocket message. */
  message: (data: string | ArrayBuffer, meta: PushMessageMeta) => void;
  /** Connected, over this transport. */
  connect: (transport: PushTransport) => void;
  /** The connection ended; it reconnects unless stopped. */
  disconnect: (reason: string) => void;
  /** The transport in use changed (also on the first connection). */
  transport: (transport: PushTransport, previous: PushTransport | null) => void;
  /** Messages were lost: missedId is the newest one missed; the next
   *  message is the oldest the server still has. */
  gap: (missedId: string) => void;
  /** Nothing to connect with, or the server is unreachable; it retries. */
  error: (error: Error) => void;
}

export declare class PushSubscriber {
  constructor(url: string, options?: PushSubscriberOptions);
  static readonly TRANSPORTS: PushTransport[];
  readonly url: string;
  readonly channel: string;
  /** The transport in use (or last used). */
  readonly transport: PushTransport | null;
  /** The last message id received, from which it resumes. */
  readonly lastEventId: string | null;
  readonly connected: boolean;
  on<E extends keyof PushSubscriberEvents>(event: E, fn: PushSubscriberEvents[E]): this;
  off<E extends keyof PushSubscriberEvents>(event: E, fn: PushSubscriberEvents[E]): this;
  start(): this;
  stop(): this;
  publish(data: string | ArrayBuffer | Blob, options?: PushPublishOptions): Promise<PushPublishResult>;
}

declare global {
  interface Window {
    PushSubscriber: typeof PushSubscriber;
  }
}

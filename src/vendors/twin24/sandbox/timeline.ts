import { randomUUID } from 'node:crypto';
import type { Twin24MessageView, Twin24Outcome, Twin24TimelineOptions } from '../../../sandbox/types.js';

/**
 * The life of each Twin24 message after it was accepted: CREATED -> PENDING -> outcome, and for a DELIVERED one a
 * chat session whose bot result appears a little later. Status is computed from the elapsed time on every read,
 * so no timers run and a test controls the pace with small millisecond values.
 */

type TimelineSettings = Required<Omit<Twin24TimelineOptions, 'readAfterMs'>> & Pick<Twin24TimelineOptions, 'readAfterMs'>;

export const TWIN24_TIMELINE_DEFAULTS: TimelineSettings = {
  pendingAfterMs: 200,
  finalAfterMs: 500,
  resultAfterMs: 300,
  outcome: (phone) => (phone.endsWith('0') ? 'UNDELIVERED' : 'DELIVERED'),
  // The seed's shape: bot variables plus "initialVariables": [], which is there before the bot answered too. The
  // phone is a bot variable like any other (it shows where personal data in results must be masked).
  result: (phone) => ({ nps: '10', confirmation: 'Подтверждено', phone, initialVariables: [] }),
  limitCap: 1000,
  requireSessionChatId: false,
  botVariablesOnItem: false,
};

/** What dialogResultsFromBotJson holds after the session started and before the bot wrote anything (the seed's key). */
export const UNANSWERED_RESULT = { initialVariables: [] } as const;
/** Outcomes that end a message without a chat session; every other one (DELIVERED, READ, unknown) starts one. */
const NO_SESSION = new Set(['UNDELIVERED', 'ERROR', 'EXPIRED', 'NEVER']);

export interface NewMessage {
  bulkId: string;
  groupId: string;
  flowId: string;
  phone: string;
  variables: Record<string, string>;
  chatId: string;
  botId: string;
  chatSessionName: string;
  text: string;
}

export interface StoredMessage extends NewMessage {
  id: string;
  createdAt: number;
  outcome: Twin24Outcome;
  /** The chat session a delivery starts; only visible once the message is DELIVERED. */
  sessionId: string;
  result: Record<string, unknown>;
}

/** One row of GET /statistics/messaging/messages (before `fields` picks keys). */
export interface MessageItem {
  id: string;
  providerMessageId: string | null;
  status: string;
  channel: 'CHAT';
  phone: string;
  createdAt: string;
  bulkId: string;
  groupId: string;
  flowId: string;
}
export const MESSAGE_ITEM_KEYS: readonly (keyof MessageItem)[] = [
  'id', 'providerMessageId', 'status', 'channel', 'phone', 'createdAt', 'bulkId', 'groupId', 'flowId',
];

/** One row of GET /statistics/chat/sessions. */
export interface SessionItem {
  id: string;
  name: string;
  clientId: string;
  messengerType: 'WHATSAPP';
  dialogResultsFromBotJson: Record<string, unknown>;
}
export const SESSION_ITEM_KEYS: readonly (keyof SessionItem)[] = ['id', 'name', 'clientId', 'messengerType', 'dialogResultsFromBotJson'];

export class Twin24Timeline {
  readonly options: TimelineSettings;
  private messages: StoredMessage[] = [];

  constructor(options: Partial<Twin24TimelineOptions> = {}, private readonly now: () => number = Date.now) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { ...TWIN24_TIMELINE_DEFAULTS, ...defined };
  }

  create(input: NewMessage): StoredMessage {
    const message: StoredMessage = {
      ...input,
      id: randomUUID(),
      createdAt: this.now(),
      outcome: this.options.outcome(input.phone),
      sessionId: randomUUID(),
      result: this.options.result(input.phone, input.variables),
    };
    this.messages.push(message);
    return message;
  }

  clear(): void {
    this.messages = [];
  }

  /** Messages created in [from, to], oldest first (insertion order breaks ties). */
  messagesBetween(from: number, to: number): MessageItem[] {
    return this.messages
      .filter((m) => m.createdAt >= from && m.createdAt <= to)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((m) => ({
        id: m.id,
        providerMessageId: this.providerMessageId(m),
        status: this.status(m),
        channel: 'CHAT',
        phone: m.phone,
        createdAt: new Date(m.createdAt).toISOString(),
        bulkId: m.bulkId,
        groupId: m.groupId,
        flowId: m.flowId,
      }));
  }

  /**
   * Sessions started (= messages delivered) in [from, to]. As the seed's step 3: `chatId` is a chat-session id (the
   * message's providerMessageId), so it selects that one session; without it, every session of the window.
   */
  sessionsBetween(from: number, to: number, chatId?: string): SessionItem[] {
    const now = this.now();
    return this.messages
      .filter((m) => this.hasSession(m))
      .map((m) => ({ m, startedAt: this.deliveredAt(m) }))
      .filter(({ m, startedAt }) => startedAt >= from && startedAt <= to && (chatId === undefined || chatId === m.sessionId))
      .sort((a, b) => a.startedAt - b.startedAt)
      .map(({ m, startedAt }) => ({
        id: m.sessionId,
        name: m.chatSessionName,
        clientId: m.phone,
        messengerType: 'WHATSAPP',
        dialogResultsFromBotJson: now >= startedAt + this.options.resultAfterMs ? m.result : { ...UNANSWERED_RESULT, initialVariables: [] },
      }));
  }

  views(): Twin24MessageView[] {
    const now = this.now();
    return this.messages.map((m) => ({
      id: m.id,
      phone: m.phone,
      variables: { ...m.variables },
      createdAt: m.createdAt,
      status: this.status(m),
      providerMessageId: this.providerMessageId(m),
      result: this.hasSession(m) && now >= this.deliveredAt(m) + this.options.resultAfterMs ? m.result : null,
    }));
  }

  private deliveredAt(m: StoredMessage): number {
    return m.createdAt + this.options.finalAfterMs;
  }

  private status(m: StoredMessage): string {
    const elapsed = this.now() - m.createdAt;
    const read = this.options.readAfterMs;
    if (m.outcome === 'DELIVERED' && read !== undefined && elapsed >= this.options.finalAfterMs + read) return 'READ';
    if (elapsed >= this.options.finalAfterMs) return m.outcome === 'NEVER' ? 'PENDING' : m.outcome;
    return elapsed >= this.options.pendingAfterMs ? 'PENDING' : 'CREATED';
  }

  /** Delivered (or read, or any status but the failures) and past the moment of delivery: a session exists. */
  private hasSession(m: StoredMessage): boolean {
    return !NO_SESSION.has(m.outcome) && this.now() - m.createdAt >= this.options.finalAfterMs;
  }

  private providerMessageId(m: StoredMessage): string | null {
    return this.hasSession(m) ? m.sessionId : null;
  }
}

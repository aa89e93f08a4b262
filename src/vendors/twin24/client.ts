import { z } from 'zod';
import { RetryableVendorError } from '../../delivery/errors.js';
import { classifyTwin24Failure, VENDOR } from './errors.js';
import { postJson, type Twin24Http } from './http.js';

/** One destination of a broadcast; `variables` fill the text's placeholders on Twin24's side. */
export interface Twin24Destination {
  phone: string;
  messengerUserId?: string;
  variables?: Record<string, string>;
}

/** One broadcast message: a WhatsApp text through a bot's chat, sent to many destinations. */
export interface Twin24Message {
  chatId: string;
  botId: string;
  chatSessionName: string;
  text: string;
  callbackUrl?: string;
  callbackData?: string;
  destinations: Twin24Destination[];
}

/** Twin24's per-destination error: documented only as non-null; seen as `{ code, message }` or a string. */
const entryErrorSchema = z.union([
  z.string().transform((message) => ({ code: undefined, message })),
  z.looseObject({ code: z.union([z.string(), z.number()]).optional(), message: z.string().optional() }),
]);

/** One answer entry per destination, in destination order. Unknown fields and statuses pass through. */
const entrySchema = z.looseObject({
  id: z.string().min(1).nullish(),
  bulkId: z.string().nullish(),
  status: z.string().nullish(),
  error: entryErrorSchema.nullish(),
});
export type Twin24SendEntry = z.infer<typeof entrySchema>;

const answerSchema = z.array(entrySchema);

/** The request body exactly as Twin24 documents it (key order as in the seed; absent optionals left out). */
export function twin24SendBody(m: Twin24Message): unknown {
  return {
    messages: [
      {
        channels: {
          chat: {
            chatId: m.chatId, botId: m.botId, messengerType: 'WHATSAPP', chatSessionName: m.chatSessionName, text: m.text, provider: 'TWIN',
          },
        },
        ...(m.callbackUrl !== undefined ? { callbackUrl: m.callbackUrl } : {}),
        ...(m.callbackData !== undefined ? { callbackData: m.callbackData } : {}),
        destinations: m.destinations.map((d) => ({
          phone: d.phone,
          ...(d.messengerUserId !== undefined ? { messengerUserId: d.messengerUserId } : {}),
          ...(d.variables !== undefined ? { variables: d.variables } : {}),
        })),
      },
    ],
  };
}

/** The notify service: `POST /messages`, one message per call, answering one entry per destination. */
export class Twin24NotifyClient {
  constructor(private readonly io: Twin24Http, private readonly notifyUrl: string) {}

  /**
   * Sends one message; throws the taxonomy for a refused or failed request. An answer that is not one entry per
   * destination is retryable: matching ids to orders by guesswork could hand one order another's message id.
   */
  async send(token: string, message: Twin24Message): Promise<Twin24SendEntry[]> {
    let data: unknown;
    try {
      ({ data } = await postJson(this.io, `${this.notifyUrl}/messages`, 'messages', twin24SendBody(message), { authorization: `Bearer ${token}` }));
    } catch (e) {
      throw classifyTwin24Failure(e, 'send');
    }
    const parsed = answerSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `[${issue.path.join('.')}] ` : '';
      throw new RetryableVendorError(`send: unexpected answer (${where}${issue?.message ?? 'not an array'})`, { vendor: VENDOR });
    }
    if (parsed.data.length !== message.destinations.length) {
      throw new RetryableVendorError(
        `send: answered ${parsed.data.length} entries for ${message.destinations.length} destinations`, { vendor: VENDOR },
      );
    }
    return parsed.data;
  }
}

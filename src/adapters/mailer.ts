import type { Database } from "../db/client.ts";
import { devOutbox } from "../db/schema.ts";
import { DependencyError } from "../lib/errors.ts";
import { uuidv7 } from "../lib/ids.ts";
import type { Logger } from "../lib/log.ts";

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The one-time token the mail carries (verification, reset, invitation), for the dev outbox. */
  token?: string;
}

/** Outgoing mail. Development and tests use an outbox readable at GET /dev/outbox. */
export interface Mailer {
  readonly kind: "outbox" | "webhook" | "none";
  send(mail: Mail): Promise<void>;
}

export function createOutboxMailer(db: Database): Mailer {
  return {
    kind: "outbox",
    send: async (mail) => {
      await db.insert(devOutbox).values({ id: uuidv7(), ...mail, token: mail.token ?? null });
    },
  };
}

/** Production: hand the mail to a delivery service's HTTP endpoint (e.g. a Worker bound to an email API). */
export function createWebhookMailer(url: string, timeoutMs: number): Mailer {
  return {
    kind: "webhook",
    send: async ({ token: _token, ...mail }) => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(mail),
        signal: AbortSignal.timeout(timeoutMs),
      }).catch((err) => {
        throw new DependencyError("mailer", err);
      });
      if (!res.ok) throw new DependencyError("mailer", new Error(`mail endpoint answered ${res.status}`));
    },
  };
}

export function createNullMailer(log: Logger): Mailer {
  return {
    kind: "none",
    send: async (mail) => {
      log.warn("mail not sent: MAIL_WEBHOOK_URL is not configured", { subject: mail.subject });
    },
  };
}

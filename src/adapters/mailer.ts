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
  send(mail: Mail): Promise<void>;
}

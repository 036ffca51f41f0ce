import type { Mail } from "../../adapters/mailer.ts";

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/**
 * A name someone else chose (an org's), made safe to put in a mail: no control or invisible
 * formatting characters (bidi overrides included), nothing a mail client would turn into a
 * link, and short. Invitations go to any address, so their text must not carry spam.
 */
export function mailSafeName(name: string): string {
  const clean = name
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, "")
    .replace(/\b(?:[a-z][a-z0-9+.-]*:\/\/|www\.)\S*/giu, "")
    .replace(/([\p{L}\p{N}-])[.@:]+(?=[\p{L}\p{N}])/gu, "$1 ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 60);
  return clean || "an organization";
}

function mail(to: string, subject: string, lead: string, link: string, token: string): Mail {
  return {
    to,
    subject,
    text: `${lead}\n\n${link}\n\nIf you did not ask for this, ignore this message.`,
    html: `<p>${escapeHtml(lead)}</p><p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p><p>If you did not ask for this, ignore this message.</p>`,
    token,
  };
}

export const verifyEmailMail = (to: string, appUrl: string, token: string) =>
  mail(
    to,
    "Confirm your email address",
    "Confirm your email address for Petrel:",
    `${appUrl}/verify-email?token=${token}`,
    token,
  );

export const resetPasswordMail = (to: string, appUrl: string, token: string) =>
  mail(
    to,
    "Reset your password",
    "Someone asked to reset your Petrel password. Use this link within the hour:",
    `${appUrl}/reset-password?token=${token}`,
    token,
  );

export const invitationMail = (to: string, appUrl: string, orgName: string, role: string, token: string) =>
  mail(
    to,
    `You are invited to ${mailSafeName(orgName)} on Petrel`,
    `You are invited to join ${mailSafeName(orgName)} as ${role}:`,
    `${appUrl}/invitations/${token}`,
    token,
  );

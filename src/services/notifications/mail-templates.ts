import type { Mail } from "../../adapters/mailer.ts";

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

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
    `You are invited to ${orgName} on Petrel`,
    `You are invited to join ${orgName} as ${role}:`,
    `${appUrl}/invitations/${token}`,
    token,
  );

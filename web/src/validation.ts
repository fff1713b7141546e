// Client-side checks that mirror the API's own limits (Features/Users/Users.cs, Features/Notes/NoteContracts.cs),
// so most mistakes are caught before a round trip. The API stays the authority: its field errors are shown
// the same way.

import type { FieldErrors } from './api/errors';

export const limits = {
  emailMax: 254,
  passwordMin: 12,
  passwordMax: 128,
  titleMax: 200,
  bodyMax: 100_000,
  tagsMax: 10,
  tagMax: 32,
  searchMax: 200,
} as const;

type Errors = FieldErrors;

function add(errors: Errors, field: string, message: string): void {
  (errors[field] ??= []).push(message);
}

export function isEmpty(errors: Errors): boolean {
  return Object.keys(errors).length === 0;
}

/** As the API compares emails: trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function emailError(raw: string): string | undefined {
  const email = normalizeEmail(raw);
  if (email.length === 0) {
    return 'Email is required.';
  }
  if (email.length > limits.emailMax) {
    return `Email must be at most ${limits.emailMax} characters.`;
  }
  const at = email.indexOf('@');
  return at <= 0 || at !== email.lastIndexOf('@') || at === email.length - 1 || /\s/.test(email)
    ? 'Email must look like name@example.com.'
    : undefined;
}

export function newPasswordError(password: string): string | undefined {
  if (password.length === 0) {
    return 'Password is required.';
  }
  if (password.length < limits.passwordMin) {
    return `Password must be at least ${limits.passwordMin} characters.`;
  }
  if (password.length > limits.passwordMax) {
    return `Password must be at most ${limits.passwordMax} characters.`;
  }
  return undefined;
}

export function validateRegistration(input: { email: string; password: string; confirm: string }): Errors {
  const errors: Errors = {};
  const email = emailError(input.email);
  if (email) add(errors, 'email', email);
  const password = newPasswordError(input.password);
  if (password) add(errors, 'password', password);
  else if (input.confirm !== input.password) add(errors, 'confirm', 'The passwords do not match.');
  return errors;
}

export function validatePasswordReset(input: { newPassword: string; confirm: string }): Errors {
  const errors: Errors = {};
  const password = newPasswordError(input.newPassword);
  if (password) add(errors, 'newPassword', password);
  else if (input.confirm !== input.newPassword) add(errors, 'confirm', 'The passwords do not match.');
  return errors;
}

export function validateEmailChange(input: { email: string; currentPassword: string; current: string }): Errors {
  const errors: Errors = {};
  const email = emailError(input.email);
  if (email) add(errors, 'email', email);
  else if (normalizeEmail(input.email) === input.current) add(errors, 'email', 'This is the address the account has already.');
  if (input.currentPassword === '') add(errors, 'currentPassword', 'The current password is required.');
  return errors;
}

export function validateLogin(input: { email: string; password: string }): Errors {
  const errors: Errors = {};
  if (normalizeEmail(input.email) === '') add(errors, 'email', 'Email is required.');
  if (input.password === '') add(errors, 'password', 'Password is required.');
  return errors;
}

export function validatePasswordChange(input: { currentPassword: string; newPassword: string; confirm: string }): Errors {
  const errors: Errors = {};
  if (input.currentPassword === '') add(errors, 'currentPassword', 'The current password is required.');
  const password = newPasswordError(input.newPassword);
  if (password) add(errors, 'newPassword', password);
  else if (input.newPassword === input.currentPassword) add(errors, 'newPassword', 'The new password must differ from the current one.');
  else if (input.confirm !== input.newPassword) add(errors, 'confirm', 'The passwords do not match.');
  return errors;
}

/** Tags as typed ("work, ideas"): split on commas, trimmed, lower-cased, duplicates dropped. */
export function parseTags(text: string): string[] {
  const tags: string[] = [];
  for (const part of text.split(',')) {
    const tag = part.trim().toLowerCase();
    if (tag !== '' && !tags.includes(tag)) {
      tags.push(tag);
    }
  }
  return tags;
}

export function validateNote(input: { title: string; body: string; tags: string[] }): Errors {
  const errors: Errors = {};
  if (input.title.trim() === '') add(errors, 'title', 'Title is required.');
  else if (input.title.length > limits.titleMax) add(errors, 'title', `Title must be at most ${limits.titleMax} characters.`);
  if (input.body.length > limits.bodyMax) add(errors, 'body', `Body must be at most ${limits.bodyMax} characters.`);
  if (input.tags.length > limits.tagsMax) add(errors, 'tags', `A note has at most ${limits.tagsMax} tags.`);
  input.tags.forEach((tag, i) => {
    if (tag.length === 0 || tag.length > limits.tagMax || /[\s,]/.test(tag)) {
      add(errors, 'tags', `Tag ${i + 1} (“${tag}”) must be 1 to ${limits.tagMax} characters with no spaces or commas.`);
    }
  });
  return errors;
}

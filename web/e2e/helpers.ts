import { expect, type Browser, type Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = dirname(dirname(fileURLToPath(import.meta.url)));
const repoRoot = dirname(web);

/** An email no earlier run has used. */
export function uniqueEmail(label: string): string {
  return `e2e-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}@example.test`;
}

export const password = () => `e2e pass ${randomBytes(6).toString('hex')}`;

/** The development admin: email from QUARTET_E2E_ADMIN_EMAIL, password from the file QUARTET_E2E_ADMIN_PASSWORD_FILE names. */
export function adminCredentials(): { email: string; password: string } {
  const email = process.env.QUARTET_E2E_ADMIN_EMAIL ?? 'admin@quartet.localhost';
  const configured = process.env.QUARTET_E2E_ADMIN_PASSWORD_FILE;
  const file = configured ? (isAbsolute(configured) ? configured : resolve(configured)) : join(repoRoot, '.quartet/secrets/admin_password');
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch {
    throw new Error(`cannot read the admin password from ${file}; set QUARTET_E2E_ADMIN_PASSWORD_FILE`);
  }
  return { email, password: secret };
}

/** A full-page screenshot in test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const folder = join(web, 'test-results/screenshots');
  mkdirSync(folder, { recursive: true });
  await page.screenshot({ path: join(folder, `${name}.png`), fullPage: true });
}

export async function register(page: Page, email: string, secret: string): Promise<void> {
  await page.goto('/register');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(secret);
  await page.getByLabel('Repeat the password').fill(secret);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/login/);
  await expectStatus(page, 'Your account is ready');
}

/** Logs in on the log-in page the browser is on (or opens it) and waits to leave it. */
export async function login(page: Page, email: string, secret: string, options: { open?: boolean } = {}): Promise<void> {
  if (options.open ?? true) {
    await page.goto('/login');
  }
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(secret);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).not.toHaveURL(/\/login/);
}

/** A registered and logged-in user in a new browser context of its own. */
export async function newUser(browser: Browser, label: string): Promise<{ page: Page; email: string; password: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = uniqueEmail(label);
  const secret = password();
  await register(page, email, secret);
  await login(page, email, secret, { open: false });
  await expect(page).toHaveURL(/\/notes$/);
  return { page, email, password: secret };
}

export async function createNote(page: Page, note: { title: string; body?: string; tags?: string }): Promise<string> {
  await page.goto('/notes/new');
  await page.getByLabel('Title', { exact: true }).fill(note.title);
  await page.getByLabel('Text', { exact: true }).fill(note.body ?? '');
  await page.getByLabel('Tags', { exact: true }).fill(note.tags ?? '');
  await page.getByRole('button', { name: 'Create note' }).click();
  await expectStatus(page, 'Note created.');
  await expect(page).toHaveURL(/\/notes\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

/** A polite message (role="status") with this text is on screen. */
export async function expectStatus(page: Page, text: string | RegExp): Promise<void> {
  await expect(page.getByRole('status').filter({ hasText: text })).toBeVisible();
}

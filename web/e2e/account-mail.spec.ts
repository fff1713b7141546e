import { expect, test, type Page } from '@playwright/test';
import { expectStatus, login, password, register, screenshot, uniqueEmail } from './helpers';

// The development mail catcher (maildev) the stack sends to; its REST API lists what it received.
const inbox = process.env.QUARTET_E2E_MAIL_URL ?? 'http://127.0.0.1:1080';

interface CaughtMail {
  subject: string;
  text: string;
  to: { address: string }[];
}

/** Waits for a mail to `to` whose subject is `subject`, and returns the Quartet link in its text. */
async function linkFromMail(to: string, subject: string, page: string): Promise<string> {
  let found: string | undefined;
  await expect
    .poll(
      async () => {
        const response = await fetch(`${inbox}/api/email?to.address=${encodeURIComponent(to)}`);
        const mails = (await response.json()) as CaughtMail[];
        const text = mails.find((m) => m.subject === subject)?.text ?? '';
        found = new RegExp(`https?://\\S+/${page}#token=[A-Za-z0-9_-]{43}`).exec(text)?.[0];
        return found !== undefined;
      },
      { message: `a "${subject}" mail to ${to} in ${inbox}`, timeout: 20_000 },
    )
    .toBe(true);
  return found!;
}

async function fitsWidth(page: Page, width: number): Promise<void> {
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
}

test('a forgotten password is reset from the link in the mail, and the new one logs in', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  const email = uniqueEmail('reset');
  const oldPassword = password();
  const newPassword = password();
  await register(page, email, oldPassword);

  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Email').press('Enter');
  await expectStatus(page, `If an account exists for ${email}`);
  await fitsWidth(page, 360);
  await screenshot(page, 'forgot-password-360');

  const link = await linkFromMail(email, 'Reset your Quartet password', 'reset-password');
  await page.goto(link);
  // The token leaves the address bar (and the history) once read.
  await expect(page).toHaveURL(/\/reset-password$/);
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Repeat the new password').fill(newPassword);
  await fitsWidth(page, 360);
  await screenshot(page, 'reset-password-360');
  await page.getByLabel('Repeat the new password').press('Enter');

  await expect(page).toHaveURL(/\/login$/);
  await expectStatus(page, 'Your password has been changed');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(oldPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toContainText('The email or password is wrong.');
  await login(page, email, newPassword, { open: false });
  await expect(page).toHaveURL(/\/notes$/);

  // The same link a second time: refused in words, with a way to a new one.
  await page.goto(link);
  const another = password();
  await page.getByLabel('New password', { exact: true }).fill(another);
  await page.getByLabel('Repeat the new password').fill(another);
  await page.getByRole('button', { name: 'Set the new password' }).click();
  await expect(page.getByRole('alert')).toContainText('This link does not work any more');
  await expect(page.getByRole('link', { name: 'Ask for a new link' })).toBeVisible();
  await context.close();
});

test('the verification link from registration confirms the address', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = uniqueEmail('verify');
  const secret = password();
  await register(page, email, secret);
  await login(page, email, secret, { open: false });
  await page.goto('/account');
  await expect(page.getByText(`${email} is not confirmed yet.`)).toBeVisible();
  await page.getByRole('link', { name: 'Confirm it or get a new link' }).click();
  await expect(page.getByRole('button', { name: 'Send the link again' })).toBeVisible();
  await screenshot(page, 'resend-verification');

  await page.goto(await linkFromMail(email, 'Confirm your email address for Quartet', 'verify-email'));
  await expectStatus(page, 'your email address is confirmed');
  await screenshot(page, 'verify-email');
  await page.goto('/account');
  await expect(page.getByText(`${email} is confirmed.`)).toBeVisible();
  await context.close();
});

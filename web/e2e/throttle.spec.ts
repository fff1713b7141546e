import { expect, test, type Page } from '@playwright/test';
import { password, register, screenshot, uniqueEmail } from './helpers';

async function attempt(page: Page, secret: string): Promise<number> {
  await page.getByLabel('Password').fill(secret);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/auth/login') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  return response.status();
}

test('five wrong passwords in a row: the next attempt shows how long to wait', async ({ page }) => {
  const email = uniqueEmail('throttle');
  await register(page, email, password());

  for (let n = 1; n <= 5; n++) {
    expect(await attempt(page, `wrong password ${n}`)).toBe(401);
    await expect(page.getByRole('alert')).toHaveText('The email or password is wrong.');
  }
  expect(await attempt(page, 'wrong password 6')).toBe(429);
  await expect(page.getByRole('alert')).toHaveText(/^Too many attempts\. Try again in \d+ (minutes?|seconds?)\.$/);
  await expect(page).toHaveURL(/\/login/);
  await screenshot(page, 'login-throttled');
});

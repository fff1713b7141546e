import { expect, test } from '@playwright/test';
import { adminCredentials, expectStatus, login, newUser } from './helpers';

test('an admin disables a user, whose open tab goes to log-in; enabled again, they can log in', async ({ browser }) => {
  const user = await newUser(browser, 'disabled');

  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  const credentials = adminCredentials();
  await login(admin, credentials.email, credentials.password);
  await admin.getByRole('link', { name: 'Admin' }).click();
  await expect(admin).toHaveURL(/\/admin$/);

  await admin.getByLabel('Email contains').fill(user.email);
  await admin.getByRole('button', { name: 'Search' }).click();
  const row = admin.getByRole('listitem').filter({ hasText: user.email });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('active');
  await row.getByRole('button', { name: `Disable ${user.email}` }).click();
  const dialog = admin.getByRole('dialog', { name: 'Disable this user?' });
  await dialog.getByRole('button', { name: 'Disable' }).click();
  await expectStatus(admin, `Disabled ${user.email}`);
  await expect(row).toContainText('disabled');

  // Nothing is clicked in the user's tab: the periodic session check (every 10 s) notices.
  await expect(user.page).toHaveURL(/\/login\?next=%2Fnotes$/, { timeout: 15_000 });
  await expectStatus(user.page, 'Your session has ended. Log in again.');

  await row.getByRole('button', { name: 'Enable' }).click();
  await expectStatus(admin, `Enabled ${user.email}`);
  await expect(row).toContainText('active');

  await login(user.page, user.email, user.password, { open: false });
  await expect(user.page).toHaveURL(/\/notes$/);
  await adminContext.close();
});

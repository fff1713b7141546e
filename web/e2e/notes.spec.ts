import { expect, test } from '@playwright/test';
import { createNote, expectStatus, login, password, register, uniqueEmail } from './helpers';

test('register, log in, create, edit, search and delete a note; a reload keeps the session; log out', async ({ page }) => {
  const email = uniqueEmail('notes');
  const secret = password();
  const word = `kumquat${Date.now().toString(36)}`;

  await register(page, email, secret);
  await login(page, email, secret, { open: false });
  await expect(page).toHaveURL(/\/notes$/);
  await expect(page.getByText('No notes yet')).toBeVisible();

  const id = await createNote(page, { title: 'Shopping list', body: 'apples', tags: 'home, Errands' });

  await page.getByLabel('Text', { exact: true }).fill(`apples and ${word}`);
  await page.getByRole('button', { name: 'Save' }).click();
  await expectStatus(page, 'Saved.');
  await expect(page.getByLabel('Tags', { exact: true })).toHaveValue('home, errands');

  await page.getByRole('link', { name: 'Notes', exact: true }).first().click();
  const list = page.getByRole('list', { name: 'Notes' });
  await expect(list.getByRole('link', { name: 'Shopping list' })).toBeVisible();

  await page.getByLabel('Search', { exact: true }).fill(word);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${word}`));
  await expect(list.getByRole('link', { name: 'Shopping list' })).toBeVisible();
  await expect(list.getByText(`apples and ${word}`)).toBeVisible();

  await page.getByLabel('Search', { exact: true }).fill('nothingmatchesthis');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByText('No notes match this search.')).toBeVisible();

  await page.getByRole('button', { name: 'Clear' }).click();
  await page.getByRole('button', { name: 'Show notes tagged errands' }).click();
  await expect(page).toHaveURL(/tag=errands/);
  await expect(list.getByRole('link', { name: 'Shopping list' })).toBeVisible();

  // A reload keeps the session (the cookie) and fetches a new CSRF token, so writes still work.
  await page.goto(`/notes/${id}`);
  await page.reload();
  await expect(page.getByLabel('Title', { exact: true })).toHaveValue('Shopping list');
  await page.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this note?' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await dialog.getByRole('button', { name: 'Delete note' }).click();
  await expect(page).toHaveURL(/\/notes$/);
  await expectStatus(page, 'Deleted “Shopping list”');
  await expect(page.getByText('No notes yet')).toBeVisible();

  await page.reload();
  await expect(page).toHaveURL(/\/notes$/);
  await expect(page.getByRole('heading', { name: 'Notes' })).toBeVisible();

  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expectStatus(page, 'You have logged out.');

  // Logged out, a page sends the browser to log-in and back to that page after it.
  await page.goto('/account');
  await expect(page).toHaveURL(/\/login\?next=%2Faccount$/);
  await login(page, email, secret, { open: false });
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { name: 'Account' })).toBeVisible();
});

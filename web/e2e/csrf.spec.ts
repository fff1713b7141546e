import { expect, test } from '@playwright/test';
import { createNote, newUser } from './helpers';

test('a write whose X-CSRF-Token header is stripped shows an error and changes nothing', async ({ browser }) => {
  const { page } = await newUser(browser, 'csrf');
  const id = await createNote(page, { title: 'Kept as is', body: 'original text' });

  // Every unsafe request to the notes API leaves the browser without its CSRF header.
  await page.route('**/api/notes**', async (route) => {
    const request = route.request();
    if (request.method() === 'GET') return route.continue();
    const headers = { ...request.headers() };
    delete headers['x-csrf-token'];
    await route.continue({ headers });
  });

  await page.getByLabel('Text', { exact: true }).fill('changed without a token');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('alert')).toContainText("Your session's security token was refused");

  await page.goto('/notes/new');
  await page.getByLabel('Title', { exact: true }).fill('Never created');
  await page.getByRole('button', { name: 'Create note' }).click();
  await expect(page.getByRole('alert')).toContainText("Your session's security token was refused");
  await expect(page).toHaveURL(/\/notes\/new$/);

  await page.unroute('**/api/notes**');
  await page.goto('/notes');
  const list = page.getByRole('list', { name: 'Notes' });
  await expect(list.getByRole('link', { name: 'Kept as is' })).toBeVisible();
  await expect(list.getByText('original text')).toBeVisible();
  await expect(list.getByRole('link', { name: 'Never created' })).toHaveCount(0);
  await page.goto(`/notes/${id}`);
  await expect(page.getByLabel('Text', { exact: true })).toHaveValue('original text');
});

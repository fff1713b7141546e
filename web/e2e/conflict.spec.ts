import { expect, test } from '@playwright/test';
import { createNote, expectStatus, newUser, screenshot } from './helpers';

test('two tabs edit one note: the second save gets the conflict message and can reload the first tab’s text', async ({ browser }) => {
  const { page: first } = await newUser(browser, 'conflict');
  const id = await createNote(first, { title: 'Plan', body: 'version one' });

  const second = await first.context().newPage();
  await second.goto(`/notes/${id}`);
  await expect(second.getByLabel('Text', { exact: true })).toHaveValue('version one');

  await first.getByLabel('Text', { exact: true }).fill('written in the first tab');
  await first.getByRole('button', { name: 'Save' }).click();
  await expectStatus(first, 'Saved.');

  await second.getByLabel('Text', { exact: true }).fill('written in the second tab');
  await second.getByRole('button', { name: 'Save' }).click();
  const alert = second.getByRole('alert');
  await expect(alert).toContainText('Conflict');
  await expect(alert).toContainText('Someone changed this since you opened it');
  await screenshot(second, 'note-conflict');

  await alert.getByRole('button', { name: 'Reload the current version' }).click();
  await expect(second.getByLabel('Text', { exact: true })).toHaveValue('written in the first tab');
  await expect(second.getByText('Your unsaved version')).toBeVisible();

  // The reloaded version carries the new ETag: saving now succeeds.
  await second.getByLabel('Text', { exact: true }).fill('merged by the second tab');
  await second.getByRole('button', { name: 'Save' }).click();
  await expectStatus(second, 'Saved.');
});

import { expect, test, type Browser, type Page } from '@playwright/test';
import { adminCredentials, createNote, expectStatus, login, password, register, screenshot, uniqueEmail } from './helpers';

const viewports = [
  { suffix: '', size: { width: 1280, height: 800 } },
  // The narrowest phone the app is made for.
  { suffix: '-360', size: { width: 360, height: 740 } },
];

/** Nothing sticks out sideways: no horizontal scrolling at this width. */
async function fitsWidth(page: Page, width: number): Promise<void> {
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
}

async function shoot(page: Page, name: string, width: number): Promise<void> {
  await fitsWidth(page, width);
  await screenshot(page, name);
}

/** Messages Chromium logs when the Content-Security-Policy blocks something (inline script or style...). */
const cspViolations: string[] = [];

async function newPage(browser: Browser, size: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport: size });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
      cspViolations.push(message.text());
    }
  });
  return page;
}

test.afterEach(() => {
  expect(cspViolations, 'nothing the Content-Security-Policy blocks').toEqual([]);
});

for (const { suffix, size } of viewports) {
  test(`every page renders at ${size.width}px wide (screenshots${suffix || ' at desktop width'})`, async ({ browser }) => {
    const page = await newPage(browser, size);
    const email = uniqueEmail(`pages${size.width}`);
    const secret = password();

    const response = await page.goto('/register');
    // Behind nginx (or `npm run preview`) the page comes with the production policy, and must work under it.
    test.info().annotations.push({ type: 'csp', description: response?.headers()['content-security-policy'] ?? '(none sent)' });
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByText('Email is required.')).toBeVisible();
    await shoot(page, `register${suffix}`, size.width);

    await register(page, email, secret);
    await shoot(page, `login${suffix}`, size.width);
    await login(page, email, secret, { open: false });

    await createNote(page, { title: 'Release checklist', body: 'Tag the build, update the changelog, tell the team.', tags: 'work, release' });
    await createNote(page, { title: 'Reading list', body: 'Designing Data-Intensive Applications; RFC 9457.', tags: 'books' });
    const id = await createNote(page, {
      title: 'Weekend',
      body: 'Market in the morning, then a long walk along the river if the weather holds.',
      tags: 'home',
    });
    await page.goto('/notes');
    await expect(page.getByRole('list', { name: 'Notes' }).getByRole('listitem').first()).toBeVisible();
    await shoot(page, `notes${suffix}`, size.width);

    await page.goto(`/notes/${id}`);
    await expect(page.getByLabel('Title', { exact: true })).toHaveValue('Weekend');
    await shoot(page, `note-editor${suffix}`, size.width);

    await page.goto('/account');
    await expect(page.getByRole('list', { name: 'Sessions' }).getByRole('listitem')).not.toHaveCount(0);
    await shoot(page, `account${suffix}`, size.width);
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await expectStatus(page, 'You have logged out.');

    const credentials = adminCredentials();
    await login(page, credentials.email, credentials.password);
    await page.goto('/admin');
    await expect(page.getByRole('list', { name: 'Users' }).getByRole('listitem').first()).toBeVisible();
    await shoot(page, `admin${suffix}`, size.width);

    await page.context().close();
  });
}

test('a signed-in user who is not an admin sees no admin link and is refused the admin page', async ({ browser }) => {
  const page = await newPage(browser, viewports[0].size);
  const email = uniqueEmail('notadmin');
  const secret = password();
  await register(page, email, secret);
  await login(page, email, secret, { open: false });
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' })).toHaveCount(0);
  await page.goto('/admin');
  await expect(page.getByRole('heading', { name: 'Not allowed' })).toBeVisible();
  await page.context().close();
});

test('the app works from the keyboard: skip link, forms, and a modal dialog that keeps and returns focus', async ({ browser }) => {
  const page = await newPage(browser, viewports[0].size);
  const email = uniqueEmail('keyboard');
  const secret = password();
  await register(page, email, secret);

  await page.goto('/login');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  await page.getByLabel('Email').fill('');
  await page.getByLabel('Email').focus();
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Password')).toBeFocused();
  await page.keyboard.type(secret);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/notes$/);

  await createNote(page, { title: 'Keyboard note' });
  const remove = page.getByRole('button', { name: 'Delete' });
  await remove.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Delete this note?' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  // Focus stays inside the modal dialog.
  await page.keyboard.press('Tab');
  await expect(dialog.getByRole('button', { name: 'Delete note' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(remove).toBeFocused();
  await expect(page.getByLabel('Title', { exact: true })).toHaveValue('Keyboard note');
  await page.context().close();
});

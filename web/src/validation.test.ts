import { describe, expect, it } from 'vitest';
import { emailError, parseTags, validateLogin, validateNote, validatePasswordChange, validateRegistration } from './validation';

const long = (n: number, c = 'a') => c.repeat(n);

describe('registration', () => {
  it('accepts a good email and a password of 12 to 128 characters', () => {
    expect(validateRegistration({ email: ' Ann@Example.COM ', password: long(12), confirm: long(12) })).toEqual({});
    expect(validateRegistration({ email: 'ann@example.com', password: long(128), confirm: long(128) })).toEqual({});
  });

  it('refuses a password of 11 or 129 characters', () => {
    expect(validateRegistration({ email: 'ann@example.com', password: long(11), confirm: long(11) }).password).toEqual([
      'Password must be at least 12 characters.',
    ]);
    expect(validateRegistration({ email: 'ann@example.com', password: long(129), confirm: long(129) }).password).toEqual([
      'Password must be at most 128 characters.',
    ]);
  });

  it('requires both fields and matching repeats', () => {
    const errors = validateRegistration({ email: '', password: '', confirm: '' });
    expect(errors.email).toEqual(['Email is required.']);
    expect(errors.password).toEqual(['Password is required.']);
    expect(validateRegistration({ email: 'a@b.c', password: long(12), confirm: long(13) }).confirm).toEqual(['The passwords do not match.']);
  });

  it.each(['ann', '@example.com', 'ann@', 'a@b@c', 'ann smith@example.com'])('refuses the email %j as the API does', (email) => {
    expect(emailError(email)).toBe('Email must look like name@example.com.');
  });

  it('refuses an email longer than 254 characters', () => {
    expect(emailError(`${long(250)}@b.cd`)).toBe('Email must be at most 254 characters.');
  });
});

describe('log-in', () => {
  it('only requires both fields (any length: old passwords may be shorter)', () => {
    expect(validateLogin({ email: 'a@b.c', password: 'x' })).toEqual({});
    expect(validateLogin({ email: ' ', password: '' })).toEqual({ email: ['Email is required.'], password: ['Password is required.'] });
  });
});

describe('password change', () => {
  it('needs the current password and a new one of 12 to 128 that differs and is repeated', () => {
    expect(validatePasswordChange({ currentPassword: 'old password 1', newPassword: long(12), confirm: long(12) })).toEqual({});
    expect(validatePasswordChange({ currentPassword: '', newPassword: long(5), confirm: '' })).toEqual({
      currentPassword: ['The current password is required.'],
      newPassword: ['Password must be at least 12 characters.'],
    });
    expect(validatePasswordChange({ currentPassword: long(12), newPassword: long(12), confirm: long(12) }).newPassword).toEqual([
      'The new password must differ from the current one.',
    ]);
    expect(validatePasswordChange({ currentPassword: 'x', newPassword: long(12), confirm: 'y' }).confirm).toEqual(['The passwords do not match.']);
  });
});

describe('notes', () => {
  const ok = { title: 'Title', body: '', tags: [] as string[] };

  it('needs a title of 1 to 200 characters', () => {
    expect(validateNote(ok)).toEqual({});
    expect(validateNote({ ...ok, title: long(200) })).toEqual({});
    expect(validateNote({ ...ok, title: '   ' }).title).toEqual(['Title is required.']);
    expect(validateNote({ ...ok, title: long(201) }).title).toEqual(['Title must be at most 200 characters.']);
  });

  it('limits the text to 100,000 characters', () => {
    expect(validateNote({ ...ok, body: long(100_000) })).toEqual({});
    expect(validateNote({ ...ok, body: long(100_001) }).body).toEqual(['Body must be at most 100000 characters.']);
  });

  it('allows up to 10 tags of at most 32 characters without spaces or commas', () => {
    expect(validateNote({ ...ok, tags: Array.from({ length: 10 }, (_, i) => `t${i}`) })).toEqual({});
    expect(validateNote({ ...ok, tags: [long(32)] })).toEqual({});
    expect(validateNote({ ...ok, tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }).tags).toEqual(['A note has at most 10 tags.']);
    expect(validateNote({ ...ok, tags: ['fine', long(33)] }).tags).toEqual([`Tag 2 (“${long(33)}”) must be 1 to 32 characters with no spaces or commas.`]);
    expect(validateNote({ ...ok, tags: ['two words'] }).tags).toHaveLength(1);
    expect(validateNote({ ...ok, tags: ['a,b'] }).tags).toHaveLength(1);
  });

  it('reads tags as typed: comma-separated, trimmed, lower-cased, without duplicates', () => {
    expect(parseTags(' Work, ideas ,,work, Big Plans ')).toEqual(['work', 'ideas', 'big plans']);
    expect(parseTags('')).toEqual([]);
  });
});

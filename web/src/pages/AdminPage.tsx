import { useEffect, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { api } from '../api/api';
import { call, type AdminUser, type UserPage } from '../api/client';
import { toDisplayError, type ApiError } from '../api/errors';
import { useAuth } from '../auth/AuthContext';
import { Alert } from '../components/Alert';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { usePageTitle } from '../components/usePageTitle';
import { formatDateTime } from '../format';

const PAGE_SIZE = 20;

type Action = { kind: 'disable' | 'end-sessions'; user: AdminUser };

export function AdminPage() {
  usePageTitle('Admin');
  const auth = useAuth();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const page = Math.max(1, Number.parseInt(params.get('page') ?? '1', 10) || 1);
  const [qInput, setQInput] = useState(q);
  const [result, setResult] = useState<UserPage | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const [pending, setPending] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => setQInput(q), [q]);

  useEffect(() => {
    let cancelled = false;
    setError(null);
    call(api.GET('/api/admin/users', { params: { query: { q: q || undefined, page, pageSize: PAGE_SIZE } } }))
      .then(({ data }) => !cancelled && setResult(data))
      .catch((e) => !cancelled && setError(toDisplayError(e)));
    return () => {
      cancelled = true;
    };
  }, [q, page, reloads]);

  function search(event: FormEvent) {
    event.preventDefault();
    setDone(null);
    setParams(qInput.trim() ? { q: qInput.trim() } : {});
    setReloads((n) => n + 1);
  }

  function goTo(target: number) {
    const next = new URLSearchParams(params);
    next.set('page', String(target));
    setParams(next);
  }

  async function run(action: Action | { kind: 'enable'; user: AdminUser }) {
    const path = { params: { path: { id: action.user.id } } };
    setBusy(true);
    setDone(null);
    setError(null);
    try {
      if (action.kind === 'disable') {
        await call(api.POST('/api/admin/users/{id}/disable', path));
        setDone(`Disabled ${action.user.email}. Their sessions and tokens have ended.`);
      } else if (action.kind === 'enable') {
        await call(api.POST('/api/admin/users/{id}/enable', path));
        setDone(`Enabled ${action.user.email}. They can log in again.`);
      } else {
        const { data } = await call(api.POST('/api/admin/users/{id}/end-sessions', path));
        const ended = Number(data.ended);
        setDone(`Signed ${action.user.email} out everywhere (${ended} session${ended === 1 ? '' : 's'} ended).`);
      }
      setReloads((n) => n + 1);
    } catch (e) {
      setError(toDisplayError(e));
    } finally {
      setBusy(false);
      setPending(null);
    }
  }

  const total = result ? Number(result.total) : 0;
  const first = result && result.items.length > 0 ? (page - 1) * PAGE_SIZE + 1 : 0;
  const last = result ? first + result.items.length - (result.items.length > 0 ? 1 : 0) : 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <section className="page" aria-labelledby="admin-title">
      <h1 id="admin-title">Admin</h1>
      <form className="search search-single card" role="search" aria-label="Search users" onSubmit={search}>
        <div className="field">
          <label htmlFor="admin-q">Email contains</label>
          <input id="admin-q" name="q" type="search" value={qInput} maxLength={254} onChange={(e) => setQInput(e.target.value)} />
        </div>
        <div className="search-actions">
          <button type="submit" className="button">
            Search
          </button>
        </div>
      </form>

      {done && <Alert tone="success">{done}</Alert>}
      {error && <Alert>{error.message}</Alert>}

      {result === null && !error ? (
        <p className="loading" role="status">
          Loading users…
        </p>
      ) : result && result.items.length === 0 ? (
        <p className="empty">{q ? 'No user’s email contains that text.' : 'No users.'}</p>
      ) : (
        result && (
          <>
            <p className="muted" aria-live="polite">
              Users {first}–{last} of {total}
            </p>
            <ul className="user-list" aria-label="Users">
              {result.items.map((user) => {
                const self = user.id === auth.user?.id;
                return (
                  <li key={user.id} className="user-item card">
                    <div className="user-info">
                      <p className="user-email">
                        {user.email}
                        {user.role === 'admin' && <span className="badge">admin</span>}
                        {self && <span className="badge">you</span>}
                        {user.disabled ? <span className="badge badge-danger">disabled</span> : <span className="badge badge-ok">active</span>}
                      </p>
                      <p className="muted">Registered {formatDateTime(user.createdAt)}</p>
                    </div>
                    <div className="user-actions">
                      {!self &&
                        (user.disabled ? (
                          <button type="button" className="button button-small" disabled={busy} onClick={() => void run({ kind: 'enable', user })}>
                            Enable
                          </button>
                        ) : (
                          <button
                            type="button"
                            className="button button-small button-danger"
                            disabled={busy}
                            onClick={() => setPending({ kind: 'disable', user })}
                            aria-label={`Disable ${user.email}`}
                          >
                            Disable
                          </button>
                        ))}
                      <button
                        type="button"
                        className="button button-small"
                        disabled={busy}
                        onClick={() => setPending({ kind: 'end-sessions', user })}
                        aria-label={`End all sessions of ${user.email}`}
                      >
                        End sessions
                      </button>
                    </div>
                  </li>
                );
              })}
            </ul>
            {pages > 1 && (
              <nav className="pager" aria-label="Pages">
                <button type="button" className="button" disabled={page <= 1} onClick={() => goTo(page - 1)}>
                  Previous
                </button>
                <span>
                  Page {page} of {pages}
                </span>
                <button type="button" className="button" disabled={page >= pages} onClick={() => goTo(page + 1)}>
                  Next
                </button>
              </nav>
            )}
          </>
        )
      )}

      <ConfirmDialog
        open={pending !== null}
        title={pending?.kind === 'disable' ? 'Disable this user?' : 'End all their sessions?'}
        confirmLabel={pending?.kind === 'disable' ? 'Disable' : 'End sessions'}
        busy={busy}
        onConfirm={() => pending && void run(pending)}
        onCancel={() => setPending(null)}
      >
        {pending?.kind === 'disable' ? (
          <p>
            <strong>{pending.user.email}</strong> will be signed out everywhere and cannot log in until enabled again.
          </p>
        ) : (
          <p>
            <strong>{pending?.user.email}</strong> will be signed out of every browser and API client.
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}

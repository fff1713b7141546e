import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api/api';
import { call, type NoteSummary } from '../api/client';
import { toDisplayError, type ApiError } from '../api/errors';
import { Alert } from '../components/Alert';
import { useFlash } from '../components/useFlash';
import { usePageTitle } from '../components/usePageTitle';
import { formatDateTime } from '../format';
import { limits } from '../validation';

const PAGE_SIZE = 20;

export function NotesPage() {
  usePageTitle('Notes');
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const tag = params.get('tag') ?? '';
  const [qInput, setQInput] = useState(q);
  const [tagInput, setTagInput] = useState(tag);
  const [items, setItems] = useState<NoteSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [reloads, setReloads] = useState(0);
  const notice = useFlash();

  useEffect(() => {
    setQInput(q);
    setTagInput(tag);
  }, [q, tag]);

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    setError(null);
    call(api.GET('/api/notes', { params: { query: { limit: PAGE_SIZE, q: q || undefined, tag: tag || undefined } } }))
      .then(({ data }) => {
        if (cancelled) return;
        setItems(data.items);
        setCursor(data.nextCursor);
      })
      .catch((e) => !cancelled && setError(toDisplayError(e)))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [q, tag, reloads]);

  async function loadMore() {
    if (!cursor) return;
    setLoadingMore(true);
    setError(null);
    try {
      const { data } = await call(
        api.GET('/api/notes', { params: { query: { limit: PAGE_SIZE, cursor, q: q || undefined, tag: tag || undefined } } }),
      );
      setItems((current) => [...current, ...data.items.filter((n) => !current.some((c) => c.id === n.id))]);
      setCursor(data.nextCursor);
    } catch (e) {
      setError(toDisplayError(e));
    } finally {
      setLoadingMore(false);
    }
  }

  function search(event: FormEvent) {
    event.preventDefault();
    const next = new URLSearchParams();
    if (qInput.trim()) next.set('q', qInput.trim());
    if (tagInput.trim()) next.set('tag', tagInput.trim().toLowerCase());
    setParams(next);
    setReloads((n) => n + 1);
  }

  function filterByTag(value: string) {
    const next = new URLSearchParams(params);
    next.set('tag', value);
    setParams(next);
  }

  const filtered = q !== '' || tag !== '';

  return (
    <section className="page" aria-labelledby="notes-title">
      <div className="page-header">
        <h1 id="notes-title">Notes</h1>
        <Link to="/notes/new" className="button button-primary">
          New note
        </Link>
      </div>
      {notice && <Alert tone="success">{notice}</Alert>}

      <form className="search card" role="search" onSubmit={search} aria-label="Search notes">
        <div className="field">
          <label htmlFor="notes-q">Search</label>
          <input
            id="notes-q"
            name="q"
            type="search"
            value={qInput}
            maxLength={limits.searchMax}
            onChange={(e) => setQInput(e.target.value)}
            placeholder="Words in the title or text"
          />
        </div>
        <div className="field">
          <label htmlFor="notes-tag">Tag</label>
          <input
            id="notes-tag"
            name="tag"
            type="text"
            value={tagInput}
            maxLength={limits.tagMax}
            onChange={(e) => setTagInput(e.target.value)}
            placeholder="e.g. work"
            autoCapitalize="none"
          />
        </div>
        <div className="search-actions">
          <button type="submit" className="button">
            Search
          </button>
          {filtered && (
            <button type="button" className="button button-quiet" onClick={() => setParams(new URLSearchParams())}>
              Clear
            </button>
          )}
        </div>
      </form>

      {error && (
        <Alert
          details={Object.entries(error.fieldErrors).flatMap(([, list]) => list)}
          actions={
            <button type="button" className="button" onClick={() => setReloads((n) => n + 1)}>
              Try again
            </button>
          }
        >
          {error.message}
        </Alert>
      )}

      {loading ? (
        <p className="loading" role="status">
          Loading notes…
        </p>
      ) : items.length === 0 && !error ? (
        <p className="empty">{filtered ? 'No notes match this search.' : 'No notes yet. Write your first one.'}</p>
      ) : (
        <ul className="note-list" aria-label="Notes" aria-busy={loadingMore}>
          {items.map((note) => (
            <li key={note.id} className="note-item card">
              <h2 className="note-title">
                <Link to={`/notes/${note.id}`}>{note.title}</Link>
              </h2>
              {note.excerpt && <p className="note-excerpt">{note.excerpt}</p>}
              <div className="note-meta">
                {note.tags.length > 0 && (
                  <ul className="tags" aria-label="Tags">
                    {note.tags.map((t) => (
                      <li key={t}>
                        <button type="button" className="tag" onClick={() => filterByTag(t)} aria-label={`Show notes tagged ${t}`}>
                          {t}
                        </button>
                      </li>
                    ))}
                  </ul>
                )}
                <span className="muted">Updated {formatDateTime(note.updatedAt)}</span>
              </div>
            </li>
          ))}
        </ul>
      )}

      {cursor && !loading && (
        <div className="more">
          <button type="button" className="button" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'More'}
          </button>
        </div>
      )}
    </section>
  );
}

import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../api/api';
import { call, etagFor, IdempotencyKeys, type Note, type NoteRequest } from '../api/client';
import { toDisplayError, type ApiError } from '../api/errors';
import { Alert } from '../components/Alert';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Field } from '../components/Field';
import { useFlash } from '../components/useFlash';
import { useFormErrors } from '../components/useFormErrors';
import { usePageTitle } from '../components/usePageTitle';
import { formatDateTime } from '../format';
import { isEmpty, limits, parseTags, validateNote } from '../validation';

/** /notes/new and /notes/:id; a new id is a new editor, with fresh state. */
export function NoteEditorRoute() {
  const { id } = useParams();
  return <NoteEditorPage key={id ?? 'new'} id={id} />;
}

interface Draft {
  title: string;
  body: string;
  tags: string;
}

function NoteEditorPage({ id }: { id?: string }) {
  const isNew = id === undefined;
  usePageTitle(isNew ? 'New note' : 'Edit note');
  const navigate = useNavigate();
  const flash = useFlash();
  const [loading, setLoading] = useState(!isNew);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [draft, setDraft] = useState<Draft>({ title: '', body: '', tags: '' });
  const [note, setNote] = useState<Note | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(flash);
  const [lostDraft, setLostDraft] = useState<Draft | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const errors = useFormErrors(['title', 'body', 'tags'], { tags: 'Tag' });
  const idempotencyKeys = useRef(new IdempotencyKeys());

  // `quiet` keeps the form on screen (reloading after a conflict); a first load shows "Loading".
  const load = useCallback(async (quiet = false) => {
    if (id === undefined) return false;
    if (!quiet) setLoading(true);
    setLoadError(null);
    try {
      const { data, response } = await call(api.GET('/api/notes/{id}', { params: { path: { id } } }));
      setNote(data);
      setEtag(etagFor(response, data.version));
      setDraft({ title: data.title, body: data.body, tags: data.tags.join(', ') });
      return true;
    } catch (error) {
      if (quiet) errors.setError(error);
      else setLoadError(toDisplayError(error));
      return false;
    } finally {
      setLoading(false);
    }
  }, [id, errors.setError]);

  useEffect(() => {
    void load();
  }, [load]);

  const update = (field: keyof Draft) => (event: { target: { value: string } }) => {
    setDraft((current) => ({ ...current, [field]: event.target.value }));
    setStatus(null);
  };

  async function save(event: FormEvent) {
    event.preventDefault();
    const request: NoteRequest = { title: draft.title, body: draft.body, tags: parseTags(draft.tags) };
    const invalid = validateNote({ title: draft.title, body: draft.body, tags: request.tags ?? [] });
    if (!isEmpty(invalid)) {
      errors.setClientErrors(invalid);
      return;
    }
    errors.clear();
    setStatus(null);
    setBusy(true);
    try {
      if (isNew) {
        // The same submission retried (after a network failure, say) reuses its key, so it cannot create twice.
        const key = idempotencyKeys.current.keyFor(JSON.stringify(request));
        const { data } = await call(api.POST('/api/notes', { params: { header: { 'Idempotency-Key': key } }, body: request }));
        idempotencyKeys.current.succeeded();
        navigate(`/notes/${data.id}`, { replace: true, state: { notice: 'Note created.' } });
        return;
      }
      const { data, response } = await call(
        api.PUT('/api/notes/{id}', { params: { path: { id }, header: { 'If-Match': etag ?? '' } }, body: request }),
      );
      setNote(data);
      setEtag(etagFor(response, data.version));
      setDraft({ title: data.title, body: data.body, tags: data.tags.join(', ') });
      setLostDraft(null);
      setStatus('Saved.');
    } catch (error) {
      errors.setError(error);
    } finally {
      setBusy(false);
    }
  }

  async function reloadCurrent() {
    const unsaved = draft;
    errors.clear();
    if (await load(true)) {
      setLostDraft(unsaved);
      setStatus('This is the current version. Your unsaved text is kept below, to copy from.');
    }
  }

  async function remove() {
    if (id === undefined) return;
    setBusy(true);
    try {
      await call(api.DELETE('/api/notes/{id}', { params: { path: { id }, header: { 'If-Match': etag ?? '' } } }));
      navigate('/notes', { state: { notice: `Deleted “${note?.title ?? 'the note'}”.` } });
    } catch (error) {
      setConfirmDelete(false);
      errors.setError(error);
      setBusy(false);
    }
  }

  if (loading) {
    return (
      <p className="loading" role="status">
        Loading the note…
      </p>
    );
  }
  if (loadError) {
    return (
      <section className="page" aria-labelledby="editor-title">
        <h1 id="editor-title">{loadError.kind === 'not-found' ? 'Note not found' : 'Cannot open the note'}</h1>
        <Alert
          actions={
            loadError.kind !== 'not-found' && (
              <button type="button" className="button" onClick={() => void load()}>
                Try again
              </button>
            )
          }
        >
          {loadError.message}
        </Alert>
        <p>
          <Link to="/notes">Back to the notes</Link>
        </p>
      </section>
    );
  }

  const stale = errors.error?.kind === 'stale';
  return (
    <section className="page" aria-labelledby="editor-title">
      <p className="breadcrumb">
        <Link to="/notes">← Notes</Link>
      </p>
      <h1 id="editor-title">{isNew ? 'New note' : 'Edit note'}</h1>
      {status && <Alert tone="success">{status}</Alert>}
      {errors.message && (
        <Alert
          details={errors.details}
          actions={
            stale && (
              <button type="button" className="button" onClick={() => void reloadCurrent()}>
                Reload the current version
              </button>
            )
          }
        >
          {stale ? (
            <>
              <strong>Conflict:</strong> {errors.message}
            </>
          ) : (
            errors.message
          )}
        </Alert>
      )}

      <form ref={errors.formRef} className="form card" onSubmit={save} noValidate aria-label={isNew ? 'New note' : 'Edit note'}>
        <Field label="Title" name="title" errors={errors.fields.title}>
          {(control) => <input {...control} type="text" value={draft.title} onChange={update('title')} required />}
        </Field>
        <Field label="Text" name="body" errors={errors.fields.body}>
          {(control) => <textarea {...control} rows={12} value={draft.body} onChange={update('body')} />}
        </Field>
        <Field
          label="Tags"
          name="tags"
          errors={errors.fields.tags}
          hint={`Separate with commas; up to ${limits.tagsMax} tags of at most ${limits.tagMax} characters, no spaces.`}
        >
          {(control) => <input {...control} type="text" value={draft.tags} onChange={update('tags')} autoCapitalize="none" />}
        </Field>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : isNew ? 'Create note' : 'Save'}
          </button>
          {!isNew && (
            <button type="button" className="button button-danger" onClick={() => setConfirmDelete(true)} disabled={busy}>
              Delete
            </button>
          )}
        </div>
        {note && (
          <p className="muted">
            Created {formatDateTime(note.createdAt)} · updated {formatDateTime(note.updatedAt)} · version {String(note.version)}
          </p>
        )}
      </form>

      {lostDraft && (
        <details className="card lost-draft">
          <summary>Your unsaved version</summary>
          <p className="muted">Title: {lostDraft.title}</p>
          <pre>{lostDraft.body}</pre>
          {lostDraft.tags && <p className="muted">Tags: {lostDraft.tags}</p>}
        </details>
      )}

      <ConfirmDialog
        open={confirmDelete}
        title="Delete this note?"
        confirmLabel="Delete note"
        busy={busy}
        onConfirm={() => void remove()}
        onCancel={() => setConfirmDelete(false)}
      >
        <p>“{note?.title}” will be deleted for good.</p>
      </ConfirmDialog>
    </section>
  );
}

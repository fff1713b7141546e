import type { ReactNode } from 'react';

/** A message about the whole page or form. Errors are announced at once (role="alert"); notices politely. */
export function Alert({
  tone = 'error',
  children,
  details,
  actions,
}: {
  tone?: 'error' | 'info' | 'success';
  children: ReactNode;
  details?: string[];
  actions?: ReactNode;
}) {
  return (
    <div className={`alert alert-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      <p className="alert-message">{children}</p>
      {details && details.length > 0 && (
        <ul className="alert-details">
          {details.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
      {actions && <div className="alert-actions">{actions}</div>}
    </div>
  );
}

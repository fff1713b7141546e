// The token of a verification or reset link. Mails put it after '#' (`/reset-password#token=…`), so it
// never reaches a server log or a Referer header. It is read once, then the fragment is removed from
// the address bar, so it does not stay in the history either.

import { useEffect, useState } from 'react';
import { useLocation, useNavigate } from 'react-router';

export function tokenFromHash(hash: string): string | null {
  const token = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash).get('token')?.trim();
  return token ? token : null;
}

export function useLinkToken(): string | null {
  const location = useLocation();
  const navigate = useNavigate();
  const [token] = useState(() => tokenFromHash(location.hash));
  useEffect(() => {
    if (location.hash !== '') {
      void navigate({ pathname: location.pathname, search: location.search }, { replace: true });
    }
  }, [location.hash, location.pathname, location.search, navigate]);
  return token;
}

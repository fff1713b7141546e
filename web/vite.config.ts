import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The backend started by `./quartet up`; the dev and preview servers forward API and health calls to it,
// so the app always talks to its own origin, as it does behind nginx.
const backend = process.env.QUARTET_BACKEND_URL ?? 'http://127.0.0.1:8080';
const proxy = {
  '/api': { target: backend },
  '/health': { target: backend },
};

// The policy nginx serves with the built app. The preview server sends it too, so a test run against
// `npm run preview` catches inline code or styles that production would block. (The dev server cannot:
// its hot reload injects inline scripts.)
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

export default defineConfig({
  plugins: [react()],
  server: { host: '127.0.0.1', port: 5173, strictPort: true, proxy },
  preview: {
    host: '127.0.0.1',
    port: 4173,
    strictPort: true,
    proxy,
    headers: { 'Content-Security-Policy': contentSecurityPolicy },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // Source maps stay out of the served folder; the CSP forbids inline code, so no inline polyfill either.
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
});

// Builds the two pages into static files the server serves (api/http/static_assets.*): the
// HTML at the top of the output, every script and style under assets/ with a content hash in
// its name, so that the server may let browsers keep them for a year.
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const here = new URL('.', import.meta.url).pathname;

export default defineConfig({
  base: '/',
  build: {
    outDir: process.env.MERCATO_PAGES_OUT || resolve(here, 'dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline script or style anywhere: the server's Content-Security-Policy forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2020',
    rollupOptions: {
      input: {
        track: resolve(here, 'track.html'),
        admin: resolve(here, 'admin.html'),
      },
    },
  },
});

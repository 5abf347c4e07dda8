import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'

/** Everything the page loads comes from this origin; no inline script or style, no eval. */
const contentSecurityPolicy =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"

interface StaticAsset {
  route: string
  file: string
  contentType: string
}

function assetsOf(): StaticAsset[] {
  const publicDir = path.resolve(import.meta.dirname, '../public')
  // uPlot ships prebuilt browser files; resolved through its package.json so the pnpm layout does not matter.
  const uplotDir = path.join(
    path.dirname(createRequire(import.meta.url).resolve('uplot/package.json')),
    'dist',
  )
  return [
    { route: '/', file: path.join(publicDir, 'index.html'), contentType: 'text/html; charset=utf-8' },
    { route: '/app.js', file: path.join(publicDir, 'app.js'), contentType: 'text/javascript; charset=utf-8' },
    // ES modules app.js imports: the shared helpers and the analytics views.
    {
      route: '/common.js',
      file: path.join(publicDir, 'common.js'),
      contentType: 'text/javascript; charset=utf-8',
    },
    {
      route: '/analytics.js',
      file: path.join(publicDir, 'analytics.js'),
      contentType: 'text/javascript; charset=utf-8',
    },
    { route: '/app.css', file: path.join(publicDir, 'app.css'), contentType: 'text/css; charset=utf-8' },
    {
      route: '/vendor/uplot.js',
      file: path.join(uplotDir, 'uPlot.iife.min.js'),
      contentType: 'text/javascript; charset=utf-8',
    },
    {
      route: '/vendor/uplot.css',
      file: path.join(uplotDir, 'uPlot.min.css'),
      contentType: 'text/css; charset=utf-8',
    },
  ]
}

/**
 * The live dashboard: a static page, its script and style, and uPlot, read once at registration
 * (a missing file fails the start, not a request). `no-cache` lets browsers revalidate after a
 * deploy; the content-security-policy keeps the page to its own origin.
 */
export function registerDashboardRoutes(http: FastifyInstance): void {
  for (const asset of assetsOf()) {
    const body = readFileSync(asset.file)
    http.get(asset.route, async (_request, reply) =>
      reply
        .header('content-type', asset.contentType)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', contentSecurityPolicy)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(body),
    )
  }
}

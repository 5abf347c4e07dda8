import { access, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'

/** Where browser tests leave their screenshots (git-ignored). */
export const artifactsDir = path.resolve(import.meta.dirname, '../artifacts')

/** The system Chromium (no browser download): CHROMIUM_PATH, else /usr/bin/chromium. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Headless Chromium, sandbox off (containers run it as root), nothing fetched from elsewhere. */
export async function launchBrowser(): Promise<Browser> {
  await access(chromiumPath).catch(() => {
    throw new Error(`expected Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`)
  })
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
}

/**
 * Collects what would go unnoticed in a headless page: uncaught errors, console errors (a
 * content-security-policy violation is one) and failed requests.
 */
export function watchPageProblems(page: Page): string[] {
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`)
  })
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} ${response.url()}`)
  })
  return problems
}

export async function screenshot(
  page: Page,
  name: string,
  options: { fullPage?: boolean } = {},
): Promise<string> {
  await mkdir(artifactsDir, { recursive: true })
  const file = path.join(artifactsDir, `${name}.png`)
  await page.screenshot({ path: file, fullPage: options.fullPage ?? false })
  return file
}

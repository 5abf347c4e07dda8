import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedRequest {
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
  status: number
}

/**
 * A local HTTP receiver for alert notifications: records every request; the first
 * `failFirst` requests (to `failPath`, or any) get a 500 (to exercise retries).
 */
export async function startWebhookReceiver(options: { failFirst?: number; failPath?: string } = {}) {
  const requests: ReceivedRequest[] = []
  let failuresLeft = options.failFirst ?? 0
  const server = createServer((request, response) => {
    let text = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => {
      text += chunk
    })
    request.on('end', () => {
      const failing = failuresLeft > 0 && (options.failPath === undefined || request.url === options.failPath)
      const status = failing ? 500 : 200
      if (failing) failuresLeft -= 1
      requests.push({ path: request.url ?? '', headers: request.headers, body: JSON.parse(text), status })
      response.writeHead(status, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    requests,
    /** Requests answered 200, per path. */
    accepted: (path: string) => requests.filter((request) => request.path === path && request.status === 200),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

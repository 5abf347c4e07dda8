import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from './index.ts'

function capture() {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    },
  })
  return { lines, destination }
}

describe('createLogger', () => {
  it('stamps every line with the service and child bindings', () => {
    const { lines, destination } = capture()
    createLogger({ service: 'processor', destination })
      .child({ topic: 'cpi.events', partition: 2 })
      .info('hi')
    expect(lines[0]).toMatchObject({ service: 'processor', topic: 'cpi.events', partition: 2, msg: 'hi' })
  })

  it('redacts secrets by key, top level and nested', () => {
    const { lines, destination } = capture()
    createLogger({ service: 's', destination }).info(
      { password: 'hunter2', headers: { authorization: 'Bearer abc' }, config: { token: 't' } },
      'x',
    )
    const line = JSON.stringify(lines[0])
    expect(line).not.toMatch(/hunter2|Bearer abc|"t"/)
    expect(lines[0]).toMatchObject({ password: '[redacted]', headers: { authorization: '[redacted]' } })
  })

  it('serializes errors logged as { err } with their message and stack', () => {
    const { lines, destination } = capture()
    createLogger({ service: 's', destination }).error({ err: new Error('kaput') }, 'failed')
    expect(lines[0]).toMatchObject({ err: { message: 'kaput', type: 'Error' } })
    expect(String((lines[0]?.err as { stack?: string } | undefined)?.stack)).toContain('kaput')
  })
})

import {
  createApp,
  type Frame,
  prepareMessage,
  type ServerSession,
  sendMany,
  testApplication,
  textFrame,
} from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { deferred, pattern, recordingLogger } from './appHelpers.ts'

// A server writes whole frames straight to the socket when ws has nothing
// queued ahead (see directWrite.ts); these pin what a peer receives: every
// payload length class of the WebSocket header (7-bit, 16-bit, 64-bit), text
// with multi-byte characters, binary, order, fragments, permessage-deflate,
// and flush() waiting for what the socket has not written yet.

/** Payload lengths around each boundary of the frame header's length field. */
const LENGTHS = [0, 1, 125, 126, 127, 65_535, 65_536, 70_001]

/** A text of `bytes` UTF-8 bytes, with 2- and 3-byte characters in it. */
function textOf(bytes: number): string {
  const unit = 'aé€b' // 1 + 2 + 3 + 1 bytes
  const text = unit.repeat(Math.floor(bytes / 7))
  return text + 'c'.repeat(bytes - Buffer.byteLength(text))
}

function describeFrame(frame: Frame): string {
  return frame.type === 'text'
    ? `text ${Buffer.byteLength(frame.text)} ${frame.text.slice(0, 12)}`
    : `binary ${frame.data.byteLength}`
}

/** Sends every length as text (send, sendMany, prepared) and binary (prepared, bytes), in order. */
function sendAll(session: ServerSession): string[] {
  const expected: string[] = []
  for (const length of LENGTHS) {
    const text = textOf(length)
    void session.send(text)
    sendMany([session], text)
    sendMany([session], prepareMessage(text))
    const bytes = pattern(length)
    sendMany([session], prepareMessage(bytes))
    void session.send(bytes)
    const asText = `text ${length} ${text.slice(0, 12)}`
    expected.push(asText, asText, asText, `binary ${length}`, `binary ${length}`)
  }
  return expected
}

async function receivesEverything(perMessageDeflate: boolean): Promise<void> {
  const app = createApp({ logger: recordingLogger(), perMessageDeflate, maxBufferedBytes: 64 << 20 })
  const sent = deferred<{ expected: string[]; binaries: Uint8Array[] }>()
  app.webSocket('/all', async session => {
    const expected = sendAll(session)
    sent.resolve({ expected, binaries: LENGTHS.map(pattern) })
    await session.flush()
    for await (const _ of session.incoming) {
      // until the client closes
    }
  })
  await testApplication(app, async client => {
    await client.webSocket('/all', async ({ incoming, socket }) => {
      const { expected, binaries } = await sent.promise
      const received: Frame[] = []
      for (let i = 0; i < expected.length; i++) received.push(await incoming.receive())
      expect(received.map(describeFrame)).toEqual(expected)
      // Whole payloads, not just their starts.
      const texts = received.filter(f => f.type === 'text').map(f => (f.type === 'text' ? f.text : ''))
      expect(texts).toEqual(LENGTHS.flatMap(n => [textOf(n), textOf(n), textOf(n)]))
      const bytes = received.filter(f => f.type === 'binary').map(f => (f.type === 'binary' ? f.data : null))
      bytes.forEach((data, i) => {
        expect(
          Buffer.from(data as Uint8Array).equals(Buffer.from(binaries[Math.floor(i / 2)] as Uint8Array)),
        ).toBe(true)
      })
      expect(socket.extensions).toBe(perMessageDeflate ? 'permessage-deflate' : '')
    })
  })
}

describe('what a session writes', () => {
  it('arrives whole and in order at every payload length, text and binary', async () => {
    await receivesEverything(false)
  })

  it('arrives whole and in order with permessage-deflate negotiated', async () => {
    await receivesEverything(true)
  })

  it('keeps a fragmented message whole: a message sent while one is open continues it, as ws does', async () => {
    const app = createApp({ logger: recordingLogger() })
    app.webSocket('/fragments', async session => {
      await session.send(textFrame('one ', false))
      sendMany([session], 'two')
      sendMany([session], 'three')
      await session.flush()
      for await (const _ of session.incoming) {
        // until the client closes
      }
    })
    await testApplication(app, async client => {
      await client.webSocket('/fragments', async ({ incoming }) => {
        expect(await incoming.receive()).toEqual({ type: 'text', text: 'one two', fin: true })
        expect(await incoming.receive()).toEqual({ type: 'text', text: 'three', fin: true })
      })
    })
  })

  it('flush() resolves only once the socket wrote what was sent, also to a peer that stopped reading', async () => {
    const app = createApp({ logger: recordingLogger(), maxBufferedBytes: 256 << 20 })
    const joined = deferred<ServerSession>()
    app.webSocket('/slow', async session => {
      joined.resolve(session)
      for await (const _ of session.incoming) {
        // until the client closes
      }
    })
    await testApplication(app, async client => {
      const conversation = await client.webSocketSession('/slow')
      const session = await joined.promise
      conversation.socket.pause()
      const chunk = prepareMessage(textOf(1 << 20))
      const text = textOf(100)
      // More than loopback's socket buffers hold: the rest waits in the server's socket.
      for (let i = 0; i < 48; i++) {
        sendMany([session], chunk)
        sendMany([session], text)
      }
      let flushed = false
      const flushing = session.flush().then(() => {
        flushed = true
      })
      expect(session.bufferedAmount).toBeGreaterThan(0)
      // Many turns of the event loop: the peer reads nothing, so nothing can finish.
      for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
      expect(flushed).toBe(false)
      conversation.socket.resume()
      // The client's own queue pauses its socket when full: read as the server writes.
      for (let received = 0; received < 96; received++) await conversation.incoming.receive()
      await flushing
      expect(session.bufferedAmount).toBe(0)
      await conversation.outgoing.close()
    })
  })
})

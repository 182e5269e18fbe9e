import { WebSocket } from 'ws'
import { CloseReason } from './CloseReason.ts'
import { FrameQueue } from './FrameQueue.ts'
import { _frameSize, _toFrame, _toWire } from './frame.ts'
import { ClosedReceiveError, ServerError } from './ServerError.ts'
import type { Frame, TestClient, TestConversation, TestHttpResponse, TestWebSocketOptions } from './types.ts'
import { _closeReasonOf, _protocolErrorReason, _sendableReason } from './wsClose.ts'

/** How long a test client waits for the server's close frame before dropping the connection. */
const CLIENT_CLOSE_TIMEOUT = 5_000

/** @internal A conversation plus what the client needs to clean it up. */
interface OpenConversation extends TestConversation {
  readonly _closed: Promise<void>
}

/**
 * @internal
 * The client of `testApplication`: real `ws` connections and `fetch` calls to
 * the app on 127.0.0.1. Every WebSocket it opened is closed by `_closeAll()`.
 */
export class _TestClient implements TestClient {
  readonly port: number
  private readonly _open = new Set<OpenConversation>()

  constructor(port: number) {
    this.port = port
  }

  url(path: string, scheme: 'ws' | 'http' = 'ws'): string {
    return `${scheme}://127.0.0.1:${this.port}${path.startsWith('/') ? path : `/${path}`}`
  }

  async webSocket<T>(
    path: string,
    block: (conversation: TestConversation) => T | Promise<T>,
    options?: TestWebSocketOptions,
  ): Promise<T> {
    const conversation = await this.webSocketSession(path, options)
    try {
      return await block(conversation)
    } finally {
      await finish(conversation)
    }
  }

  async webSocketSession(path: string, options: TestWebSocketOptions = {}): Promise<TestConversation> {
    const conversation = await openConversation(this.url(path), options)
    this._open.add(conversation)
    void conversation._closed.then(() => this._open.delete(conversation))
    return conversation
  }

  async get(path: string, init: { headers?: Record<string, string> } = {}): Promise<TestHttpResponse> {
    const response = await fetch(this.url(path, 'http'), { headers: init.headers ?? {} })
    const text = await response.text()
    return {
      status: response.status,
      headers: response.headers,
      text,
      json: <T>() => JSON.parse(text) as T,
    }
  }

  /** Closes every conversation still open (1000), waiting for each. */
  async _closeAll(): Promise<void> {
    await Promise.all([...this._open].map(finish))
  }
}

/** Ends a conversation politely: resume a paused socket, close 1000, wait. */
async function finish(conversation: OpenConversation | TestConversation): Promise<void> {
  const { socket } = conversation
  if (socket.isPaused) socket.resume()
  await conversation.outgoing.close()
}

async function openConversation(url: string, options: TestWebSocketOptions): Promise<OpenConversation> {
  const socket = new WebSocket(url, options.protocols ?? [], {
    headers: options.headers ?? {},
    autoPong: options.autoPong ?? true,
    maxPayload: options.maxFrameSize ?? 100 << 20,
    closeTimeout: CLIENT_CLOSE_TIMEOUT,
  } as WebSocket.ClientOptions)

  let status: number | undefined
  let firstError: Error | undefined
  let protocolError: CloseReason | undefined
  let reason: CloseReason | null | undefined
  const queue = new FrameQueue<Frame>(
    { sizeOf: _frameSize, highWaterBytes: 1 << 20, highWaterCount: 256 },
    {
      _pauseReads: () => socket.pause(),
      _resumeReads: () => socket.resume(),
      _receiveClosedError: () => new ClosedReceiveError(reason),
    },
  )
  let resolveReason!: (value: CloseReason | null) => void
  const closeReason = new Promise<CloseReason | null>(resolve => {
    resolveReason = resolve
  })

  socket.on('message', (data: Buffer, isBinary: boolean) => queue.push(_toFrame(data, isBinary)))
  socket.on('unexpected-response', (_request, response) => {
    status = response.statusCode
    response.resume()
    socket.terminate()
  })
  socket.on('error', (error: Error) => {
    firstError ??= error
    protocolError ??= _protocolErrorReason(error)
  })
  const closed = new Promise<void>(resolve => {
    socket.on('close', (code: number, message: Buffer) => {
      reason = protocolError ?? _closeReasonOf(code, message)
      queue.close()
      resolveReason(reason)
      resolve()
    })
  })

  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('close', () =>
      reject(
        new ServerError(
          'HANDSHAKE_FAILED',
          status === undefined
            ? `WebSocket to ${url} failed: ${firstError?.message ?? 'closed before it opened'}`
            : `WebSocket to ${url} was refused with HTTP ${status}`,
          { status, cause: firstError },
        ),
      ),
    )
  })

  return {
    socket,
    protocol: socket.protocol,
    _closed: closed,
    incoming: {
      receive: () => queue.receive(),
      closeReason,
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    },
    outgoing: {
      send(data) {
        if (socket.readyState !== WebSocket.OPEN) {
          return Promise.reject(
            new ServerError('SESSION_CLOSED', 'The test WebSocket is closed; nothing more can be sent', {
              closeReason: reason,
            }),
          )
        }
        const wire = _toWire(data)
        return new Promise((resolve, reject) =>
          socket.send(wire.payload, { binary: wire.binary, fin: wire.fin }, error =>
            error
              ? reject(
                  new ServerError(
                    'SESSION_CLOSED',
                    'The test WebSocket closed before the frame was written',
                    { cause: error },
                  ),
                )
              : resolve(),
          ),
        )
      },
      close(closeWith = new CloseReason(CloseReason.Codes.NORMAL)) {
        if (socket.readyState === WebSocket.OPEN) {
          const wire = _sendableReason(closeWith)
          socket.close(wire.code, wire.message)
        }
        return closed
      },
    },
  }
}

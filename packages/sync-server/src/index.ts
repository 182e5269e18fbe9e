export { App } from './App.ts'
export type { CloseCodeName } from './CloseReason.ts'
export { CloseReason } from './CloseReason.ts'
export { createApp } from './createApp.ts'
export { binaryFrame, PreparedMessage, prepareMessage, textFrame } from './frame.ts'
export { defaultAppOptions } from './options.ts'
export type { ServerErrorCode, ServerErrorDetails } from './ServerError.ts'
export { ClosedReceiveError, ServerError } from './ServerError.ts'
export { ServerSession } from './ServerSession.ts'
export { sendMany } from './sendMany.ts'
export { testApplication } from './testApplication.ts'
export type {
  AppOptions,
  BinaryFrame,
  Frame,
  HttpContext,
  HttpHandler,
  HttpResponseInit,
  HttpResult,
  ListenAddress,
  ListenOptions,
  Logger,
  OutgoingData,
  ResolvedAppOptions,
  RouteParams,
  TestClient,
  TestConversation,
  TestHttpResponse,
  TestIncoming,
  TestOutgoing,
  TestWebSocketOptions,
  TextFrame,
  Timers,
  WebSocketHandler,
} from './types.ts'

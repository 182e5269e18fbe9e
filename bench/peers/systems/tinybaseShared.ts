/**
 * Seconds a TinyBase synchronizer (client or server) waits for an answer
 * (default 1). With hundreds of clients connecting at once on a shared core
 * the answers take longer, and a client that gave up has no record.
 */
export const REQUEST_TIMEOUT_S = 10

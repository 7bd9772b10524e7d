/**
 * Answers for errors Node's HTTP parser raises before any request exists:
 * a malformed request line or header (400), a request that did not arrive
 * whole in time (408), headers over the size limit (431). Same JSON shape as
 * every other error; the connection is closed after it.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../contracts/errors.js';

function answerFor(err: NodeJS.ErrnoException): { status: number; code: ErrorCode; message: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'request_timeout', message: 'the request did not arrive whole within the request timeout' };
  if (err.code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'headers_too_large', message: 'the request headers exceed the size limit' };
  return { status: 400, code: 'invalid_request', message: 'the request is not valid HTTP' };
}

export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset or an already destroyed socket has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, message } = answerFor(err);
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Sends the head of a request that announces a huge body, and a few bytes of it, then waits for the
 * answer. A server that read the whole body before answering would never answer: the test would time
 * out rather than pass, so no timing is asserted.
 */
function announceHugeBody(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.on('connect', () => socket.write(`${head}\r\n\r\n{"name":`));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      const end = answer.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(answer);
      if (end >= 0 && length && Buffer.byteLength(answer.slice(end + 4)) >= Number(length[1])) {
        socket.destroy();
        resolve(answer);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

describe('huge bodies over a real socket', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  const MiB = 1024 * 1024;

  test('an anonymous 300 MB JSON POST to the admin API is answered 413 at once, naming the limit', async () => {
    const answer = await announceHugeBody(
      server.port,
      `POST /api/v1/repositories HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${300 * MiB}`,
    );
    expect(answer).toStartWith('HTTP/1.1 413');
    expect(answer).toContain('the request body is larger than the 1 MiB limit for admin API requests');
  }, 60_000);

  test('a 300 MB sign-in form is answered 413 at once, naming the limit', async () => {
    const answer = await announceHugeBody(
      server.port,
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${300 * MiB}`,
    );
    expect(answer).toStartWith('HTTP/1.1 413');
    expect(answer).toContain('the request body is larger than the 1 MiB limit for forms');
  }, 60_000);

  // Bun's own limit answers a bare 413; ours says what the limit is.
  test("a body over the server's 600 MiB limit is answered 413 with the limit named, not Bun's bare 413", async () => {
    const answer = await announceHugeBody(
      server.port,
      `PUT /go/anything/example.com/m/@v/v1.0.0.zip HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${700 * MiB}`,
    );
    expect(answer).toStartWith('HTTP/1.1 413');
    expect(answer).toContain('the request body is larger than the 600 MiB limit of this server');
  }, 60_000);
});

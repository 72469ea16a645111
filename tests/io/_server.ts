/** A local HTTP server on 127.0.0.1 for download tests, and a port with nothing listening. */

/** A running test server: its base URL, the requests it got, and `await using` shuts it down. */
export interface TestServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Every request's path and query, in order. */
  requests: string[];
}

/** Serve `handler` on an ephemeral port of 127.0.0.1 until disposed. */
export function serve(handler: (req: Request) => Response | Promise<Response>): TestServer {
  const requests: string[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onError: () => new Response(null, { status: 500 }),
  }, (req) => {
    const u = new URL(req.url);
    requests.push(u.pathname + u.search);
    return handler(req);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A port that was free a moment ago: opened, then closed, so a connection to it is refused. */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Headless Chromium driven over the Chrome DevTools Protocol (a WebSocket from Deno, no npm client): launch
 * with a temporary profile, open a page, evaluate, pick files for an `<input type=file>`, screenshot.
 * Needs Debian's `chromium` (`apt-get install -y chromium`); as root it runs with `--no-sandbox`.
 * @module
 */

/** The one-line failure when there is no browser. */
export const NO_CHROMIUM = "Cannot start chromium: install it (apt-get install -y chromium)";

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  method: string;
}

/** A headless Chromium and one page of it. */
export class Chromium {
  #child: Deno.ChildProcess;
  #ws: WebSocket;
  #profile: string;
  #stderr: Promise<string>;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Set<(method: string, params: Record<string, unknown>) => void>();
  #session = "";

  private constructor(child: Deno.ChildProcess, ws: WebSocket, profile: string, stderr: Promise<string>) {
    this.#child = child;
    this.#ws = ws;
    this.#profile = profile;
    this.#stderr = stderr;
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p?.resolve(msg.result);
      } else {
        for (const f of this.#listeners) f(msg.method, msg.params);
      }
    };
  }

  /**
   * Launches Chromium headless and opens a blank page of `width` x `height` CSS pixels.
   *
   * @throws {Error} {@linkcode NO_CHROMIUM} when the binary is missing or prints no DevTools URL.
   */
  static async launch(width = 1000, height = 1400): Promise<Chromium> {
    const profile = await Deno.makeTempDir({ prefix: "yolo-wgsl-chromium-" });
    const args = [
      "--headless=new",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-dev-shm-usage",
      "--disable-gpu",
      "about:blank",
    ];
    if (Deno.uid() === 0) args.unshift("--no-sandbox"); // Chromium's sandbox refuses to run as root
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("chromium", { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
    } catch (e) {
      await Deno.remove(profile, { recursive: true });
      throw new Error(`${NO_CHROMIUM}: ${e instanceof Error ? e.message : e}`);
    }
    // Read stderr to the end (a full pipe would stall the browser); the DevTools URL is on it.
    let found: (url: string | null) => void = () => {};
    const url = new Promise<string | null>((r) => found = r);
    const stderr = (async () => {
      let text = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        text += chunk;
        const m = text.match(/DevTools listening on (ws:\/\/\S+)/);
        if (m) found(m[1]);
      }
      found(null);
      return text;
    })();
    const timeout = setTimeout(() => found(null), 30_000);
    const wsUrl = await url;
    clearTimeout(timeout);
    if (!wsUrl) {
      try {
        child.kill();
      } catch {
        // already gone
      }
      await child.status;
      const log = await stderr;
      await Deno.remove(profile, { recursive: true });
      throw new Error(`${NO_CHROMIUM}: no DevTools URL (${log.trim().split("\n").pop()})`);
    }
    const ws = new WebSocket(wsUrl);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`Cannot connect to ${wsUrl}`));
    });
    const browser = new Chromium(child, ws, profile, stderr);
    const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await browser.send("Target.attachToTarget", { targetId, flatten: true });
    browser.#session = String(sessionId);
    await browser.send("Page.enable");
    await browser.send("Runtime.enable");
    await browser.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    return browser;
  }

  /** Sends a CDP command (to the page's session once there is one) and returns its result. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const message: Record<string, unknown> = { id, method, params };
    if (this.#session) message.sessionId = this.#session;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, method });
      this.#ws.send(JSON.stringify(message));
    });
  }

  /** Resolves with the params of the next event named `method`. */
  once(method: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const f = (m: string, params: Record<string, unknown>) => {
        if (m !== method) return;
        this.#listeners.delete(f);
        resolve(params);
      };
      this.#listeners.add(f);
    });
  }

  /** Navigates and waits for the load event. */
  async goto(url: string): Promise<void> {
    const loaded = this.once("Page.loadEventFired");
    await this.send("Page.navigate", { url });
    await loaded;
  }

  /** Evaluates an expression in the page (awaiting a promise) and returns its value. */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`Page error: ${JSON.stringify(r.exceptionDetails)}`);
    return (r.result as { value: T }).value;
  }

  /** Picks `files` in the `<input type=file>` matched by `selector` (fires its change event). */
  async setFiles(selector: string, files: string[]): Promise<void> {
    const r = await this.send("Runtime.evaluate", {
      expression: `document.querySelector(${JSON.stringify(selector)})`,
    });
    const objectId = (r.result as { objectId?: string }).objectId;
    if (!objectId) throw new Error(`No element matches "${selector}"`);
    await this.send("DOM.setFileInputFiles", { files, objectId });
  }

  /** Polls `expression` every 100 ms until it is truthy; returns its value. */
  async waitFor<T>(expression: string, timeoutMs = 60_000): Promise<T> {
    const end = performance.now() + timeoutMs;
    while (performance.now() < end) {
      const v = await this.evaluate<T>(expression);
      if (v) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Timed out after ${timeoutMs} ms waiting for ${expression}`);
  }

  /** A PNG screenshot of the viewport. */
  async screenshot(): Promise<Uint8Array<ArrayBuffer>> {
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(String(data)), (c) => c.charCodeAt(0));
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    this.#session = "";
    await this.send("Browser.close").catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      new Promise<false>((r) => timer = setTimeout(() => r(false), 5000)),
    ]);
    clearTimeout(timer);
    if (!exited) this.#child.kill("SIGKILL");
    await this.#child.status;
    this.#ws.close();
    await new Promise((r) => this.#ws.readyState === WebSocket.CLOSED ? r(0) : (this.#ws.onclose = r));
    await this.#stderr;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

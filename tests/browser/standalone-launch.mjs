#!/usr/bin/env node
// SMART on FHIR standalone launch in headless Chromium, with the real
// `fhirclient` (2.6.3) browser build as the app, against a running Helsebro
// server; every Helsebro HTML page on the way (/auth/...) is checked with
// axe-core.
//
// Usage:
//   node standalone-launch.mjs --fhir http://127.0.0.1:PORT/fhir \
//     --client-id ID --app-port PORT --user Patient/demo-patient-0 \
//     [--patient demo-patient-3] [--deny]
//
// Stdout: exactly one line of JSON
//   {"result": {...}|null, "error": "..."|null, "axe": {"/auth/...": [...]},
//    "pages": ["/auth/sign-in", ...], "consentScopes": [...]}
// Exit 0 when the flow ran to the app's #result or #error (or stopped on a
// Helsebro page without a form we know, reported as "error"); non-zero with a
// message on stderr when the harness itself failed or timed out.
// Stderr: browser console, failed requests, HTTP errors, navigations.
//
// Environment: CHROMIUM (default /usr/bin/chromium); FHIRCLIENT_DEBUG=1 turns
// on fhirclient's own debug logging in the browser console.

import http from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const APP_DIR = path.join(HERE, "app");
const FHIR_CLIENT_JS = path.join(HERE, "node_modules", "fhirclient", "build", "fhir-client.js");
const AXE_JS = path.join(HERE, "node_modules", "axe-core", "axe.min.js");

const STEP_TIMEOUT_MS = 30_000; // one page step, and the wait for #result/#error
const TOTAL_TIMEOUT_MS = 150_000; // whole run, whatever happens
const MAX_AUTH_PAGES = 10; // guards against a page that keeps coming back

function log(...parts) {
  process.stderr.write(`[standalone-launch] ${parts.join(" ")}\n`);
}

class HarnessError extends Error {}

function usage(msg) {
  process.stderr.write(
    `${msg}\nusage: node standalone-launch.mjs --fhir <FHIR base URL> --client-id <id> ` +
      `--app-port <port> --user <sign-in radio value> [--patient <picker radio value>] [--deny]\n`,
  );
  process.exit(2);
}

function parseCli() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        fhir: { type: "string" },
        "client-id": { type: "string" },
        "app-port": { type: "string" },
        user: { type: "string" },
        patient: { type: "string" },
        deny: { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usage(e.message);
  }
  for (const k of ["fhir", "client-id", "app-port", "user"]) {
    if (!values[k]) usage(`missing --${k}`);
  }
  const appPort = Number(values["app-port"]);
  if (!Number.isInteger(appPort) || appPort < 1 || appPort > 65535) usage("bad --app-port");
  try {
    new URL(values.fhir);
  } catch {
    usage("bad --fhir URL");
  }
  return {
    fhir: values.fhir,
    clientId: values["client-id"],
    appPort,
    user: values.user,
    patient: values.patient ?? null,
    deny: values.deny,
  };
}

// ---------------------------------------------------------------------------
// The app's static server: app/* and /fhir-client.js, nothing else.

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
};

function startAppServer(port) {
  const server = http.createServer(async (req, res) => {
    try {
      const { pathname } = new URL(req.url, "http://127.0.0.1");
      let file = null;
      if (pathname === "/favicon.ico") {
        res.writeHead(204).end();
        return;
      }
      if (pathname === "/fhir-client.js") {
        file = FHIR_CLIENT_JS;
      } else if (pathname === "/") {
        file = path.join(APP_DIR, "launch.html");
      } else if (/^\/[A-Za-z0-9._-]+$/.test(pathname) && !pathname.startsWith("/.")) {
        file = path.join(APP_DIR, pathname.slice(1));
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD" }).end();
        return;
      }
      if (file === null) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      let body;
      try {
        body = await readFile(file);
      } catch {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      res.writeHead(200, {
        "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(e));
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

function closeServer(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

// ---------------------------------------------------------------------------
// Browser helpers

async function runAxe(page, axeSource) {
  const present = () => page.evaluate(() => typeof window.axe === "object" && !!window.axe);
  if (!(await present())) {
    try {
      await page.addScriptTag({ path: AXE_JS });
    } catch (e) {
      log(`addScriptTag(axe) failed (${e.message.split("\n")[0]}); injecting by evaluate`);
    }
    if (!(await present())) {
      // A strict Content-Security-Policy blocks the inline <script> that
      // addScriptTag makes; evaluating over the DevTools protocol is not
      // subject to the page's CSP.
      await page.evaluate(axeSource);
    }
    if (!(await present())) throw new HarnessError("could not inject axe-core");
  }
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.length,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
  });
}

function cssString(s) {
  return JSON.stringify(String(s));
}

async function chooseRadio(page, name, value) {
  const radio = page.locator(`input[type="radio"][name=${cssString(name)}][value=${cssString(value)}]`);
  const count = await radio.count();
  if (count !== 1) {
    const available = await page
      .locator(`input[type="radio"][name=${cssString(name)}]`)
      .evaluateAll((els) => els.map((e) => e.value));
    throw new HarnessError(
      `${count === 0 ? "no" : count} radio input name=${name} value=${value} on ${page.url()}; ` +
        `values present: ${JSON.stringify(available)}`,
    );
  }
  try {
    await radio.check({ timeout: 5_000 });
  } catch (e) {
    log(`radio ${name}=${value} not checkable as a user would (${e.message.split("\n")[0]}); forcing`);
    await radio.check({ force: true, timeout: 5_000 });
  }
}

async function buttonNames(page) {
  return page
    .locator('button, input[type="submit"]')
    .evaluateAll((els) => els.map((e) => `${e.getAttribute("name") ?? ""}=${e.getAttribute("value") ?? ""} "${(e.textContent || e.value || "").trim()}"`));
}

async function findSubmit(page, description, locator) {
  const count = await locator.count();
  if (count < 1) {
    throw new HarnessError(`no ${description} on ${page.url()}; buttons present: ${JSON.stringify(await buttonNames(page))}`);
  }
  return locator.first();
}

// Clicks and waits until the main frame has committed a new document (a 303
// after a POST commits only the final page) and that document has loaded.
async function clickAndWaitForNavigation(page, button) {
  const navigated = page.waitForEvent("framenavigated", {
    predicate: (frame) => frame === page.mainFrame(),
    timeout: STEP_TIMEOUT_MS,
  });
  await button.click({ timeout: STEP_TIMEOUT_MS });
  try {
    await navigated;
  } catch (e) {
    const from = new URL(page.url()).pathname;
    throw new HarnessError(
      `clicking ${await button.evaluate((b) => b.outerHTML)} on ${from} did not navigate within ` +
        `${STEP_TIMEOUT_MS} ms (a blocked form submission, e.g. by CSP form-action, shows in the console log above)`,
    );
  }
  await page.waitForLoadState("load", { timeout: STEP_TIMEOUT_MS });
}

// Pages are identified by path; a path we do not know is identified by the
// form it carries, and one without any known form is an error page.
async function identifyAuthPage(page, pathname) {
  const known = { "/auth/sign-in": "sign-in", "/auth/patient": "patient", "/auth/consent": "consent" };
  if (known[pathname]) return known[pathname];
  const has = async (sel) => (await page.locator(sel).count()) > 0;
  let kind = "error-page";
  if (await has('input[type="radio"][name="user"]')) kind = "sign-in";
  else if (await has('input[type="radio"][name="patient"]')) kind = "patient";
  else if (await has('[name="decision"][value="approve"]')) kind = "consent";
  if (kind !== "error-page") log(`page ${pathname} not at its contract path; identified as ${kind} by its form`);
  return kind;
}

async function pageText(page) {
  const text = await page
    .locator("main")
    .first()
    .innerText({ timeout: 2_000 })
    .catch(() => page.locator("body").innerText({ timeout: 2_000 }))
    .catch(() => "");
  return text.replace(/\s+/g, " ").trim().slice(0, 1000);
}

// Waits for the app (our origin) to show #result or #error, and reads it.
async function readAppOutcome(page) {
  await page.waitForSelector("#result, #error", { state: "attached", timeout: STEP_TIMEOUT_MS });
  const read = async (sel) => {
    const el = await page.$(sel);
    return el ? el.textContent() : null;
  };
  const resultText = await read("#result");
  const errorText = await read("#error");
  if (resultText !== null) {
    try {
      return { result: JSON.parse(resultText), error: null };
    } catch (e) {
      throw new HarnessError(`#result is not JSON: ${resultText.slice(0, 500)}`);
    }
  }
  let error = errorText;
  try {
    const parsed = JSON.parse(errorText);
    if (parsed && typeof parsed.error === "string") error = parsed.error;
  } catch {
    // plain text error: keep as is
  }
  return { result: null, error };
}

// ---------------------------------------------------------------------------

async function main() {
  const opts = parseCli();
  const appOrigin = `http://127.0.0.1:${opts.appPort}`;
  const out = { result: null, error: null, axe: {}, pages: [], consentScopes: null };

  let server = null;
  let browser = null;
  let exitCode = 1;
  const cleanup = async () => {
    if (browser) {
      const b = browser;
      browser = null;
      await b.close().catch((e) => log(`browser close: ${e.message}`));
    }
    if (server) {
      const s = server;
      server = null;
      await closeServer(s);
    }
  };
  const onSignal = (sig) => {
    log(`got ${sig}; cleaning up`);
    cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const watchdog = setTimeout(() => {
    log(`timed out after ${TOTAL_TIMEOUT_MS} ms; pages so far: ${JSON.stringify(out.pages)}`);
    cleanup().finally(() => process.exit(1));
  }, TOTAL_TIMEOUT_MS);

  try {
    const axeSource = await readFile(AXE_JS, "utf8");
    await readFile(FHIR_CLIENT_JS).catch(() => {
      throw new HarnessError(`${FHIR_CLIENT_JS} missing: run setup.sh`);
    });

    try {
      server = await startAppServer(opts.appPort);
    } catch (e) {
      throw new HarnessError(`cannot serve the app on 127.0.0.1:${opts.appPort}: ${e.message}`);
    }
    log(`app served at ${appOrigin}`);

    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox"],
    });
    const context = await browser.newContext();
    if (process.env.FHIRCLIENT_DEBUG) {
      await context.addInitScript(() => {
        try {
          window.localStorage.setItem("debug", "FHIR.*");
        } catch {
          // storage may be unavailable on some pages
        }
      });
    }
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);

    page.on("console", (msg) => {
      const where = msg.location()?.url;
      log(`[console.${msg.type()}] ${msg.text()}${where ? ` (${where})` : ""}`);
    });
    page.on("pageerror", (err) => log(`[pageerror] ${err.message}`));
    page.on("requestfailed", (req) =>
      log(`[requestfailed] ${req.method()} ${req.url()}: ${req.failure()?.errorText ?? "?"}`),
    );
    page.on("response", (res) => {
      if (res.status() >= 400) log(`[http ${res.status()}] ${res.request().method()} ${res.url()}`);
    });
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) log(`[navigated] ${frame.url()}`);
    });

    const launchUrl =
      `${appOrigin}/launch.html?iss=${encodeURIComponent(opts.fhir)}` +
      `&clientId=${encodeURIComponent(opts.clientId)}`;
    await page.goto(launchUrl, { waitUntil: "load" });

    // launch.html redirects to /auth/authorize, which redirects to the first
    // Helsebro page; or launch.html itself reports an error in #error.
    {
      const deadline = Date.now() + STEP_TIMEOUT_MS;
      for (;;) {
        const u = new URL(page.url());
        if (!(u.origin === appOrigin && u.pathname === "/launch.html")) break;
        // Throws while a navigation replaces the document: just poll again.
        if (await page.$("#error").catch(() => null)) break;
        if (Date.now() > deadline) {
          throw new HarnessError(`launch.html neither redirected nor reported an error within ${STEP_TIMEOUT_MS} ms`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    let authPages = 0;
    for (;;) {
      await page.waitForLoadState("load", { timeout: STEP_TIMEOUT_MS });
      const url = new URL(page.url());

      if (url.origin === appOrigin) {
        Object.assign(out, await readAppOutcome(page));
        break;
      }
      if (!url.pathname.startsWith("/auth/")) {
        throw new HarnessError(`landed on an unexpected page: ${page.url()} (${await pageText(page)})`);
      }

      authPages += 1;
      if (authPages > MAX_AUTH_PAGES) {
        throw new HarnessError(`more than ${MAX_AUTH_PAGES} Helsebro pages; stuck? pages: ${JSON.stringify(out.pages)}`);
      }
      const pagePath = url.pathname;
      out.pages.push(pagePath);
      const violations = await runAxe(page, axeSource);
      let key = pagePath;
      for (let n = 2; key in out.axe; n += 1) key = `${pagePath}#${n}`;
      out.axe[key] = violations;
      if (violations.length) {
        log(`axe ${key}: ${violations.map((v) => `${v.id}(${v.impact}, ${v.nodes})`).join(", ")}`);
      }

      const kind = await identifyAuthPage(page, pagePath);
      log(`on ${pagePath} (${kind})`);
      if (kind === "sign-in") {
        await chooseRadio(page, "user", opts.user);
        const button = await findSubmit(
          page,
          'submit button named "Logg inn…"',
          page.getByRole("button", { name: /^\s*Logg inn/ }),
        );
        await clickAndWaitForNavigation(page, button);
      } else if (kind === "patient") {
        if (!opts.patient) {
          throw new HarnessError("the patient picker was shown but no --patient was given");
        }
        await chooseRadio(page, "patient", opts.patient);
        const button = await findSubmit(
          page,
          'submit button named "Velg…"',
          page.getByRole("button", { name: /^\s*Velg/ }),
        );
        await clickAndWaitForNavigation(page, button);
      } else if (kind === "consent") {
        out.consentScopes = await page
          .locator('input[type="checkbox"][name="scope"]')
          .evaluateAll((els) =>
            els.map((e) => ({
              value: e.value,
              checked: e.checked,
              label: (e.labels?.[0]?.textContent ?? "").replace(/\s+/g, " ").trim(),
            })),
          );
        const decision = opts.deny ? "deny" : "approve";
        const button = await findSubmit(
          page,
          `submit button name=decision value=${decision}`,
          page.locator(`button[name="decision"][value="${decision}"], input[type="submit"][name="decision"][value="${decision}"]`),
        );
        const text = ((await button.textContent()) || (await button.getAttribute("value")) || "").trim();
        const expected = opts.deny ? /^Avslå/ : /^Tillat/;
        if (!expected.test(text)) log(`warning: ${decision} button text is "${text}", expected ${expected}`);
        await clickAndWaitForNavigation(page, button);
      } else {
        // A Helsebro page without a form we know: an error page (e.g. an
        // unknown client_id or redirect_uri must not be redirected back).
        out.error = `Helsebro page ${pagePath}: ${await pageText(page)}`;
        break;
      }
    }
    exitCode = 0;
  } catch (e) {
    log(`FAILED: ${e instanceof HarnessError ? e.message : e.stack || e}`);
    log(`partial: ${JSON.stringify({ ...out, axe: Object.keys(out.axe) })}`);
    exitCode = 1;
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
  if (exitCode === 0) process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exitCode = exitCode;
}

await main();

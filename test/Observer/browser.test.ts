/**
 * The observer in a real browser: Debian's chromium (installed by .ci/run) driven by
 * playwright-core opens the observer of a two-node cluster, finds a process of the other
 * node by name, opens it, kills it (confirming), and sees its supervisor restart it under a
 * new pid. Screenshots go to test-results/observer/ (git-ignored). Every wait is bounded.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import { chromium } from "playwright-core"
import type { Browser, Page } from "playwright-core"
import { Application, Node, Process, Supervisor } from "../../src/index.js"
import * as Observer from "../../src/Observer/index.js"

const COOKIE = "observer-browser"
const CHROMIUM = "/usr/bin/chromium"
const SHOTS = "test-results/observer"
const WAIT = 10_000
/** Text a careless page would run: the state and the name must show as text. */
const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`

const Victim = Process.make({
  name: "Victim",
  init: (note: string) => Effect.succeed({ note, hits: 0 }),
  handleMessage: (_: unknown, s: { note: string; hits: number }) => Effect.succeed({ ...s, hits: s.hits + 1 })
})

const Shop = Application.make({
  name: "shop",
  version: "2.0.0",
  description: "a tree to kill things in",
  root: Supervisor.oneForOne({ intensity: 10, period: "1 minute" }).pipe(
    Supervisor.child({ id: "victim", behaviour: Victim, args: HOSTILE, name: "victim" }),
    Supervisor.child({
      id: "inner",
      type: "supervisor",
      behaviour: Supervisor.behaviour(
        Supervisor.oneForOne().pipe(Supervisor.child({ id: "leaf", behaviour: Victim, args: "leaf" }))
      ),
      args: undefined
    })
  )
})

const launch = Effect.acquireRelease(
  Effect.promise((): Promise<Browser> => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`)
    }
    return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], timeout: 30_000 })
  }),
  (browser) => Effect.promise(() => browser.close())
)

const shot = (page: Page, name: string) =>
  page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true, timeout: WAIT })

describe("Observer in a browser", () => {
  it.live("finds a process of the other node by name, kills it, and sees its supervisor restart it", () =>
    Effect.scoped(Effect.gen(function*() {
      fs.mkdirSync(SHOTS, { recursive: true })
      const b = yield* Node.start("b@127.0.0.1", { network: { cookie: COOKIE, port: 0 }, applications: [Shop] })
      const a = yield* Node.start("a@127.0.0.1", { network: { cookie: COOKIE, port: 0, routes: { "b@127.0.0.1": b.address } } })
      yield* a.connect("b@127.0.0.1")
      const observer = yield* Observer.start(a, { readOnly: false, sampleInterval: "250 millis" })
      const browser = yield* launch
      const result = yield* Effect.promise(async () => {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
        page.setDefaultTimeout(WAIT)
        const errors: Array<string> = []
        page.on("pageerror", (e) => errors.push(e.message))
        await page.goto(observer.url, { timeout: WAIT })
        await page.waitForSelector("#node option[value='b@127.0.0.1']", { state: "attached" })
        await page.selectOption("#node", "b@127.0.0.1")
        await page.waitForSelector("table.pairs >> text=b@127.0.0.1")
        await shot(page, "1-node-b")

        await page.click("a[data-tab=processes]")
        await page.fill("#filter-name", "victim")
        await page.waitForSelector("#processes tr[data-name=victim]")
        const oldPid = (await page.getAttribute("#processes tr[data-name=victim]", "data-pid"))!
        await shot(page, "2-processes-filtered")
        // the table is redrawn every second: a locator finds the row again when clicking
        await page.locator("#processes tr[data-name=victim] a.pid").click()
        await page.waitForSelector(`#process-title >> text=${oldPid}`)
        await page.waitForSelector("#state")
        const state = await page.textContent("#state")
        // (page functions as text: this file is type-checked without the DOM's types)
        const injected = await page.evaluate(`({ pwned: window.__pwned, images: document.querySelectorAll("#view img").length })`)
        await shot(page, "3-process")

        // tracing on from the page, then a hostile test message: the trace shows it as text
        await page.click("#trace-toggle")
        await page.waitForSelector("#trace")
        await page.fill("#message", JSON.stringify({ hello: HOSTILE }))
        await page.click("#send")
        await page.waitForSelector("#trace td code")
        const traceText = await page.textContent("#trace tbody")
        const traceInjected = await page.evaluate(`({ pwned: window.__pwned, images: document.querySelectorAll("#view img").length })`)
        await shot(page, "3b-traced")

        page.once("dialog", (dialog) => void dialog.accept())
        await page.click("#kill")
        await page.waitForSelector(`#action-status >> text=Killed ${oldPid}`)
        await page.waitForSelector("#gone")
        await shot(page, "4-killed")

        // the page offers the process registered under that name now: the restarted one
        await page.click("#by-name")
        await page.waitForSelector("#process-title >> text=victim")
        // (a function, not a string: a string would be eval'd in the page, which its CSP forbids)
        await page.waitForFunction(
          (old) => {
            const td = (globalThis as any).document.querySelector("#view table.pairs td")
            return td !== null && td.textContent.startsWith("<b@") && td.textContent !== old
          },
          oldPid,
          { timeout: WAIT, polling: 100 }
        )
        const reopened = await page.textContent("#view table.pairs td")
        await shot(page, "5-reopened-by-name")

        await page.click("a[data-tab=processes]")
        await page.fill("#filter-name", "victim")
        await page.waitForFunction(
          (old) => {
            const tr = (globalThis as any).document.querySelector("#processes tr[data-name=victim]")
            return tr !== null && tr.getAttribute("data-pid") !== old
          },
          oldPid,
          { timeout: WAIT, polling: 100 }
        )
        const newPid = await page.getAttribute("#processes tr[data-name=victim]", "data-pid")
        await shot(page, "6-restarted")

        await page.click("a[data-tab=applications]")
        const restarts = await page.waitForSelector("li[data-id=victim] >> text=restarts: 1")
        const treeText = await page.textContent("ul.tree")
        await shot(page, "7-tree")

        await page.click("a[data-tab=charts]")
        await page.waitForFunction(() => (globalThis as any).document.querySelectorAll("#charts .chart canvas").length === 3, undefined, {
          timeout: WAIT
        })
        const legend = await page.textContent("#charts")
        await shot(page, "8-charts")
        return { oldPid, newPid, reopened, state, injected, traceText, traceInjected, restarts: restarts !== null, treeText, legend, errors }
      })
      assert.match(result.oldPid, /^<b@127\.0\.0\.1\.\d+\.\d+>$/)
      assert.match(result.newPid ?? "", /^<b@127\.0\.0\.1\.\d+\.\d+>$/)
      assert.notStrictEqual(result.newPid, result.oldPid)
      assert.strictEqual(result.reopened, result.newPid)
      // the hostile state is shown as text and ran nothing
      assert.include(result.state, HOSTILE)
      assert.deepStrictEqual(result.injected, { pwned: undefined, images: 0 })
      assert.include(result.traceText, "message")
      assert.include(result.traceText, "hello")
      assert.include(result.traceText, "<img src=x")
      assert.deepStrictEqual(result.traceInjected, { pwned: undefined, images: 0 })
      assert.isTrue(result.restarts)
      assert.include(result.treeText, "inner")
      assert.include(result.treeText, "leaf")
      assert.include(result.legend, "a@127.0.0.1")
      assert.include(result.legend, "b@127.0.0.1")
      assert.deepStrictEqual(result.errors, [])
    })))
})

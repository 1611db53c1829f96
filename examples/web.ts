/**
 * An HTTP counter service: `GET /counter` reads a counter process, `POST /counter`
 * increments it (by the body's number, default 1). The counter, the HTTP handler process
 * and the web server are children of one supervisor: a crash of any is a restart, and the
 * server keeps its port. Prints its URL on one line, serves until Ctrl-C.
 *
 *   npx tsx examples/web.ts            # PORT=0 picks a free port
 *   curl localhost:8080/counter; curl -X POST -d 5 localhost:8080/counter
 */
import { Console, Effect, Schema } from "effect"
import { Node, Process, Supervisor } from "rain"
import * as Meta from "rain/Meta"

class Increment extends Schema.TaggedRequest<Increment>()("Increment", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { by: Schema.Number }
}) {}
class Read extends Schema.TaggedRequest<Read>()("Read", { failure: Schema.Never, success: Schema.Number, payload: {} }) {}

const Counter = Process.make({
  name: "Counter",
  init: () => Effect.succeed(0),
  handleCall: (request: Increment | Read, _from, count) => {
    const next = request._tag === "Increment" ? count + request.by : count
    return Effect.succeed(Process.reply(next, next))
  }
})

/** Turns HTTP requests into calls to the counter. */
const Api = Process.make({
  name: "Api",
  init: () => Effect.void,
  handleCall: (req: Meta.WebRequest, _from, state, ctx) =>
    Effect.gen(function*() {
      if (req.path !== "/counter") return Process.reply(Meta.WebResponse.text("Not Found: try /counter\n", 404), state)
      if (req.method === "GET") {
        return Process.reply(Meta.WebResponse.json({ count: yield* ctx.call("counter", new Read()) }), state)
      }
      if (req.method === "POST") {
        const by = req.text.trim() === "" ? 1 : Number(req.text)
        if (!Number.isFinite(by)) {
          return Process.reply(Meta.WebResponse.text(`Bad Request: the body must be a number, got "${req.text}"\n`, 400), state)
        }
        return Process.reply(Meta.WebResponse.json({ count: yield* ctx.call("counter", new Increment({ by })) }), state)
      }
      return Process.reply(Meta.WebResponse.text(`Method Not Allowed: ${req.method}; use GET or POST\n`, 405), state)
    })
})

const port = Number(process.env.PORT ?? 8080)

const Service = Supervisor.oneForOne({ intensity: 5, period: "10 seconds" }).pipe(
  Supervisor.child({ id: "counter", behaviour: Counter, args: undefined, name: "counter" }),
  Supervisor.child({ id: "api", behaviour: Api, args: undefined, name: "api" }),
  Supervisor.child({ id: "web", behaviour: Meta.WebServer, args: { port, handler: "api" }, name: "web" })
)

Node.runMain("web@localhost", {}, (node) =>
  Effect.gen(function*() {
    yield* Supervisor.start(node, Service)
    const address = yield* node.call("web", new Meta.GetAddress())
    yield* Console.log(`http://${address.toString()}/counter`)
  }))

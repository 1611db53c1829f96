/**
 * The load client of the meta benchmarks, run in its own OS process so that it does not
 * share a thread with the server it measures. Prints `{"done": n, "seconds": s, "bad": b}`.
 *
 *   node --import tsx bench/load.ts http <port> <connections> <warmupMs> <measureMs>
 *   node --import tsx bench/load.ts echo <port> <connections> <warmupMs> <measureMs> <window>
 *
 * `http`: each keep-alive connection sends `GET /` and the next one when the response is
 * complete (content-length or chunked); a response that is not `200` with body `ok` is bad.
 * `echo`: each connection keeps `window` newline-terminated messages in flight and checks
 * that each echo is the message it sent (case-insensitively: Rain's echo upper-cases).
 */
import * as Net from "node:net"

const [mode, portArg, connArg, warmArg, measureArg, windowArg] = process.argv.slice(2)
const port = Number(portArg)
const connections = Number(connArg)
const warmupMs = Number(warmArg)
const measureMs = Number(measureArg)

let counting = false
let done = 0
let bad = 0
let stopped = false
const sockets: Array<Net.Socket> = []

const request = Buffer.from("GET / HTTP/1.1\r\nhost: bench\r\n\r\n")

const httpClient = (socket: Net.Socket) => {
  let buffer = ""
  socket.setEncoding("latin1")
  socket.on("data", (chunk: string) => {
    buffer += chunk
    for (;;) {
      const headerEnd = buffer.indexOf("\r\n\r\n")
      if (headerEnd < 0) return
      const head = buffer.slice(0, headerEnd).toLowerCase()
      const length = /content-length: *(\d+)/.exec(head)
      let end: number
      let body: string
      if (length !== null) {
        end = headerEnd + 4 + Number(length[1])
        if (buffer.length < end) return
        body = buffer.slice(headerEnd + 4, end)
      } else {
        const last = buffer.indexOf("\r\n0\r\n\r\n", headerEnd)
        if (last < 0) return
        end = last + 7
        body = buffer.slice(headerEnd + 4, end).split("\r\n").filter((_, i) => i % 2 === 1).join("")
      }
      if (!head.startsWith("http/1.1 200") || body !== "ok") bad++
      buffer = buffer.slice(end)
      if (counting) done++
      if (!stopped) socket.write(request)
    }
  })
  socket.write(request)
}

const echoClient = (socket: Net.Socket, index: number) => {
  const window = Number(windowArg)
  let next = 0
  let expected = 0
  let buffer = ""
  socket.setEncoding("latin1")
  const send = () => socket.write(`m${index}-${next++}\n`)
  socket.on("data", (chunk: string) => {
    buffer += chunk
    let at = 0
    for (let nl = buffer.indexOf("\n", at); nl >= 0; nl = buffer.indexOf("\n", at)) {
      const line = buffer.slice(at, nl).toLowerCase()
      if (line !== `m${index}-${expected}`) bad++
      expected++
      at = nl + 1
      if (counting) done++
      if (!stopped) send()
    }
    buffer = buffer.slice(at)
  })
  let batch = ""
  for (let i = 0; i < window; i++) batch += `m${index}-${next++}\n`
  socket.write(batch)
}

let open = 0
for (let i = 0; i < connections; i++) {
  const socket = Net.createConnection({ host: "127.0.0.1", port })
  socket.setNoDelay(true)
  sockets.push(socket)
  socket.on("error", (error) => {
    process.stderr.write(`load: ${error.message}\n`)
    process.exit(1)
  })
  socket.on("connect", () => {
    if (mode === "http") httpClient(socket)
    else echoClient(socket, i)
    if (++open === connections) start()
  })
}

const start = () => {
  setTimeout(() => {
    counting = true
    const t = performance.now()
    setTimeout(() => {
      counting = false
      stopped = true
      const seconds = (performance.now() - t) / 1000
      process.stdout.write(JSON.stringify({ done, seconds, bad }) + "\n")
      for (const socket of sockets) socket.destroy()
      process.exit(0)
    }, measureMs)
  }, warmupMs)
}

import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Transport from "../../src/Transport/index.js"
import { collect, cookie, listen, take } from "./helpers.js"

const OPENSSL = "/usr/bin/openssl"
const hasOpenssl = fs.existsSync(OPENSSL)

interface Certs {
  readonly ca: string
  readonly otherCa: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
}

/** A test CA, a server certificate for 127.0.0.1, a client certificate, and an unrelated CA. */
const makeCerts = (): Certs => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rain-tls-"))
  const f = (name: string) => path.join(dir, name)
  const run = (...args: Array<string>) => execFileSync(OPENSSL, args, { cwd: dir, stdio: "pipe" })
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
  try {
    for (const ca of ["ca", "other"]) {
      run("req", "-x509", ...ec, "-keyout", f(`${ca}.key`), "-out", f(`${ca}.crt`), "-days", "1", "-subj", `/CN=rain-${ca}`)
    }
    fs.writeFileSync(f("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for (const who of ["server", "client"]) {
      run("req", ...ec, "-keyout", f(`${who}.key`), "-out", f(`${who}.csr`), "-subj", `/CN=${who}`)
      run(
        "x509", "-req", "-in", f(`${who}.csr`), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial",
        "-out", f(`${who}.crt`), "-days", "1", "-extfile", f("ext.cnf")
      )
    }
    const read = (name: string) => fs.readFileSync(f(name), "utf8")
    return {
      ca: read("ca.crt"),
      otherCa: read("other.crt"),
      serverCert: read("server.crt"),
      serverKey: read("server.key"),
      clientCert: read("client.crt"),
      clientKey: read("client.key")
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe.skipIf(!hasOpenssl)("Transport.tls (skipped: /usr/bin/openssl is missing)", () => {
  const certs = hasOpenssl ? makeCerts() : undefined!
  const server = (requireClientCert = false) =>
    Transport.tls({ cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requireClientCert })

  it.scopedLive("handshake and frames over TLS with mutual authentication", () =>
    Effect.gen(function*() {
      const { listener, sessions } = yield* listen(server(true))
      const client = yield* Transport.connectScoped(
        Transport.tls({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }),
        listener.address,
        { name: "a@localhost", cookie }
      )
      const s = yield* take(sessions)
      assert.strictEqual(s.peer.name, "a@localhost")
      const got = yield* collect(s, 1)
      assert.isTrue(Either.isRight(client.send({ hello: "tls" })))
      assert.deepStrictEqual(yield* got.await, [{ hello: "tls" }])
    }))

  it.scopedLive("a server certificate from an untrusted CA is refused", () =>
    Effect.gen(function*() {
      const { listener, sessions } = yield* listen(server())
      const e = yield* Effect.flip(
        Transport.connect(Transport.tls({ ca: certs.otherCa }), listener.address, { name: "a@localhost", cookie })
      )
      assert.strictEqual(e._tag, "TransportError")
      // The listener survives and accepts a client that trusts the right CA.
      yield* Transport.connectScoped(Transport.tls({ ca: certs.ca }), listener.address, { name: "a@localhost", cookie })
      yield* take(sessions)
    }))

  it.scopedLive("requireClientCert refuses a client without a certificate", () =>
    Effect.gen(function*() {
      const { listener, sessions } = yield* listen(server(true))
      // With TLS 1.3 the client may finish its side before the server checks the certificate,
      // so the failure shows either at connect or as a closed handshake.
      const e = yield* Effect.flip(
        Transport.connect(Transport.tls({ ca: certs.ca }), listener.address, { name: "a@localhost", cookie })
      )
      assert.oneOf(e._tag, ["TransportError", "HandshakeRejected"])
      const empty = yield* Effect.timeout(take(sessions), "200 millis").pipe(Effect.option)
      assert.isTrue(empty._tag === "None")
    }))
})

import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Transport from "../../src/Transport/index.js"
import { hasOpenssl, makeCerts } from "../fixtures/certs.js"
import { collect, cookie, listen, send, take } from "./helpers.js"

describe.skipIf(!hasOpenssl)("Transport.tls (needs /usr/bin/openssl to make certificates)", () => {
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
      assert.isTrue(Either.isRight(send(client, { hello: "tls" })))
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
      assert.strictEqual(empty._tag, "None", "no session was opened")
    }))

  it.scopedLive("the server's certificate must name the host connected to, unless checkHostname is false", () =>
    Effect.gen(function*() {
      // signed by the trusted CA, but for elsewhere.invalid: not 127.0.0.1
      const { listener, sessions } = yield* listen(
        Transport.tls({ cert: certs.otherHostCert, key: certs.otherHostKey, ca: certs.ca })
      )
      const mismatch = yield* Effect.flip(
        Transport.connect(Transport.tls({ ca: certs.ca }), listener.address, { name: "a@localhost", cookie })
      )
      assert.strictEqual(mismatch._tag, "TransportError")
      assert.match(mismatch.message, /altnames|Hostname|IP/)
      // the chain is still verified without the host check: another CA is refused
      const untrusted = yield* Effect.flip(
        Transport.connect(Transport.tls({ ca: certs.otherCa, checkHostname: false }), listener.address, {
          name: "a@localhost",
          cookie
        })
      )
      assert.strictEqual(untrusted._tag, "TransportError")
      // checkHostname: false accepts a certificate that names another host, signed by the CA
      const client = yield* Transport.connectScoped(Transport.tls({ ca: certs.ca, checkHostname: false }), listener.address, {
        name: "a@localhost",
        cookie
      })
      const s = yield* take(sessions)
      assert.strictEqual(s.peer.name, "a@localhost")
      const got = yield* collect(s, 1)
      assert.isTrue(Either.isRight(send(client, { over: "tls without host check" })))
      assert.deepStrictEqual(yield* got.await, [{ over: "tls without host check" }])
      // servername names the host the certificate is for: verified and accepted
      yield* Transport.connectScoped(Transport.tls({ ca: certs.ca, servername: "elsewhere.invalid" }), listener.address, {
        name: "a@localhost",
        cookie
      })
      yield* take(sessions)
    }))
})

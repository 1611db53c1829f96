/**
 * Busy waiting after a request or an answer leaves for another node, as BEAM's schedulers
 * spin before they sleep (`+sbwt`): for a short while the event loop keeps polling its
 * sockets instead of sleeping in the kernel, so the answer (or, on the callee, the caller's
 * next request) is read as it arrives rather than after the operating system wakes the
 * thread up. On the 2-core VM of bench/README.md a sequential remote call took ~135 µs
 * sleeping and ~40 spinning. Each turn is a `setImmediate`, so timers, I/O and other work
 * run as usual; the price is CPU while nothing comes.
 *
 * One spin per thread (an event loop), however many connections ask for it.
 *
 * @internal
 */

let until = 0
let spinning = false
let asked = 0

const turn = (): void => {
  if (performance.now() < until) setImmediate(turn)
  else spinning = false
}

/** Keeps this thread's event loop polling for `millis` from now (or longer, if already asked). */
export const busyWait = (millis: number): void => {
  asked++
  const end = performance.now() + millis
  if (end > until) until = end
  if (!spinning) {
    spinning = true
    setImmediate(turn)
  }
}

/** Whether this thread is busy-waiting now, and how many times a wait was asked for (for tests). */
export const isBusyWaiting = (): boolean => spinning
export const busyWaitsAsked = (): number => asked

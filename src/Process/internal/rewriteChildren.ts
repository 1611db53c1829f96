/**
 * The hook through which `node.upgrade` reaches processes that start processes of other
 * behaviours without being supervisors (a `Pool` and its workers): a behaviour may carry,
 * under this key, a function that points its process's state at the new code of the
 * behaviours being upgraded, so that what it starts from then on runs the new code (as a
 * supervisor's rewritten child specs do). It returns whether it changed anything.
 *
 * @internal
 */
export const rewriteChildren: unique symbol = Symbol.for("rain/Process/rewriteChildren")

/** @internal */
export type RewriteChildren = (state: any, targetOf: (behaviour: any) => unknown) => boolean

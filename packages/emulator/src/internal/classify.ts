/**
 * The default classifier: the limit catalogue's pure `classify`, the same data the client's
 * CostCalculator and Throttler read. Only the catalogue is shared; all enforcement stays in the
 * emulator's own accounting.
 *
 * @internal
 */
import * as LimitCatalog from "@effect-msgraph/spec/LimitCatalog"
import type { Bucket } from "@effect-msgraph/spec"
import type { Classifier, ClassifyContext } from "./engine.js"

const contextCacheSize = 256
const answerCacheSize = 4_096

/** A classifier over a catalogue (the built-in one by default). @internal */
export const fromCatalog = (
  catalog: LimitCatalog.Catalog = LimitCatalog.defaultCatalog,
  userPrincipalName?: string
): Classifier => {
  // Building a ClassifyContext validates it; callers reuse a handful of identities, so keep them.
  const contexts = new Map<string, LimitCatalog.ClassifyContext>()
  // the key of a context object, made once per object: the engine hands the same object for every
  // item of a request, and for every request that overrides nothing
  const keys = new WeakMap<ClassifyContext, string>()
  const keyOf = (context: ClassifyContext): string => {
    let key = keys.get(context)
    if (key === undefined) {
      key = `${context.tenantId}\u0000${context.appId}\u0000${context.userId}\u0000${context.delegated}\u0000${context.tenantSize}\u0000${context.b2c}`
      keys.set(context, key)
    }
    return key
  }
  const contextOf = (context: ClassifyContext, key: string = keyOf(context)): LimitCatalog.ClassifyContext => {
    let built = contexts.get(key)
    if (built === undefined) {
      built = new LimitCatalog.ClassifyContext({
        tenantId: context.tenantId,
        appId: context.appId,
        userId: context.userId,
        ...(userPrincipalName === undefined ? {} : { userPrincipalName }),
        delegated: context.delegated,
        tenantSize: context.tenantSize,
        b2c: context.b2c
      })
      if (contexts.size >= contextCacheSize) contexts.clear()
      contexts.set(key, built)
    }
    return built
  }
  const classify = (request: Parameters<Classifier>[0], context: LimitCatalog.ClassifyContext) =>
    LimitCatalog.classify(
      catalog,
      {
        method: request.method,
        url: request.url,
        bodyBytes: request.bodyBytes,
        ...(request.body === undefined || request.body instanceof Uint8Array ? {} : { body: request.body })
      },
      context
    ).demands
  // The catalogue's classify is pure: a request without a body is classified by its method, URL and
  // caller alone, so the same read (a million GETs of one user, say) is classified once. The
  // engine never changes the demands it is given (items of one request share the array).
  // by caller, then by method, then by URL, at most answerCacheSize in all: the engine hands every
  // item of one URL the same string (and the same method string), whose hash is kept once made, so
  // a lookup hashes nothing new where a joined key would be built and hashed for every item
  const answers = new Map<string, Map<string, Map<string, ReadonlyArray<Bucket.Demand>>>>()
  let answered = 0
  return (request, context) => {
    const key = keyOf(context)
    if (request.body !== undefined || request.bodyBytes !== undefined) return classify(request, contextOf(context, key))
    let byMethod = answers.get(key)
    let known = byMethod?.get(request.method)
    let demands = known?.get(request.url)
    if (demands === undefined) {
      demands = classify(request, contextOf(context, key))
      if (answered >= answerCacheSize) {
        answers.clear()
        answered = 0
        byMethod = undefined
        known = undefined
      }
      if (byMethod === undefined) {
        byMethod = new Map()
        answers.set(key, byMethod)
      }
      if (known === undefined) {
        known = new Map()
        byMethod.set(request.method, known)
      }
      known.set(request.url, demands)
      answered++
    }
    return demands
  }
}

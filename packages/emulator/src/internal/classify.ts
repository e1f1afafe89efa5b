/**
 * The default classifier: the limit catalogue's pure `classify`, the same data the client's
 * CostCalculator and Throttler read. Only the catalogue is shared; all enforcement stays in the
 * emulator's own accounting.
 *
 * @internal
 */
import * as LimitCatalog from "@effect-msgraph/core/LimitCatalog"
import type { Classifier, ClassifyContext } from "./engine.js"

const contextCacheSize = 256

/** A classifier over a catalogue (the built-in one by default). @internal */
export const fromCatalog = (
  catalog: LimitCatalog.Catalog = LimitCatalog.defaultCatalog,
  userPrincipalName?: string
): Classifier => {
  // Building a ClassifyContext validates it; callers reuse a handful of identities, so keep them.
  const contexts = new Map<string, LimitCatalog.ClassifyContext>()
  const contextOf = (context: ClassifyContext): LimitCatalog.ClassifyContext => {
    const key = `${context.tenantId}\u0000${context.appId}\u0000${context.userId}\u0000${context.delegated}\u0000${context.tenantSize}\u0000${context.b2c}`
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
  return (request, context) =>
    LimitCatalog.classify(
      catalog,
      {
        method: request.method,
        url: request.url,
        bodyBytes: request.bodyBytes,
        ...(request.body === undefined || request.body instanceof Uint8Array ? {} : { body: request.body })
      },
      contextOf(context)
    ).demands
}

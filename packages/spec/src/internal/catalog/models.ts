/**
 * The classes of `LimitCatalog.ts` that internal code builds instances of. That module declares
 * them and imports the internal modules, so it hands them over (its `models`) when it builds its
 * functions: an internal module importing it back would load it half-built (a cycle).
 *
 * @internal
 */
import type * as LimitCatalog from "../../LimitCatalog.js"

/** @internal */
export interface Models {
  readonly Window: typeof LimitCatalog.Window
  readonly Rate: typeof LimitCatalog.Rate
  readonly TokenBucket: typeof LimitCatalog.TokenBucket
  readonly Concurrent: typeof LimitCatalog.Concurrent
  readonly LimitEntry: typeof LimitCatalog.LimitEntry
  readonly Catalog: typeof LimitCatalog.Catalog
  readonly LimitOverride: typeof LimitCatalog.LimitOverride
  readonly InvalidOverride: typeof LimitCatalog.InvalidOverride
  readonly Skipped: typeof LimitCatalog.Skipped
  readonly Classification: typeof LimitCatalog.Classification
  readonly IdentityCost: typeof LimitCatalog.IdentityCost
}
